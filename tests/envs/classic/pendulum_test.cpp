#include "envs/classic/pendulum.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

namespace stitch {
namespace {

// Expected values computed by hand from Gymnasium's Pendulum-v1 equations (numpy, float64):
//   thdot' = thdot + (3g/(2l) sin th + 3/(m l^2) u) dt, clipped to [-8, 8]; th' = th + thdot' dt
//   reward = -(angle_normalize(th)^2 + 0.1 thdot^2 + 0.001 u^2) on the state before the step.
TEST(Pendulum, OneStepMatchesHandComputedDynamics) {
  Pendulum env;
  env.reset(0);
  env.set_state(0.5, -1.0);
  const StepResult r = env.step(std::vector<float>{1.5f});
  EXPECT_DOUBLE_EQ(env.theta(), 0.4792284576976576);
  EXPECT_DOUBLE_EQ(env.theta_dot(), -0.41543084604684777);
  EXPECT_DOUBLE_EQ(r.reward, -0.35224999999999995);
  EXPECT_EQ(r.obs[0], 0.8873509168624878f);
  EXPECT_EQ(r.obs[1], 0.4610946774482727f);
  EXPECT_EQ(r.obs[2], static_cast<float>(-0.41543084604684777));
  EXPECT_FALSE(r.terminated);
  EXPECT_FALSE(r.truncated);
}

TEST(Pendulum, SpeedIsClippedAndRewardUsesNormalisedAngle) {
  Pendulum env;
  env.reset(0);
  env.set_state(1.5, 7.9);
  env.step(std::vector<float>{2.0f});
  EXPECT_EQ(env.theta_dot(), 8.0);
  EXPECT_DOUBLE_EQ(env.theta(), 1.5 + 8.0 * 0.05);
  // 3*pi/2 normalises to -pi/2.
  env.set_state(3 * std::numbers::pi / 2, 0.0);
  const StepResult r = env.step(std::vector<float>{0.0f});
  EXPECT_NEAR(r.reward, -(std::numbers::pi / 2) * (std::numbers::pi / 2), 1e-12);
}

TEST(Pendulum, AngleNormalizeFollowsPythonModulo) {
  EXPECT_NEAR(angle_normalize(3 * std::numbers::pi / 2), -std::numbers::pi / 2, 1e-12);
  EXPECT_NEAR(angle_normalize(-3 * std::numbers::pi / 2), std::numbers::pi / 2, 1e-12);
  EXPECT_NEAR(angle_normalize(0.25), 0.25, 1e-15);
  EXPECT_NEAR(angle_normalize(std::numbers::pi), -std::numbers::pi, 1e-12);
}

TEST(Pendulum, ResetDrawsFromTheGymnasiumRanges) {
  Pendulum env;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    env.reset(seed);
    ASSERT_GE(env.theta(), -std::numbers::pi);
    ASSERT_LE(env.theta(), std::numbers::pi);
    ASSERT_GE(env.theta_dot(), -1.0);
    ASSERT_LE(env.theta_dot(), 1.0);
  }
}

TEST(Pendulum, SpacesAreGymnasiums) {
  Pendulum env;
  EXPECT_EQ(env.observation_space().high(), (std::vector<float>{1.0f, 1.0f, 8.0f}));
  EXPECT_EQ(env.action_space().low(), std::vector<float>{-2.0f});
  EXPECT_EQ(env.action_space().high(), std::vector<float>{2.0f});
}

TEST(Pendulum, GravityIsConfigurable) {
  Pendulum env({.g = 9.81});
  env.reset(0);
  env.set_state(0.5, 0.0);
  env.step(std::vector<float>{0.0f});
  EXPECT_DOUBLE_EQ(env.theta_dot(), 3 * 9.81 / 2 * std::sin(0.5) * 0.05);
}

}  // namespace
}  // namespace stitch
