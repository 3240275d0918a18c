#include "envs/classic/mountain_car_continuous.h"

#include <gtest/gtest.h>

#include <cmath>

namespace stitch {
namespace {

// From Gymnasium's MountainCarContinuous-v0 equations: from (-0.5, 0) with force 1,
// velocity = 0.0015 - 0.0025 cos(-1.5), position = -0.5 + velocity, stored as float32.
TEST(MountainCarContinuous, OneStepMatchesHandComputedDynamics) {
  MountainCarContinuous env;
  env.reset(0);
  env.set_state(-0.5, 0.0);
  const StepResult r = env.step(std::vector<float>{1.0f});
  EXPECT_EQ(env.position(), -0.4986768364906311);
  EXPECT_EQ(env.velocity(), 0.0013231569901108742);
  EXPECT_DOUBLE_EQ(r.reward, -0.1);
  EXPECT_FALSE(r.terminated);
}

TEST(MountainCarContinuous, RewardPenalisesActionSquared) {
  MountainCarContinuous env;
  env.reset(0);
  env.set_state(-0.5, 0.0);
  EXPECT_NEAR(env.step(std::vector<float>{-0.5f}).reward, -0.025, 1e-12);
}

TEST(MountainCarContinuous, ReachingTheGoalTerminatesWithTheBonus) {
  MountainCarContinuous env;
  env.reset(0);
  env.set_state(0.44, 0.02);
  const StepResult r = env.step(std::vector<float>{0.5f});
  EXPECT_TRUE(r.terminated);
  EXPECT_NEAR(r.reward, 100.0 - 0.025, 1e-12);
}

TEST(MountainCarContinuous, NoTerminationWhenMovingBackPastTheGoal) {
  // Position >= 0.45 with negative velocity does not count as reaching the goal.
  MountainCarContinuous env;
  env.reset(0);
  env.set_state(0.55, -0.001);
  const StepResult r = env.step(std::vector<float>{-1.0f});
  EXPECT_GE(env.position(), 0.45);
  EXPECT_LT(env.velocity(), 0.0);
  EXPECT_FALSE(r.terminated);
}

TEST(MountainCarContinuous, LeftWallStopsTheCar) {
  MountainCarContinuous env;
  env.reset(0);
  env.set_state(-1.19, -0.06);
  env.step(std::vector<float>{-1.0f});
  EXPECT_EQ(env.position(), static_cast<float>(-1.2));
  EXPECT_EQ(env.velocity(), 0.0);
}

TEST(MountainCarContinuous, SpeedIsClipped) {
  MountainCarContinuous env;
  env.reset(0);
  env.set_state(-0.5, 0.0699);
  env.step(std::vector<float>{1.0f});
  EXPECT_EQ(env.velocity(), static_cast<float>(0.07));
}

TEST(MountainCarContinuous, ResetPositionInRangeVelocityZero) {
  MountainCarContinuous env;
  for (uint64_t seed = 0; seed < 100; ++seed) {
    const auto obs = env.reset(seed);
    ASSERT_GE(obs[0], -0.6f);
    ASSERT_LE(obs[0], -0.4f);
    ASSERT_EQ(obs[1], 0.0f);
  }
}

}  // namespace
}  // namespace stitch
