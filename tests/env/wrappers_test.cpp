#include "env/wrappers.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "env/registry.h"
#include "env/test_envs.h"

namespace stitch {
namespace {

using testing::CounterEnv;

TEST(TimeLimit, TruncatesAtTheLimitAndKeepsTerminated) {
  TimeLimit env(std::make_unique<CounterEnv>(), 3);
  env.reset(0);
  EXPECT_FALSE(env.step(std::vector<float>{0.0f}).truncated);
  EXPECT_FALSE(env.step(std::vector<float>{0.0f}).truncated);
  const auto r = env.step(std::vector<float>{0.95f});  // terminates on the last allowed step
  EXPECT_TRUE(r.truncated);
  EXPECT_TRUE(r.terminated);
  EXPECT_TRUE(env.needs_reset());
  env.reset();
  EXPECT_FALSE(env.step(std::vector<float>{0.0f}).truncated);
  EXPECT_THROW(TimeLimit(std::make_unique<CounterEnv>(), 0), Error);
}

TEST(TimeLimit, ResetAfterTruncationRestartsTheInnerEnv) {
  TimeLimit env(std::make_unique<CounterEnv>(), 1);
  env.reset(0);
  EXPECT_TRUE(env.step(std::vector<float>{0.0f}).truncated);
  env.reset();
  EXPECT_EQ(env.step(std::vector<float>{0.0f}).obs[0], 1.0f);  // inner count restarted
}

TEST(Wrappers, SeedsPassThroughToTheInnerEnv) {
  auto bare = make_env("pendulum-v1", {.time_limit = false});
  auto wrapped = make_env("pendulum-v1", {.clip_actions = true, .rescale_actions = true});
  EXPECT_EQ(bare->reset(11), wrapped->reset(11));
}

TEST(NormalizeObservation, MatchesTwoPassStatistics) {
  NormalizeObservation env(make_env("pendulum-v1"));
  auto raw = make_env("pendulum-v1");
  std::vector<std::vector<float>> seen = {raw->reset(3)};
  std::vector<float> last = env.reset(3);
  Rng rng(9);
  for (int i = 0; i < 50; ++i) {
    const std::vector<float> a = {static_cast<float>(rng.uniform(-2, 2))};
    seen.push_back(raw->step(a).obs);
    last = env.step(a).obs;
  }
  const size_t d = seen[0].size();
  std::vector<double> mean(d, 0.0), var(d, 0.0);
  for (const auto& o : seen)
    for (size_t i = 0; i < d; ++i) mean[i] += o[i] / static_cast<double>(seen.size());
  for (const auto& o : seen)
    for (size_t i = 0; i < d; ++i)
      var[i] += (o[i] - mean[i]) * (o[i] - mean[i]) / static_cast<double>(seen.size());
  EXPECT_EQ(env.count(), static_cast<int64_t>(seen.size()));
  for (size_t i = 0; i < d; ++i) {
    EXPECT_NEAR(env.mean()[i], mean[i], 1e-9);
    EXPECT_NEAR(env.variance()[i], var[i], 1e-9);
    EXPECT_NEAR(last[i], (seen.back()[i] - mean[i]) / std::sqrt(var[i] + 1e-8), 1e-5);
  }
  EXPECT_FALSE(env.observation_space().bounded());
  env.set_updating(false);
  env.step(std::vector<float>{0.0f});
  EXPECT_EQ(env.count(), static_cast<int64_t>(seen.size()));
}

TEST(RescaleAction, MapsUnitIntervalOntoBounds) {
  // Pendulum's torque bounds are [-2, 2]: agent action a maps to 2a.
  auto bare = make_env("pendulum-v1");
  RescaleAction env(make_env("pendulum-v1"));
  EXPECT_EQ(env.action_space().low()[0], -1.0f);
  bare->reset(1);
  env.reset(1);
  EXPECT_EQ(env.step(std::vector<float>{0.5f}).obs, bare->step(std::vector<float>{1.0f}).obs);
  EXPECT_EQ(env.step(std::vector<float>{-1.0f}).obs, bare->step(std::vector<float>{-2.0f}).obs);
  EXPECT_THROW(env.step(std::vector<float>{1.5f}), Error);
  EXPECT_THROW(RescaleAction(make_env("cartpole-v1")), Error);
}

TEST(ClipAction, ClipsIntoBoundsButRejectsNan) {
  auto bare = make_env("pendulum-v1");
  ClipAction env(make_env("pendulum-v1"));
  bare->reset(2);
  env.reset(2);
  EXPECT_EQ(env.step(std::vector<float>{100.0f}).obs, bare->step(std::vector<float>{2.0f}).obs);
  EXPECT_THROW(env.step(std::vector<float>{NAN}), Error);
}

}  // namespace
}  // namespace stitch
