#include "core/rng.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

namespace stitch {
namespace {

TEST(Rng, SameSeedSameStream) {
  Rng a(42), b(42);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a.next_u64(), b.next_u64());
}

TEST(Rng, DifferentSeedsDiffer) {
  Rng a(1), b(2);
  int same = 0;
  for (int i = 0; i < 100; ++i) same += a.next_u64() == b.next_u64();
  EXPECT_EQ(same, 0);
}

TEST(Rng, StreamIsPinned) {
  // splitmix64 seeding + xoshiro256**: pinned so that a change of algorithm (which would change
  // every seeded dataset and run) is caught.
  Rng r(0);
  const uint64_t first = r.next_u64();
  Rng again(0);
  EXPECT_EQ(first, again.next_u64());
  EXPECT_EQ(first, 0x99EC5F36CB75F2B4ULL);
}

TEST(Rng, UniformInRangeWithRightMoments) {
  Rng r(3);
  double sum = 0, sum_sq = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double u = r.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    sum_sq += u * u;
  }
  const double mean = sum / n, var = sum_sq / n - mean * mean;
  EXPECT_NEAR(mean, 0.5, 0.005);
  EXPECT_NEAR(var, 1.0 / 12.0, 0.002);
}

TEST(Rng, BelowCoversRangeUniformly) {
  Rng r(4);
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 70000; ++i) ++counts[r.below(7)];
  for (int c : counts) EXPECT_NEAR(c, 10000, 500);
}

TEST(Rng, NormalMoments) {
  Rng r(5);
  double sum = 0, sum_sq = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double x = r.normal();
    sum += x;
    sum_sq += x * x;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sum_sq / n, 1.0, 0.01);
}

TEST(Rng, StateSaveRestoreContinuesExactly) {
  Rng r(6);
  r.normal();  // leaves a cached normal in the state
  const Rng::State saved = r.state();
  std::vector<double> expected;
  for (int i = 0; i < 10; ++i) expected.push_back(r.normal());
  Rng restored(999);
  restored.set_state(saved);
  for (double e : expected) EXPECT_EQ(restored.normal(), e);
}

}  // namespace
}  // namespace stitch
