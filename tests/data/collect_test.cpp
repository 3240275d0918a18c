#include "data/collect.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "env/registry.h"

namespace stitch {
namespace {

Dataset run(const std::string& noise, uint64_t seed, int64_t n = 1000) {
  auto env = make_env("pendulum-v1");
  auto policy = make_scripted_policy("pendulum-v1");
  CollectOptions options{.transitions = n, .seed = seed};
  parse_noise(noise, options);
  return collect(*env, *policy, options);
}

TEST(Collect, DeterministicFromTheSeed) {
  EXPECT_EQ(run("gaussian:0.2", 4).actions, run("gaussian:0.2", 4).actions);
  EXPECT_NE(run("gaussian:0.2", 4).actions, run("gaussian:0.2", 5).actions);
}

TEST(Collect, RecordsEpisodesAndMarksTheBudgetCut) {
  const Dataset d = run("none", 0, 450);
  EXPECT_EQ(d.size(), 450);
  ASSERT_EQ(d.episodes.size(), 3u);  // 200 + 200 + 50 (cut)
  EXPECT_TRUE(d.episodes[0].timed_out);
  EXPECT_TRUE(d.episodes[2].timed_out);
  EXPECT_EQ(d.episodes[2].length, 50);
  EXPECT_EQ(d.metadata_string("env_id"), "pendulum-v1");
  for (uint8_t h : d.has_next) EXPECT_EQ(h, 1);
  // Row t's next observation is row t+1's observation inside an episode.
  EXPECT_EQ(d.next_observations[0], d.observations[3]);
}

TEST(Collect, NoiseLowersTheReturnAndStaysInBounds) {
  const Dataset clean = run("none", 0, 2000), noisy = run("epsilon:0.5", 0, 2000);
  double clean_sum = 0, noisy_sum = 0;
  for (float r : clean.rewards) clean_sum += r;
  for (float r : noisy.rewards) noisy_sum += r;
  EXPECT_LT(noisy_sum, clean_sum);
  for (float a : run("gaussian:3.0", 0, 500).actions) {
    EXPECT_LE(a, 2.0f);
    EXPECT_GE(a, -2.0f);
  }
}

TEST(Collect, RecordsMujocoStatesAsInfos) {
  auto env = make_env("hopper-v4");
  auto policy = make_random_policy(env->action_space());
  const Dataset d = collect(*env, *policy, {.transitions = 50, .seed = 2});
  ASSERT_EQ(d.infos.count("qpos"), 1u);
  EXPECT_EQ(d.infos.at("qpos").width, 6);
  EXPECT_EQ(d.infos.at("qvel").width, 6);
  // infos/qpos row i is the state behind observation row i (obs = qpos[1:], ...).
  for (int64_t i = 0; i < d.size(); ++i) {
    EXPECT_EQ(d.observations[i * 11], d.infos.at("qpos").data[i * 6 + 1]);
  }
}

TEST(Collect, RejectsBadNoiseSpecs) {
  CollectOptions o;
  EXPECT_THROW(parse_noise("gaussian", o), Error);
  EXPECT_THROW(parse_noise("epsilon:1.5", o), Error);
  EXPECT_THROW(parse_noise("uniform:0.1", o), Error);
}

}  // namespace
}  // namespace stitch
