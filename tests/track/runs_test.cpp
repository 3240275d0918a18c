// Reading run directories back, including runs killed at a random moment.
#include "track/runs.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/error.h"
#include "testing/run_command.h"
#include "track/meta.h"
#include "track/tensorboard.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;

TEST(Runs, MetaRecordsFailureAndResumes) {
  const fs::path dir = fs::path(::testing::TempDir()) / fmt::format("stitch_meta_{}", getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    RunMeta m(dir, {{"algo", "iql"}}, false);
    EXPECT_EQ(m.json()["status"], "running");
    m.fail("error: training diverged at step 7");
  }
  auto meta = nlohmann::json::parse(testing::read_file((dir / "meta.json").string()));
  EXPECT_EQ(meta["status"], "failed");
  EXPECT_EQ(meta["error"], "error: training diverged at step 7");
  const std::string started = meta["start_time"];
  RunMeta resumed(dir, {{"algo", "iql"}}, true);
  resumed.finish("finished");
  meta = nlohmann::json::parse(testing::read_file((dir / "meta.json").string()));
  EXPECT_EQ(meta["status"], "finished");
  EXPECT_EQ(meta["start_time"], started);
  EXPECT_EQ(meta["resumed_at"].size(), 1u);
  EXPECT_FALSE(meta.contains("error"));
  fs::remove_all(dir);
}

TEST(Runs, KilledRunsAreReadable) {
  const fs::path dir = fs::path(::testing::TempDir()) / fmt::format("stitch_runs_{}", getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string cli = STITCH_CLI_PATH;
  // A finished run.
  ASSERT_EQ(std::system(
                (cli +
                 " --log-level warn train --algo stream-q --env cartpole-v1 --online --steps 20000 "
                 "--set log_every=5000 --set eval_episodes=2 --run-dir " +
                 (dir / "done").string() + " > /dev/null")
                    .c_str()),
            0);
  // Runs killed (SIGKILL, no chance to clean up) after different times; under a sanitizer the
  // process starts several times slower, so the times stretch with it. The longest one gets to
  // its config.json on a loaded machine too (load 6 on 2 cores kept all three shorter ones
  // from it once).
  const bool sanitized =
      std::getenv("ASAN_OPTIONS") != nullptr || std::getenv("TSAN_OPTIONS") != nullptr;
  for (const double seconds : {0.05, 0.3, 0.8, 3.0}) {
    const std::string t = fmt::format("{}", sanitized ? 10 * seconds : seconds);
    const std::string cmd = fmt::format(
        "timeout -s KILL {} {} --log-level warn train --algo stream-ac --env pendulum-v1 --online "
        "--steps 100000000 "
        "--set log_every=1000 --set eval_every=20000 --set eval_episodes=2 --run-dir {} > "
        "/dev/null 2>&1",
        t, cli, (dir / ("killed-" + t)).string());
    std::system(cmd.c_str());
  }
  // A SIGKILLed process takes a moment to be torn down (it reads as running until it is a
  // zombie): give the kernel that moment.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  // And a log whose last line was cut half-way.
  fs::copy(dir / "done", dir / "torn", fs::copy_options::recursive);
  { std::ofstream(dir / "torn" / "metrics.jsonl", std::ios::app) << "{\"step\": 250"; }

  const auto runs = find_runs(dir.string());
  std::map<std::string, RunSummary> by_name;
  for (const auto& r : runs) by_name[r.name] = r;
  ASSERT_TRUE(by_name.count("done"));
  EXPECT_EQ(by_name["done"].status, "finished");
  const auto meta =
      nlohmann::json::parse(testing::read_file((dir / "done" / "meta.json").string()));
  EXPECT_EQ(meta["algo"], "stream-q");
  EXPECT_THAT(meta["command_line"].get<std::string>(),
              ::testing::HasSubstr("train --algo stream-q"));
  EXPECT_TRUE(meta.contains("end_time"));
  EXPECT_FALSE(meta["versions"].empty());
  EXPECT_EQ(by_name["done"].steps, 20000);
  EXPECT_EQ(by_name["done"].algo, "stream-q");
  EXPECT_EQ(by_name["done"].dataset, "online");
  ASSERT_FALSE(by_name["done"].evaluations.empty());
  EXPECT_EQ(by_name["torn"].steps, 20000);  // the torn line is skipped
  int killed = 0;
  for (const auto& [name, r] : by_name) {
    if (name.rfind("killed-", 0) != 0) continue;
    ++killed;
    EXPECT_NE(r.status, "finished") << name;
    if (fs::exists(dir / name / "meta.json")) {
      EXPECT_EQ(r.status, "killed") << name;  // meta.json says running, the process is gone
    }
    EXPECT_LT(r.steps, 100000000) << name;
  }
  EXPECT_GE(killed, 1);  // a run killed before writing config.json is not a run
  // The CLI prints them.
  const auto listed = testing::run_command(cli + " runs list " + dir.string());
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("done"), std::string::npos);
  EXPECT_THROW(read_run((dir / "nope").string()), Error);
  // The finished run's TensorBoard file holds its training and evaluation scalars, and its log
  // lines are kept in stdout.log.
  std::vector<tensorboard::Scalar> scalars;
  for (const auto& f : fs::directory_iterator(dir / "done")) {
    if (f.path().filename().string().rfind("events.out.tfevents.", 0) == 0)
      scalars = tensorboard::read_events(f.path());
  }
  std::set<std::string> tags;
  for (const auto& s : scalars) tags.insert(s.tag);
  EXPECT_TRUE(tags.count("eval/mean_return")) << scalars.size();
  EXPECT_TRUE(tags.count("train/abs_td_error"));
  EXPECT_NE(testing::read_file((dir / "done" / "stdout.log").string()).find("eval at step 20000"),
            std::string::npos);
  // Every killed run's event file is readable too (a torn last record is skipped).
  for (const auto& [name, r] : by_name) {
    for (const auto& f : fs::directory_iterator(dir / name)) {
      if (f.path().filename().string().rfind("events.out.tfevents.", 0) == 0) {
        EXPECT_NO_THROW(tensorboard::read_events(f.path())) << f.path();
      }
    }
  }
  // And `stitch report` reads the killed runs beside the finished one.
  const auto report = testing::run_command(cli + " report " + dir.string() +
                                           " --replicates 100 --out " + (dir / "report").string());
  EXPECT_EQ(report.exit_code, 0) << report.err;
  EXPECT_TRUE(fs::exists(dir / "report" / "index.html"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace stitch
