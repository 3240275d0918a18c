#include "env/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/rng.h"
#include "env/policy.h"
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

// Each env's `terminal` (its termination rule read from the observation, for model rollouts)
// agrees with its own step at every step of 3,000 (the first 1,500 with the scripted policy where
// the env has one, the rest with uniform random actions); an env without one never terminates.
TEST(EnvRegistry, TerminalAgreesWithTheEnvsOwnStep) {
  for (const std::string& id : EnvRegistry::global().ids()) {
    const EnvSpec& spec = EnvRegistry::global().spec(id);
    auto env = make_env(id);
    std::unique_ptr<Policy> policy = spec.scripted_policy ? spec.scripted_policy() : nullptr;
    Rng rng(3);
    std::vector<float> obs = env->reset(uint64_t{3});
    std::vector<float> action(static_cast<size_t>(env->action_space().flat_dim()));
    int terminations = 0;
    for (int t = 0; t < 3000; ++t) {
      if (policy && t < 1500) {  // then random actions
        policy->act(obs, rng, action);
      } else {
        env->action_space().sample(rng, action);
      }
      const StepResult r = env->step(action);
      const bool rule = spec.terminal ? spec.terminal(r.obs) : false;
      ASSERT_EQ(r.terminated, rule) << id << " at step " << t;
      terminations += r.terminated ? 1 : 0;
      obs = r.terminated || r.truncated ? env->reset() : r.obs;
      if ((r.terminated || r.truncated) && policy) policy->reset();
    }
    // Where the rule can end an episode under these actions, it did.
    if (id == "hopper-v4" || id == "walker2d-v4" || id == "cartpole-v1" || id == "acrobot-v1" ||
        id == "mountaincarcontinuous-v0") {
      EXPECT_GT(terminations, 0) << id;
    }
  }
}

}  // namespace
}  // namespace stitch
