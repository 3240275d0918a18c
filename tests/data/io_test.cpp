#include "data/io.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/collect.h"
#include "data/test_data.h"
#include "data/transform.h"
#include "env/registry.h"
#include "testing/run_command.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const std::string kPython = "/usr/bin/python3 " STITCH_SOURCE_DIR "/tests/data/interop.py ";

// Unique per process: ctest runs each test in its own process, several at a time.
std::string temp_path(const std::string& name) {
  const std::string p =
      ::testing::TempDir() + "/stitch_io_" + std::to_string(getpid()) + "_" + name;
  fs::remove_all(p);
  return p;
}

Dataset pendulum_data(int64_t n = 600) {
  auto env = make_env("pendulum-v1");
  auto policy = make_scripted_policy("pendulum-v1");
  CollectOptions options{.transitions = n, .seed = 5, .gaussian_noise = 0.3};
  Dataset d = collect(*env, *policy, options);
  d.infos["qpos"] = Column{.width = 1, .data = std::vector<double>(n, 0.25)};
  // A float64 column round-trips every bit.
  d.infos["exact"] = Column{.width = 2, .float64 = true, .data = {}};
  for (int64_t i = 0; i < 2 * n; ++i) d.infos["exact"].data.push_back(0.1 + 1e-12 * i);
  return d;
}

void expect_same_data(const Dataset& a, const Dataset& b) {
  EXPECT_EQ(a.obs_dim, b.obs_dim);
  EXPECT_EQ(a.act_dim, b.act_dim);
  EXPECT_EQ(a.observations, b.observations);
  EXPECT_EQ(a.actions, b.actions);
  EXPECT_EQ(a.rewards, b.rewards);
  EXPECT_EQ(a.next_observations, b.next_observations);
  EXPECT_EQ(a.terminals, b.terminals);
  EXPECT_EQ(a.timeouts, b.timeouts);
  EXPECT_EQ(a.has_next, b.has_next);
  EXPECT_EQ(a.costs, b.costs);
  ASSERT_EQ(a.infos.size(), b.infos.size());
  for (const auto& [k, v] : a.infos) {
    EXPECT_EQ(v.data, b.infos.at(k).data) << k;
    EXPECT_EQ(v.float64, b.infos.at(k).float64) << k;
  }
  EXPECT_EQ(a.episodes.size(), b.episodes.size());
  for (size_t e = 0; e < std::min(a.episodes.size(), b.episodes.size()); ++e)
    EXPECT_EQ(a.episodes[e].cut, b.episodes[e].cut) << e;
}

TEST(DatasetIo, D4rlRoundTripIsExact) {
  const Dataset d = pendulum_data();
  const std::string path = temp_path("rt.hdf5");
  save_dataset(d, path, {});
  const Dataset back = load_dataset(path);
  expect_same_data(d, back);
  EXPECT_EQ(back.metadata_string("env_id"), "pendulum-v1");
  EXPECT_EQ(back.metadata_number("gaussian_noise"), 0.3);
}

TEST(DatasetIo, D4rlToMinariToD4rlIsLossless) {
  Dataset d = testing::three_episodes();  // has rows without a recorded successor
  d.set_metadata_string("env_id", "synthetic-v0");
  const std::string a = temp_path("a.hdf5"), m = temp_path("m"), b = temp_path("b.hdf5");
  save_dataset(d, a, {});
  save_dataset(load_dataset(a), m, {.layout = Layout::kMinari});
  EXPECT_EQ(detect_layout(m), Layout::kMinari);
  save_dataset(load_dataset(m), b, {.layout = Layout::kD4rl});
  const Dataset back = load_dataset(b);
  expect_same_data(d, back);
  for (const auto& [key, value] : d.metadata) EXPECT_EQ(back.metadata.at(key), value) << key;
  // And with infos and recorded successors.
  const Dataset p = pendulum_data();
  save_dataset(p, m, {.layout = Layout::kMinari, .gzip_level = 4, .force = true});
  expect_same_data(p, load_dataset(m));
}

