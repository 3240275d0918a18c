// The conformance suite every registered env passes (OpenSpiel's basic sim tests): spaces,
// observations inside the declared space and finite, the time limit, determinism from a seed.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "env/registry.h"
#include "env/rollout.h"

namespace stitch {
namespace {

class EnvConformance : public ::testing::TestWithParam<std::string> {};

// Runs `steps` random steps from `seed` with auto-reset and returns every observation and
// reward, flattened.
std::vector<double> trace(const std::string& id, uint64_t seed, int steps) {
  auto env = make_env(id);
  auto policy = make_random_policy(env->action_space());
  Rng policy_rng(seed + 1);
  std::vector<double> out;
  std::vector<float> obs = env->reset(seed);
  std::vector<float> action(env->action_space().flat_dim());
  for (int t = 0; t < steps; ++t) {
    out.insert(out.end(), obs.begin(), obs.end());
    policy->act(obs, policy_rng, action);
    StepResult r = env->step(action);
    out.push_back(r.reward);
    out.push_back(r.terminated);
    out.push_back(r.truncated);
    obs = (r.terminated || r.truncated) ? env->reset() : r.obs;
  }
  return out;
}

TEST_P(EnvConformance, ObservationsStayFiniteAndInsideTheSpace) {
  auto env = make_env(GetParam());
  const Space& obs_space = env->observation_space();
  auto policy = make_random_policy(env->action_space());
  Rng rng(3);
  std::vector<float> action(env->action_space().flat_dim());
  std::vector<float> obs = env->reset(3);
  ASSERT_TRUE(obs_space.contains(obs));
  int episodes = 0;
  for (int t = 0; t < 5000; ++t) {
    policy->act(obs, rng, action);
    StepResult r = env->step(action);
    ASSERT_EQ(static_cast<int64_t>(r.obs.size()), obs_space.flat_dim());
    ASSERT_TRUE(obs_space.contains(r.obs) || r.terminated)
        << GetParam() << " step " << t << " observation outside " << obs_space.describe();
    ASSERT_TRUE(std::isfinite(r.reward));
    ASSERT_EQ(r.cost, 0.0);
    if (r.terminated || r.truncated) {
      ASSERT_LE(env->elapsed_steps(), EnvRegistry::global().spec(GetParam()).max_episode_steps);
      ++episodes;
      obs = env->reset();
    } else {
      obs = r.obs;
    }
  }
  EXPECT_GT(episodes, 0);
}

TEST_P(EnvConformance, TruncatesExactlyAtTheTimeLimit) {
  const auto& spec = EnvRegistry::global().spec(GetParam());
  auto env = make_env(GetParam(), {.max_episode_steps = 5});
  auto policy = make_random_policy(env->action_space());
  Rng rng(0);
  const EpisodeStats stats = run_episode(*env, *policy, 4, rng);
  EXPECT_LE(stats.length, 5);
  if (!stats.terminated) {
    EXPECT_TRUE(stats.truncated);
  }
  EXPECT_GT(spec.max_episode_steps, 0);
}

TEST_P(EnvConformance, SameSeedGivesBitIdenticalTrajectories) {
  const auto a = trace(GetParam(), 21, 1500);
  const auto b = trace(GetParam(), 21, 1500);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(std::memcmp(&a[i], &b[i], sizeof(double)), 0) << "differs at " << i;
  }
  EXPECT_NE(a, trace(GetParam(), 22, 1500));
}

INSTANTIATE_TEST_SUITE_P(AllEnvs, EnvConformance, ::testing::ValuesIn(EnvRegistry::global().ids()),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace stitch
