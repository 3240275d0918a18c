// The trainer: resume equals an uninterrupted run, reproducibility, run directories, bad input.
#include "algo/trainer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "algo/algorithm.h"
#include "algo/train_config.h"
#include "core/error.h"
#include "core/stop.h"
#include "data/collect.h"
#include "data/io.h"
#include "env/registry.h"
#include "testing/errors.h"
#include "testing/run_command.h"
#include "testing/thread_policy.h"
#include "track/checkpoint.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("stitch_trainer_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto env = make_env("pendulum-v1");
    auto policy = make_scripted_policy("pendulum-v1");
    CollectOptions options{.transitions = 2000, .seed = 3, .gaussian_noise = 1.0};
    save_dataset(collect(*env, *policy, options), (dir_ / "data.hdf5").string(), {});
  }
  std::string config(const std::string& algo, int64_t steps, const std::string& run,
                     std::vector<std::string> extra = {}) {
    TrainConfig c;
    std::vector<std::string> o = {"algo=" + algo,        "dataset=" + (dir_ / "data.hdf5").string(),
                                  "env=pendulum-v1",     "steps=" + std::to_string(steps),
                                  "eval_every=0",        "eval_episodes=2",
                                  "checkpoint_every=50", "log_every=50",
                                  algo + ".hidden=32",   "run_dir=" + (dir_ / run).string()};
    o.insert(o.end(), extra.begin(), extra.end());
    return resolve_train_config(c, "", o);
  }
  // All parameters of the algorithm stored in a checkpoint, in module order.
  std::vector<torch::Tensor> parameters(const std::string& algo, const fs::path& checkpoint) {
    const auto& entry = AlgoRegistry::global().entry(algo);
    auto cfg = entry.make_config();
    ConfigFields f;
    cfg->describe(f);
    f.apply_override("hidden=32");
    auto a =
        entry.make(*cfg, {.obs_dim = 3, .act_dim = 1, .max_action = 2.0, .total_steps = 200}, 0);
    Checkpoint(checkpoint.string()).read_algorithm([&](torch::serialize::InputArchive& archive) {
      a->load(archive);
    });
    std::vector<torch::Tensor> out;
    for (const auto& [name, module] : a->modules()) {
      for (const auto& p : module->parameters()) out.push_back(p.detach().clone());
    }
    return out;
  }
  fs::path dir_;
};

using testing::error_of;

TEST_F(TrainerTest, ResumedRunEndsWhereAnUninterruptedOneDoes) {
  for (const std::string algo : {"td3_bc", "iql", "cql", "sac_n", "edac", "rebrac", "riql"}) {
    train(config(algo, 200, algo + "_full"), false);
    const std::string interrupted = config(algo, 200, algo + "_killed");
    const TrainResult first = train(interrupted, false, /*stop_after_steps=*/100);
    EXPECT_EQ(first.steps, 100);
    const TrainResult second = train(interrupted, /*resume=*/true);
    EXPECT_EQ(second.steps, 200);
    const auto a = parameters(algo, dir_ / (algo + "_full") / "checkpoints" / "latest.pt");
    const auto b = parameters(algo, dir_ / (algo + "_killed") / "checkpoints" / "latest.pt");
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i)
      EXPECT_TRUE(torch::equal(a[i], b[i])) << algo << " tensor " << i;
    // The logs hold each step once.
    std::ifstream in(dir_ / (algo + "_killed") / "metrics.jsonl");
    std::string line;
    std::vector<int64_t> steps;
    while (std::getline(in, line))
      steps.push_back(nlohmann::json::parse(line)["step"].get<int64_t>());
    EXPECT_EQ(steps, (std::vector<int64_t>{50, 100, 150, 200})) << algo;
  }
}

