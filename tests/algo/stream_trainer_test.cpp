// The streaming loop: resume equals an uninterrupted run, reproducibility, the run directory,
// evaluation of a streaming checkpoint, and bad input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "algo/trainer.h"
#include "core/error.h"
#include "core/stop.h"
#include "deploy/policy.h"
#include "track/run_files.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class StreamTrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("stitch_stream_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string config(const std::string& algo, const std::string& env, int64_t steps,
                     const std::string& run, std::vector<std::string> extra = {}) {
    TrainConfig c;
    std::vector<std::string> o = {"algo=" + algo,
                                  "online=true",
                                  "env=" + env,
                                  "steps=" + std::to_string(steps),
                                  "eval_every=0",
                                  "eval_episodes=2",
                                  "checkpoint_every=500",
                                  "log_every=500",
                                  "run_dir=" + (dir_ / run).string()};
    o.insert(o.end(), extra.begin(), extra.end());
    return resolve_train_config(c, "", o);
  }
  // The agent's state in a run's final checkpoint.
  nlohmann::json agent_state(const std::string& run) {
    const std::string text = read_file_text(dir_ / run / "checkpoints" / "latest.cbor");
    const size_t body = text.find('\n') + 1;
    return nlohmann::json::from_cbor(text.substr(body)).at("agent");
  }
  std::string log(const std::string& run, const char* file) {
    return read_file_text(dir_ / run / file);
  }

  fs::path dir_;
};

TEST_F(StreamTrainerTest, ResumedRunEndsInTheStateOfAnUninterruptedRun) {
  for (const char* algo : {"stream-ac", "stream-q"}) {
    const std::string env = std::string(algo) == "stream-q" ? "cartpole-v1" : "pendulum-v1";
    const std::string a = std::string(algo) + "_full", b = std::string(algo) + "_killed";
    train(config(algo, env, 3000, a), false);
    const TrainResult first = train(config(algo, env, 3000, b), false, /*stop_after_steps=*/1100);
    EXPECT_GE(first.steps, 1100);  // stops at the first episode boundary after 1100
    EXPECT_LT(first.steps, 3000);
    const TrainResult second = train(config(algo, env, 3000, b), /*resume=*/true);
    EXPECT_EQ(second.steps, 3000);
    EXPECT_EQ(agent_state(a), agent_state(b)) << algo;
    EXPECT_EQ(log(a, "episodes.jsonl"), log(b, "episodes.jsonl")) << algo;
  }
}

// A stop request (core/stop.h: the Python module's Ctrl-C) ends the run at the end of the
// current episode with a checkpoint; the resumed run ends as an uninterrupted one.
TEST_F(StreamTrainerTest, AStopRequestEndsAtAnEpisodeBoundaryAndResumesExactly) {
  train(config("stream-ac", "pendulum-v1", 1000, "full"), false);
  request_stop();
  const TrainResult first = train(config("stream-ac", "pendulum-v1", 1000, "stopped"), false);
  clear_stop_request();
  EXPECT_EQ(first.steps, 200);  // pendulum's episodes are 200 steps
  EXPECT_EQ(train(config("stream-ac", "pendulum-v1", 1000, "stopped"), true).steps, 1000);
  EXPECT_EQ(agent_state("full"), agent_state("stopped"));
}

TEST_F(StreamTrainerTest, SameSeedGivesIdenticalRuns) {
  train(config("stream-ac", "pendulum-v1", 2000, "a"), false);
  train(config("stream-ac", "pendulum-v1", 2000, "b"), false);
  EXPECT_EQ(agent_state("a"), agent_state("b"));
  EXPECT_EQ(log("a", "episodes.jsonl"), log("b", "episodes.jsonl"));
  train(config("stream-ac", "pendulum-v1", 2000, "c", {"seed=1"}), false);
  EXPECT_NE(agent_state("a"), agent_state("c"));
}

TEST_F(StreamTrainerTest, RunDirectoryIsWellFormed) {
  const TrainResult r =
      train(config("stream-td", "pendulum-v1", 1000, "td", {"eval_every=500"}), false);
  EXPECT_EQ(r.evaluations.size(), 2u);
  for (const char* f :
       {"config.json", "versions.txt", "metrics.jsonl", "episodes.jsonl", "eval.jsonl"}) {
    EXPECT_TRUE(fs::exists(dir_ / "td" / f)) << f;
  }
  std::ifstream episodes(dir_ / "td" / "episodes.jsonl");
  std::string line;
  int n = 0;
  while (std::getline(episodes, line)) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j.at("length").get<int>(), 200);  // pendulum's time limit
    EXPECT_TRUE(j.contains("value_rmse"));
    ++n;
  }
  EXPECT_EQ(n, 5);
  // The checkpoint evaluates through the same entry point as offline checkpoints.
  const EvalResult e = evaluate_checkpoint(r.checkpoint, "pendulum-v1", 2, 7);
  EXPECT_EQ(e.returns.size(), 2u);
  EXPECT_THAT([&] { evaluate_checkpoint(r.checkpoint, "hopper-v4", 1, 0); },
              ::testing::ThrowsMessage<Error>(HasSubstr("does not match")));
  EXPECT_THAT([&] { export_checkpoint_policy(r.checkpoint); },
              ::testing::ThrowsMessage<Error>(HasSubstr("not a ReLU MLP")));
  EXPECT_THAT([&] { train(config("stream-td", "pendulum-v1", 1000, "td"), true); },
              ::testing::ThrowsMessage<Error>(HasSubstr("already finished")));
}

TEST_F(StreamTrainerTest, BadInputIsAClearError) {
  auto expect_error = [&](std::vector<std::string> o, const std::string& what) {
    TrainConfig c;
    EXPECT_THAT([&] { train(resolve_train_config(c, "", o), false); },
                ::testing::ThrowsMessage<Error>(HasSubstr(what)))
        << what;
  };
  const std::string run = "run_dir=" + (dir_ / "bad").string();
  expect_error({"algo=stream-ac", "env=pendulum-v1", run}, "add --online");
  expect_error({"algo=iql", "online=true", "env=pendulum-v1", run}, "learns from a dataset");
  expect_error({"algo=stream-ac", "online=true", "env=cartpole-v1", run},
               "continuous (Box) actions");
  expect_error({"algo=stream-q", "online=true", "env=pendulum-v1", run}, "discrete action space");
  expect_error({"algo=stream-ac", "online=true", "env=pendulum-v1", "stream-ac.lambda=2", run},
               "lambda");
  train(config("stream-ac", "pendulum-v1", 10, "bad"), false);
  expect_error({"algo=stream-ac", "online=true", "env=pendulum-v1", run}, "already holds a run");
}

}  // namespace
}  // namespace stitch
