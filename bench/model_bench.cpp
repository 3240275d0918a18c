// The dynamics ensemble at hopper's sizes (obs 11, act 3; 7 members of 4x200 SiLU, 5 elites):
// training samples/s (one Adam step of every member on its own 256 rows) and MOPO's model-rollout
// transitions/s (10,000 rows: an elite's Gaussian sample, the max-std-norm penalty, hopper's
// termination rule; the policy's actions are given, as its forward is the same libtorch call in
// both), with BLAS threads 1 and 2, beside the Python reference bench/reference/dynamics.py
// (OfflineRL-Kit's way, Debian's python3-torch), run from this same binary.
// Run: `stitch bench model` or build/bench/stitch_bench_model.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <numeric>
#include <vector>

#include "bench_main.h"
#include "core/rng.h"
#include "core/runtime.h"
#include "core/timer.h"
#include "data/sampler.h"
#include "env/registry.h"
#include "model/dynamics.h"
#include "model/rollout.h"

namespace stitch {
namespace {

constexpr int64_t kObs = 11, kAct = 3, kBatch = 256, kRows = 10000;
constexpr int kMembers = 7, kRepetitions = 3;

std::map<std::string, std::vector<double>> g_rates;  // "train/1" -> items/s per repetition

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::vector<float> normal(int64_t n, Rng& rng, float scale = 1.0f) {
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = scale * static_cast<float>(rng.normal());
  return v;
}

void BM_Train(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  set_compute_threads({.threads = threads, .torch_threads = 1});
  DynamicsEnsemble model(kObs, kAct, {.members = kMembers}, 0);
  Rng rng(1);
  std::vector<std::vector<float>> x, y;
  std::vector<const float*> xp, yp;
  for (int k = 0; k < kMembers; ++k) {
    x.push_back(normal(kBatch * (kObs + kAct), rng));
    y.push_back(normal(kBatch * (kObs + 1), rng));
  }
  for (int k = 0; k < kMembers; ++k) xp.push_back(x[k].data()), yp.push_back(y[k].data());
  for (int i = 0; i < 5; ++i) model.train_step(xp, yp, kBatch);
  Stopwatch clock;
  for (auto _ : state) benchmark::DoNotOptimize(model.train_step(xp, yp, kBatch));
  const double items = static_cast<double>(state.iterations()) * kMembers * kBatch;
  state.SetItemsProcessed(static_cast<int64_t>(items));
  g_rates[fmt::format("train/{}", threads)].push_back(items / clock.seconds());
}

void BM_Rollout(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  set_compute_threads({.threads = threads, .torch_threads = 1});
  DynamicsEnsemble model(kObs, kAct, {.members = kMembers}, 0);
  const std::vector<int> elites = {0, 1, 2, 3, 4};
  Rng rng(2);
  std::vector<float> starts = normal(kRows * kObs, rng, 0.1f);
  for (int64_t i = 0; i < kRows; ++i) starts[static_cast<size_t>(i * kObs)] += 1.25f;  // height
  const std::vector<float> actions = normal(kRows * kAct, rng, 0.5f);
  const RolloutPolicy policy = [&](const float*, int64_t rows, float* out) {
    std::copy_n(actions.data(), rows * kAct, out);
  };
  const TerminalRule terminal = EnvRegistry::global().spec("hopper-v4").terminal;
  ReplayBuffer buffer(kRows * 4, kObs, kAct);
  model_rollout(model, elites, starts.data(), kRows, 1, policy, terminal, rng, buffer, 1.0);
  Stopwatch clock;
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        model_rollout(model, elites, starts.data(), kRows, 1, policy, terminal, rng, buffer, 1.0));
  }
  const double items = static_cast<double>(state.iterations()) * kRows;
  state.SetItemsProcessed(static_cast<int64_t>(items));
  g_rates[fmt::format("rollout/{}", threads)].push_back(items / clock.seconds());
}

BENCHMARK(BM_Train)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->MinTime(2.0)
    ->Unit(benchmark::kMillisecond)
    ->Repetitions(kRepetitions)
    ->ReportAggregatesOnly(true);
BENCHMARK(BM_Rollout)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->MinTime(2.0)
    ->Unit(benchmark::kMillisecond)
    ->Repetitions(kRepetitions)
    ->ReportAggregatesOnly(true);

double python_rate(const std::string& what, int threads) {
  std::vector<double> rates;
  for (int i = 0; i < kRepetitions; ++i) {
    rates.push_back(
        run_python_reference(fmt::format("/usr/bin/python3 {}/bench/reference/dynamics.py {} {} 2",
                                         STITCH_SOURCE_DIR, what, threads),
                             "per_s"));
  }
  return median(rates);
}

void print_comparison() {
  fmt::print(
      "\nstitch vs the Python reference (OfflineRL-Kit's way; best thread setting of each, median "
      "of {} repetitions; same run)\n",
      kRepetitions);
  fmt::print("{:<8} {:>16} {:>16} {:>8}\n", "", "stitch /s", "python /s", "ratio");
  for (const char* what : {"train", "rollout"}) {
    if (!g_rates.count(fmt::format("{}/1", what))) continue;  // filtered out
    const double ours = std::max(median(g_rates[fmt::format("{}/1", what)]),
                                 median(g_rates[fmt::format("{}/2", what)]));
    const double py = std::max(python_rate(what, 1), python_rate(what, 2));
    fmt::print("{:<8} {:>16.0f} {:>16.0f} {:>8.2f}\n", what, ours, py, py > 0 ? ours / py : 0.0);
  }
  fmt::print("train: samples/s (members x rows per Adam step); rollout: model transitions/s\n");
}

}  // namespace
}  // namespace stitch

int main(int argc, char** argv) {
  return stitch::run_benchmarks(argc, argv, [] {
    // STITCH_BENCH_NO_PYTHON=1: stitch's rows only (e.g. under a profiler).
    if (!stitch::g_rates.empty() && std::getenv("STITCH_BENCH_NO_PYTHON") == nullptr)
      stitch::print_comparison();
  });
}