// The model-based loop (algo/model_based/model_loop.cpp): killed between two rollouts and resumed,
// a run ends where an uninterrupted run does (the model buffer is part of the checkpoint) without
// fitting its model again (MOBILE's, whose updates read the model, too); model.* keys belong to
// the model-based algorithms only.
TEST_F(TrainerTest, ModelBasedRunsResumeExactlyWithTheirModelBuffer) {
  for (const std::string algo : {"mopo", "ravl", "mobile"}) {
    const std::vector<std::string> small = {
        "model.hidden=16",    "model.members=3",           "model.elites=2",
        "model.max_epochs=3", algo + ".rollout_batch=100", algo + ".rollout_every=60",
        algo + ".horizon=3"};
    train(config(algo, 200, algo + "_full", small), false);
    const std::string interrupted = config(algo, 200, algo + "_killed", small);
    EXPECT_EQ(train(interrupted, false, /*stop_after_steps=*/100).steps, 100);
    const fs::path killed = dir_ / (algo + "_killed");
    EXPECT_TRUE(fs::exists(killed / "checkpoints" / "model-buffer-100.h5"));
    const auto model_time = fs::last_write_time(killed / "model" / "checkpoints" / "model.pt");
    EXPECT_EQ(train(interrupted, /*resume=*/true).steps, 200);
    EXPECT_EQ(fs::last_write_time(killed / "model" / "checkpoints" / "model.pt"),
              model_time);  // reused, not fitted again
    const auto a = parameters(algo, dir_ / (algo + "_full") / "checkpoints" / "latest.pt");
    const auto b = parameters(algo, killed / "checkpoints" / "latest.pt");
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i)
      EXPECT_TRUE(torch::equal(a[i], b[i])) << algo << " tensor " << i;
    // Only the latest model buffer is kept.
    int buffers = 0;
    for (const auto& e : fs::directory_iterator(killed / "checkpoints"))
      buffers += e.path().filename().string().rfind("model-buffer-", 0) == 0;
    EXPECT_EQ(buffers, 1) << algo;
  }
  // A run reuses another's model (model.checkpoint) and fits none of its own.
  train(config("mopo", 60, "mopo_reuse",
               {"mopo.rollout_batch=100",
                "model.checkpoint=" + (dir_ / "mopo_full" / "model").string()}),
        false);
  EXPECT_FALSE(fs::exists(dir_ / "mopo_reuse" / "model"));
  // MOBILE's disagreement across elites needs two of them.
  EXPECT_EQ(error_of([&] {
              train(config("mobile", 10, "one_elite",
                           {"model.hidden=16", "model.members=2", "model.elites=1",
                            "model.max_epochs=1", "mobile.rollout_batch=10"}),
                    false);
            }),
            "mobile: the model has 1 elite(s); the disagreement across elites needs at least 2 "
            "(model.elites)");
  EXPECT_THAT(error_of([&] { config("iql", 10, "x", {"model.members=3"}); }),
              HasSubstr("model.members"));
  EXPECT_EQ(error_of([&] {
              config("ravl", 10, "x", {"ravl.rollout_batch=1000000", "ravl.retain=1000"});
            }),
            "config keys 'ravl.rollout_batch' x 'ravl.horizon' x 'ravl.retain': a model buffer of "
            "5e+09 transitions; at most 100 million");
}

// A stop request (core/stop.h, what the Python module's Ctrl-C sends) ends an offline run after
// the current step with a checkpoint; the run resumes to the end.
TEST_F(TrainerTest, AStopRequestCheckpointsAndTheRunResumes) {
  request_stop();
  const std::string cfg = config("iql", 200, "stopped");
  const TrainResult first = train(cfg, false);
  clear_stop_request();
  EXPECT_EQ(first.steps, 1);
  EXPECT_TRUE(fs::exists(dir_ / "stopped" / "checkpoints" / "latest.pt"));
  EXPECT_EQ(train(cfg, /*resume=*/true).steps, 200);
}

