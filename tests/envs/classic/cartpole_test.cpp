#include "envs/classic/cartpole.h"

#include <gtest/gtest.h>

#include <cmath>

namespace stitch {
namespace {

// From Gymnasium's CartPole-v1 equations (numpy, float64), state [0, 0.1, 0.1, -0.2], push right.
TEST(CartPole, OneStepMatchesHandComputedDynamics) {
  CartPole env;
  env.reset(0);
  env.set_state({0.0, 0.1, 0.1, -0.2});
  const StepResult r = env.step(std::vector<float>{1.0f});
  EXPECT_DOUBLE_EQ(env.state()[0], 0.002);
  EXPECT_DOUBLE_EQ(env.state()[1], 0.2935600848265119);
  EXPECT_DOUBLE_EQ(env.state()[2], 0.096);
  EXPECT_DOUBLE_EQ(env.state()[3], -0.45953861145675357);
  EXPECT_EQ(r.reward, 1.0);
  EXPECT_FALSE(r.terminated);
  EXPECT_EQ(r.obs[1], static_cast<float>(0.2935600848265119));
}

TEST(CartPole, PushLeftIsTheMirrorImage) {
  CartPole env;
  env.reset(0);
  env.set_state({0.0, -0.1, -0.1, 0.2});
  env.step(std::vector<float>{0.0f});
  EXPECT_DOUBLE_EQ(env.state()[1], -0.2935600848265119);
  EXPECT_DOUBLE_EQ(env.state()[3], 0.45953861145675357);
}

TEST(CartPole, TerminatesWhenTheCartLeavesTheTrack) {
  for (double sign : {1.0, -1.0}) {
    CartPole env;
    env.reset(0);
    env.set_state({sign * 2.399, sign * 1.0, 0.0, 0.0});  // x moves by 0.02 past 2.4
    const StepResult r = env.step(std::vector<float>{sign > 0 ? 1.0f : 0.0f});
    EXPECT_TRUE(r.terminated);
    EXPECT_EQ(r.reward, 1.0);  // CartPole-v1 pays the terminating step too
  }
}

TEST(CartPole, TerminatesWhenThePoleFallsPast12Degrees) {
  const double limit = 12.0 * 2.0 * M_PI / 360.0;
  for (double sign : {1.0, -1.0}) {
    CartPole env;
    env.reset(0);
    env.set_state({0.0, 0.0, sign * (limit - 0.001), sign * 1.0});  // theta moves by 0.02
    EXPECT_TRUE(env.step(std::vector<float>{1.0f}).terminated);
  }
  CartPole env;
  env.reset(0);
  env.set_state({0.0, 0.0, limit - 0.03, 1.0});  // ends at limit - 0.01
  EXPECT_FALSE(env.step(std::vector<float>{1.0f}).terminated);
}

TEST(CartPole, ResetIsWithinFiveHundredths) {
  CartPole env;
  for (uint64_t seed = 0; seed < 100; ++seed) {
    env.reset(seed);
    for (double s : env.state()) {
      ASSERT_GE(s, -0.05);
      ASSERT_LE(s, 0.05);
    }
  }
}

}  // namespace
}  // namespace stitch
