#include "env/vector_env.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "env/registry.h"

namespace stitch {
namespace {

// Fixed pseudo-random actions for step t of env i.
std::vector<float> actions_for(const VectorEnv& venv, int t) {
  Rng rng(1000 + t);
  std::vector<float> a(venv.num_envs() * venv.act_dim());
  const Space& space = const_cast<VectorEnv&>(venv).env(0).action_space();
  for (int64_t i = 0; i < venv.num_envs(); ++i)
    space.sample(rng, std::span(a).subspan(i * venv.act_dim(), venv.act_dim()));
  return a;
}

TEST(VectorEnv, MatchesIndependentEnvsIncludingAutoReset) {
  // Episodes are cut at 20 steps so that auto-reset (by time limit and by termination) is often.
  const MakeEnvOptions opts{.max_episode_steps = 20};
  VectorEnv venv = VectorEnv::make("cartpole-v1", 3, 1, opts);
  std::vector<std::unique_ptr<Env>> singles;
  for (int i = 0; i < 3; ++i) singles.push_back(make_env("cartpole-v1", opts));
  venv.reset(50);
  for (int i = 0; i < 3; ++i) {
    const auto o = singles[i]->reset(50 + i);
    EXPECT_EQ(std::vector<float>(venv.observations().begin() + i * 4,
                                 venv.observations().begin() + (i + 1) * 4),
              o);
  }
  int resets = 0;
  for (int t = 0; t < 100; ++t) {
    const auto actions = actions_for(venv, t);
    venv.step(actions);
    for (int i = 0; i < 3; ++i) {
      StepResult r = singles[i]->step(std::span(actions).subspan(i, 1));
      ASSERT_EQ(venv.rewards()[i], r.reward);
      ASSERT_EQ(venv.terminated()[i], r.terminated);
      ASSERT_EQ(venv.truncated()[i], r.truncated);
      const std::vector<float> row(venv.observations().begin() + i * 4,
                                   venv.observations().begin() + (i + 1) * 4);
      if (r.terminated || r.truncated) {
        ++resets;
        const std::vector<float> final_row(venv.final_observations().begin() + i * 4,
                                           venv.final_observations().begin() + (i + 1) * 4);
        ASSERT_EQ(final_row, r.obs);          // the last observation is not lost
        ASSERT_EQ(row, singles[i]->reset());  // the new episode's first observation
      } else {
        ASSERT_EQ(row, r.obs);
      }
    }
  }
  EXPECT_GT(resets, 10);
  EXPECT_EQ(static_cast<int>(venv.finished_returns().size()), resets);
}

TEST(VectorEnv, BitIdenticalForAnyThreadCount) {
  std::vector<std::vector<float>> obs_by_threads;
  for (int threads : {1, 2}) {
    VectorEnv venv = VectorEnv::make("acrobot-v1", 4, threads);
    venv.reset(7);
    std::vector<float> trace;
    for (int t = 0; t < 600; ++t) {
      venv.step(actions_for(venv, t));
      trace.insert(trace.end(), venv.observations().begin(), venv.observations().end());
    }
    obs_by_threads.push_back(trace);
  }
  EXPECT_EQ(obs_by_threads[0], obs_by_threads[1]);
}

TEST(VectorEnv, RejectsWrongActionCountAndStepBeforeReset) {
  VectorEnv venv = VectorEnv::make("pendulum-v1", 2, 1);
  EXPECT_THROW(venv.step(std::vector<float>{0.0f, 0.0f}), Error);
  venv.reset(0);
  EXPECT_THAT(
      [&] {
        try {
          venv.step(std::vector<float>{0.0f});
        } catch (const Error& e) {
          return std::string(e.what());
        }
        return std::string();
      }(),
      ::testing::HasSubstr("got 1 action values, expected num_envs * act_dim = 2 * 1"));
}

TEST(VectorEnv, ErrorsInWorkerThreadsReachTheCaller) {
  VectorEnv venv = VectorEnv::make("pendulum-v1", 4, 2);
  venv.reset(0);
  EXPECT_THROW(venv.step(std::vector<float>{0.0f, 0.0f, 0.0f, NAN}), Error);
}

}  // namespace
}  // namespace stitch