// batch_size 0 (the default) takes the algorithm's own, ReBRAC's 1024 (CORL's); config.json
// records the value used.
TEST_F(TrainerTest, BatchSizeDefaultsToTheAlgorithms) {
  auto batch = [&](const std::string& algo, std::vector<std::string> extra = {}) {
    return nlohmann::json::parse(config(algo, 10, algo, extra))["batch_size"].get<int64_t>();
  };
  EXPECT_EQ(batch("iql"), 256);
  EXPECT_EQ(batch("rebrac"), 1024);
  EXPECT_EQ(batch("rebrac", {"batch_size=64"}), 64);
}

// A copied run directory resumes where it is: the stored run_dir is a record, not a target.
// precision=auto: bf16 on a CPU with bf16 matmuls, except for the algorithms the suite's
// fp32-vs-bf16 comparison found hurt (IQL, and RIQL with IQL's update); fp32 on other CPUs;
// an explicit bf16 is bf16 for every algorithm.
TEST_F(TrainerTest, AutoPrecisionKeepsFp32WhereTheComparisonFoundBf16Hurting) {
  const auto bf16 = [&](const std::string& algo, const std::string& precision, bool cpu) {
    return uses_bf16(resolve_train_config_text(config(algo, 10, "r", {"precision=" + precision})),
                     cpu);
  };
  for (const std::string algo : {"td3_bc", "sac_n", "cql"}) {
    EXPECT_TRUE(bf16(algo, "auto", true)) << algo;
    EXPECT_FALSE(bf16(algo, "auto", false)) << algo;
  }
  for (const std::string algo : {"iql", "riql"}) {
    EXPECT_FALSE(bf16(algo, "auto", true)) << algo;
    EXPECT_TRUE(bf16(algo, "bf16", true)) << algo;
    EXPECT_TRUE(bf16(algo, "bf16", false)) << algo;
  }
  EXPECT_FALSE(bf16("td3_bc", "fp32", true));
}

TEST_F(TrainerTest, ACopiedRunDirectoryResumesInPlace) {
  train(config("td3_bc", 200, "full"), false);
  train(config("td3_bc", 200, "original"), false, /*stop_after_steps=*/100);
  fs::copy(dir_ / "original", dir_ / "copy", fs::copy_options::recursive);
  const std::string before = testing::read_file((dir_ / "original" / "metrics.jsonl").string());
  const TrainResult r = resume_training((dir_ / "copy").string());
  EXPECT_EQ(r.steps, 200);
  EXPECT_EQ(r.run_dir, (dir_ / "copy").string());
  EXPECT_EQ(testing::read_file((dir_ / "original" / "metrics.jsonl").string()), before);
  const auto a = parameters("td3_bc", dir_ / "full" / "checkpoints" / "latest.pt");
  const auto b = parameters("td3_bc", dir_ / "copy" / "checkpoints" / "latest.pt");
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << i;
}

// A run resumes on the data it started with: a dataset file replaced in between (the same path,
// other contents) is one error naming it, and meta.json keeps the run's record.
TEST_F(TrainerTest, ResumingOnAReplacedDatasetIsAnError) {
  const std::string cfg = config("iql", 100, "run");
  train(cfg, false, /*stop_after_steps=*/50);
  auto env = make_env("pendulum-v1");
  auto policy = make_scripted_policy("pendulum-v1");
  save_dataset(collect(*env, *policy, {.transitions = 2000, .seed = 4, .gaussian_noise = 1.0}),
               (dir_ / "data.hdf5").string(), {.force = true});
  const std::string error = error_of([&] { train(cfg, /*resume=*/true); });
  EXPECT_THAT(error, HasSubstr((dir_ / "data.hdf5").string() + ": changed since the run started"));
  EXPECT_THAT(error, HasSubstr("a resumed run trains on the dataset it started with"));
  const auto meta =
      nlohmann::json::parse(testing::read_file((dir_ / "run" / "meta.json").string()));
  EXPECT_FALSE(meta.contains("resumed_at"));
}

