// The progress line: its text, the terminal mode (a status line redrawn under log lines), the
// plain mode (periodic log lines), and a real command drawing it.
#include "core/progress.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "core/error.h"
#include "core/log.h"
#include "testing/run_command.h"

namespace stitch {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct ProgressMode {
  explicit ProgressMode(const char* mode) { setenv("STITCH_PROGRESS", mode, 1); }
  ~ProgressMode() { unsetenv("STITCH_PROGRESS"); }
};

void wait_s(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

TEST(Progress, HumanUnits) {
  EXPECT_EQ(human_count(950), "950");
  EXPECT_EQ(human_count(12345), "12.3 k");
  EXPECT_EQ(human_count(2.5e6), "2.5 M");
  EXPECT_EQ(human_duration(42.4), "42s");
  EXPECT_EQ(human_duration(185), "3m05s");
  EXPECT_EQ(human_duration(7620), "2h07m");
  EXPECT_EQ(human_duration(-1), "?");
}

TEST(Progress, TerminalLineIsRedrawnUnderLogLines) {
  init_logging("info");
  const ProgressMode mode("terminal");
  ::testing::internal::CaptureStderr();
  {
    Progress p("train", 1000, "steps", 0.0, 200);
    EXPECT_TRUE(p.terminal());
    wait_s(0.15);
    p.set_note("eval -150.0");
    p.update(600);  // 400 steps of this process in about 0.15 s
    spdlog::info("a log line");
  }
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, HasSubstr("\r\033[Ktrain 600/1000 steps (60%)"));
  EXPECT_THAT(err, HasSubstr("ETA "));
  EXPECT_THAT(err, HasSubstr("eval -150.0"));
  // The log line clears the status line, prints, and draws it again; the end clears it.
  const size_t log = err.find("[info] a log line\n");
  ASSERT_NE(log, std::string::npos) << err;
  EXPECT_THAT(err.substr(log), HasSubstr("train 600/1000"));
  EXPECT_EQ(err.substr(err.size() - 4), "\r\033[K");
}

TEST(Progress, PlainModeLogsPeriodicLines) {
  init_logging("info");
  const ProgressMode mode("plain");
  ::testing::internal::CaptureStderr();
  {
    Progress p("collect pendulum-v1", 100, "transitions", 0.05);
    EXPECT_FALSE(p.terminal());
    p.update(10);  // too soon: nothing
    wait_s(0.08);
    p.update(40);
  }
  {
    Progress silent("train", 100, "steps", 0.0);  // the trainers log lines of their own
    wait_s(0.02);
    silent.update(100);
  }
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, HasSubstr("[info] collect pendulum-v1 40/100 transitions (40%)"));
  EXPECT_THAT(err, Not(HasSubstr("10/100")));
  EXPECT_THAT(err, Not(HasSubstr("train")));
  EXPECT_THAT(err, Not(HasSubstr("\r")));
}

TEST(Progress, UnknownModeIsAnError) {
  const ProgressMode mode("fancy");
  EXPECT_THROW(Progress("x", 1, "steps"), Error);
}

TEST(Progress, TrainDrawsItsLine) {
  const auto r =
      testing::run_command(fmt::format("STITCH_PROGRESS=terminal {} train --algo stream-q --env "
                                       "cartpole-v1 --online --steps 30000 --set eval_every=10000 "
                                       "--set eval_episodes=2 --run-dir {}/stitch_progress_{}",
                                       STITCH_CLI_PATH, ::testing::TempDir(), getpid()));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("\r\033[Ktrain "));
  EXPECT_THAT(r.err, HasSubstr("/30000 steps"));
  EXPECT_THAT(r.err, HasSubstr("eval "));  // the last evaluation, once there is one
  std::system(fmt::format("rm -rf {}/stitch_progress_{}", ::testing::TempDir(), getpid()).c_str());
}

}  // namespace
}  // namespace stitch
