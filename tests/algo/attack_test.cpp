// RIQL's adversarial corruption against a trained agent (algo/attack.h): perturbations stay
// within scale * std, and they lower the agent's Q more than random ones of the same size do.
#include "algo/attack.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "algo/algorithm.h"
#include "algo/trainer.h"
#include "algo/training_loop.h"
#include "data/collect.h"
#include "data/io.h"
#include "env/registry.h"
#include "testing/errors.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class AttackTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::path(::testing::TempDir()) /
                        ("stitch_attack_" + std::to_string(getpid())));
    fs::create_directories(*dir_);
    auto env = make_env("pendulum-v1");
    auto policy = make_scripted_policy("pendulum-v1");
    save_dataset(collect(*env, *policy, {.transitions = 2000, .seed = 3, .gaussian_noise = 1.0}),
                 data_path(), {.force = true});
    // An agent with critics, on normalised observations (the attack must see them as it does).
    for (const std::string algo : {"sac_n", "bc"}) {
      TrainConfig c;
      train(resolve_train_config(
                c, "",
                {"algo=" + algo, "dataset=" + data_path(), "env=pendulum-v1", "steps=300",
                 "eval_every=0", "eval_episodes=1", "normalize_observations=true",
                 algo + ".hidden=32", "run_dir=" + (*dir_ / algo).string()}),
            false);
    }
  }
  static std::string data_path() { return (*dir_ / "data.hdf5").string(); }
  static fs::path* dir_;
};
fs::path* AttackTest::dir_ = nullptr;

// The agent's mean Q over `rows` of `d` (its observations normalised as in training).
double mean_q(LoadedAlgorithm& agent, const Dataset& d, const std::vector<int64_t>& rows) {
  const auto& n = agent.contents.normalizers.obs;
  torch::NoGradGuard no_grad;
  double sum = 0;
  for (const int64_t i : rows) {
    std::vector<float> s(d.observations.begin() + i * d.obs_dim,
                         d.observations.begin() + (i + 1) * d.obs_dim);
    n.apply(s);
    const auto obs = torch::tensor(s).view({1, d.obs_dim});
    const auto act = torch::tensor(std::vector<float>(d.actions.begin() + i * d.act_dim,
                                                      d.actions.begin() + (i + 1) * d.act_dim))
                         .view({1, d.act_dim});
    sum += agent.algo->q_values(obs, act).mean().item<double>();
  }
  return sum / static_cast<double>(rows.size());
}

TEST_F(AttackTest, AdversarialPerturbationsStayInBoundsAndLowerQMoreThanRandomOnes) {
  const Dataset clean = load_dataset(data_path());
  const AdversarialAttack attack = q_attack((*dir_ / "sac_n").string());
  LoadedAlgorithm agent =
      load_algorithm_checkpoint((*dir_ / "sac_n" / "checkpoints" / "latest.pt").string());
  for (const CorruptTarget target : {CorruptTarget::kObservations, CorruptTarget::kActions}) {
    const CorruptOptions o{.target = target, .rate = 0.3, .scale = 0.5, .seed = 2};
    Dataset adversarial = clean, random = clean;
    CorruptOptions adv = o;
    adv.kind = CorruptKind::kAdversarial;
    corrupt_dataset(adversarial, adv, true, &attack);
    corrupt_dataset(random, o, true);
    std::vector<int64_t> rows;
    for (int64_t i = 0; i < clean.size(); ++i) {
      if (adversarial.infos.at("corrupted").data[i] != 0) rows.push_back(i);
    }
    ASSERT_GT(rows.size(), 450u);  // about 30% of 2000
    const bool obs = target == CorruptTarget::kObservations;
    const auto& before = obs ? clean.observations : clean.actions;
    const auto& after = obs ? adversarial.observations : adversarial.actions;
    const int64_t width = obs ? clean.obs_dim : clean.act_dim;
    // Every element within scale * std of its clean value (std over the clean column).
    for (int64_t j = 0; j < width; ++j) {
      double mean = 0, var = 0;
      for (int64_t i = 0; i < clean.size(); ++i) mean += before[i * width + j];
      mean /= static_cast<double>(clean.size());
      for (int64_t i = 0; i < clean.size(); ++i)
        var += (before[i * width + j] - mean) * (before[i * width + j] - mean);
      const double bound = 0.5 * std::sqrt(var / static_cast<double>(clean.size())) + 1e-5;
      for (int64_t i = 0; i < clean.size(); ++i)
        ASSERT_LE(std::abs(after[i * width + j] - before[i * width + j]), bound) << i << " " << j;
    }
    const double q_clean = mean_q(agent, clean, rows), q_random = mean_q(agent, random, rows),
                 q_adversarial = mean_q(agent, adversarial, rows);
    std::printf("%s: mean Q clean %.4f, random %.4f, adversarial %.4f\n",
                corrupt_target_name(target), q_clean, q_random, q_adversarial);
    EXPECT_LT(q_adversarial, q_random);
    EXPECT_LT(q_adversarial, q_clean);
    EXPECT_THAT(adversarial.metadata_string("corruption"), HasSubstr("\"adversarial\""));
  }
}

TEST_F(AttackTest, DynamicsAttackMovesOnlyNextObservations) {
  const Dataset clean = load_dataset(data_path());
  const AdversarialAttack attack = q_attack((*dir_ / "sac_n").string());
  Dataset d = clean;
  corrupt_dataset(d,
                  {.target = CorruptTarget::kDynamics,
                   .kind = CorruptKind::kAdversarial,
                   .rate = 0.2,
                   .scale = 1.0,
                   .seed = 5},
                  true, &attack);
  EXPECT_EQ(d.observations, clean.observations);
  EXPECT_EQ(d.actions, clean.actions);
  EXPECT_NE(d.next_observations, clean.next_observations);
}

TEST_F(AttackTest, AnAgentWithoutCriticsOrOfOtherSizesIsAClearError) {
  using testing::error_of;
  EXPECT_THAT(error_of([] { q_attack((*dir_ / "bc").string()); }),
              HasSubstr("bc has no critics to attack"));
  EXPECT_THAT(error_of([] { q_attack((*dir_ / "missing").string()); }), HasSubstr("missing"));
  const AdversarialAttack attack = q_attack((*dir_ / "sac_n").string());
  auto env = make_env("mountaincarcontinuous-v0");
  auto policy = make_scripted_policy("mountaincarcontinuous-v0");
  Dataset other = collect(*env, *policy, {.transitions = 100, .seed = 1});
  EXPECT_THAT(error_of([&] {
                corrupt_dataset(
                    other,
                    {.target = CorruptTarget::kObservations, .kind = CorruptKind::kAdversarial},
                    true, &attack);
              }),
              HasSubstr("the agent acts on 3 observation and 1 action dimensions"));
}

}  // namespace
}  // namespace stitch
