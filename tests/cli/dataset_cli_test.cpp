// `stitch collect` and `stitch dataset ...` end to end.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "testing/run_command.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

testing::CommandResult stitch(const std::string& args) {
  return testing::run_command(std::string(STITCH_CLI_PATH) + " --log-level warn " + args);
}

class DatasetCli : public ::testing::Test {
 protected:
  void SetUp() override {
    // One directory per test: ctest runs the tests of this fixture in parallel processes.
    dir_ = ::testing::TempDir() + "/stitch_dataset_cli_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  std::string dir_;
};

TEST_F(DatasetCli, CollectInfoConvertSliceMerge) {
  auto r = stitch(
      "collect --env pendulum-v1 --policy scripted --noise gaussian:0.2 --transitions 2000 --seed "
      "1 --out " +
      path("expert.hdf5"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("2000 transitions, 10 episodes"));
  r = stitch("collect --env pendulum-v1 --policy random --transitions 2000 --out " +
             path("random.hdf5"));
  ASSERT_EQ(r.exit_code, 0) << r.err;

  r = stitch("dataset info " + path("expert.hdf5") +
             " --ref-min -1200 --ref-max -150 --reference " + path("random.hdf5"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* needle : {"layout       d4rl", "transitions  2000", "episodes     10", "TQ ",
                             "SACo ", "return histogram", "env_id = \"pendulum-v1\""}) {
    EXPECT_THAT(r.out, HasSubstr(needle));
  }
  r = stitch("dataset info --json " + path("random.hdf5"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["transitions"], 2000);
  EXPECT_LT(j["return"]["mean"].get<double>(), -900.0);

  r = stitch("dataset convert " + path("expert.hdf5") + " " + path("expert_minari") +
             " --layout minari");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(path("expert_minari/data/main_data.hdf5")));
  EXPECT_TRUE(fs::exists(path("expert_minari/data/metadata.json")));
  r = stitch("dataset convert " + path("expert.hdf5") + " " + path("expert_minari") +
             " --layout minari");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("already exists (use --force"));

  r = stitch("dataset slice " + path("random.hdf5") + " " + path("top.hdf5") + " --top 0.2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("400 transitions, 2 episodes"));
  r = stitch("dataset slice " + path("random.hdf5") + " " + path("first3.hdf5") +
             " --episodes 0:3");
  EXPECT_THAT(r.out, HasSubstr("600 transitions, 3 episodes"));

  r = stitch("dataset merge " + path("random.hdf5") + " " + path("expert_minari") + " --out " +
             path("mixed.hdf5"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("4000 transitions, 20 episodes"));
}

TEST_F(DatasetCli, ImportCsv) {
  std::ofstream(path("log.csv")) << "t,pos,vel,force,reward,episode\n"
                                    "0,0.1,0.0,1.0,-1,a\n1,0.2,0.1,1.0,-1,a\n"
                                    "0,0.0,0.0,-1.0,-1,b\n1,-0.1,-0.1,0.5,-1,b\n";
  std::ofstream(path("spec.json")) << R"({"observations": ["pos", "vel"], "actions": ["force"],
      "reward": "reward", "episode": "episode"})";
  const auto r = stitch("dataset import-csv " + path("log.csv") + " " + path("log.hdf5") +
                        " --spec " + path("spec.json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("4 transitions, 2 episodes"));
  EXPECT_THAT(stitch("dataset info " + path("log.hdf5")).out, HasSubstr("episodes     2"));
}

TEST_F(DatasetCli, BadInputIsAOneLineError) {
  auto r = stitch("dataset info " + path("nope.hdf5"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("error: " + path("nope.hdf5") + ": no such file"));
  std::ofstream(path("junk.hdf5")) << "not hdf5";
  r = stitch("dataset info " + path("junk.hdf5"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("not an HDF5 file"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
  r = stitch("collect --env pendulum-v1 --noise gaussian --out " + path("x.hdf5"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("noise 'gaussian'"));
  EXPECT_FALSE(fs::exists(path("x.hdf5")));
}

TEST_F(DatasetCli, CorruptWritesTheCorruptedDataOrNothing) {
  auto r = stitch("collect --env pendulum-v1 --policy scripted --transitions 1000 --out " +
                  path("clean.hdf5"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = stitch("dataset corrupt " + path("clean.hdf5") + " " + path("bad.hdf5") +
             " --target rewards --rate 0.3 --seed 4");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("rows (rewards, random, rate 0.3, scale 1, seed 4)"));
  r = stitch("dataset info " + path("bad.hdf5"));
  EXPECT_THAT(r.out, HasSubstr("corrupted    rewards: "));
  // Bad arguments: one error line each, and no output file.
  for (const std::string& bad :
       {std::string("--target rewards --rate 1.5"), std::string("--target velocity"),
        std::string("--target obs --kind adversarial"),
        std::string("--target obs --kind adversarial --attack /nonexistent/run"),
        std::string("--target rewards --attack /nonexistent/run"),
        std::string("--target rewards --scale -2")}) {
    r = stitch("dataset corrupt " + path("clean.hdf5") + " " + path("never.hdf5") + " " + bad);
    EXPECT_EQ(r.exit_code, 1) << bad;
    EXPECT_THAT(r.err, HasSubstr("error: ")) << bad;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << bad << ": " << r.err;
    EXPECT_FALSE(fs::exists(path("never.hdf5"))) << bad;
  }
}

}  // namespace
}  // namespace stitch
