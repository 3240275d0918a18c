#include "data/csv_import.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"

namespace stitch {
namespace {

using ::testing::HasSubstr;

std::string write(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/stitch_csv_" + name;
  std::ofstream(path) << text;
  return path;
}

const char* kSpec = R"({"observations": ["x", "v"], "actions": ["u"], "reward": "r",
  "terminal": "done", "episode": "ep", "metadata": {"env_id": "my-robot-v0"}})";

TEST(ImportCsv, ReadsColumnsAndEpisodeBoundaries) {
  const std::string csv = write("ok.csv",
                                "ep,x,v,u,r,done\n"
                                "0,0.0,1.0,0.5,1,0\n"
                                "0,0.1,1.1,0.4,1,1\n"
                                "1,\"0.2\",1.2,0.3,2,0\n"
                                "1,0.3,1.3,0.2,2,0\n"
                                "2,0.4,1.4,0.1,3,0\n");
  const Dataset d = import_csv(csv, write("spec.json", kSpec));
  EXPECT_EQ(d.size(), 5);
  EXPECT_EQ(d.obs_dim, 2);
  EXPECT_EQ(d.act_dim, 1);
  ASSERT_EQ(d.episodes.size(), 3u);
  EXPECT_TRUE(d.episodes[0].terminated);
  EXPECT_TRUE(d.episodes[1].timed_out);  // the episode id changed after a row with no flag
  EXPECT_FLOAT_EQ(d.observations[4], 0.2f);
  EXPECT_FLOAT_EQ(d.next_observations[4], 0.3f);
  EXPECT_EQ(d.has_next[3], 0);  // cut: no recorded successor
  EXPECT_EQ(d.metadata_string("env_id"), "my-robot-v0");
}

TEST(ImportCsv, ErrorsNameFileRowAndColumn) {
  const std::string spec = write("spec2.json", kSpec);
  auto error_of = [&](const std::string& csv) {
    try {
      import_csv(csv, spec);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("<no error>");
  };
  EXPECT_THAT(error_of(write("bad_num.csv", "ep,x,v,u,r,done\n0,0,1,abc,1,0\n")),
              HasSubstr("bad_num.csv: row 2 column 'u': cannot parse 'abc' as a number"));
  EXPECT_THAT(error_of(write("bad_flag.csv", "ep,x,v,u,r,done\n0,0,1,0,1,maybe\n")),
              HasSubstr("row 2 column 'done': expected 0/1 or true/false"));
  EXPECT_THAT(error_of(write("short.csv", "ep,x,v,u,r,done\n0,0,1\n")),
              HasSubstr("row 2: 3 fields, the header has 6"));
  EXPECT_THAT(error_of(write("no_col.csv", "ep,x,u,r,done\n0,0,1,1,0\n")),
              HasSubstr("no column 'v' in the header"));
  EXPECT_THAT(error_of(write("empty.csv", "")), HasSubstr("empty file"));
  EXPECT_THROW(
      import_csv(write("x.csv", "a\n1\n"), write("bad_spec.json", R"({"actions": ["u"]})")), Error);
}

}  // namespace
}  // namespace stitch
