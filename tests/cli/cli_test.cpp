// End-to-end tests of the `stitch` binary: exit codes, one-line errors, printed results.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <regex>

#include "testing/run_command.h"
#include "track/run_files.h"

namespace stitch {
namespace {

using testing::CommandResult;
using ::testing::HasSubstr;

CommandResult stitch(const std::string& args) {
  return testing::run_command(std::string(STITCH_CLI_PATH) + " " + args);
}

// As stitch(), with the start-of-run log lines (the resolved config) turned off, so that
// stderr holds only what an error prints.
CommandResult stitch_quiet(const std::string& args) { return stitch("--log-level warn " + args); }

// A failing command prints exactly one line, "error: ...", and exits with 1 (not a crash).
void expect_one_line_error(const CommandResult& r, const std::string& needle) {
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, ::testing::StartsWith("error: "));
  EXPECT_THAT(r.err, HasSubstr(needle));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

double mean_return(const std::string& out) {
  std::smatch m;
  if (!std::regex_search(out, m, std::regex("mean return (-?[0-9.]+)"))) return NAN;
  return std::stod(m[1]);
}

TEST(Cli, HelpAndVersion) {
  const auto help = stitch("--help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("env"));
  const auto version = stitch("version");
  EXPECT_EQ(version.exit_code, 0) << version.err;
  EXPECT_THAT(version.out, HasSubstr("libtorch:"));
  EXPECT_THAT(version.out, HasSubstr("threads: blas 1, torch intra-op 1"));
  EXPECT_THAT(stitch("--threads 2 version").out, HasSubstr("threads: blas 2, torch intra-op 1"));
}

TEST(Cli, EnvListShowsTheClassicSuite) {
  const auto r = stitch("env list");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* id : {"pendulum-v1", "cartpole-v1", "mountaincarcontinuous-v0", "acrobot-v1"}) {
    EXPECT_THAT(r.out, HasSubstr(id));
  }
}

TEST(Cli, ScriptedPendulumBeatsMinus200AndRandomIsWorseThanMinus1000) {
  const auto scripted = stitch("env run --env pendulum-v1 --policy scripted --episodes 20");
  EXPECT_EQ(scripted.exit_code, 0) << scripted.err;
  EXPECT_GT(mean_return(scripted.out), -200.0) << scripted.out;
  const auto random = stitch("env run --env pendulum-v1 --policy random --episodes 20");
  EXPECT_LT(mean_return(random.out), -1000.0) << random.out;
  EXPECT_EQ(std::count(random.out.begin(), random.out.end(), '\n'), 22);  // header, 20, mean
}

TEST(Cli, SameSeedSameOutput) {
  const auto a = stitch("env run --env acrobot-v1 --episodes 3 --seed 9");
  const auto b = stitch("env run --env acrobot-v1 --episodes 3 --seed 9");
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(a.out, stitch("env run --env acrobot-v1 --episodes 3 --seed 10").out);
}

TEST(Cli, UnknownEnvIdIsAOneLineError) {
  expect_one_line_error(stitch_quiet("env run --env nope-v0"), "unknown env id 'nope-v0'");
}

TEST(Cli, WrongActionShapeIsAOneLineError) {
  expect_one_line_error(stitch_quiet("env run --env pendulum-v1 --policy constant:0,0"),
                        "pendulum-v1: action has 2 values, expected 1");
}

TEST(Cli, NanActionIsAOneLineError) {
  expect_one_line_error(stitch_quiet("env run --env pendulum-v1 --policy constant:nan"),
                        "action[0] is nan");
}

TEST(Cli, UnknownSetKeyIsAOneLineError) {
  expect_one_line_error(stitch_quiet("env run --set episodez=3"), "unknown config key 'episodez'");
  expect_one_line_error(stitch_quiet("env run --set episodes=many"),
                        "config key 'episodes': expected an integer, got 'many'");
  expect_one_line_error(stitch_quiet("env run --env cartpole-v1 --policy bogus"),
                        "config key 'policy'");
}

TEST(Cli, ConfigFileIsAppliedAndSetWins) {
  const std::string path = ::testing::TempDir() + "/env_run.json";
  std::ofstream(path) << R"({"env": "cartpole-v1", "episodes": 2, "policy": "scripted"})";
  const auto r = stitch("env run --config " + path + " --set episodes=3");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("env cartpole-v1  policy scripted  episodes 3"));
  std::remove(path.c_str());
}

TEST(Cli, BadUsageIsAnErrorNotACrash) {
  EXPECT_NE(stitch("").exit_code, 0);
  EXPECT_NE(stitch("frobnicate").exit_code, 0);
  EXPECT_NE(stitch("--threads 0 version").exit_code, 0);
  expect_one_line_error(stitch("--log-level loud version"), "unknown log level 'loud'");
}

}  // namespace
}  // namespace stitch

