// stitch sweep: the grid's cells, a sweep killed with SIGKILL and rerun ends with the scores of
// an uninterrupted one, and shards cover the grid exactly once.
#include "track/sweep.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/error.h"
#include "data/collect.h"
#include "data/io.h"
#include "env/registry.h"
#include "testing/errors.h"
#ifdef STITCH_MPIEXEC
#include "testing/mpi.h"
#endif
#include "testing/run_command.h"
#include "track/runs.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

class SweepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           fmt::format("stitch_sweep_{}_{}", getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto env = make_env("pendulum-v1");
    auto policy = make_scripted_policy("pendulum-v1");
    save_dataset(collect(*env, *policy, {.transitions = 1000, .seed = 5, .gaussian_noise = 0.5}),
                 (dir_ / "pendulum-noisy.hdf5").string(), {});
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string grid(const nlohmann::json& j) {
    const fs::path p = dir_ / "grid.json";
    std::ofstream(p) << j.dump();
    return p.string();
  }
  nlohmann::json toy(int64_t steps) const {
    return {{"algos", {"bc", "td3_bc"}},
            {"datasets", {(dir_ / "pendulum-noisy.hdf5").string()}},
            {"seeds", {0, 1}},
            {"steps", steps},
            {"set",
             {{"checkpoint_every", 100},
              {"log_every", 100},
              {"eval_every", 500},
              {"eval_episodes", 2},
              {"bc.hidden", 16},
              {"td3_bc.hidden", 16}}}};
  }
  // Each cell's final mean return.
  std::map<std::string, double> finals(const fs::path& out) {
    std::map<std::string, double> m;
    for (const RunSummary& r : find_runs(out.string())) {
      if (!r.evaluations.empty()) m[r.name] = r.evaluations.back().mean;
    }
    return m;
  }
  // Waits (up to 10 s) until a cell under `out` has written a checkpoint.
  static void wait_for_a_checkpoint(const fs::path& out) {
    for (int t = 0; t < 1000; ++t) {
      bool checkpointed = false;
      if (fs::exists(out)) {
        for (const auto& e : fs::directory_iterator(out)) {
          checkpointed |= fs::exists(e.path() / "checkpoints" / "latest.pt");
        }
      }
      if (checkpointed) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  // How many cells under `out` went on from a checkpoint (meta.json's resumed_at).
  static int resumed_cells(const fs::path& out) {
    int resumed = 0;
    for (const RunSummary& r : find_runs(out.string())) {
      const auto meta = nlohmann::json::parse(testing::read_file(r.dir + "/meta.json"));
      resumed += !meta.value("resumed_at", nlohmann::json::array()).empty();
    }
    return resumed;
  }
  fs::path dir_;
};

using testing::error_of;

TEST_F(SweepTest, CellsHaveStableNamesAndTheirOwnKeys) {
  const auto cells = sweep_cells(grid(toy(300)), "out");
  ASSERT_EQ(cells.size(), 4u);
  EXPECT_EQ(cells[0].name, "bc-pendulum-noisy-s0");
  EXPECT_EQ(cells[3].name, "td3_bc-pendulum-noisy-s1");
  EXPECT_EQ(cells[0].run_dir, "out/bc-pendulum-noisy-s0");
  const auto& args = cells[0].train_args;
  EXPECT_NE(std::find(args.begin(), args.end(), "bc.hidden=16"), args.end());
  EXPECT_EQ(std::find(args.begin(), args.end(), "td3_bc.hidden=16"), args.end());
  // The env came from the dataset's metadata.
  EXPECT_NE(std::find(args.begin(), args.end(), "pendulum-v1"), args.end());
  EXPECT_THAT(error_of([&] {
                sweep_cells(grid({{"algos", {"bc"}}, {"seeds", {0}}, {"oops", 1}}), "o");
              }),
              HasSubstr("unknown grid key 'oops'"));
  EXPECT_THAT(error_of([&] {
                sweep_cells(grid({{"algos", {"bc"}}, {"datasets", {"x.hdf5"}}}), "o");
              }),
              HasSubstr("needs 'seeds'"));
}

// Per-dataset config files (ReBRAC's coefficients): {dataset} becomes the dataset's file stem,
// and a missing file is an error naming it.
TEST_F(SweepTest, ConfigsGiveEachDatasetItsOwnFile) {
  std::ofstream(dir_ / "td3_bc-pendulum-noisy.json") << R"({"td3_bc": {"alpha": 4}})";
  nlohmann::json g = toy(300);
  g["configs"] = {{"td3_bc", (dir_ / "td3_bc-{dataset}.json").string()}};
  const auto cells = sweep_cells(grid(g), "out");
  ASSERT_EQ(cells.size(), 4u);
  const auto& bc = cells[0].train_args;
  EXPECT_EQ(std::find(bc.begin(), bc.end(), "--config"), bc.end());
  const auto& td3_bc = cells[3].train_args;
  const auto it = std::find(td3_bc.begin(), td3_bc.end(), "--config");
  ASSERT_NE(it, td3_bc.end());
  EXPECT_EQ(*(it + 1), (dir_ / "td3_bc-pendulum-noisy.json").string());
  g["configs"] = {{"td3_bc", (dir_ / "missing-{dataset}.json").string()}};
  EXPECT_THAT(error_of([&] { sweep_cells(grid(g), "o"); }),
              HasSubstr("no config file " + (dir_ / "missing-pendulum-noisy.json").string()));
  g["configs"] = {{"td3_bc", "no-placeholder.json"}};
  EXPECT_THAT(error_of([&] { sweep_cells(grid(g), "o"); }), HasSubstr("with {dataset} in it"));
}

// "models": an algorithm's cells reuse a fitted model run (model.checkpoint) per dataset and
// seed, so several model-based algorithms train on the same model; a missing run is an error.
TEST_F(SweepTest, ModelsGiveCellsAModelRunToReuse) {
  fs::create_directories(dir_ / "models" / "pendulum-noisy-1");
  nlohmann::json g = toy(300);
  g["models"] = {{"td3_bc", (dir_ / "models" / "{dataset}-{seed}").string()}};
  g["seeds"] = {1};
  const auto cells = sweep_cells(grid(g), "out");
  ASSERT_EQ(cells.size(), 2u);
  const auto& bc = cells[0].train_args;
  EXPECT_EQ(std::find_if(bc.begin(), bc.end(),
                         [](const std::string& a) { return a.rfind("model.", 0) == 0; }),
            bc.end());
  const auto& td3_bc = cells[1].train_args;
  EXPECT_NE(std::find(td3_bc.begin(), td3_bc.end(),
                      "model.checkpoint=" + (dir_ / "models" / "pendulum-noisy-1").string()),
            td3_bc.end());
  g["seeds"] = {2};
  EXPECT_THAT(error_of([&] { sweep_cells(grid(g), "o"); }),
              HasSubstr("no model run " + (dir_ / "models" / "pendulum-noisy-2").string()));
  g["models"] = {{"td3_bc", "models/fixed"}};
  EXPECT_THAT(error_of([&] { sweep_cells(grid(g), "o"); }), HasSubstr("with {dataset} in it"));
}

// "from": an algorithm's cells fine-tune the pre-trained run of the same dataset and seed
// (`stitch finetune`), evaluated at env step 0; the others stay training cells.
TEST_F(SweepTest, FromMakesFineTuningCells) {
  const std::string cli = STITCH_CLI_PATH;
  nlohmann::json pre = toy(200);
  pre["algos"] = {"td3_bc"};
  // `--threads 1` is the sweep's whole budget, even on a machine with more cores.
  auto r = testing::run_command(fmt::format("{} --threads 1 --log-level info sweep {} --out {}",
                                            cli, grid(pre), (dir_ / "pre").string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out + r.err, HasSubstr("1 workers x 1 threads"));
  nlohmann::json ft = toy(300);
  ft["from"] = {
      {"td3_bc", (dir_ / "pre" / "td3_bc-{dataset}-s{seed}/checkpoints/latest.pt").string()}};
  const auto cells = sweep_cells(grid(ft), (dir_ / "ft").string());
  ASSERT_EQ(cells.size(), 4u);
  EXPECT_EQ(cells[0].train_args[0], "train");  // bc: no "from"
  const auto& args = cells[3].train_args;      // td3_bc, seed 1
  EXPECT_EQ(args[0], "finetune");
  const auto it = std::find(args.begin(), args.end(), "--from");
  ASSERT_NE(it, args.end());
  EXPECT_EQ(*(it + 1), (dir_ / "pre" / "td3_bc-pendulum-noisy-s1/checkpoints/latest.pt").string());
  r = testing::run_command(fmt::format("{} --log-level warn sweep {} --out {} --replicates 100",
                                       cli, grid(ft), (dir_ / "ft").string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const RunSummary run = read_run((dir_ / "ft" / "td3_bc-pendulum-noisy-s1").string());
  EXPECT_EQ(run.status, "finished");
  ASSERT_TRUE(finetune_scores(run).has_value());
  EXPECT_EQ(run.evaluations.front().step, 0);
  ft["from"] = {{"td3_bc", "runs/no-seed/latest.pt"}};
  EXPECT_THAT(error_of([&] { sweep_cells(grid(ft), "o"); }), HasSubstr("with {seed} in it"));
}

TEST_F(SweepTest, AKilledSweepRerunEndsWithTheScoresOfAnUninterruptedOne) {
  const std::string g = grid(toy(3000));
  const std::string cli = STITCH_CLI_PATH;
  const auto whole =
      testing::run_command(fmt::format("{} --log-level warn sweep {} --workers 2 --out {} "
                                       "--replicates 100",
                                       cli, g, (dir_ / "whole").string()));
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  EXPECT_TRUE(fs::exists(dir_ / "whole" / "report" / "index.html"));
  const auto expected = finals(dir_ / "whole");
  ASSERT_EQ(expected.size(), 4u);

  // Killed (SIGKILL, its workers with it) part-way, then rerun: finished cells are skipped,
  // killed ones resume from their checkpoints.
  const fs::path out = dir_ / "killed";
  const pid_t pid = testing::start_quietly(
      {cli, "sweep", g, "--workers", "2", "--out", out.string(), "--replicates", "100"});
  wait_for_a_checkpoint(out);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the workers die with it
  const auto rerun = testing::run_command(fmt::format(
      "{} --log-level warn sweep {} --workers 2 --out {} --replicates 100", cli, g, out.string()));
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_EQ(finals(out), expected);
  EXPECT_GE(resumed_cells(out), 1);  // the kill fell inside training

  // A third run has nothing to do.
  const auto again = testing::run_command(
      fmt::format("{} --log-level warn sweep {} --out {} --replicates 100", cli, g, out.string()));
  EXPECT_THAT(again.out, HasSubstr("0 finished, 0 failed, 4 finished before"));
}

TEST_F(SweepTest, ShardsCoverTheGridExactlyOnce) {
  const std::string g = grid(toy(200));
  const fs::path out = dir_ / "sharded";
  const std::string bin = STITCH_CLI_PATH;
  const SweepResult a = run_sweep(
      {.grid = g, .out = out.string(), .shard_index = 0, .shard_count = 2, .report_replicates = 50},
      bin);
  const SweepResult b = run_sweep(
      {.grid = g, .out = out.string(), .shard_index = 1, .shard_count = 2, .report_replicates = 50},
      bin);
  EXPECT_EQ(a.finished, 2);
  EXPECT_EQ(b.finished, 2);
  EXPECT_EQ(a.skipped + b.skipped, 0);
  std::set<std::string> names;
  for (const RunSummary& r : find_runs(out.string())) {
    EXPECT_EQ(r.status, "finished") << r.name;
    names.insert(r.name);
    // Each cell started once and was never resumed.
    const auto meta = nlohmann::json::parse(testing::read_file(r.dir + "/meta.json"));
    EXPECT_TRUE(meta.value("resumed_at", nlohmann::json::array()).empty()) << r.name;
  }
  EXPECT_EQ(names.size(), 4u);
  // A failing cell is recorded and does not stop the others.
  nlohmann::json bad = toy(200);
  bad["set"]["td3_bc.alpha"] = "-3";
  const SweepResult c = run_sweep(
      {.grid = grid(bad), .out = (dir_ / "bad").string(), .workers = 2, .report_replicates = 50},
      bin);
  EXPECT_EQ(c.finished, 2);
  EXPECT_EQ(c.failed, 2);
  const auto status =
      nlohmann::json::parse(testing::read_file((dir_ / "bad" / "sweep-0-of-1.json").string()));
  EXPECT_THAT(status.dump(), HasSubstr("td3_bc.alpha"));
}

#ifdef STITCH_MPIEXEC
// `mpirun -n 3 stitch --threads 2 ARGS` (rank 0 hands out cells, ranks 1 and 2 run them).
std::string mpirun(const std::string& args) { return testing::mpirun(3, "--threads 2 " + args); }

TEST_F(SweepTest, MpiRanksGiveTheScoresOfOneMachine) {
  const std::string g = grid(toy(1000));
  const auto local = testing::run_command(
      fmt::format("{} --log-level warn --threads 2 sweep {} --workers 2 --out {} --replicates 100",
                  STITCH_CLI_PATH, g, (dir_ / "local").string()));
  ASSERT_EQ(local.exit_code, 0) << local.err;
  const auto mpi = testing::run_command(
      mpirun(fmt::format("sweep {} --mpi --out {} --replicates 100", g, (dir_ / "mpi").string())));
  ASSERT_EQ(mpi.exit_code, 0) << mpi.err;
  EXPECT_THAT(mpi.out, HasSubstr("4 finished, 0 failed"));
  EXPECT_THAT(mpi.err, HasSubstr("2 worker ranks"));
  const auto expected = finals(dir_ / "local");
  ASSERT_EQ(expected.size(), 4u);
  EXPECT_EQ(finals(dir_ / "mpi"), expected);  // same run directories, same scores
  EXPECT_TRUE(fs::exists(dir_ / "mpi" / "report" / "index.html"));
}

TEST_F(SweepTest, MpiSweepWithAKilledRankFinishesOnRerun) {
  const std::string g = grid(toy(3000));
  const fs::path out = dir_ / "killed";
  const auto whole = testing::run_command(mpirun(
      fmt::format("sweep {} --mpi --out {} --replicates 100", g, (dir_ / "whole").string())));
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  // Rank 1 killed (SIGKILL) once a cell has a checkpoint: mpirun ends the job.
  const pid_t job = testing::start_quietly(
      {"/bin/sh", "-c",
       mpirun(fmt::format("sweep {} --mpi --out {} --replicates 100", g, out.string()))});
  wait_for_a_checkpoint(out);
  pid_t victim = -1;
  for (int t = 0; t < 500 && victim < 0; ++t) {
    victim = testing::mpi_rank_pid(1, "--mpi --out " + out.string());
    if (victim < 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GT(victim, 0);
  // Which cells had a checkpoint (and so must not start again from scratch).
  std::set<std::string> checkpointed;
  for (const auto& e : fs::directory_iterator(out)) {
    if (fs::exists(e.path() / "checkpoints" / "latest.pt"))
      checkpointed.insert(e.path().filename().string());
  }
  kill(victim, SIGKILL);
  int status = 0;
  waitpid(job, &status, 0);
  EXPECT_FALSE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the cells' workers die with it
  const auto rerun = testing::run_command(
      mpirun(fmt::format("sweep {} --mpi --out {} --replicates 100", g, out.string())));
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_EQ(finals(out), finals(dir_ / "whole"));
  EXPECT_GE(resumed_cells(out), 1);
  for (const std::string& name : checkpointed)
    EXPECT_THAT(rerun.err, Not(HasSubstr("starting " + name))) << name;
}

TEST_F(SweepTest, MpiErrorsAreOneLineAndNoRankHangs) {
  // Not under mpirun.
  const auto alone = testing::run_command(fmt::format("{} sweep {} --mpi --out {}", STITCH_CLI_PATH,
                                                      grid(toy(100)), (dir_ / "a").string()));
  EXPECT_NE(alone.exit_code, 0);
  EXPECT_THAT(alone.err, HasSubstr("not started by mpirun"));
  // A bad grid: rank 0 says so once and tells the other ranks to stop.
  nlohmann::json bad = toy(100);
  bad["seeds"] = "zero";
  const auto bad_grid = testing::run_command(
      mpirun(fmt::format("sweep {} --mpi --out {}", grid(bad), (dir_ / "b").string())));
  EXPECT_NE(bad_grid.exit_code, 0);
  EXPECT_THAT(bad_grid.err, HasSubstr("'seeds' must be a non-empty list"));
  // --workers belongs to one machine.
  const auto workers = testing::run_command(mpirun(
      fmt::format("sweep {} --mpi --workers 2 --out {}", grid(toy(100)), (dir_ / "c").string())));
  EXPECT_NE(workers.exit_code, 0);
  EXPECT_THAT(workers.err, HasSubstr("--workers is for one machine"));
}
#endif

}  // namespace
}  // namespace stitch
