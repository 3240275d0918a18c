#include "data/hdf5.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace stitch {
namespace {

TEST(Hdf5, GroupsAndStringsRoundTrip) {
  const std::string path = ::testing::TempDir() + "/h5_test.hdf5";
  {
    h5::File f = h5::File::create(path);
    f.write_string("metadata/env_id", "pendulum-v1");
    const float x[4] = {1, 2, 3, 4};
    f.write_floats("infos/qpos", x, {2, 2}, 0);
    f.write_attribute("/", "count", int64_t{3});
  }
  const h5::File f = h5::File::open_read(path);
  EXPECT_TRUE(f.exists("metadata"));
  EXPECT_TRUE(f.is_group("metadata"));
  EXPECT_TRUE(f.exists("metadata/env_id"));
  EXPECT_FALSE(f.is_group("metadata/env_id"));
  EXPECT_FALSE(f.exists("nothing/here"));
  EXPECT_EQ(f.members("metadata"), std::vector<std::string>{"env_id"});
  EXPECT_EQ(f.read_string("metadata/env_id").value_or("?"), "pendulum-v1");
  EXPECT_EQ(f.read_floats("infos/qpos"), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(f.attribute_json("/", "count"), "3");
  EXPECT_THROW(f.read_floats("missing"), Error);
}

}  // namespace
}  // namespace stitch
