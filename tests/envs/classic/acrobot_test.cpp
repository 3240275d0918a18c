#include "envs/classic/acrobot.h"

#include <gtest/gtest.h>

#include <cmath>

namespace stitch {
namespace {

// One RK4 step of 0.2 s from [0.3, -0.2, 0.5, -1.0] with torque +1, computed with an independent
// numpy transcription of Gymnasium's "book" equations.
TEST(Acrobot, OneStepMatchesHandComputedDynamics) {
  Acrobot env;
  env.reset(0);
  env.set_state({0.3, -0.2, 0.5, -1.0});
  const StepResult r = env.step(std::vector<float>{2.0f});
  EXPECT_NEAR(env.state()[0], 0.3422438766639251, 1e-14);
  EXPECT_NEAR(env.state()[1], -0.30931685281977855, 1e-14);
  EXPECT_NEAR(env.state()[2], -0.08717174222764312, 1e-14);
  EXPECT_NEAR(env.state()[3], -0.07306921813854794, 1e-14);
  EXPECT_EQ(r.reward, -1.0);
  EXPECT_FALSE(r.terminated);
  EXPECT_EQ(r.obs[0], static_cast<float>(std::cos(env.state()[0])));
  EXPECT_EQ(r.obs[3], static_cast<float>(std::sin(env.state()[1])));
}

TEST(Acrobot, TerminatesWithZeroRewardWhenTheTipClearsTheBar) {
  Acrobot env;
  env.reset(0);
  env.set_state({M_PI - 0.01, 0.0, 0.0, 0.0});  // pointing up: -cos(th1) - cos(th1+th2) ~ 2
  const StepResult r = env.step(std::vector<float>{1.0f});
  EXPECT_TRUE(r.terminated);
  EXPECT_EQ(r.reward, 0.0);
}

TEST(Acrobot, NoTerminationJustBelowTheBar) {
  // Link 1 horizontal, link 2 hanging: tip height -cos(pi/2) - cos(pi) = 1, not > 1.
  Acrobot env;
  env.reset(0);
  env.set_state({0.0, 0.0, 0.0, 0.0});
  EXPECT_FALSE(env.step(std::vector<float>{1.0f}).terminated);
}

TEST(Acrobot, AnglesWrapAndVelocitiesClip) {
  Acrobot env;
  env.reset(0);
  env.set_state({3.1, 0.0, 12.0, 0.0});  // fast spin past pi
  env.step(std::vector<float>{1.0f});
  EXPECT_GE(env.state()[0], -M_PI);
  EXPECT_LE(env.state()[0], M_PI);
  EXPECT_LE(std::abs(env.state()[2]), 4 * M_PI);
  EXPECT_LE(std::abs(env.state()[3]), 9 * M_PI);
}

TEST(Acrobot, ResetIsFloat32RoundedWithinATenth) {
  Acrobot env;
  for (uint64_t seed = 0; seed < 100; ++seed) {
    env.reset(seed);
    for (double s : env.state()) {
      ASSERT_LE(std::abs(s), 0.1);
      ASSERT_EQ(s, static_cast<double>(static_cast<float>(s)));
    }
  }
}

}  // namespace
}  // namespace stitch
