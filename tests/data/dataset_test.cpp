#include "data/dataset.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "data/test_data.h"

namespace stitch {
namespace {

TEST(Dataset, IndexesEpisodesByTerminalTimeoutAndEndOfData) {
  const Dataset d = testing::three_episodes();
  ASSERT_EQ(d.episodes.size(), 3u);
  EXPECT_EQ(d.episodes[0].start, 0);
  EXPECT_EQ(d.episodes[0].length, 4);
  EXPECT_TRUE(d.episodes[0].terminated);
  EXPECT_EQ(d.episodes[0].total_return, 0 + 1 + 2 + 3);
  EXPECT_TRUE(d.episodes[1].timed_out);
  EXPECT_FALSE(d.episodes[1].terminated);
  EXPECT_EQ(d.episodes[1].total_return, 4 + 5 + 6);
  EXPECT_FALSE(d.episodes[2].terminated || d.episodes[2].timed_out);
  EXPECT_EQ(d.episodes[2].length, 3);
}

TEST(Dataset, DerivedNextObservationsRespectEpisodeBoundaries) {
  const Dataset d = testing::three_episodes();
  // Inside an episode: the next row's observation.
  EXPECT_EQ(d.next_observations[0 * 2], 1.0f);
  EXPECT_EQ(d.has_next[0], 1);
  // Row 3 terminates: a placeholder (its own observation), usable (no bootstrap).
  EXPECT_EQ(d.next_observations[3 * 2], 3.0f);
  EXPECT_EQ(d.has_next[3], 1);
  // Row 6 timed out and row 9 ends the data: successor unknown, not a TD row.
  EXPECT_EQ(d.has_next[6], 0);
  EXPECT_EQ(d.next_observations[6 * 2], 6.0f);
  EXPECT_EQ(d.has_next[9], 0);
  // Row 3's successor is not row 4 (a new episode).
  EXPECT_NE(d.next_observations[3 * 2], 4.0f);
}

TEST(Dataset, SelectEpisodesKeepsOrderAndMarksCutEpisodes) {
  const Dataset d = testing::three_episodes();
  const Dataset s = select_episodes(d, {2, 0});
  ASSERT_EQ(s.size(), 7);
  ASSERT_EQ(s.episodes.size(), 2u);
  EXPECT_EQ(s.observations[0], 7.0f);
  EXPECT_EQ(s.episodes[0].length, 3);
  EXPECT_TRUE(s.episodes[0].timed_out);  // the cut episode now ends at its last row
  EXPECT_TRUE(s.episodes[1].terminated);
  s.check_shapes();
}

TEST(Dataset, AppendRejectsDifferentDimensions) {
  Dataset a = testing::three_episodes();
  Dataset b = testing::three_episodes();
  append_dataset(a, b);
  EXPECT_EQ(a.size(), 20);
  b.obs_dim = 3;
  b.observations.resize(30);
  b.next_observations.resize(30);
  EXPECT_THROW(append_dataset(a, b), Error);
}

TEST(Dataset, MetadataHelpers) {
  Dataset d;
  d.set_metadata_string("env_id", "pendulum-v1");
  d.set_metadata_number("ref_min_score", -1200.5);
  EXPECT_EQ(d.metadata_string("env_id"), "pendulum-v1");
  EXPECT_EQ(d.metadata_number("ref_min_score"), -1200.5);
  EXPECT_TRUE(std::isnan(d.metadata_number("missing")));
  EXPECT_EQ(d.metadata_string("ref_min_score"), "");
}

}  // namespace
}  // namespace stitch
