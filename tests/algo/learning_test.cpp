// Learning tests (label "learn"): IQL, TD3+BC, CQL, SAC-N, ReBRAC and MOPO must beat BC, trained in
// the same test on the same data and seeds, by a measured margin on the suite's Pendulum
// medium-replay mixture (below); MBRCSL must beat RCSL on data that needs stitching; BC on the
// noise-free scripted data must match the scripted policy within 10% on the same evaluation seeds.
// Small networks keep the tier near two minutes on 2 cores.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "algo/trainer.h"
#include "data/collect.h"
#include "data/io.h"
#include "env/registry.h"
#include "env/rollout.h"
#include "model/model_run.h"
#include "testing/suite_data.h"
#include "testing/thread_policy.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;

struct Data {
  std::string path;
  double mean_return;
};

Data make_dataset(const std::string& name, double noise) {
  const fs::path dir =
      fs::path(::testing::TempDir()) / ("stitch_learn_" + std::to_string(getpid()));
  fs::create_directories(dir);
  auto env = make_env("pendulum-v1");
  auto policy = make_scripted_policy("pendulum-v1");
  const Dataset d =
      collect(*env, *policy, {.transitions = 20000, .seed = 0, .gaussian_noise = noise});
  const std::string path = (dir / name).string();
  save_dataset(d, path, {.force = true});
  double sum = 0;
  for (const Episode& ep : d.episodes) sum += ep.total_return;
  return {path, sum / static_cast<double>(d.episodes.size())};
}

EvalResult run(const std::string& algo, const Data& data, int64_t steps, int64_t hidden,
               std::vector<std::string> extra = {}) {
  TrainConfig c;
  const fs::path run_dir = fs::path(data.path).parent_path() / (algo + "_run");
  fs::remove_all(run_dir);
  std::vector<std::string> overrides = {"algo=" + algo,
                                        "dataset=" + data.path,
                                        "env=pendulum-v1",
                                        "steps=" + std::to_string(steps),
                                        "eval_every=0",
                                        "eval_episodes=20",
                                        "checkpoint_every=100000",
                                        "log_every=1000",
                                        algo + ".hidden=" + std::to_string(hidden),
                                        "run_dir=" + run_dir.string()};
  overrides.insert(overrides.end(), extra.begin(), extra.end());
  const TrainResult r = train(resolve_train_config(c, "", overrides), false);
  return r.evaluations.back().second;
}

// The suite's Pendulum medium-replay mixture at 20,000 transitions (random, then the scripted
// controller with Gaussian noise 5.0, 3.0 and 2.5 of half the action range; mean episode return
// about -1000): BC imitates the mixture (about -870 over 20 episodes), while an algorithm that
// learns values can stitch the good pieces together. Each algorithm is trained on 3 seeds beside
// BC on the same seeds and must beat BC's mean by kMargin.
//
// Measured on 2026-12-03 (mean of 3 seeds, 20 evaluation episodes each): BC (2x64, 5,000 steps)
// -871; IQL (2x256, 3,000 steps) -201; CQL (2x64, 4 sampled actions, 8,000 steps) -273; TD3+BC
// (2x64, 10,000 steps) with alpha 40 -272, but with the paper's alpha 2.5 -820 at 15,000 steps:
// on this mixture its BC term dominates, so the test raises alpha to let a broken Q term show.
// The margin, 300, is about half the smallest gap measured (562, CQL).
constexpr double kMargin = 300.0;

std::string replay_mixture() {
  return testing::pendulum_suite_data(
      fs::path(::testing::TempDir()) / ("stitch_learn_suite_" + std::to_string(getpid())),
      "medium-replay");
}

double mean_over_seeds(const std::string& algo, const std::string& dataset, int64_t steps,
                       int64_t hidden, std::vector<std::string> extra = {}) {
  double sum = 0.0;
  for (int seed = 0; seed < 3; ++seed) {
    std::vector<std::string> o = extra;
    o.push_back("seed=" + std::to_string(seed));
    const double mean = run(algo, {dataset, 0.0}, steps, hidden, o).mean;
    std::printf("%s seed %d: %.1f\n", algo.c_str(), seed, mean);
    sum += mean;
  }
  return sum / 3.0;
}

double bc_on_the_mixture() {
  static const double bc = mean_over_seeds("bc", replay_mixture(), 5000, 64);
  return bc;
}

TEST(Learning, IqlBeatsBcOnTheReplayMixture) {
  const double iql = mean_over_seeds("iql", replay_mixture(), 3000, 256);
  const double bc = bc_on_the_mixture();
  std::printf("IQL %.1f, BC %.1f over 3 seeds\n", iql, bc);
  EXPECT_GT(iql, bc + kMargin);
}