TEST(DatasetIo, BudgetCutEpisodesSurviveBothLayoutsMergesAndSelections) {
  const Dataset d = pendulum_data(450);  // 200 + 200 + 50 cut by the budget
  ASSERT_TRUE(d.episodes.back().cut);
  const std::string a = temp_path("cut.hdf5"), m = temp_path("cut_minari");
  save_dataset(d, a, {});
  expect_same_data(d, load_dataset(a));
  save_dataset(load_dataset(a), m, {.layout = Layout::kMinari});
  expect_same_data(d, load_dataset(m));
  // Two parts: each keeps its cut, at its rows in the whole.
  const Dataset merged = merge_datasets({d, d}, {"a", "b"});
  EXPECT_EQ(cut_episode_ends(merged), (std::vector<int64_t>{449, 899}));
  ASSERT_EQ(merged.episodes.size(), 6u);
  EXPECT_TRUE(merged.episodes[2].cut && merged.episodes[5].cut);
  EXPECT_FALSE(merged.episodes[3].cut);
  // A selection keeps the cut episode cut at its new end row.
  EXPECT_EQ(cut_episode_ends(select_episodes(merged, {5, 0})), std::vector<int64_t>{49});
}

TEST(DatasetIo, RejectsCutEpisodeEndsThatAreNotTimeOutRows) {
  Dataset d = pendulum_data(450);
  // The last two nest deeper than any stitch file (as a list, and as JSON text in a string):
  // refused before anything recurses through them.
  const std::string deep(100000, '[');
  for (const std::string& bad :
       {std::string("[10]"), std::string("[450]"), std::string("[-1]"), std::string("\"x\""),
        std::string("[1.5]"), deep, nlohmann::json(deep).dump()}) {
    d.set_metadata_string(kCutEpisodeEnds, bad);
    const std::string path = temp_path("badcut.hdf5");
    save_dataset(d, path, {.force = true});
    try {
      load_dataset(path);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("metadata 'cut_episode_ends'")) << bad.substr(0, 20);
      EXPECT_THAT(e.what(), HasSubstr(path)) << bad.substr(0, 20);
    }
  }
}

TEST(DatasetIo, MinariAcceptsDirectoryDataFolderOrFile) {
  const Dataset d = pendulum_data(300);
  const std::string m = temp_path("layouts");
  save_dataset(d, m, {.layout = Layout::kMinari});
  for (const std::string& p : {m, m + "/data", m + "/data/main_data.hdf5"}) {
    EXPECT_EQ(load_dataset(p).size(), 300) << p;
  }
}

