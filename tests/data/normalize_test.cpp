#include "data/normalize.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "data/test_data.h"
#include "testing/errors.h"

namespace stitch {
namespace {

TEST(Normalize, ObservationStatsMatchTwoPass) {
  Dataset d = testing::three_episodes();
  const ObservationNormalizer norm = fit_observation_normalizer(d, 1e-3f);
  // Dimension 0 holds 0..9: mean 4.5, population std sqrt(8.25).
  EXPECT_FLOAT_EQ(norm.mean[0], 4.5f);
  EXPECT_FLOAT_EQ(norm.std[0], static_cast<float>(std::sqrt(8.25) + 1e-3));
  EXPECT_FLOAT_EQ(norm.mean[1], -4.5f);
  normalize_observations(d, norm);
  EXPECT_FLOAT_EQ(d.observations[0], static_cast<float>(-4.5 / (std::sqrt(8.25) + 1e-3)));
  // next_observations use the same statistics.
  EXPECT_FLOAT_EQ(d.next_observations[0], static_cast<float>(-3.5 / (std::sqrt(8.25) + 1e-3)));
}

TEST(Normalize, LocomotionRewardScale) {
  Dataset d = testing::three_episodes();
  // Episode returns 6, 15 and a partial 24 (cut by the end of the data, left out):
  // scale = 1000 / (15 - 6).
  EXPECT_DOUBLE_EQ(locomotion_reward_scale(d), 1000.0 / 9.0);
  // A budget cut is left out as well: one complete return (6) has no range.
  Dataset budget = testing::three_episodes();
  set_cut_episode_ends(budget, {6});
  budget.index_episodes();
  EXPECT_THAT(testing::error_of([&] { locomotion_reward_scale(budget); }),
              ::testing::HasSubstr("every complete episode has the same return 6"));
  scale_rewards(d, 2.0);
  EXPECT_EQ(d.rewards[3], 6.0f);
  EXPECT_EQ(d.episodes[0].total_return, 12.0);
  Dataset flat = testing::three_episodes();
  for (float& r : flat.rewards) r = 0.0f;
  flat.index_episodes();
  EXPECT_THROW(locomotion_reward_scale(flat), Error);
}

}  // namespace
}  // namespace stitch
