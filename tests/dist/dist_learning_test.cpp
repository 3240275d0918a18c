// Distributed SAC (one learner, two actors; `mpirun -n 3 stitch train --dist`) learns Pendulum as
// single-process SAC does at the same env steps: 3 seeds of each, trained here.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "testing/mpi.h"
#include "testing/run_command.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;

// The last evaluation's mean return of the run in `run`.
double final_return(const fs::path& run) {
  std::ifstream in(run / "eval.jsonl");
  std::string line, last;
  while (std::getline(in, line)) last = line;
  return nlohmann::json::parse(last).at("mean").get<double>();
}

TEST(DistLearning, OneLearnerAndTwoActorsMatchSingleProcessSacOnPendulum) {
  // 6,000 env steps, 1,000 of them random, 2x64 networks (measured on a loaded 2-core EPYC,
  // 2026-12-04: single -112.8, -214.1, -344.5, mean -223.8; distributed -261.4, -270.2, -175.2,
  // mean -235.6; a random policy scores about -1,200). The margin allows the distributed run's
  // policy lag (about 96 updates) and seed noise, not actors that never get the learner's
  // parameters.
  const fs::path dir =
      fs::path(::testing::TempDir()) / fmt::format("stitch_dist_learn_{}", getpid());
  fs::remove_all(dir);
  double single = 0.0, distributed = 0.0;
  for (int seed = 0; seed < 3; ++seed) {
    const std::string args = fmt::format(
        "--threads 1 --log-level warn train --algo sac --online --env pendulum-v1 --steps 6000 "
        "--seed {} --set learning_starts=1000 --set eval_every=6000 --set sac.hidden=64 --run-dir ",
        seed);
    const auto a = testing::run_command(fmt::format(
        "{} {} {}", STITCH_CLI_PATH, args, (dir / fmt::format("single-{}", seed)).string()));
    ASSERT_EQ(a.exit_code, 0) << a.err;
    const auto b = testing::run_command(
        testing::mpirun(3, args + (dir / fmt::format("dist-{}", seed)).string() + " --dist"));
    ASSERT_EQ(b.exit_code, 0) << b.err;
    const double s = final_return(dir / fmt::format("single-{}", seed));
    const double d = final_return(dir / fmt::format("dist-{}", seed));
    std::printf("seed %d: single %.1f, distributed %.1f\n", seed, s, d);
    single += s / 3.0;
    distributed += d / 3.0;
  }
  std::printf("mean: single %.1f, distributed %.1f\n", single, distributed);
  EXPECT_GT(distributed, single - 150.0);
  EXPECT_GT(distributed, -400.0);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace stitch