TEST_F(TrainerTest, SameSeedSameMetrics) {
  auto losses = [&](const std::string& run) {
    train(config("td3_bc", 100, run, {"log_every=10"}), false);
    std::ifstream in(dir_ / run / "metrics.jsonl");
    std::string line, out;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line);
      j.erase("wall_s");
      j.erase("updates_per_s");
      out += j.dump() + "\n";
    }
    return out;
  };
  const std::string a = losses("a"), b = losses("b");
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, b);
}

TEST_F(TrainerTest, RunDirectoryIsWellFormed) {
  const TrainResult r = train(config("bc", 100, "run"), false);
  for (const char* f :
       {"config.json", "versions.txt", "metrics.jsonl", "eval.jsonl", "checkpoints/latest.pt"}) {
    EXPECT_TRUE(fs::exists(dir_ / "run" / f)) << f;
  }
  const auto cfg =
      nlohmann::json::parse(testing::read_file((dir_ / "run" / "config.json").string()));
  EXPECT_EQ(cfg["algo"], "bc");
  EXPECT_EQ(cfg["bc"]["hidden"], 32);
  ASSERT_EQ(r.evaluations.size(), 1u);
  EXPECT_EQ(r.evaluations[0].second.returns.size(), 2u);
  // A second run into the same directory is refused; nothing is overwritten.
  EXPECT_THAT(error_of([&] { train(config("bc", 100, "run"), false); }),
              HasSubstr("already holds a run"));
  // Evaluating the checkpoint reproduces the trainer's evaluation.
  const EvalResult e = evaluate_checkpoint(r.checkpoint, "pendulum-v1", 2, 1'000'000);
  EXPECT_EQ(e.returns, r.evaluations[0].second.returns);
}

TEST_F(TrainerTest, BadInputIsAClearError) {
  EXPECT_THAT(
      error_of([&] { train(config("iql", 10, "x", {"dataset=/nonexistent.hdf5"}), false); }),
      HasSubstr("/nonexistent.hdf5: no such file"));
  EXPECT_THAT(
      error_of([&] { train(config("iql", 10, "y", {"env=mountaincarcontinuous-v0"}), false); }),
      HasSubstr("do not match mountaincarcontinuous-v0's 2/1"));
  EXPECT_THAT(error_of([&] {
                TrainConfig c;
                resolve_train_config(c, "", {"algo=dqn", "dataset=x", "env=y"});
              }),
              HasSubstr("unknown algorithm 'dqn'"));
  EXPECT_THAT(error_of([&] { config("iql", 10, "z", {"iql.expectiel=0.8"}); }),
              HasSubstr("unknown config key 'iql.expectiel'"));
  const TrainResult r = train(config("iql", 50, "iql_run"), false);
  // A checkpoint from another algorithm.
  EXPECT_THAT(error_of([&] { parameters("td3_bc", r.checkpoint); }),
              HasSubstr("checkpoint holds algorithm 'iql', not 'td3_bc'"));
  EXPECT_THAT(
      error_of([&] { evaluate_checkpoint((dir_ / "data.hdf5").string(), "pendulum-v1", 1, 0); }),
      HasSubstr("not a stitch checkpoint"));
  EXPECT_THAT(error_of([&] { evaluate_checkpoint(r.checkpoint, "cartpole-v1", 1, 0); }),
              HasSubstr("needs bounded Box actions"));
}

TEST_F(TrainerTest, DivergenceStopsWithTheStep) {
  // Learning rates are capped at 1, so a huge one can no longer blow training up; rewards at
  // float's limit overflow the critic's target on the first step instead.
  const std::string path = (dir_ / "data.hdf5").string();
  Dataset data = load_dataset(path);
  std::fill(data.rewards.begin(), data.rewards.end(), std::numeric_limits<float>::lowest());
  save_dataset(data, path, {.force = true});
  const std::string msg = error_of([&] { train(config("td3_bc", 500, "nan"), false); });
  EXPECT_THAT(msg, HasSubstr("training diverged at step"));
}

}  // namespace
}  // namespace stitch
