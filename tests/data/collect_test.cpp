#include "data/collect.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "env/registry.h"
#include "testing/errors.h"

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
  // The budget's cut is recorded: the episode is not complete, its return counts nowhere.
  EXPECT_FALSE(d.episodes[1].cut);
  EXPECT_TRUE(d.episodes[2].cut);
  EXPECT_EQ(cut_episode_ends(d), std::vector<int64_t>{449});
  // A budget that ends exactly at a time limit cuts nothing.
  const Dataset whole = run("none", 0, 400);
  EXPECT_FALSE(whole.episodes.back().cut);
  EXPECT_EQ(whole.metadata.count(kCutEpisodeEnds), 0u);
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
    EXPECT_EQ(d.observations[i * 11], static_cast<float>(d.infos.at("qpos").data[i * 6 + 1]));
  }
  EXPECT_TRUE(d.infos.at("qpos").float64);  // exact states, stored as float64
}

// A dataset row's recorded state restores the env to that row: the same observation, and the
// row's action leads to the row's next observation, reward and ending.
TEST(Collect, RestoringARecordedStateReplaysTheRow) {
  for (const std::string id : {"hopper-v4", "walker2d-v4", "halfcheetah-v4"}) {
    auto env = make_env(id);
    auto policy = make_random_policy(env->action_space());
    const Dataset d = collect(*env, *policy, {.transitions = 1500, .seed = 3});
    const Column &qpos = d.infos.at("qpos"), &qvel = d.infos.at("qvel");
    auto replay = make_env(id);
    int64_t checked = 0;
    for (const Episode& ep : d.episodes) {
      for (int64_t i = ep.start; i < ep.end(); i += 7) {
        const EnvInfo state{
            {"qpos",
             {qpos.data.begin() + i * qpos.width, qpos.data.begin() + (i + 1) * qpos.width}},
            {"qvel",
             {qvel.data.begin() + i * qvel.width, qvel.data.begin() + (i + 1) * qvel.width}}};
        const std::vector<float> obs = replay->restore(state, i - ep.start);
        ASSERT_EQ(obs, std::vector<float>(d.observations.begin() + i * d.obs_dim,
                                          d.observations.begin() + (i + 1) * d.obs_dim))
            << id << " row " << i;
        const StepResult r =
            replay->step(std::span<const float>(d.actions.data() + i * d.act_dim, d.act_dim));
        ASSERT_EQ(r.obs, std::vector<float>(d.next_observations.begin() + i * d.obs_dim,
                                            d.next_observations.begin() + (i + 1) * d.obs_dim))
            << id << " row " << i;
        EXPECT_EQ(static_cast<float>(r.reward), d.rewards[i]) << id << " row " << i;
        EXPECT_EQ(r.terminated, d.terminals[i] != 0) << id << " row " << i;
        ++checked;
      }
    }
    EXPECT_GT(checked, 200) << id;
  }
}

TEST(Collect, RestoreRefusesWhatItCannotRestore) {
  auto hopper = make_env("hopper-v4");
  hopper->reset(0);
  const EnvInfo state = hopper->info();
  // The time limit falls where it did: a state restored at step 999 is truncated on the next.
  hopper->restore(state, 999);
  EXPECT_TRUE(hopper->step(std::vector<float>(3, 0.0f)).truncated);
  EXPECT_THAT(testing::error_of([&] { hopper->restore(state, 1000); }),
              ::testing::HasSubstr("restore at step 1000: must be in [0, 1000)"));
  EXPECT_THAT(testing::error_of([&] {
                hopper->restore({{"qpos", state.at("qpos")}});
              }),
              ::testing::HasSubstr("restore needs exactly 'qpos' and 'qvel', got [qpos]"));
  EnvInfo nan_state = state;
  nan_state["qvel"][2] = std::nan("");
  EXPECT_THAT(testing::error_of([&] { hopper->restore(nan_state); }),
              ::testing::HasSubstr("restore: qvel[2] is nan"));
  EnvInfo short_state = state;
  short_state["qpos"].pop_back();
  EXPECT_THAT(testing::error_of([&] { hopper->restore(short_state); }),
              ::testing::HasSubstr("set_state needs qpos[6] and qvel[6], got 5 and 6"));
  // A failed restore leaves no episode running.
  EXPECT_THAT(testing::error_of([&] { hopper->step(std::vector<float>(3, 0.0f)); }),
              ::testing::HasSubstr("call reset() first"));
  auto pendulum = make_env("pendulum-v1");
  EXPECT_THAT(testing::error_of([&] { pendulum->restore({}); }),
              ::testing::HasSubstr("pendulum-v1: cannot restore a recorded state"));
}

TEST(Collect, RejectsBadNoiseSpecs) {
  CollectOptions o;
  EXPECT_THROW(parse_noise("gaussian", o), Error);
  EXPECT_THROW(parse_noise("epsilon:1.5", o), Error);
  EXPECT_THROW(parse_noise("uniform:0.1", o), Error);
}

}  // namespace
}  // namespace stitch
