// RCSL and MBRCSL (algo/offline/rcsl.h, algo/model_based/mbrcsl.cpp) on pointstitch-v0's data:
// the evaluation counts the target down by each reward, the target is the data's best return and
// lives in the checkpoint, MBRCSL keeps only model episodes that beat the data and resumes its
// RCSL phase exactly, and bad input is one line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "algo/algorithm.h"
#include "algo/return_conditioned.h"
#include "algo/trainer.h"
#include "algo/training_loop.h"
#include "core/config.h"
#include "data/collect.h"
#include "data/io.h"
#include "env/registry.h"
#include "testing/errors.h"
#include "testing/thread_policy.h"
#include "track/checkpoint.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;
using testing::error_of;
using ::testing::HasSubstr;

const AlgoDims kDims{.obs_dim = 2, .act_dim = 2, .max_action = 1.0, .total_steps = 200};

class RcslTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("stitch_rcsl_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto env = make_env("pointstitch-v0");
    auto policy = make_scripted_policy("pointstitch-v0");
    save_dataset(collect(*env, *policy, {.transitions = 3000, .seed = 0, .gaussian_noise = 0.1}),
                 data().string(), {});
  }
  fs::path data() const { return dir_ / "data.hdf5"; }
  std::string config(const std::string& algo, int64_t steps, const std::string& run,
                     std::vector<std::string> extra = {}) {
    TrainConfig c;
    std::vector<std::string> o = {"algo=" + algo,
                                  "dataset=" + data().string(),
                                  "env=pointstitch-v0",
                                  "steps=" + std::to_string(steps),
                                  "eval_every=0",
                                  "eval_episodes=2",
                                  "checkpoint_every=50",
                                  "log_every=50",
                                  algo + ".hidden=32",
                                  algo + ".lr=1e-3",
                                  "run_dir=" + (dir_ / run).string()};
    o.insert(o.end(), extra.begin(), extra.end());
    return resolve_train_config(c, "", o);
  }
  std::unique_ptr<Algorithm> make(const std::string& algo) {
    const auto& entry = AlgoRegistry::global().entry(algo);
    auto cfg = entry.make_config();
    ConfigFields f;
    cfg->describe(f);
    f.apply_override("hidden=32");
    torch::manual_seed(0);
    return entry.make(*cfg, kDims, 0);
  }
  std::unique_ptr<Algorithm> load(const std::string& algo, const fs::path& run) {
    auto a = make(algo);
    Checkpoint((run / "checkpoints" / "latest.pt").string())
        .read_algorithm([&](torch::serialize::InputArchive& archive) { a->load(archive); });
    return a;
  }
  // The buffer [target, scale] and the parameters of a stored algorithm.
  static torch::Tensor returns_of(Algorithm& a) {
    return a.modules().front().second->named_buffers()["returns"].clone();
  }
  fs::path dir_;
};

// The return to go starts at the target each episode and drops by every reward (scaled as the
// training rewards were): after rewards 2 and 1 from target 10 the policy acts as one whose
// target is 7.
TEST_F(RcslTest, EvaluationCountsTheTargetDownByEachReward) {
  auto a = make("rcsl"), b = make("rcsl");
  dynamic_cast<ReturnConditioned&>(*a).set_data_returns(10, 40, 1.0);
  dynamic_cast<ReturnConditioned&>(*b).set_data_returns(7, 40, 1.0);
  Normalizers plain, halved;
  halved.reward_scale = 0.5;
  AlgorithmPolicy pa(*a, plain), pb(*b, plain);
  const std::vector<float> obs = {0.3f, -0.2f};
  std::vector<float> first(2), later(2), expected(2);
  Rng rng(0);
  pa.reset();
  pa.act(obs, rng, first);
  pa.observe_reward(2);
  pa.observe_reward(1);
  pa.act(obs, rng, later);
  pb.reset();
  pb.act(obs, rng, expected);
  EXPECT_EQ(later, expected);
  EXPECT_NE(first, later);
  pa.reset();  // a new episode starts at the target again
  pa.act(obs, rng, later);
  EXPECT_EQ(later, first);
  AlgorithmPolicy scaled(*a, halved);  // rewards 6 at scale 0.5 count 3
  scaled.reset();
  scaled.observe_reward(6);
  scaled.act(obs, rng, later);
  EXPECT_EQ(later, expected);
}

TEST_F(RcslTest, TheTargetIsTheDatasBestReturnAndLivesInTheCheckpoint) {
  const Dataset d = load_dataset(data().string());
  const std::vector<double> returns = complete_episode_returns(d);
  const double best = *std::max_element(returns.begin(), returns.end());
  ASSERT_GT(best, 20.0);  // a detour reached the goal
  train(config("rcsl", 20, "run"), false);
  const torch::Tensor stored = returns_of(*load("rcsl", dir_ / "run"));
  EXPECT_FLOAT_EQ(stored[0].item<float>(), static_cast<float>(best));
  EXPECT_FLOAT_EQ(stored[1].item<float>(), static_cast<float>(best));  // returns are >= 0 here
  train(config("rcsl", 20, "fixed", {"rcsl.target_return=30"}), false);
  EXPECT_FLOAT_EQ(returns_of(*load("rcsl", dir_ / "fixed"))[0].item<float>(), 30.0f);
  // The evaluation of a stored run uses it (the same returns as the run's own evaluation).
  const TrainResult r = train(config("rcsl", 20, "evaluated", {"eval_episodes=3"}), false);
  const EvalResult e =
      evaluate_checkpoint((dir_ / "evaluated" / "checkpoints" / "latest.pt").string(),
                          "pointstitch-v0", 3, evaluation_seed(0));
  EXPECT_EQ(e.returns, r.evaluations.back().second.returns);
}