TEST(DatasetIo, WritesAreAtomicAndNeverReplaceWithoutForce) {
  const Dataset d = pendulum_data(200);
  const std::string path = temp_path("atomic.hdf5");
  save_dataset(d, path, {});
  const auto size_before = fs::file_size(path);
  try {
    save_dataset(testing::three_episodes(), path, {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("already exists (use --force"));
  }
  EXPECT_EQ(fs::file_size(path), size_before);
  EXPECT_EQ(load_dataset(path).size(), 200);
  save_dataset(testing::three_episodes(), path, {.force = true});
  EXPECT_EQ(load_dataset(path).size(), 10);
  for (const auto& entry : fs::directory_iterator(fs::path(path).parent_path())) {
    const std::string leftover = "." + fs::path(path).filename().string() + ".tmp";
    EXPECT_NE(entry.path().filename().string().rfind(leftover, 0), 0u) << entry.path();
  }
}

TEST(DatasetIo, SameDataGivesByteIdenticalFiles) {
  const Dataset d = pendulum_data(300);
  const std::string a = temp_path("same_a.hdf5"), b = temp_path("same_b.hdf5");
  save_dataset(d, a, {});
  save_dataset(d, b, {});
  EXPECT_EQ(testing::read_file(a), testing::read_file(b));
}

TEST(DatasetIo, H5pyReadsWhatStitchWrites) {
  const Dataset d = pendulum_data(650);  // the last 50 rows cut by the budget
  const std::string path = temp_path("for_h5py.hdf5"), m = temp_path("for_h5py_minari");
  save_dataset(d, path, {.gzip_level = 3});
  save_dataset(d, m, {.layout = Layout::kMinari});
  nlohmann::json expected;
  expected["n"] = d.size();
  expected["obs_dim"] = d.obs_dim;
  expected["act_dim"] = d.act_dim;
  expected["episodes"] = d.episodes.size();
  std::vector<std::vector<float>> obs_head, act_head;
  for (int i = 0; i < 3; ++i) {
    obs_head.emplace_back(d.observations.begin() + i * 3, d.observations.begin() + (i + 1) * 3);
    act_head.emplace_back(d.actions.begin() + i, d.actions.begin() + i + 1);
  }
  expected["observations_head"] = obs_head;
  expected["actions_head"] = act_head;
  double reward_sum = 0;
  for (float r : d.rewards) reward_sum += r;
  expected["reward_sum"] = reward_sum;
  expected["terminals"] = std::count(d.terminals.begin(), d.terminals.end(), 1);
  expected["timeouts"] = std::count(d.timeouts.begin(), d.timeouts.end(), 1);
  expected["env_id"] = "pendulum-v1";
  expected["infos_dtypes"] = {{"qpos", "float32"}, {"exact", "float64"}};
  expected["cut_episode_ends"] = {649};
  const std::string json_path = temp_path("expected.json");
  std::ofstream(json_path) << expected.dump();
  const auto r1 = testing::run_command(kPython + "check-d4rl " + path + " " + json_path);
  EXPECT_EQ(r1.exit_code, 0) << r1.err;
  const auto r2 = testing::run_command(kPython + "check-minari " + m + " " + json_path);
  EXPECT_EQ(r2.exit_code, 0) << r2.err;
}

TEST(DatasetIo, StitchReadsWhatH5pyWritesD4rl) {
  const std::string path = temp_path("from_h5py.hdf5");
  const auto r = testing::run_command(kPython + "make-d4rl " + path);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto expected = nlohmann::json::parse(r.out);
  const Dataset d = load_dataset(path);
  EXPECT_EQ(d.size(), expected["n"].get<int64_t>());
  EXPECT_EQ(d.obs_dim, 5);
  EXPECT_EQ(d.act_dim, 2);
  const auto head = expected["observations_head"].get<std::vector<std::vector<double>>>();
  for (int i = 0; i < 3; ++i) {
    for (int k = 0; k < 5; ++k)
      EXPECT_EQ(d.observations[i * 5 + k], static_cast<float>(head[i][k]));
  }
  double sum = 0;
  for (float x : d.rewards) sum += x;
  EXPECT_NEAR(sum, expected["reward_sum"].get<double>(), 1e-4);
  ASSERT_EQ(d.episodes.size(), 3u);
  EXPECT_TRUE(d.episodes[0].terminated);
  EXPECT_TRUE(d.episodes[1].timed_out);
  EXPECT_EQ(d.infos.at("qpos").width, 3);
  EXPECT_EQ(d.metadata_string("algorithm"), "SAC");
  EXPECT_EQ(d.metadata_number("ref_max_score"), 3234.3);
  EXPECT_EQ(d.metadata_string("env_id"), "synthetic-v0");
}

TEST(DatasetIo, StitchReadsWhatH5pyWritesMinari) {
  const std::string dir = temp_path("minari_from_h5py");
  const auto r = testing::run_command(kPython + "make-minari " + dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto expected = nlohmann::json::parse(r.out);
  LoadReport report;
  const Dataset d = load_dataset(dir, {}, &report);
  EXPECT_EQ(report.layout, Layout::kMinari);
  EXPECT_EQ(d.size(), 21);
  ASSERT_EQ(d.episodes.size(), 3u);
  EXPECT_EQ(d.episodes[0].length, 7);
  EXPECT_TRUE(d.episodes[0].terminated);
  EXPECT_TRUE(d.episodes[2].timed_out);
  const auto first = expected["first_observation"].get<std::vector<float>>();
  EXPECT_EQ(std::vector<float>(d.observations.begin(), d.observations.begin() + 3), first);
  // next_observations come from the T+1 observations: row 0's successor is observation 1.
  EXPECT_EQ(d.next_observations[0], d.observations[3]);
  EXPECT_EQ(d.metadata_number("ref_max_score"), 10.0);
  EXPECT_EQ(d.metadata_string("dataset_id"), "synthetic/test-v0");
  EXPECT_EQ(d.infos.at("speed").data.size(), 21u);  // T of the T+1 infos per episode
}

class BadFiles : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = temp_path("bad");
    const auto r = testing::run_command(kPython + "make-bad " + dir_);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static std::string error_for(const std::string& name, LoadOptions options = {}) {
    try {
      load_dataset(dir_ + "/" + name, options);
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_THAT(msg, HasSubstr(dir_ + "/" + name)) << "message must name the file";
      EXPECT_EQ(msg.find('\n'), std::string::npos);
      return msg;
    }
    return "<no error>";
  }
  static inline std::string dir_;
};

TEST_F(BadFiles, EachDefectNamesFileKeyAndRow) {
  EXPECT_THAT(error_for("missing_rewards.hdf5"), HasSubstr("missing dataset 'rewards'"));
  EXPECT_THAT(error_for("mismatched.hdf5"),
              HasSubstr("'actions' has 19 rows but 'observations' has 20"));
  EXPECT_THAT(error_for("wrong_rank.hdf5"), HasSubstr("'observations' must have rank 2"));
  EXPECT_THAT(error_for("nan_reward.hdf5"), HasSubstr("'rewards' row 13: nan"));
  EXPECT_THAT(error_for("inf_observation.hdf5"), HasSubstr("'observations' row 7 column 2: inf"));
  EXPECT_THAT(error_for("bad_flag.hdf5"), HasSubstr("'terminals' row 4: expected 0 or 1, got 2"));
  EXPECT_THAT(
      error_for("never_ends.hdf5"),
      HasSubstr("episode starting at row 0 runs 300 steps, longer than pendulum-v1's time limit"));
  EXPECT_THAT(error_for("not_hdf5.hdf5"), HasSubstr("not an HDF5 file"));
  EXPECT_THAT(error_for("truncated.hdf5"), HasSubstr("truncated"));
}

TEST_F(BadFiles, WarningsBecomeErrorsWithStrict) {
  LoadReport report;
  const Dataset d = load_dataset(dir_ + "/action_out_of_bounds.hdf5", {}, &report);
  EXPECT_EQ(report.actions_out_of_bounds, 1);
  EXPECT_EQ(report.first_action_out_of_bounds_row, 5);
  EXPECT_THAT(error_for("action_out_of_bounds.hdf5", {.strict = true}),
              HasSubstr("'actions' row 5 column 0: 3.5 is outside the declared bounds [-2, 2]"));

  LoadReport no_timeouts;
  load_dataset(dir_ + "/no_timeouts.hdf5", {}, &no_timeouts);
  EXPECT_FALSE(no_timeouts.had_timeouts);
  EXPECT_THAT(error_for("no_timeouts.hdf5", {.strict = true}), HasSubstr("no 'timeouts' dataset"));

  LoadReport unended;
  load_dataset(dir_ + "/unended.hdf5", {}, &unended);
  ASSERT_FALSE(unended.warnings.empty());
  EXPECT_THAT(error_for("unended.hdf5", {.strict = true}),
              HasSubstr("the last episode (rows 0-19) never ends"));
}

TEST(DatasetIo, MissingPathAndUnknownLayout) {
  EXPECT_THROW(load_dataset("/nonexistent/file.hdf5"), Error);
  EXPECT_THROW(parse_layout("rlds"), Error);
  const std::string dir = temp_path("empty_dir");
  fs::create_directories(dir);
  EXPECT_THROW(load_dataset(dir), Error);
}

}  // namespace
}  // namespace stitch

