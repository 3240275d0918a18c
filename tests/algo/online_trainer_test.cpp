// Online training (SAC, TD3): resume equals an uninterrupted run, the checkpoint cuts, the run
// directory, bad input. Tiny networks and few steps: these check the loop, not learning.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "algo/algorithm.h"
#include "algo/trainer.h"
#include "core/config.h"
#include "core/error.h"
#include "core/stop.h"
#include "data/sampler.h"
#include "testing/errors.h"
#include "testing/run_command.h"
#include "track/checkpoint.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class OnlineTrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("stitch_online_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string config(const std::string& algo, int64_t steps, const std::string& run,
                     std::vector<std::string> extra = {}) {
    TrainConfig c;
    std::vector<std::string> o = {"algo=" + algo,         "online=true",
                                  "env=pendulum-v1",      "steps=" + std::to_string(steps),
                                  "learning_starts=100",  "batch_size=32",
                                  "eval_every=0",         "eval_episodes=1",
                                  "checkpoint_every=200", "log_every=100",
                                  algo + ".hidden=16",    "run_dir=" + (dir_ / run).string()};
    o.insert(o.end(), extra.begin(), extra.end());
    return resolve_train_config(c, "", o);
  }
  // Every parameter of the algorithm in a run's checkpoint, in module order, and the
  // checkpoint's top-level tensors (sampler RNG, loop state).
  std::vector<torch::Tensor> state(const std::string& algo, const std::string& run) {
    const auto& entry = AlgoRegistry::global().entry(algo);
    auto cfg = entry.make_config();
    ConfigFields f;
    cfg->describe(f);
    f.apply_override("hidden=16");
    auto a =
        entry.make(*cfg, {.obs_dim = 3, .act_dim = 1, .max_action = 2.0, .total_steps = 700}, 0);
    std::vector<torch::Tensor> out;
    Checkpoint((dir_ / run / "checkpoints" / "latest.pt").string())
        .read_algorithm([&](torch::serialize::InputArchive& archive) {
          a->load(archive);
          for (const auto& [name, module] : a->modules()) {
            for (const auto& p : module->parameters()) out.push_back(p.detach().clone());
          }
          for (const char* key : {"sampler_rng", "online_state", "online_credit"}) {
            torch::Tensor t;
            archive.read(key, t);
            out.push_back(t);
          }
        });
    return out;
  }
  std::string episodes(const std::string& run) {
    return testing::read_file((dir_ / run / "episodes.jsonl").string());
  }
  fs::path dir_;
};

using testing::error_of;

TEST_F(OnlineTrainerTest, ResumedRunEndsWhereAnUninterruptedOneDoes) {
  for (const std::string algo : {"sac", "td3"}) {
    const TrainResult full =
        train(config(algo, 700, algo + "_full", {"num_envs=2", "utd_ratio=0.5"}), false);
    const std::string cfg = config(algo, 700, algo + "_killed", {"num_envs=2", "utd_ratio=0.5"});
    const TrainResult first = train(cfg, false, /*stop_after_steps=*/300);
    EXPECT_EQ(first.steps, 400);  // the first checkpoint at or after 300
    const TrainResult second = resume_training((dir_ / (algo + "_killed")).string());
    EXPECT_EQ(second.steps, 700);
    EXPECT_EQ(full.steps, 700);
    const auto a = state(algo, algo + "_full"), b = state(algo, algo + "_killed");
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i)
      EXPECT_TRUE(torch::equal(a[i], b[i])) << algo << " tensor " << i;
    EXPECT_EQ(episodes(algo + "_full"), episodes(algo + "_killed")) << algo;
    // Only the replay file the checkpoint points at is kept.
    int replays = 0;
    for (const auto& e : fs::directory_iterator(dir_ / (algo + "_killed") / "checkpoints")) {
      replays += e.path().filename().string().rfind("replay-", 0) == 0;
    }
    EXPECT_EQ(replays, 1);
  }
}

// A stop request (core/stop.h: the Python module's Ctrl-C) ends an online run after the current
// step without a checkpoint of its own, so resuming from the last regular checkpoint still ends
// exactly where an uninterrupted run does.
TEST_F(OnlineTrainerTest, AStopRequestLeavesTheLastCheckpointAndTheResumeExact) {
  const TrainResult full = train(config("sac", 700, "full"), false);
  const std::string cfg = config("sac", 700, "stopped");
  EXPECT_EQ(train(cfg, false, /*stop_after_steps=*/300).steps, 400);
  request_stop();
  const TrainResult stopped = resume_training((dir_ / "stopped").string());
  clear_stop_request();
  EXPECT_EQ(stopped.steps, 401);  // one step past the checkpoint at 400
  EXPECT_EQ(resume_training((dir_ / "stopped").string()).steps, 700);
  const auto a = state("sac", "full"), b = state("sac", "stopped");
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << i;
  EXPECT_EQ(full.steps, 700);
}

