// `mpirun -n 3 stitch train --algo sac --online --dist`: a learner and two actors train, the job
// ends when the learner is killed, a resume finishes the run, and misuse is one error line.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "testing/mpi.h"
#include "testing/run_command.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class DistTrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           fmt::format("stitch_dist_{}_{}", getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // `stitch train` arguments of a short distributed SAC run on Pendulum in `run`.
  std::string sac(const fs::path& run, int64_t steps) const {
    return fmt::format(
        "--threads 1 train --algo sac --online --env pendulum-v1 --steps {} --run-dir {} --set "
        "learning_starts=500 --set checkpoint_every=1000 --set eval_every=1000 --set "
        "eval_episodes=2 --set log_every=500 --set sac.hidden=32 --dist",
        steps, run.string());
  }
  fs::path dir_;
};

std::vector<nlohmann::json> lines(const fs::path& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

TEST_F(DistTrainTest, AKilledLearnerEndsTheJobAndAResumeFinishesTheRun) {
  const fs::path run = dir_ / "run";
  const pid_t job = testing::start_quietly({"/bin/sh", "-c", testing::mpirun(3, sac(run, 3000))});
  for (int t = 0; t < 6000 && !fs::exists(run / "checkpoints" / "latest.pt"); ++t)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(fs::exists(run / "checkpoints" / "latest.pt"));
  const pid_t learner = testing::mpi_rank_pid(0, run.string());
  ASSERT_GT(learner, 0);
  kill(learner, SIGKILL);
  int status = 0;
  waitpid(job, &status, 0);  // mpirun ends every rank: no actor is left waiting
  EXPECT_FALSE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(testing::mpi_rank_pid(1, run.string()), -1);

  const auto resumed = testing::run_command(testing::mpirun(
      3, fmt::format("--threads 1 train --resume --run-dir {} --dist", run.string())));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_THAT(resumed.out, HasSubstr("trained 30"));  // 3000 and up to one chunk more
  const auto meta = nlohmann::json::parse(testing::read_file((run / "meta.json").string()));
  EXPECT_EQ(meta.value("status", ""), "finished");
  EXPECT_FALSE(meta.value("resumed_at", nlohmann::json::array()).empty());
  // Each role's numbers in the metrics.
  const auto metrics = lines(run / "metrics.jsonl");
  ASSERT_FALSE(metrics.empty());
  for (const char* key : {"actor1_env_steps_per_s", "actor2_env_steps_per_s", "updates_per_s",
                          "param_lag_updates", "bytes_in_per_s", "bytes_out_per_s"}) {
    EXPECT_TRUE(metrics.back().contains(key)) << key;
  }
  EXPECT_GT(metrics.back().value("actor1_env_steps_per_s", 0.0), 0.0);
  EXPECT_GT(metrics.back().value("actor2_env_steps_per_s", 0.0), 0.0);
  EXPECT_GE(lines(run / "eval.jsonl").back().value("step", 0), 3000);
}

// Two learners (ranks 0 and 1) with an actor each: the gradients averaged before every step, so
// the learners' parameters, targets, Adam states and temperature stay bit-identical. Every
// metrics line compares the learners' state hashes and the run fails on a difference, so a
// gradient left out of the averaging, or a learner built from another seed, fails this test.
// Killed and resumed, the second learner restores from learner 0's checkpoint.
TEST_F(DistTrainTest, TwoLearnersStayBitIdenticalAcrossAResume) {
  const fs::path run = dir_ / "run";
  const std::string args = sac(run, 3000) + " --learners 2";
  const pid_t job = testing::start_quietly({"/bin/sh", "-c", testing::mpirun(4, args)});
  int status = 0;
  bool ended = false;  // early: the learners' check failed at the first metrics line
  for (int t = 0; t < 6000 && !ended && !fs::exists(run / "checkpoints" / "latest.pt"); ++t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ended = waitpid(job, &status, WNOHANG) == job;
  }
  ASSERT_FALSE(ended) << "the job ended before its first checkpoint";
  ASSERT_TRUE(fs::exists(run / "checkpoints" / "latest.pt"));
  const pid_t learner = testing::mpi_rank_pid(0, run.string());
  ASSERT_GT(learner, 0);
  kill(learner, SIGKILL);
  waitpid(job, &status, 0);
  EXPECT_FALSE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  const auto resumed = testing::run_command(testing::mpirun(
      4, fmt::format("--threads 1 train --resume --run-dir {} --dist --learners 2", run.string())));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_THAT(resumed.out, HasSubstr("trained 30"));
  const auto metrics = lines(run / "metrics.jsonl");
  ASSERT_FALSE(metrics.empty());
  for (const auto& line : metrics) {
    EXPECT_EQ(line.value("learners", 0), 2);
    EXPECT_TRUE(line.value("learners_identical", false));
    EXPECT_TRUE(line.contains("gradient_mean_ms_per_update"));
  }
  // One update per env step per learner: about (3000 - 500) / 2 for the job.
  EXPECT_NEAR(metrics.back().value("gradient_steps", 0), 1250, 100);
  EXPECT_GT(metrics.back().value("actor2_env_steps_per_s", 0.0), 0.0);  // learner 0's actor
  EXPECT_GT(metrics.back().value("actor3_env_steps_per_s", 0.0), 0.0);  // learner 1's
}

TEST_F(DistTrainTest, MisuseIsOneErrorLine) {
  const auto alone =
      testing::run_command(fmt::format("{} {}", STITCH_CLI_PATH, sac(dir_ / "a", 1000)));
  EXPECT_NE(alone.exit_code, 0);
  EXPECT_THAT(alone.err, HasSubstr("not started by mpirun"));
  const auto one = testing::run_command(testing::mpirun(1, sac(dir_ / "b", 1000)));
  EXPECT_NE(one.exit_code, 0);
  EXPECT_THAT(one.err, HasSubstr("needs 2 or more"));
  const auto td3 = testing::run_command(testing::mpirun(
      2, fmt::format("train --algo td3 --online --env pendulum-v1 --run-dir {} --dist",
                     (dir_ / "c").string())));
  EXPECT_NE(td3.exit_code, 0);
  EXPECT_THAT(td3.err, HasSubstr("trains sac, not td3"));
  // Refused with two learners: learner 1 stops its own actor, so the job ends (no hang).
  const auto td3_two = testing::run_command(testing::mpirun(
      4, fmt::format("train --algo td3 --online --env pendulum-v1 --run-dir {} --dist --learners 2",
                     (dir_ / "c2").string())));
  EXPECT_NE(td3_two.exit_code, 0);
  EXPECT_THAT(td3_two.err, HasSubstr("trains sac, not td3"));
  const auto few =
      testing::run_command(testing::mpirun(3, sac(dir_ / "d", 1000) + " --learners 2"));
  EXPECT_NE(few.exit_code, 0);
  EXPECT_THAT(few.err, HasSubstr("with 2 learners it needs 4 or more"));
  const auto local = testing::run_command(
      fmt::format("{} train --algo sac --online --env pendulum-v1 --run-dir {} --learners 2",
                  STITCH_CLI_PATH, (dir_ / "e").string()));
  EXPECT_NE(local.exit_code, 0);
  EXPECT_THAT(local.err, HasSubstr("only with --dist"));
}

}  // namespace
}  // namespace stitch
