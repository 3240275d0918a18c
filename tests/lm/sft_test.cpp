// `stitch lm sft`: a run killed mid-way and resumed ends where an uninterrupted one does, and bad
// input is one error line.
#include "lm/sft.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

#include "testing/errors.h"
#include "testing/run_command.h"

namespace stitch::lm {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class SftTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           fmt::format("stitch_sft_{}_{}", getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string args(const fs::path& run) const {
    return fmt::format(
        "--threads 1 --log-level warn lm sft --task sorting --difficulty 3 --steps 400 --run-dir "
        "{} "
        "--set checkpoint_every=50 --set eval_every=200 --set eval_problems=50 --set width=32",
        run.string());
  }
  fs::path dir_;
};

TEST_F(SftTest, AKilledRunResumesToTheUninterruptedResult) {
  const std::string cli = STITCH_CLI_PATH;
  const auto whole = testing::run_command(cli + " " + args(dir_ / "whole"));
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  const fs::path run = dir_ / "killed";
  const pid_t pid = testing::start_quietly({cli,
                                            "--threads",
                                            "1",
                                            "lm",
                                            "sft",
                                            "--task",
                                            "sorting",
                                            "--difficulty",
                                            "3",
                                            "--steps",
                                            "400",
                                            "--run-dir",
                                            run.string(),
                                            "--set",
                                            "checkpoint_every=50",
                                            "--set",
                                            "eval_every=200",
                                            "--set",
                                            "eval_problems=50",
                                            "--set",
                                            "width=32"});
  for (int t = 0; t < 3000 && !fs::exists(run / "checkpoints" / "latest.pt"); ++t)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(fs::exists(run / "checkpoints" / "latest.pt"));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  const auto resumed = testing::run_command(
      fmt::format("{} --log-level warn lm sft --resume --run-dir {}", cli, run.string()));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(testing::read_file((run / "eval.jsonl").string()),
            testing::read_file((dir_ / "whole" / "eval.jsonl").string()));
  // The losses too (the weights, the optimiser and the problem stream came back), minus the
  // wall-clock fields.
  auto losses = [](const fs::path& f) {
    std::string out;
    std::istringstream in(testing::read_file(f.string()));
    for (std::string line; std::getline(in, line);)
      out += line.substr(0, line.find(",\"steps_per_s\"")) + "\n";
    return out;
  };
  EXPECT_EQ(losses(run / "metrics.jsonl"), losses(dir_ / "whole" / "metrics.jsonl"));
  const auto eval =
      testing::run_command(fmt::format("{} lm eval --run-dir {} --problems 50", cli, run.string()));
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  EXPECT_THAT(eval.out, HasSubstr("held-out accuracy"));
}

TEST_F(SftTest, BadInputIsOneErrorLine) {
  const std::string cli = STITCH_CLI_PATH;
  const auto task = testing::run_command(fmt::format(
      "{} --log-level warn lm sft --task chess --run-dir {}", cli, (dir_ / "a").string()));
  EXPECT_NE(task.exit_code, 0);
  EXPECT_THAT(task.err, HasSubstr("unknown task 'chess'"));
  const auto heads = testing::run_command(fmt::format(
      "{} --log-level warn lm sft --set width=30 --run-dir {}", cli, (dir_ / "b").string()));
  EXPECT_THAT(heads.err, HasSubstr("not a multiple of 4 heads"));
  const auto difficulty = testing::run_command(
      fmt::format("{} --log-level warn lm sft --task countdown --difficulty 9 --run-dir {}", cli,
                  (dir_ / "c").string()));
  EXPECT_THAT(difficulty.err, HasSubstr("countdown takes 2..6, got 9"));
  const auto context = testing::run_command(fmt::format(
      "{} --log-level warn lm sft --task sorting --difficulty 12 --steps 5 --run-dir {}", cli,
      (dir_ / "d").string()));
  EXPECT_THAT(context.err, HasSubstr("does not fit the context of 32"));
  const auto none = testing::run_command(
      fmt::format("{} --log-level warn lm eval --run-dir {}", cli, (dir_ / "nothing").string()));
  EXPECT_THAT(none.err, HasSubstr("not an lm run (no config.json)"));
  for (const auto* r : {&task, &heads, &difficulty, &context, &none})
    EXPECT_EQ(std::count(r->err.begin(), r->err.end(), '\n'), 1) << r->err;
}

TEST_F(SftTest, RlRunsResumeExactlyAndRefuseBadInput) {
  const std::string cli = STITCH_CLI_PATH;
  const fs::path start = dir_ / "start";
  ASSERT_EQ(testing::run_command(cli + " " + args(start)).exit_code, 0);
  auto rl = [&](const fs::path& run) {
    return fmt::format(
        "{} --threads 1 --log-level warn lm rl --method ppo --from {} --steps 40 --run-dir {} "
        "--set checkpoint_every=10 --set eval_every=20 --set eval_problems=50 --set prompts=4 "
        "--set epochs=2",
        cli, start.string(), run.string());
  };
  const auto whole = testing::run_command(rl(dir_ / "whole-rl"));
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  const fs::path run = dir_ / "killed-rl";
  const pid_t pid = testing::start_quietly({cli,
                                            "--threads",
                                            "1",
                                            "lm",
                                            "rl",
                                            "--method",
                                            "ppo",
                                            "--from",
                                            start.string(),
                                            "--steps",
                                            "40",
                                            "--run-dir",
                                            run.string(),
                                            "--set",
                                            "checkpoint_every=10",
                                            "--set",
                                            "eval_every=20",
                                            "--set",
                                            "eval_problems=50",
                                            "--set",
                                            "prompts=4",
                                            "--set",
                                            "epochs=2"});
  for (int t = 0; t < 3000 && !fs::exists(run / "checkpoints" / "latest.pt"); ++t)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  if (fs::exists(run / "checkpoints" / "latest.pt")) {
    const auto resumed = testing::run_command(fmt::format(
        "{} --threads 1 --log-level warn lm rl --resume --run-dir {}", cli, run.string()));
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    EXPECT_EQ(testing::read_file((run / "eval.jsonl").string()),
              testing::read_file((dir_ / "whole-rl" / "eval.jsonl").string()));
  }
  // DPO from a policy that solves nothing: no group has a pair, so no step updates (it failed
  // with "element 0 of tensors does not require grad" before).
  const fs::path blank = dir_ / "blank";
  ASSERT_EQ(testing::run_command(fmt::format("{} --threads 1 --log-level warn lm sft --task "
                                             "multiplication --difficulty 5 --steps 1 --run-dir {} "
                                             "--set eval_problems=5",
                                             cli, blank.string()))
                .exit_code,
            0);
  const auto unpaired = testing::run_command(fmt::format(
      "{} --threads 1 --log-level warn lm rl --method dpo --from {} --steps 2 --run-dir {} "
      "--set eval_problems=5 --set prompts=2",
      cli, blank.string(), (dir_ / "unpaired").string()));
  EXPECT_EQ(unpaired.exit_code, 0) << unpaired.err;
  // An empty group (or one completion: no group statistics) is a config error.
  const auto empty = testing::run_command(
      fmt::format("{} --log-level warn lm rl --from {} --set group=0 --run-dir {}", cli,
                  start.string(), (dir_ / "empty").string()));
  EXPECT_NE(empty.exit_code, 0);
  EXPECT_THAT(empty.err, HasSubstr("group"));
  EXPECT_EQ(std::count(empty.err.begin(), empty.err.end(), '\n'), 1) << empty.err;
  // One-example RLVR: every prompt the same training problem.
  const auto one = testing::run_command(fmt::format(
      "{} --threads 1 --log-level warn lm rl --method grpo --from {} --steps 3 --run-dir {} "
      "--set train_prompts=1 --set eval_problems=5 --set prompts=2",
      cli, start.string(), (dir_ / "one").string()));
  EXPECT_EQ(one.exit_code, 0) << one.err;
  const auto method = testing::run_command(
      fmt::format("{} --log-level warn lm rl --method trpo --from {} --run-dir {}", cli,
                  start.string(), (dir_ / "x").string()));
  EXPECT_THAT(method.err, HasSubstr("expected grpo, dr_grpo, rloo, ppo or dpo, got 'trpo'"));
  const auto from =
      testing::run_command(fmt::format("{} --log-level warn lm rl --from {} --run-dir {}", cli,
                                       (dir_ / "nothing").string(), (dir_ / "y").string()));
  EXPECT_THAT(from.err, HasSubstr("not an lm sft run"));
}

}  // namespace
}  // namespace stitch::lm
