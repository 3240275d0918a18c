#include "env/env.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "env/test_envs.h"
#include "env/wrappers.h"

namespace stitch {
namespace {

using testing::CounterEnv;
using ::testing::HasSubstr;

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Env, StepBeforeResetIsAnError) {
  CounterEnv env;
  EXPECT_THAT(error_of([&] { env.step(std::vector<float>{0.0f}); }), HasSubstr("before reset()"));
}

TEST(Env, StepAfterTerminationIsAnError) {
  CounterEnv env;
  env.reset(0);
  const auto r = env.step(std::vector<float>{1.0f});
  EXPECT_TRUE(r.terminated);
  EXPECT_FALSE(r.truncated);
  EXPECT_TRUE(env.needs_reset());
  EXPECT_THAT(error_of([&] { env.step(std::vector<float>{0.0f}); }),
              HasSubstr("after the episode ended"));
}

TEST(Env, RejectsBadActionsWithOneLineMessages) {
  CounterEnv env;
  env.reset(0);
  const std::string shape = error_of([&] { env.step(std::vector<float>{0.0f, 0.0f}); });
  EXPECT_THAT(shape, HasSubstr("counter-v0: action has 2 values, expected 1"));
  const std::string nan = error_of([&] { env.step(std::vector<float>{NAN}); });
  EXPECT_THAT(nan, HasSubstr("action[0] is nan"));
  const std::string bounds = error_of([&] { env.step(std::vector<float>{1.5f}); });
  EXPECT_THAT(bounds, HasSubstr("action[0] = 1.5 is outside [-1, 1]"));
  for (const auto& m : {shape, nan, bounds}) EXPECT_EQ(m.find('\n'), std::string::npos);
  // A rejected action leaves the episode usable.
  EXPECT_NO_THROW(env.step(std::vector<float>{0.0f}));
}

TEST(Env, SeedMakesResetReproducible) {
  CounterEnv a, b;
  EXPECT_EQ(a.reset(5), b.reset(5));
  EXPECT_NE(a.reset(5), a.reset(6));
  // Unseeded resets continue the stream: the next reset differs from the seeded one.
  const auto seeded = a.reset(5);
  EXPECT_NE(a.reset(), seeded);
  // The very first unseeded reset uses seed 0.
  CounterEnv c, d;
  EXPECT_EQ(c.reset(), d.reset(0));
}

TEST(Env, CountsStepsAndPassesCost) {
  CounterEnv env;
  env.reset(0);
  for (int i = 1; i <= 3; ++i) {
    const auto r = env.step(std::vector<float>{0.1f});
    EXPECT_EQ(r.obs[0], static_cast<float>(i));
    EXPECT_EQ(r.cost, 0.5);
  }
  EXPECT_EQ(env.elapsed_steps(), 3);
  env.reset();
  EXPECT_EQ(env.elapsed_steps(), 0);
}

TEST(Env, CheckActionForDiscreteSpaces) {
  const Space d = Space::discrete(2);
  EXPECT_NO_THROW(check_action("x", d, std::vector<float>{1.0f}));
  EXPECT_THAT(error_of([&] { check_action("x", d, std::vector<float>{2.0f}); }),
              HasSubstr("is not an integer in [0, 2)"));
  EXPECT_THAT(error_of([&] { check_action("x", d, std::vector<float>{0.5f}); }),
              HasSubstr("is not an integer"));
}

}  // namespace
}  // namespace stitch