TEST_F(RcslTest, BadInputIsOneLine) {
  EXPECT_EQ(error_of([&] { config("rcsl", 10, "x", {"rcsl.target_return=best"}); }),
            "config key 'rcsl.target_return': \"max\" or a finite number, got 'best'");
  train(config("rcsl", 10, "run"), false);
  EXPECT_EQ(error_of([&] {
              export_checkpoint_policy((dir_ / "run" / "checkpoints" / "latest.pt").string());
            }),
            "rcsl: a return-conditioned policy reads the return still to collect besides the "
            "observation; the deployed policy format (stitch export) is a policy of the "
            "observation alone");
  EXPECT_EQ(error_of([&] { train(config("mbrcsl", 10, "long", {"mbrcsl.horizon=61"}), false); }),
            "config key 'mbrcsl.horizon': 61 steps, past pointstitch-v0's time limit of 60");
  EXPECT_THAT(
      error_of([&] { train(config("mbrcsl", 10, "big", {"mbrcsl.keep=10000000"}), false); }),
      HasSubstr("at most 100 million"));
  EXPECT_THAT(error_of([&] { config("rcsl", 10, "x", {"model.members=3"}); }),
              HasSubstr("model.members"));
}

// MBRCSL's model, behaviour policy and rollouts come before its first checkpoint; killed in its
// RCSL phase and resumed, it ends where an uninterrupted run does, from the same rollouts.hdf5
// and model (neither made again). Every kept episode beats the data's best return.
TEST_F(RcslTest, MbrcslResumesItsRcslPhaseFromItsRollouts) {
  const std::vector<std::string> small = {
      "model.hidden=32",     "model.members=3",           "model.elites=2",
      "model.max_epochs=10", "mbrcsl.behavior_steps=500", "mbrcsl.rollout_batch=500",
      "mbrcsl.keep=20",      "mbrcsl.weight_decay=0"};
  train(config("mbrcsl", 200, "full", small), false);
  const std::string interrupted = config("mbrcsl", 200, "killed", small);
  EXPECT_EQ(train(interrupted, false, /*stop_after_steps=*/100).steps, 100);
  const fs::path killed = dir_ / "killed";
  const auto rollouts_time = fs::last_write_time(killed / "rollouts.hdf5");
  const auto model_time = fs::last_write_time(killed / "model" / "checkpoints" / "model.pt");
  EXPECT_EQ(train(interrupted, /*resume=*/true).steps, 200);
  EXPECT_EQ(fs::last_write_time(killed / "rollouts.hdf5"), rollouts_time);
  EXPECT_EQ(fs::last_write_time(killed / "model" / "checkpoints" / "model.pt"), model_time);
  auto a = load("mbrcsl", dir_ / "full"), b = load("mbrcsl", killed);
  EXPECT_TRUE(torch::equal(returns_of(*a), returns_of(*b)));
  const auto pa = a->modules().front().second->parameters();
  const auto pb = b->modules().front().second->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i])) << i;

  const Dataset kept = load_dataset((killed / "rollouts.hdf5").string());
  auto info = [&](const std::string& key) {
    return nlohmann::json::parse(kept.metadata.at("mbrcsl_" + key)).get<double>();
  };
  const double best = info("data_best_return");
  EXPECT_EQ(static_cast<double>(kept.episodes.size()), info("episodes_kept"));
  EXPECT_GE(info("episodes_kept"), 20);
  double kept_best = 0;
  for (const Episode& ep : kept.episodes) {
    EXPECT_GT(ep.total_return, best);
    EXPECT_EQ(ep.length, 60);  // the env's time limit; it never terminates
    kept_best = std::max(kept_best, ep.total_return);
  }
  // Model rewards stay within the data's (0 and 1 here), so no episode returns more than 60.
  EXPECT_LE(kept_best, 60.0);
  for (float r : kept.rewards) EXPECT_TRUE(r >= 0.0f && r <= 1.0f) << r;
  // The RCSL phase is conditioned on the best kept episode.
  EXPECT_NEAR(info("kept_best_return"), kept_best, 1e-3);
  EXPECT_FLOAT_EQ(returns_of(*b)[0].item<float>(), static_cast<float>(kept_best));

  // Started again in a directory whose run never checkpointed: the model there is reused only if
  // fitted with the same settings.
  fs::remove_all(killed / "checkpoints");
  std::vector<std::string> other = small;
  other[0] = "model.hidden=16";
  EXPECT_EQ(error_of([&] { train(config("mbrcsl", 200, "killed", other), false); }),
            (killed / "model").string() +
                ": a model fitted with other 'model.*' than this run's; remove it, or start the "
                "run in another directory");
  // ... and on the same data: the dataset file's contents, not its name.
  auto env = make_env("pointstitch-v0");
  auto policy = make_scripted_policy("pointstitch-v0");
  save_dataset(collect(*env, *policy, {.transitions = 3000, .seed = 1, .gaussian_noise = 0.1}),
               data().string(), {.force = true});
  EXPECT_EQ(error_of([&] { train(config("mbrcsl", 200, "killed", small), false); }),
            (killed / "model").string() +
                ": a model fitted with other data than this run's; remove it, or start the run "
                "in another directory");
}

}  // namespace
}  // namespace stitch
