#include "env/space.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"

namespace stitch {
namespace {

TEST(Space, BoxContains) {
  const Space s = Space::box({-1.0f, 0.0f}, {1.0f, 2.0f});
  EXPECT_TRUE(s.contains(std::vector<float>{0.0f, 2.0f}));
  EXPECT_FALSE(s.contains(std::vector<float>{0.0f, 2.1f}));
  EXPECT_FALSE(s.contains(std::vector<float>{0.0f}));
  EXPECT_FALSE(s.contains(std::vector<float>{NAN, 1.0f}));
  EXPECT_EQ(s.flat_dim(), 2);
  EXPECT_TRUE(s.bounded());
}

TEST(Space, DiscreteContainsOnlyIntegersInRange) {
  const Space s = Space::discrete(3);
  EXPECT_TRUE(s.contains(std::vector<float>{2.0f}));
  EXPECT_FALSE(s.contains(std::vector<float>{3.0f}));
  EXPECT_FALSE(s.contains(std::vector<float>{-1.0f}));
  EXPECT_FALSE(s.contains(std::vector<float>{0.5f}));
  EXPECT_EQ(s.flat_dim(), 1);
  EXPECT_EQ(s.describe(), "Discrete(3)");
}

TEST(Space, SamplesStayInside) {
  Rng rng(1);
  const Space box = Space::box({-2.0f, 5.0f}, {2.0f, 5.5f});
  const Space disc = Space::discrete(4);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(box.contains(box.sample(rng)));
    ASSERT_TRUE(disc.contains(disc.sample(rng)));
  }
}

TEST(Space, RejectsBadDefinitions) {
  EXPECT_THROW(Space::box({1.0f}, {0.0f}), Error);
  EXPECT_THROW(Space::box({1.0f}, {1.0f, 2.0f}), Error);
  EXPECT_THROW(Space::discrete(0), Error);
  Rng rng(0);
  EXPECT_THROW(Space::box(2, -kInf, kInf).sample(rng), Error);
}

}  // namespace
}  // namespace stitch