TEST_F(OnlineTrainerTest, CheckpointsCutEpisodesAndTheLogsSayWhere) {
  const TrainResult r = train(
      config("sac", 500, "run", {"checkpoint_every=250", "eval_every=250", "snapshot_every=250"}),
      false);
  EXPECT_TRUE(fs::exists(dir_ / "run" / "snapshots" / "step-250.pt"));
  EXPECT_TRUE(fs::exists(dir_ / "run" / "snapshots" / "step-500.pt"));
  EXPECT_EQ(r.evaluations.size(), 2u);
  std::ifstream in(dir_ / "run" / "episodes.jsonl");
  std::string line;
  int cut = 0, full = 0;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    if (j.value("cut", false)) {
      EXPECT_EQ(j["step"], 250);
      EXPECT_EQ(j["length"], 50);  // 200 steps of one episode, then 50 of the next
      ++cut;
    } else {
      EXPECT_EQ(j["length"], 200);  // Pendulum's time limit
      ++full;
    }
  }
  EXPECT_EQ(cut, 1);
  EXPECT_EQ(full,
            2);  // steps 1-200, and 251-450 after the cut; 451-500 is still running at the end
  // The checkpoint evaluates like an offline one.
  EXPECT_EQ(evaluate_checkpoint(r.checkpoint, "pendulum-v1", 1, 0).returns.size(), 1u);
}

TEST_F(OnlineTrainerTest, BadInputIsAClearError) {
  EXPECT_THAT(error_of([&] { train(config("sac", 10, "a", {"online=false"}), false); }),
              HasSubstr("add --online"));
  EXPECT_THAT(error_of([&] { train(config("sac", 10, "b", {"env=cartpole-v1"}), false); }),
              HasSubstr("bounded Box actions"));
  EXPECT_THAT(error_of([&] { train(config("sac", 10, "c", {"utd_ratio=-1"}), false); }),
              HasSubstr("utd_ratio"));
  TrainConfig c;
  EXPECT_THAT(error_of([&] {
                train(resolve_train_config(c, "",
                                           {"algo=iql", "online=true", "env=pendulum-v1",
                                            "run_dir=" + (dir_ / "d").string()}),
                      false);
              }),
              HasSubstr("iql learns from a dataset; --online works with"));
}

TEST(ReplayBuffer, SaveAndLoadRestoreTheExactState) {
  const std::string path =
      ::testing::TempDir() + "stitch_replay_" + std::to_string(getpid()) + ".h5";
  ReplayBuffer a(5, 2, 1);
  for (int i = 0; i < 7; ++i) {  // wraps around
    const float obs[2] = {static_cast<float>(i), -static_cast<float>(i)}, act[1] = {0.5f * i},
                next[2] = {1, 2};
    a.add(obs, act, static_cast<float>(i) * 0.1f, next, i % 3 == 0, i % 4 == 0);
  }
  a.save(path);
  ReplayBuffer b(5, 2, 1);
  b.load(path);
  EXPECT_EQ(b.size(), 5);
  Rng r1(3), r2(3);
  Batch x = a.make_batch(16), y = b.make_batch(16);
  a.sample(x, r1);
  b.sample(y, r2);
  EXPECT_EQ(x.observations, y.observations);
  EXPECT_EQ(x.actions, y.actions);
  EXPECT_EQ(x.rewards, y.rewards);
  EXPECT_EQ(x.terminals, y.terminals);
  const Dataset da = a.to_dataset(), db = b.to_dataset();
  EXPECT_EQ(da.observations, db.observations);
  EXPECT_EQ(da.timeouts, db.timeouts);
  ReplayBuffer wrong(6, 2, 1);
  EXPECT_THROW(wrong.load(path), Error);
  std::filesystem::remove(path);
}

// learning_starts -1 (the default) takes the algorithm's own: TD3's authors start updating after
// 25,000 random steps, stitch's SAC after 5,000; the value used is what config.json records.
TEST(OnlineConfig, LearningStartsDefaultsToTheAlgorithms) {
  auto starts = [](const std::string& algo, std::vector<std::string> extra = {}) {
    TrainConfig c;
    std::vector<std::string> o = {"algo=" + algo, "env=pendulum-v1", "online=true"};
    o.insert(o.end(), extra.begin(), extra.end());
    return nlohmann::json::parse(resolve_train_config(c, "", o))["learning_starts"].get<int64_t>();
  };
  EXPECT_EQ(starts("td3"), 25000);
  EXPECT_EQ(starts("sac"), 5000);
  EXPECT_EQ(starts("td3", {"learning_starts=100"}), 100);
}

}  // namespace
}  // namespace stitch