namespace stitch {
namespace {

// Streaming training from the command line: train, evaluate the checkpoint, resume rules.
TEST(Cli, StreamingTrainEvalAndResume) {
  const std::string dir = ::testing::TempDir() + "stitch_cli_stream_" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  const CommandResult r =
      stitch_quiet("train --algo stream-q --env cartpole-v1 --online --steps 3000 --run-dir " +
                   dir + " --set eval_episodes=2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("trained 3000 steps"));
  const CommandResult e = stitch_quiet("eval --checkpoint " + dir +
                                       "/checkpoints/latest.cbor --env cartpole-v1 --episodes 3");
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_FALSE(std::isnan(mean_return(e.out))) << e.out;
  expect_one_line_error(stitch_quiet("train --resume --run-dir " + dir), "already finished");
  expect_one_line_error(stitch_quiet("train --resume --run-dir " + dir + " --steps 5"),
                        "cannot change it");
  expect_one_line_error(stitch_quiet("train --resume"), "--resume needs --run-dir");
  expect_one_line_error(
      stitch_quiet("train --algo stream-ac --env pendulum-v1 --run-dir " + dir + "x"),
      "add --online");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace stitch

namespace stitch {
namespace {

// A short online SAC run in `run_dir` (its checkpoint: run_dir/checkpoints/latest.pt).
void train_tiny_sac(const std::string& run_dir) {
  const CommandResult t =
      stitch_quiet("train --algo sac --env pendulum-v1 --online --steps 400 --run-dir " + run_dir +
                   " --set learning_starts=200 --set batch_size=32 --set sac.hidden=16 "
                   "--set eval_episodes=1");
  ASSERT_EQ(t.exit_code, 0) << t.err;
}

// Collecting with a trained policy: deterministic bytes, provenance in the metadata.
TEST(Cli, CollectWithACheckpointIsByteIdenticalAndRecordsItsSource) {
  const std::string dir =
      ::testing::TempDir() + "stitch_cli_collect_ckpt_" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  ASSERT_NO_FATAL_FAILURE(train_tiny_sac(dir + "/run"));
  const std::string ckpt = dir + "/run/checkpoints/latest.pt";
  for (const char* out : {"/a.hdf5", "/b.hdf5"}) {
    const CommandResult c =
        stitch_quiet("collect --env pendulum-v1 --checkpoint " + ckpt +
                     " --noise gaussian:0.1 --transitions 500 --seed 3 --out " + dir + out);
    ASSERT_EQ(c.exit_code, 0) << c.err;
  }
  EXPECT_EQ(testing::read_file(dir + "/a.hdf5"), testing::read_file(dir + "/b.hdf5"));
  const CommandResult info = stitch_quiet("dataset info " + dir + "/a.hdf5");
  EXPECT_THAT(info.out, HasSubstr("policy_checkpoint_sha256"));
  EXPECT_THAT(info.out, HasSubstr("stitch_version"));
  expect_one_line_error(
      stitch_quiet("collect --env pendulum-v1 --policy checkpoint --out " + dir + "/c.hdf5"),
      "needs --checkpoint");
  std::filesystem::remove_all(dir);
}

// An exported policy file evaluates and collects like the checkpoint it came from.
TEST(Cli, ExportedPolicyFileEvaluatesAndCollectsAsItsCheckpoint) {
  const std::string dir =
      ::testing::TempDir() + "stitch_cli_policy_file_" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  ASSERT_NO_FATAL_FAILURE(train_tiny_sac(dir + "/run"));
  const std::string ckpt = dir + "/run/checkpoints/latest.pt", file = dir + "/p.policy";
  ASSERT_EQ(stitch_quiet("export --checkpoint " + ckpt + " --out " + file).exit_code, 0);
  const CommandResult a =
      stitch_quiet("eval --checkpoint " + ckpt + " --env pendulum-v1 --episodes 3 --seed 5");
  const CommandResult b =
      stitch_quiet("eval --policy " + file + " --env pendulum-v1 --episodes 3 --seed 5");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_NEAR(mean_return(a.out), mean_return(b.out), 1e-2);
  EXPECT_THAT(b.out, HasSubstr("normalised score"));
  const CommandResult c = stitch_quiet("collect --env pendulum-v1 --policy " + file +
                                       " --transitions 300 --seed 3 --out " + dir + "/d.hdf5");
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_THAT(stitch_quiet("dataset info " + dir + "/d.hdf5").out, HasSubstr("policy_file_sha256"));
  expect_one_line_error(stitch_quiet("eval --policy " + file + " --env hopper-v4 --episodes 1"),
                        "a policy for observation/action dimensions 3/1, but hopper-v4 has 11/3");
  expect_one_line_error(stitch_quiet("collect --env pendulum-v1 --policy " + dir +
                                     "/missing.policy --out " + dir + "/e.hdf5"),
                        "no such file");
  expect_one_line_error(stitch_quiet("eval --env pendulum-v1"),
                        "--checkpoint FILE or --policy FILE");
  std::filesystem::remove_all(dir);
}

// One writer per run directory: a second `train` on a directory in use fails with the holder's
// pid; the lock of a finished (or killed) process is free again.
TEST(Cli, ASecondWriterOfARunDirectoryIsRefused) {
  const std::string dir = ::testing::TempDir() + "stitch_cli_lock_" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  const std::string train =
      "train --algo stream-td --env pendulum-v1 --online --steps 400 "
      "--set eval_episodes=1 --run-dir " +
      dir;
  {
    const RunLock held(dir);
    expect_one_line_error(stitch_quiet(train),
                          fmt::format("in use by another stitch process (pid {})", getpid()));
  }
  const CommandResult r = stitch_quiet(train);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::filesystem::remove_all(dir);
}

// The suite is found wherever stitch runs from (beside the binary, in the repository). A build
// directory outside the repository (cmake -B /tmp/x) has no suite beside its binary: skipped.
TEST(Cli, SuiteListWorksOutsideTheRepository) {
  const std::filesystem::path beside =
      std::filesystem::path(STITCH_CLI_PATH).parent_path().parent_path() / "suite";
  if (!std::filesystem::exists(beside / "manifest.json")) {
    GTEST_SKIP() << "the build directory is outside the repository (no " << beside.string() << ")";
  }
  const CommandResult r =
      testing::run_command("cd / && " + std::string(STITCH_CLI_PATH) +
                           " --log-level warn suite list --data-dir /nonexistent");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("hopper-v4-medium-replay"));
}

}  // namespace
}  // namespace stitch
