#include "env/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "env/test_envs.h"

namespace stitch {
namespace {

using ::testing::HasSubstr;

TEST(EnvRegistry, HasTheClassicSuite) {
  const auto ids = EnvRegistry::global().ids();
  for (const char* id : {"pendulum-v1", "cartpole-v1", "mountaincarcontinuous-v0", "acrobot-v1"}) {
    EXPECT_TRUE(EnvRegistry::global().contains(id)) << id;
  }
}

TEST(EnvRegistry, UnknownIdListsKnownOnes) {
  try {
    make_env("pendulum-v9");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("unknown env id 'pendulum-v9'"));
    EXPECT_THAT(e.what(), HasSubstr("pendulum-v1"));
  }
}

TEST(EnvRegistry, RejectsDuplicateAndMalformedIds) {
  EnvRegistry registry;
  auto make = [] { return std::make_unique<testing::CounterEnv>(); };
  registry.add({.id = "counter-v0", .make = make});
  EXPECT_THROW(registry.add({.id = "counter-v0", .make = make}), Error);
  EXPECT_THROW(registry.add({.id = "Counter", .make = make}), Error);
  EXPECT_THROW(registry.add({.id = "counter-v", .make = make}), Error);
  EXPECT_EQ(registry.ids(), std::vector<std::string>{"counter-v0"});
}

TEST(EnvRegistry, MakeAppliesTheSpecTimeLimitOrAnOverride) {
  auto env = make_env("pendulum-v1");
  EXPECT_EQ(env->max_episode_steps(), 200);
  EXPECT_EQ(make_env("pendulum-v1", {.max_episode_steps = 7})->max_episode_steps(), 7);
  EXPECT_EQ(make_env("pendulum-v1", {.time_limit = false})->max_episode_steps(), 0);
}

TEST(EnvRegistry, ScriptedPolicyExistsForPendulumAndMountainCar) {
  EXPECT_NO_THROW(make_scripted_policy("pendulum-v1"));
  EXPECT_NO_THROW(make_scripted_policy("mountaincarcontinuous-v0"));
}

}  // namespace
}  // namespace stitch