TEST(Learning, Td3BcBeatsBcOnTheReplayMixture) {
  const double td3_bc = mean_over_seeds("td3_bc", replay_mixture(), 10000, 64, {"td3_bc.alpha=40"});
  const double bc = bc_on_the_mixture();
  std::printf("TD3+BC %.1f, BC %.1f over 3 seeds\n", td3_bc, bc);
  EXPECT_GT(td3_bc, bc + kMargin);
}

TEST(Learning, CqlBeatsBcOnTheReplayMixture) {
  // 4 sampled actions per state instead of 10 keep this near a minute. The paper's policy lr
  // (1e-4) and conservative weight (5) instead of CORL's locomotion defaults (3e-5, 10): with
  // those CQL needs far more than 8,000 steps here (-1510 over 3 seeds at 8,000 steps; one
  // seed: weight 10 with lr 1e-4 -1013, weight 5 with lr 1e-4 -201).
  const double cql = mean_over_seeds("cql", replay_mixture(), 8000, 64,
                                     {"cql.layers=2", "cql.num_actions=4", "cql.actor_lr=1e-4",
                                      "cql.alpha_lr=1e-4", "cql.conservative_weight=5"});
  const double bc = bc_on_the_mixture();
  std::printf("CQL %.1f, BC %.1f over 3 seeds\n", cql, bc);
  EXPECT_GT(cql, bc + kMargin);
}

TEST(Learning, SacNBeatsBcOnTheReplayMixture) {
  // 5 critics of 2x128 instead of CORL's 10 (or more) of 3x256 keep this near a minute; measured
  // on 2026-12-03: -330, -317, -152 (mean -266) at 5,000 steps.
  const double sac_n =
      mean_over_seeds("sac_n", replay_mixture(), 5000, 128, {"sac_n.critics=5", "sac_n.layers=2"});
  const double bc = bc_on_the_mixture();
  std::printf("SAC-N %.1f, BC %.1f over 3 seeds\n", sac_n, bc);
  EXPECT_GT(sac_n, bc + kMargin);
}

TEST(Learning, RebracBeatsBcOnTheReplayMixture) {
  // 3 hidden layers of 64 with LayerNorm critics, batch 256 instead of 1024, and CORL's
  // hopper-medium coefficients (0.01, 0.01) instead of the script defaults (1.0, 1.0), with which
  // the BC terms dominate here as TD3+BC's does (-941 over 3 seeds). Measured on 2026-12-03:
  // -368, -349, -334 (mean -350) at 5,000 steps, after LayerNorm's sums moved to float lanes
  // (-285 before: rounding alone moves it); actor coefficient 0.001: -182.
  const double rebrac = mean_over_seeds(
      "rebrac", replay_mixture(), 5000, 64,
      {"batch_size=256", "rebrac.actor_bc_coef=0.01", "rebrac.critic_bc_coef=0.01"});
  const double bc = bc_on_the_mixture();
  std::printf("ReBRAC %.1f, BC %.1f over 3 seeds\n", rebrac, bc);
  EXPECT_GT(rebrac, bc + kMargin);
}

// One dynamics ensemble (7 members of 4x64 instead of 4x200, at most 40 epochs) fitted on the
// mixture once and reused by every seed of MOPO and MOBILE (model.checkpoint).
std::string pendulum_model() {
  static const std::string dir = [] {
    const std::string data = replay_mixture();
    ModelRunConfig mc{.dataset = data,
                      .env = "pendulum-v1",
                      .run_dir = (fs::path(data).parent_path() / "pendulum_model").string()};
    mc.model.hidden = 64;
    mc.model.max_epochs = 40;
    fs::remove_all(mc.run_dir);
    train_model_run(mc);
    return mc.run_dir;
  }();
  return dir;
}

TEST(Learning, MopoBeatsBcOnTheReplayMixture) {
  // SAC of 2x64 on 2,000 rollouts of 5 steps every 1,000 updates. Measured on 2026-12-03: -141,
  // -150, -155 (mean -148) at 6,000 steps; the same with the penalty off (before SiLU's exp became
  // a polynomial): -134, -148, -154 (Pendulum's model is accurate wherever the policy goes, so the
  // penalty, about 0.22 a step, barely moves it: the penalty's own test is in
  // tests/model/dynamics_test.cpp).
  const double mopo =
      mean_over_seeds("mopo", replay_mixture(), 6000, 64,
                      {"mopo.rollout_batch=2000", "model.checkpoint=" + pendulum_model()});
  const double bc = bc_on_the_mixture();
  std::printf("MOPO %.1f, BC %.1f over 3 seeds\n", mopo, bc);
  EXPECT_GT(mopo, bc + kMargin);
}

