#include "data/transform.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "data/test_data.h"

namespace stitch {
namespace {

TEST(Transform, SliceByEpisodeRange) {
  const Dataset d = testing::three_episodes();
  const Dataset s = slice_episodes(d, 1, 3);
  EXPECT_EQ(s.size(), 6);
  EXPECT_EQ(s.observations[0], 4.0f);
  EXPECT_THROW(slice_episodes(d, 2, 2), Error);
  EXPECT_THROW(slice_episodes(d, 0, 4), Error);
}

TEST(Transform, TopFractionByReturn) {
  const Dataset d = testing::three_episodes();       // returns 6, 15, 24
  const Dataset top = top_return_fraction(d, 0.34);  // ceil(0.34 * 3) = 2 episodes
  ASSERT_EQ(top.episodes.size(), 2u);
  EXPECT_EQ(top.episodes[0].total_return, 15.0);
  EXPECT_EQ(top.episodes[1].total_return, 24.0);
  EXPECT_EQ(top_return_fraction(d, 0.1).episodes.size(), 1u);
  EXPECT_THROW(top_return_fraction(d, 0.0), Error);
}

TEST(Transform, MergeKeepsSourcesApart) {
  const Dataset d = testing::three_episodes();
  const Dataset m = merge_datasets({d, d}, {"a", "b"});
  EXPECT_EQ(m.size(), 20);
  EXPECT_EQ(m.episodes.size(), 6u);  // the first source's cut episode does not run into the second
  EXPECT_EQ(m.metadata.at("merged_from"), R"(["a","b"])");
}

}  // namespace
}  // namespace stitch
