#include "data/stats.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "data/test_data.h"

namespace stitch {
namespace {

TEST(Stats, ReturnsLengthsAndEndings) {
  const Dataset d = testing::three_episodes();
  const DatasetStats s = compute_stats(d, {}, {.histogram_bins = 3});
  EXPECT_EQ(s.transitions, 10);
  EXPECT_EQ(s.episodes, 3);
  EXPECT_EQ(s.terminated, 1);
  EXPECT_EQ(s.timed_out, 1);
  EXPECT_EQ(s.cut, 1);
  // Returns over the two complete episodes (6 and 15); the cut one's partial 24 is left out.
  EXPECT_EQ(s.return_episodes, 2);
  EXPECT_EQ(s.return_min, 6);
  EXPECT_EQ(s.return_median, 10.5);
  EXPECT_EQ(s.return_mean, 10.5);
  EXPECT_EQ(s.return_max, 15);
  EXPECT_EQ(s.histogram, (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(s.observations.min[0], 0.0f);
  EXPECT_EQ(s.observations.max[0], 9.0f);
  EXPECT_FALSE(s.tq.has_value());
}

TEST(Stats, BudgetCutEpisodesCountAsCutNotTimedOut) {
  // The time-out at row 6 recorded as a collector's budget cut: only episode 0 is complete.
  Dataset d = testing::three_episodes();
  set_cut_episode_ends(d, {6});
  d.index_episodes();
  EXPECT_TRUE(d.episodes[1].cut);
  EXPECT_TRUE(d.episodes[1].timed_out);  // still a time-out for bootstrapping
  const DatasetStats s = compute_stats(d, {}, {});
  EXPECT_EQ(s.timed_out, 0);
  EXPECT_EQ(s.cut, 2);
  EXPECT_EQ(s.return_episodes, 1);
  EXPECT_EQ(s.return_mean, 6);
  EXPECT_THAT(format_stats_text(s, "x"), ::testing::HasSubstr("(1 complete episodes)"));
  // With no complete episode at all, the returns are over every episode (and say so).
  set_cut_episode_ends(d, {3, 6});  // row 3 is a terminal, not a time-out: not a cut
  d.index_episodes();
  EXPECT_FALSE(d.episodes[0].cut);
  Dataset all_cut = select_episodes(d, {1, 2});
  EXPECT_TRUE(all_cut.episodes[0].cut && all_cut.episodes[1].cut);
  const DatasetStats t = compute_stats(all_cut, {}, {});
  EXPECT_EQ(t.return_episodes, 2);
  EXPECT_THAT(format_stats_text(t, "x"), ::testing::HasSubstr("none is complete"));
}

TEST(Stats, TrajectoryQualityFromReferences) {
  Dataset d = testing::three_episodes();
  const DatasetStats s = compute_stats(d, {}, {.ref_min = 0.0, .ref_max = 30.0});
  ASSERT_TRUE(s.tq.has_value());
  EXPECT_DOUBLE_EQ(*s.tq, 0.35);  // mean complete return 10.5 between 0 and 30
  d.set_metadata_number("ref_min_score", 5.0);
  d.set_metadata_number("ref_max_score", 25.0);
  EXPECT_DOUBLE_EQ(*compute_stats(d, {}, {}).tq, 0.275);
}

TEST(Stats, SacoCountsGridCellsAgainstAReference) {
  // Reference: 10 rows spread over the grid; the subset repeats 2 of its cells.
  const Dataset ref = testing::three_episodes();
  Dataset subset = select_episodes(ref, {0});  // rows 0-3
  // With 2 bins per dimension on the reference's bounds, rows 0-3 fall into one cell
  // (all dims below their midpoints) and the reference's 10 rows into 2 cells.
  const DatasetStats s = compute_stats(subset, {}, {.reference = &ref, .saco_bins = 2});
  EXPECT_EQ(s.reference_unique_cells, 2);
  EXPECT_EQ(s.unique_cells, 1);
  EXPECT_DOUBLE_EQ(*s.saco, 0.5);
  // With 10 bins every reference row is its own cell.
  EXPECT_EQ(compute_stats(ref, {}, {.reference = &ref, .saco_bins = 10}).reference_unique_cells,
            10);
}

TEST(Stats, TextAndJsonReports) {
  const Dataset d = testing::three_episodes();
  LoadReport report;
  report.warnings.push_back("something odd");
  const DatasetStats s = compute_stats(d, report, {});
  const std::string text = format_stats_text(s, "x.hdf5");
  EXPECT_THAT(text, ::testing::HasSubstr("episodes     3  (terminated 1, timed out 1, cut 1)"));
  EXPECT_THAT(text, ::testing::HasSubstr("something odd"));
  const auto j = nlohmann::json::parse(format_stats_json(s, "x.hdf5"));
  EXPECT_EQ(j["return"]["median"], 10.5);
  EXPECT_EQ(j["return"]["episodes"], 2);
  EXPECT_EQ(j["anomalies"].size(), 1u);
}

}  // namespace
}  // namespace stitch
