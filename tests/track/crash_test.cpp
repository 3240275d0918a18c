// Crash consistency (slow tier): `stitch train` is killed with SIGKILL at 20 seeded random
// moments (start-up, training, evaluation, a checkpoint write: wherever the moment falls), and
// resumed with `--resume` after each kill (or started again when no checkpoint was written yet).
// The final checkpoint then holds exactly the parameters of an uninterrupted run, and every
// file of the run directory is readable. Command: `ctest -L slow -R Crash` (about a minute).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "core/rng.h"
#include "data/collect.h"
#include "data/io.h"
#include "env/registry.h"
#include "testing/checkpoint_parameters.h"
#include "testing/run_command.h"
#include "testing/thread_policy.h"
#include "track/runs.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;

// Starts `stitch ARGS` (stdout/stderr to /dev/null); returns its pid.
pid_t spawn(const std::vector<std::string>& args) {
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    std::string cli = STITCH_CLI_PATH;
    argv.push_back(cli.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    freopen("/dev/null", "w", stdout);
    freopen("/dev/null", "w", stderr);
    execv(STITCH_CLI_PATH, argv.data());
    _exit(127);
  }
  return pid;
}

using testing::checkpoint_parameters;

TEST(Crash, TwentyKillsAndResumesEndInTheUninterruptedState) {
  const fs::path dir = fs::path(::testing::TempDir()) / fmt::format("stitch_crash_{}", getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path data = dir / "data.hdf5";
  {
    auto env = make_env("pendulum-v1");
    auto policy = make_scripted_policy("pendulum-v1");
    save_dataset(collect(*env, *policy, {.transitions = 2000, .seed = 4, .gaussian_noise = 0.5}),
                 data.string(), {});
  }
  auto train_args = [&](const fs::path& run) {
    return std::vector<std::string>{"--log-level",
                                    "warn",
                                    "train",
                                    "--algo",
                                    "td3_bc",
                                    "--dataset",
                                    data.string(),
                                    "--env",
                                    "pendulum-v1",
                                    "--steps",
                                    "60000",
                                    "--set",
                                    "td3_bc.hidden=32",
                                    "--set",
                                    "checkpoint_every=250",
                                    "--set",
                                    "log_every=250",
                                    "--set",
                                    "eval_every=3000",
                                    "--set",
                                    "eval_episodes=1",
                                    "--run-dir",
                                    run.string()};
  };
  auto finish = [](pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
  };
  ASSERT_EQ(finish(spawn(train_args(dir / "full"))), 0);
  const auto expected =
      checkpoint_parameters((dir / "full" / "checkpoints" / "latest.pt").string());

  const fs::path run = dir / "killed";
  Rng rng(2026);
  int kills = 0, attempts = 0;
  bool finished = false;
  while (!finished) {
    ASSERT_LT(++attempts, 100) << "no progress";
    const bool resume = fs::exists(run / "checkpoints" / "latest.pt");
    std::vector<std::string> args =
        resume ? std::vector<std::string>{"--log-level", "warn",      "train",
                                          "--resume",    "--run-dir", run.string()}
               : train_args(run);
    const pid_t pid = spawn(args);
    if (kills < 20) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng.next_u64() % 600));
      kill(pid, SIGKILL);
    }
    const int status = finish(pid);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
      ++kills;
    } else {
      ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
      finished = true;
    }
  }
  EXPECT_EQ(kills, 20);
  const auto got = checkpoint_parameters((run / "checkpoints" / "latest.pt").string());
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_TRUE(torch::equal(got[i], expected[i])) << i;
  // The logs hold each step once, and the run reads back as finished.
  const RunSummary summary = read_run(run.string());
  EXPECT_EQ(summary.status, "finished");
  EXPECT_EQ(summary.steps, 60000);
  std::string line;
  std::ifstream in(run / "metrics.jsonl");
  int64_t last = 0, lines = 0;
  while (std::getline(in, line)) {
    const int64_t step = nlohmann::json::parse(line)["step"];
    EXPECT_GT(step, last);
    last = step;
    ++lines;
  }
  EXPECT_EQ(lines, 60000 / 250);
  fmt::print("crash test: {} kills over {} starts, final parameters identical\n", kills, attempts);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace stitch
