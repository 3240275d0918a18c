// rliable's statistics against hand-computed values on small fixed inputs.
#include "track/stats.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace stitch::stats {
namespace {

TEST(Stats, PointAggregatesByHand) {
  EXPECT_DOUBLE_EQ(mean({1, 2, 3, 10}), 4.0);
  EXPECT_DOUBLE_EQ(median({5, 1, 3}), 3.0);
  EXPECT_DOUBLE_EQ(median({4, 1, 3, 2}), 2.5);
  // 8 scores: drop 2 from each end -> mean(3, 4, 5, 6).
  EXPECT_DOUBLE_EQ(iqm({8, 1, 7, 2, 6, 3, 5, 4}), 4.5);
  // 10 scores: floor(10 / 4) = 2 from each end -> mean(3..8) = 5.5 (scipy trim_mean(x, 0.25)).
  EXPECT_DOUBLE_EQ(iqm({1, 2, 3, 4, 5, 6, 7, 8, 9, 100}), 5.5);
  // 3 scores: nothing to drop.
  EXPECT_DOUBLE_EQ(iqm({1, 2, 6}), 3.0);
  // gap to 100: (100 - 50) + 0 + (100 - 90) over 3.
  EXPECT_DOUBLE_EQ(optimality_gap({50, 120, 90}), 20.0);
  EXPECT_THROW(iqm({}), Error);
}

TEST(Stats, BootstrapIntervalOfTwoScores) {
  // The bootstrap means of {0, 1} are 0, 0.5 and 1 with probabilities 1/4, 1/2, 1/4: the
  // 95% percentile interval is [0, 1], the point 0.5.
  const Interval i = bootstrap_interval({{0.0, 1.0}}, mean, 4000, 0.95, 7);
  EXPECT_DOUBLE_EQ(i.point, 0.5);
  EXPECT_DOUBLE_EQ(i.low, 0.0);
  EXPECT_DOUBLE_EQ(i.high, 1.0);
  // At 40% confidence the interval is [0.5, 0.5]: the 30th and 70th percentiles are both 0.5.
  const Interval narrow = bootstrap_interval({{0.0, 1.0}}, mean, 4000, 0.4, 7);
  EXPECT_DOUBLE_EQ(narrow.low, 0.5);
  EXPECT_DOUBLE_EQ(narrow.high, 0.5);
}

TEST(Stats, BootstrapIsSeededAndStratified) {
  const Scores s = {{10, 20, 30, 40, 50}, {70, 80, 90}};
  const Interval a = bootstrap_interval(s, iqm, 500, 0.95, 3),
                 b = bootstrap_interval(s, iqm, 500, 0.95, 3);
  EXPECT_EQ(a.low, b.low);
  EXPECT_EQ(a.high, b.high);
  EXPECT_LE(a.low, a.point);
  EXPECT_GE(a.high, a.point);
  // Constant tasks: every replicate equals the data, so the interval collapses. (Stratification
  // keeps 2 scores of 0 and 1 of 100 in every replicate: an unstratified bootstrap would not.)
  const Interval c = bootstrap_interval({{0, 0}, {100}}, mean, 200, 0.95, 1);
  EXPECT_DOUBLE_EQ(c.low, 100.0 / 3);
  EXPECT_DOUBLE_EQ(c.high, 100.0 / 3);
}

TEST(Stats, PerformanceProfileByHand) {
  const Scores s = {{10, 20, 30}, {40, 50, 60}};
  const auto p = performance_profile(s, {0, 25, 45, 100});
  ASSERT_EQ(p.size(), 4u);
  EXPECT_DOUBLE_EQ(p[0], 1.0);
  EXPECT_DOUBLE_EQ(p[1], (1.0 / 3 + 1.0) / 2);  // task 1: 30 > 25; task 2: all three
  EXPECT_DOUBLE_EQ(p[2], (0.0 + 2.0 / 3) / 2);
  EXPECT_DOUBLE_EQ(p[3], 0.0);
  const auto ci = performance_profile_intervals(s, {0, 25, 100}, 300, 0.95, 2);
  EXPECT_DOUBLE_EQ(ci[0].low, 1.0);
  EXPECT_DOUBLE_EQ(ci[2].high, 0.0);
  EXPECT_LE(ci[1].low, ci[1].point);
  EXPECT_GE(ci[1].high, ci[1].point);
}

}  // namespace
}  // namespace stitch::stats
