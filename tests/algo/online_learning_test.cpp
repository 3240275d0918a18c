// Learning tests of the online agents on Pendulum (2x64 networks to keep them near half a
// minute on one core). A uniformly random policy scores about -1200; the scripted controller
// -157. SAC is in the default run (label learn); TD3, slower to learn, runs with `make
// test-all` (label slow).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "algo/trainer.h"
#include "testing/thread_policy.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;

double train_and_evaluate(const std::string& algo, int64_t steps, uint64_t seed) {
  const fs::path dir = fs::path(::testing::TempDir()) /
                       fmt::format("stitch_online_learn_{}_{}_{}", getpid(), algo, seed);
  fs::remove_all(dir);
  TrainConfig c;
  const TrainResult r = train(
      resolve_train_config(
          c, "",
          {"algo=" + algo, "online=true", "env=pendulum-v1", fmt::format("steps={}", steps),
           fmt::format("seed={}", seed), "learning_starts=1000", "eval_every=0", "eval_episodes=10",
           "log_every=2000", algo + ".hidden=64", "run_dir=" + dir.string()}),
      false);
  fs::remove_all(dir);
  return r.evaluations.back().second.mean;
}

#ifndef STITCH_SLOW_LEARNING_TESTS
// The bar: better than -200 within 20,000 env steps; 12,000 suffice (-111, -147 and
// -160 on seeds 0, 1, 2 when measured).
TEST(OnlineLearning, SacSwingsUpPendulum) {
  EXPECT_GT(train_and_evaluate("sac", 12000, 0), -200.0);
}
#else
// TD3 measured -1110 at 5,000 steps, -544 at 20,000 and -113 at 25,000 (seed 0).
TEST(OnlineLearning, Td3SwingsUpPendulum) {
  EXPECT_GT(train_and_evaluate("td3", 30000, 0), -200.0);
}
#endif

}  // namespace
}  // namespace stitch