TEST(Learning, MobileBeatsBcOnTheReplayMixture) {
  // As MOPO's, with 3 sampled next states per elite instead of 10 (about 20 s a seed) and the
  // target's clamp at 0 off: Pendulum's rewards are negative, so the clamp makes every target 0.
  // Measured on 2026-12-04 (2-core AMD EPYC): -134, -149, -167 (mean -150); seed 0 with the
  // clamp on: -1169, worse than BC.
  const double mobile =
      mean_over_seeds("mobile", replay_mixture(), 6000, 64,
                      {"mobile.rollout_batch=2000", "mobile.samples=3", "mobile.clamp_target=false",
                       "model.checkpoint=" + pendulum_model()});
  const double bc = bc_on_the_mixture();
  std::printf("MOBILE %.1f, BC %.1f over 3 seeds\n", mobile, bc);
  EXPECT_GT(mobile, bc + kMargin);
}

// Trajectory stitching (MBRCSL, Zhou et al. 2023): pointstitch-v0's scripted data (12,000
// transitions, Gaussian noise 0.1) holds detours that reach the goal late (return 23 at best)
// and halfway runs that stop half-way; the straight path, made of a halfway run's first half and a
// detour's second half, returns about 42. RCSL conditioned on the data's best return follows a
// detour; MBRCSL's model episodes mix the two where they cross, and RCSL on the ones that beat the
// data stitches. One model (7 members of 4x64, at most 30 epochs) serves every seed.
//
// Measured on 2026-12-04 (2-core AMD EPYC; 2x256 policies, lr 1e-3 without weight decay, 2,000
// steps, 20 evaluation episodes): RCSL 22.2, 20.1, 21.8 (mean 21.4); MBRCSL 38.8, 38.2, 37.7
// (mean 38.2), each from about 300 of 1,000 model episodes that beat 23. The margin, 8, is half
// the gap. About 40 s on one core. With the authors' weight decay 0.1 (Adam's L2) at lr 1e-3 both
// policies collapse to 0 here, so the test turns it off.
std::string stitching_data() {
  static const std::string path = [] {
    const fs::path dir =
        fs::path(::testing::TempDir()) / ("stitch_learn_stitching_" + std::to_string(getpid()));
    fs::create_directories(dir);
    auto env = make_env("pointstitch-v0");
    auto policy = make_scripted_policy("pointstitch-v0");
    const std::string file = (dir / "pointstitch.hdf5").string();
    save_dataset(collect(*env, *policy, {.transitions = 12000, .seed = 0, .gaussian_noise = 0.1}),
                 file, {.force = true});
    return file;
  }();
  return path;
}

TEST(Learning, MbrcslStitchesWhatRcslCannot) {
  const std::string data = stitching_data();
  ModelRunConfig mc{.dataset = data,
                    .env = "pointstitch-v0",
                    .run_dir = (fs::path(data).parent_path() / "model").string()};
  mc.model.hidden = 64;
  mc.model.max_epochs = 30;
  fs::remove_all(mc.run_dir);
  train_model_run(mc);
  auto keys = [](const std::string& algo) {
    return std::vector<std::string>{"env=pointstitch-v0", algo + ".lr=1e-3",
                                    algo + ".weight_decay=0"};
  };
  const double rcsl = mean_over_seeds("rcsl", data, 2000, 256, keys("rcsl"));
  std::vector<std::string> mbrcsl_keys = keys("mbrcsl");
  mbrcsl_keys.insert(mbrcsl_keys.end(),
                     {"mbrcsl.behavior_steps=3000", "model.checkpoint=" + mc.run_dir});
  const double mbrcsl = mean_over_seeds("mbrcsl", data, 2000, 256, mbrcsl_keys);
  std::printf("MBRCSL %.1f, RCSL %.1f over 3 seeds\n", mbrcsl, rcsl);
  EXPECT_GT(mbrcsl, rcsl + 8.0);
}

TEST(Learning, BcRecoversTheBehaviourPolicy) {
  const Data data = make_dataset("clean.hdf5", 0.0);
  const EvalResult e = run("bc", data, 3000, 64);
  // The scripted policy on the trainer's evaluation seeds (1,000,000 + seed * 1000, ...).
  auto env = make_env("pendulum-v1");
  auto policy = make_scripted_policy("pendulum-v1");
  double behaviour = 0;
  for (const auto& s : run_episodes(*env, *policy, 20, 1'000'000)) behaviour += s.total_return / 20;
  EXPECT_NEAR(e.mean, behaviour, 0.1 * std::abs(behaviour));
}

}  // namespace
}  // namespace stitch
