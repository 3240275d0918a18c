// Online SAC throughput: the whole loop on pendulum-v1 (act, env step, store, one gradient step
// per env step; SAC with two hidden layers of 256, batch 256), stitch's `stitch train --algo sac
// --online` against the Python reference bench/reference/online_sac.py (same math, Debian's
// python3-torch, Gymnasium's Pendulum dynamics in numpy), both with 1 and 2 BLAS threads, run
// from this binary. Pendulum keeps the env's share negligible, so this measures the agent side;
// on MuJoCo the env step adds the same cost to both.
// The second benchmark is offline-to-online fine-tuning at WSRL's settings (issue: UTD 4 and 10
// critics): `stitch finetune --algo wsrl` from a CQL checkpoint with 10 LayerNorm critics of
// 2x256, a warm-up of kWsrlStarts env steps with the policy, then 4 critic steps and one actor
// step per env step, against the same reference with `wsrl` (its WSRL update).
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
#include "data/io.h"
#include "data/sampler.h"

namespace stitch {
namespace {

constexpr int64_t kSteps = 2000, kStarts = 256;
constexpr int64_t kWsrlSteps = 800, kWsrlStarts = 256;
std::map<int, double> g_ours, g_wsrl;  // threads -> env steps/s

// Each benchmark: one whole run on 1 and on 2 threads, timed by the run's own clock.
void once_on_one_and_two_threads(benchmark::internal::Benchmark* b) {
  b->ArgName("threads")->Arg(1)->Arg(2)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
}

// Env steps/s of a finished run's loop, to its last step (before the final evaluation and
// checkpoint).
double loop_rate(const std::filesystem::path& dir, int64_t steps) {
  std::ifstream in(dir / "metrics.jsonl");
  std::string line, last;
  while (std::getline(in, line)) last = line;
  return static_cast<double>(steps) / nlohmann::json::parse(last).at("wall_s").get<double>();
}

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
    g_ours[threads] = loop_rate(dir, kSteps);
    state.SetIterationTime(static_cast<double>(kSteps) / g_ours[threads]);
    std::filesystem::remove_all(dir);
  }
  state.counters["env_steps_per_s"] = g_ours[threads];
  set_compute_threads({.threads = 1, .torch_threads = 1});
}

BENCHMARK(BM_SacOnlinePendulum)->Apply(once_on_one_and_two_threads);

void BM_WsrlFinetunePendulum(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  set_compute_threads({.threads = threads, .torch_threads = 1});
  spdlog::set_level(spdlog::level::warn);
  const auto dir =
      std::filesystem::temp_directory_path() / fmt::format("stitch_bench_wsrl_{}", getpid());
  std::filesystem::remove_all(dir);
  // The pre-trained checkpoint: its weights do not change the cost of an update.
  const auto pre = dir / "pre";
  {
    const auto data = dir / "pendulum.hdf5";
    TrainConfig c;
    train(resolve_train_config(
              c, "",
              {"algo=sac", "online=true", "env=pendulum-v1", "steps=300", "learning_starts=300",
               "eval_every=0", "eval_episodes=1", "run_dir=" + (dir / "collect").string()}),
          false);
    const auto replay = dir / "collect" / "checkpoints" / "replay-300.h5";
    ReplayBuffer buffer(1000000, 3, 1);
    buffer.load(replay.string());
    save_dataset(buffer.to_dataset(), data.string(), {.force = true});
    TrainConfig offline;
    train(resolve_train_config(
              offline, "",
              {"algo=cql", "dataset=" + data.string(), "env=pendulum-v1", "steps=10",
               "eval_every=0", "eval_episodes=1", "cql.layers=2", "cql.critics=10",
               "cql.layer_norm=true", "cql.target_subsample=2", "run_dir=" + pre.string()}),
          false);
  }
  for (auto _ : state) {
    const auto run = dir / "run";
    std::filesystem::remove_all(run);
    train(finetune_config(
              (pre / "checkpoints" / "latest.pt").string(), "wsrl", "",
              {"algo=wsrl", "env=pendulum-v1", fmt::format("steps={}", kWsrlSteps),
               fmt::format("learning_starts={}", kWsrlStarts), "eval_episodes=1", "eval_every=0",
               fmt::format("log_every={}", kWsrlSteps),
               fmt::format("checkpoint_every={}", kWsrlSteps), "run_dir=" + run.string()}),
          false);
    g_wsrl[threads] = loop_rate(run, kWsrlSteps);
    state.SetIterationTime(static_cast<double>(kWsrlSteps) / g_wsrl[threads]);
  }
  std::filesystem::remove_all(dir);
  state.counters["env_steps_per_s"] = g_wsrl[threads];
  set_compute_threads({.threads = 1, .torch_threads = 1});
}

BENCHMARK(BM_WsrlFinetunePendulum)->Apply(once_on_one_and_two_threads);

double python_rate(int64_t steps, int64_t starts, int threads, const char* variant) {
  const std::string cmd =
      fmt::format("/usr/bin/python3 {}/bench/reference/online_sac.py {} {} {} {}",
                  STITCH_SOURCE_DIR, steps, starts, threads, variant);
  return run_python_reference(cmd, "env_steps_per_s");
}

void print_table(const std::string& title, const std::map<int, double>& ours, int64_t steps,
                 int64_t starts, const char* variant) {
  if (ours.empty()) return;
  fmt::print("\n{}\n", title);
  fmt::print("{:<8} {:>18} {:>18} {:>8}\n", "threads", "stitch steps/s", "python steps/s", "ratio");
  double best_ours = 0, best_py = 0;
  for (const auto& [threads, rate] : ours) {
    const double py = python_rate(steps, starts, threads, variant);
    best_ours = std::max(best_ours, rate);
    best_py = std::max(best_py, py);
    fmt::print("{:<8} {:>18.1f} {:>18.1f} {:>8.2f}\n", threads, rate, py, py > 0 ? rate / py : 0.0);
  }
  fmt::print("best of each: {:.2f}x\n", best_py > 0 ? best_ours / best_py : 0.0);
}

void print_comparison() {
  print_table(fmt::format("online SAC on pendulum-v1, {} env steps ({} random first), same run",
                          kSteps, kStarts),
              g_ours, kSteps, kStarts, "");
  print_table(fmt::format("fine-tuning with WSRL on pendulum-v1 (10 LayerNorm critics of 2x256, "
                          "UTD 4), {} env steps ({} warm-up first), same run",
                          kWsrlSteps, kWsrlStarts),
              g_wsrl, kWsrlSteps, kWsrlStarts, "wsrl");
}

}  // namespace
}  // namespace stitch

int main(int argc, char** argv) {
  stitch::tune_allocator();
  return stitch::run_benchmarks(argc, argv, [] {
    if (!stitch::g_ours.empty() || !stitch::g_wsrl.empty()) stitch::print_comparison();
  });
}
