// The scripted policies are near-expert (they will build datasets); the random policy sits at
// Gymnasium's reference ranges. Thresholds from the Foundation issue and Gymnasium's
// reward_threshold values.
#include <gtest/gtest.h>

#include <numeric>

#include "env/registry.h"
#include "env/rollout.h"

namespace stitch {
namespace {

double mean_return(const std::string& id, bool scripted, int episodes, uint64_t seed = 0) {
  auto env = make_env(id);
  auto policy = scripted ? make_scripted_policy(id) : make_random_policy(env->action_space());
  const auto stats = run_episodes(*env, *policy, episodes, seed);
  double sum = 0;
  for (const auto& s : stats) sum += s.total_return;
  return sum / episodes;
}

TEST(Scripted, PendulumSwingUpBeatsMinus200) {
  EXPECT_GT(mean_return("pendulum-v1", true, 20), -200.0);
  EXPECT_GT(mean_return("pendulum-v1", true, 20, 1000), -200.0);
}

TEST(Scripted, PendulumRandomIsWorseThanMinus1000) {
  EXPECT_LT(mean_return("pendulum-v1", false, 20), -1000.0);
}

TEST(Scripted, MountainCarPumpSolvesIt) {
  EXPECT_GT(mean_return("mountaincarcontinuous-v0", true, 20), 90.0);
}

TEST(Scripted, CartPoleBalanceSolvesIt) { EXPECT_GE(mean_return("cartpole-v1", true, 20), 475.0); }

TEST(Scripted, AcrobotPumpSolvesIt) { EXPECT_GT(mean_return("acrobot-v1", true, 20), -100.0); }

TEST(Scripted, RandomPoliciesAreFarFromSolving) {
  EXPECT_LT(mean_return("cartpole-v1", false, 20), 50.0);
  EXPECT_LT(mean_return("acrobot-v1", false, 20), -400.0);
}

}  // namespace
}  // namespace stitch
