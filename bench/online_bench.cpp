// Online SAC throughput: the whole loop on pendulum-v1 (act, env step, store, one gradient step
// per env step; SAC with two hidden layers of 256, batch 256), stitch's `stitch train --algo sac
// --online` against the Python reference bench/reference/online_sac.py (same math, Debian's
// python3-torch, Gymnasium's Pendulum dynamics in numpy), both with 1 and 2 BLAS threads, run
// from this binary. Pendulum keeps the env's share negligible, so this measures the agent side;
// on MuJoCo the env step adds the same cost to both.
// Run: `stitch bench online` or build/bench/stitch_bench_online.
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "algo/trainer.h"
#include "bench_main.h"
#include "core/runtime.h"

namespace stitch {
namespace {

constexpr int64_t kSteps = 2000, kStarts = 256;
std::map<int, double> g_ours;  // threads -> env steps/s

void BM_SacOnlinePendulum(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  set_compute_threads({.threads = threads, .torch_threads = 1});
  spdlog::set_level(spdlog::level::warn);  // the trainer's progress lines would drown the table
  for (auto _ : state) {
    const auto dir =
        std::filesystem::temp_directory_path() / fmt::format("stitch_bench_online_{}", getpid());
    std::filesystem::remove_all(dir);
    TrainConfig c;
    train(resolve_train_config(
              c, "",
              {"algo=sac", "online=true", "env=pendulum-v1", fmt::format("steps={}", kSteps),
               fmt::format("learning_starts={}", kStarts), "eval_episodes=1", "eval_every=0",
               fmt::format("log_every={}", kSteps), fmt::format("checkpoint_every={}", kSteps),
               "run_dir=" + dir.string()}),
          false);
    // Loop time up to the last step, before the final evaluation and checkpoint.
    std::ifstream in(dir / "metrics.jsonl");
    std::string line, last;
    while (std::getline(in, line)) last = line;
    const double wall = nlohmann::json::parse(last).at("wall_s").get<double>();
    state.SetIterationTime(wall);
    g_ours[threads] = static_cast<double>(kSteps) / wall;
    std::filesystem::remove_all(dir);
  }
  state.counters["env_steps_per_s"] = g_ours[threads];
  set_compute_threads({.threads = 1, .torch_threads = 1});
}

BENCHMARK(BM_SacOnlinePendulum)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kSecond);

double python_rate(int threads) {
  const std::string cmd = fmt::format("/usr/bin/python3 {}/bench/reference/online_sac.py {} {} {}",
                                      STITCH_SOURCE_DIR, kSteps, kStarts, threads);
  return run_python_reference(cmd, "env_steps_per_s");
}

void print_comparison() {
  fmt::print("\nonline SAC on pendulum-v1, {} env steps ({} random first), same run\n", kSteps,
             kStarts);
  fmt::print("{:<8} {:>18} {:>18} {:>8}\n", "threads", "stitch steps/s", "python steps/s", "ratio");
  double best_ours = 0, best_py = 0;
  for (int threads : {1, 2}) {
    const double ours = g_ours[threads], py = python_rate(threads);
    best_ours = std::max(best_ours, ours);
    best_py = std::max(best_py, py);
    fmt::print("{:<8} {:>18.1f} {:>18.1f} {:>8.2f}\n", threads, ours, py, py > 0 ? ours / py : 0.0);
  }
  fmt::print("best of each: {:.2f}x\n", best_py > 0 ? best_ours / best_py : 0.0);
}

}  // namespace
}  // namespace stitch

int main(int argc, char** argv) {
  stitch::tune_allocator();
  return stitch::run_benchmarks(argc, argv, [] {
    if (!stitch::g_ours.empty()) stitch::print_comparison();
  });
}