namespace stitch {
namespace {

// Inputs found by scripts/fuzz.sh. hdf5_h5lexists_segv.hdf5 (a 10 kB D4RL file with one
// mutated B-tree) makes libhdf5 1.10.8 segfault inside H5Lexists; the crash guard turns that
// into an Error instead of killing the process.
TEST(FuzzRegressions, LibHdf5CrashBecomesAnError) {
  const std::string path = STITCH_SOURCE_DIR "/tests/data/regressions/hdf5_h5lexists_segv.hdf5";
  try {
    load_dataset(path);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(path));
    EXPECT_THAT(e.what(), HasSubstr("the HDF5 library crashed reading it"));
  }
}

// invalid_utf8_metadata.hdf5: a metadata string with invalid UTF-8 made nlohmann::json throw
// its own type_error out of the reader. Now the bad bytes are replaced and the file loads.
TEST(FuzzRegressions, InvalidUtf8InMetadataIsReplaced) {
  const Dataset d =
      load_dataset(STITCH_SOURCE_DIR "/tests/data/regressions/invalid_utf8_metadata.hdf5");
  EXPECT_THAT(d.metadata_string("env_id"), HasSubstr("\xEF\xBF\xBD"));  // U+FFFD
}

}  // namespace
}  // namespace stitch
