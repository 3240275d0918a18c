// Offline-RL update throughput at the D4RL locomotion sizes (obs 17, act 6, batch 256, two hidden
// layers of 256; CQL with 2 layers too) for IQL, TD3+BC and CQL, and for the ensemble and
// regularised methods at CORL's sizes (SAC-N and EDAC with N = 10 critics of 3x256; ReBRAC with
// 3x256 LayerNorm critics at batch 1024), with BLAS threads 1 and 2,
// beside the Python reference bench/reference/offline_update.py (same math, Debian's
// python3-torch), run from this same binary. Also prints the achieved GFLOP/s (matmul FLOPs of
// one update, counted below) against the best measured sgemm GFLOP/s of this machine: one
// thread, one call on two threads, or two one-thread calls at once.
// Run: `stitch bench train` or build/bench/stitch_bench_train. items_per_second = updates/s.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "algo/algorithm.h"
#include "bench_main.h"
#include "core/runtime.h"
#include "core/timer.h"
#include "nn/matmul.h"

namespace stitch {
namespace {

constexpr int64_t kObs = 17, kAct = 6, kHidden = 256, kBatch = 256;
constexpr int64_t kEnsemble = 10;       // SAC-N and EDAC: CORL's script default N
constexpr int64_t kRebracBatch = 1024;  // ReBRAC's batch (CORL)

int64_t batch_of(const std::string& algo) { return algo == "rebrac" ? kRebracBatch : kBatch; }

// Matmul FLOPs of one forward pass of an MLP in -> 256 x layers -> out on the batch.
double mlp_flops(int64_t in, int64_t out, int64_t rows = kBatch, int layers = 2) {
  return 2.0 * rows * (in * kHidden + (layers - 1) * kHidden * kHidden + kHidden * out);
}

// Matmul FLOPs of one update; a trained pass counts 3x its forward (forward, grad input, grad
// weight), a no-grad pass 1x, a pass that only carries a gradient through (a critic in the
// actor's loss, its weights frozen) 2x.
double update_flops(const std::string& algo) {
  const double q = mlp_flops(kObs + kAct, 1), actor = mlp_flops(kObs, kAct), v = mlp_flops(kObs, 1);
  if (algo == "iql") {
    // target Qs (2, no grad) + V (trained) + V(s') (no grad) + Qs (2, trained) + actor (trained)
    return 2 * q + 3 * v + v + 3 * 2 * q + 3 * actor;
  }
  if (algo == "td3_bc") {
    // target actor + target Qs (no grad) + Qs (trained); every 2nd step actor (trained) + Q1
    // through pi (gradient to the action only)
    return actor + 2 * q + 3 * 2 * q + 0.5 * (3 * actor + 2 * q);
  }
  if (algo == "sac_n" || algo == "edac") {
    // 3 hidden layers; the actor's heads (mean and log-std) as one 2A-wide output layer. As
    // CORL orders it: a no-grad sample for the temperature, the actor's sample (trained) through
    // the N critics (gradient to the action only), a no-grad sample at s', the N target critics,
    // the N critics (trained). EDAC adds per member dQ/da on the data (2x) and that gradient's
    // derivative with respect to the weights (3x).
    const double q3 = mlp_flops(kObs + kAct, 1, kBatch, 3),
                 a3 = mlp_flops(kObs, 2 * kAct, kBatch, 3);
    const double n = static_cast<double>(kEnsemble);
    const double sac_n = a3 + 3 * a3 + 2 * n * q3 + a3 + n * q3 + 3 * n * q3;
    return algo == "edac" ? sac_n + 5 * n * q3 : sac_n;
  }
  if (algo == "rebrac") {
    // As TD3+BC with 3 hidden layers at batch 1024, the actor's Q term through both critics
    // (LayerNorm's elementwise work not counted).
    const double q3 = mlp_flops(kObs + kAct, 1, kRebracBatch, 3),
                 a3 = mlp_flops(kObs, kAct, kRebracBatch, 3);
    return a3 + 2 * q3 + 3 * 2 * q3 + 0.5 * (3 * a3 + 2 * 2 * q3);
  }
  // CQL: actor at s (trained, through both Qs, gradient to the action only), actor at s' (no
  // grad), target Qs, Qs on data (trained), and 3 x N = 30 sampled actions per state through
  // both Qs (trained) plus the policy samples for them (2 x N x B rows, no grad).
  const int64_t n = 10;
  return 3 * actor + 2 * 2 * q + actor + 2 * q + 3 * 2 * q +
         3 * (3 * 2 * mlp_flops(kObs + kAct, 1, n * kBatch)) +
         2 * mlp_flops(kObs, kAct, n * kBatch);
}

// Each measurement is repeated (3 times) and the median kept: on these shared machines a single
// window of a few seconds can land on a burst of load on either side.
double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::map<std::string, std::vector<double>>
    g_updates_per_s;  // "algo/threads" -> updates/s of each repetition

void BM_Update(benchmark::State& state, const char* algo, nn::fused::Precision precision) {
  const int threads = static_cast<int>(state.range(0));
  const bool bf16 = precision == nn::fused::Precision::kBf16;
  if (bf16 && !nn::fused::cpu_has_bf16_matmul()) {
    state.SkipWithError("no AMX or AVX-512 BF16 on this CPU: bf16 unmeasured");
    for (auto _ : state) {
    }
    return;
  }
  set_compute_threads({.threads = threads, .torch_threads = 1});
  nn::fused::set_matmul_precision(precision);
  const auto& entry = AlgoRegistry::global().entry(algo);
  auto config = entry.make_config();
  ConfigFields f;
  config->describe(f);
  if (std::string(algo) == "cql") f.apply_override("layers=2");
  if (std::string(algo) == "sac_n" || std::string(algo) == "edac")
    f.apply_override(fmt::format("critics={}", kEnsemble));
  torch::manual_seed(0);
  auto algorithm = entry.make(
      *config, {.obs_dim = kObs, .act_dim = kAct, .max_action = 1.0, .total_steps = 1000000}, 0);
  const int64_t rows = batch_of(algo);
  TensorBatch b;
  b.observations = torch::randn({rows, kObs});
  b.actions = torch::rand({rows, kAct}) * 2 - 1;
  b.rewards = torch::randn({rows});
  b.next_observations = torch::randn({rows, kObs});
  b.terminals = torch::zeros({rows});
  b.discounts = torch::full({rows}, 0.99);
  b.next_actions = torch::rand({rows, kAct}) * 2 - 1;  // ReBRAC's; the others ignore them
  b.next_action_valid = torch::ones({rows});
  for (int i = 0; i < 10; ++i) algorithm->update(b);
  Stopwatch clock;
  for (auto _ : state) benchmark::DoNotOptimize(algorithm->update(b));
  const double rate = static_cast<double>(state.iterations()) / clock.seconds();
  g_updates_per_s[fmt::format("{}{}/{}", algo, bf16 ? "/bf16" : "", threads)].push_back(rate);
  nn::fused::set_matmul_precision(nn::fused::Precision::kFp32);
  state.SetItemsProcessed(state.iterations());
  state.counters["GFLOP/s"] = benchmark::Counter(update_flops(algo) * state.iterations() / 1e9,
                                                 benchmark::Counter::kIsRate);
  set_compute_threads({.threads = 1, .torch_threads = 1});
}

std::map<int, std::vector<double>> g_sgemm;  // threads -> GFLOP/s of each repetition

void BM_Sgemm256(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  set_compute_threads({.threads = threads, .torch_threads = 1});
  const auto a = torch::randn({256, 256}), b = torch::randn({256, 256});
  auto c = torch::empty({256, 256});
  Stopwatch clock;
  for (auto _ : state) at::mm_out(c, a, b);
  g_sgemm[threads].push_back(2.0 * 256 * 256 * 256 * static_cast<double>(state.iterations()) /
                             clock.seconds() / 1e9);
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * 256 * 256 * 256 * state.iterations() / 1e9,
                                                 benchmark::Counter::kIsRate);
  set_compute_threads({.threads = 1, .torch_threads = 1});
}

// Two single-threaded sgemms at once, one per core: the fused path's way of using two threads
// (independent tasks), and a higher bar than one OpenBLAS call on two threads, which pays a
// fork and a join per call.
std::vector<double> g_sgemm_pair;

void BM_Sgemm256Pair(benchmark::State& state) {
  set_compute_threads({.threads = 1, .torch_threads = 1});
  std::atomic<bool> stop = false;
  std::atomic<int64_t> other = 0;
  std::thread partner([&] {
    const auto a = torch::randn({256, 256}), b = torch::randn({256, 256});
    auto c = torch::empty({256, 256});
    while (!stop.load(std::memory_order_relaxed)) {
      at::mm_out(c, a, b);
      other.fetch_add(1, std::memory_order_relaxed);
    }
  });
  const auto a = torch::randn({256, 256}), b = torch::randn({256, 256});
  auto c = torch::empty({256, 256});
  const int64_t other_before = other.load();
  Stopwatch clock;
  for (auto _ : state) at::mm_out(c, a, b);
  const double secs = clock.seconds();
  const auto calls = static_cast<double>(state.iterations() + other.load() - other_before);
  stop = true;
  partner.join();
  g_sgemm_pair.push_back(2.0 * 256 * 256 * 256 * calls / secs / 1e9);
  state.counters["GFLOP/s"] = g_sgemm_pair.back();
}

// The bf16 bar: nn::fused::gemm in bf16 at 256x256x256 (operands cast on the way in, as the
// fused path does), one thread, and two one-thread calls at once.
std::vector<double> g_bf16_bar, g_bf16_bar_pair;

void BM_GemmBf16(benchmark::State& state) {
  if (!nn::fused::cpu_has_bf16_matmul()) {
    state.SkipWithError("no AMX or AVX-512 BF16 on this CPU");
    for (auto _ : state) {
    }
    return;
  }
  const bool pair = state.range(0) == 2;
  set_compute_threads({.threads = 1, .torch_threads = 1});
  nn::fused::set_matmul_precision(nn::fused::Precision::kBf16);
  std::atomic<bool> stop = false;
  std::atomic<int64_t> other = 0;
  auto work = [](std::vector<float>& a, std::vector<float>& b, std::vector<float>& c) {
    nn::fused::gemm(false, false, 256, 256, 256, a.data(), 256, b.data(), 256, 0.0f, c.data(), 256);
  };
  std::thread partner;
  if (pair) {
    partner = std::thread([&] {
      std::vector<float> a(256 * 256, 0.5f), b(256 * 256, 0.25f), c(256 * 256);
      while (!stop.load(std::memory_order_relaxed)) {
        work(a, b, c);
        other.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  std::vector<float> a(256 * 256, 0.5f), b(256 * 256, 0.25f), c(256 * 256);
  work(a, b, c);
  const int64_t other_before = other.load();
  Stopwatch clock;
  for (auto _ : state) work(a, b, c);
  const double secs = clock.seconds();
  const auto calls = static_cast<double>(state.iterations() + other.load() - other_before);
  stop = true;
  if (partner.joinable()) partner.join();
  nn::fused::set_matmul_precision(nn::fused::Precision::kFp32);
  (pair ? g_bf16_bar_pair : g_bf16_bar).push_back(2.0 * 256 * 256 * 256 * calls / secs / 1e9);
  state.counters["GFLOP/s"] = (pair ? g_bf16_bar_pair : g_bf16_bar).back();
}

constexpr int kRepetitions = 3;
BENCHMARK(BM_GemmBf16)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->MinTime(0.5)
    ->UseRealTime()
    ->Repetitions(kRepetitions)
    ->ReportAggregatesOnly(true);
BENCHMARK(BM_Sgemm256)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->MinTime(0.5)
    ->Repetitions(kRepetitions)
    ->ReportAggregatesOnly(true);
BENCHMARK(BM_Sgemm256Pair)
    ->MinTime(0.5)
    ->UseRealTime()
    ->Repetitions(kRepetitions)
    ->ReportAggregatesOnly(true);
// BM_Update/<algo>[_bf16]/threads:{1,2} for each algorithm, bf16 where it has the fused path's
// products worth measuring (CQL's samplers are measured in fp32 only).
const bool g_updates_registered = [] {
  struct Entry {
    const char* algo;
    bool bf16;
  };
  for (const Entry& e : {Entry{"iql", true}, Entry{"td3_bc", true}, Entry{"cql", false},
                         Entry{"sac_n", true}, Entry{"edac", true}, Entry{"rebrac", true}}) {
    for (const bool bf16 : {false, true}) {
      if (bf16 && !e.bf16) continue;
      benchmark::RegisterBenchmark(
          fmt::format("BM_Update/{}{}", e.algo, bf16 ? "_bf16" : "").c_str(), BM_Update, e.algo,
          bf16 ? nn::fused::Precision::kBf16 : nn::fused::Precision::kFp32)
          ->ArgName("threads")
          ->Arg(1)
          ->Arg(2)
          ->MinTime(2.0)
          ->Unit(benchmark::kMillisecond)
          ->Repetitions(kRepetitions)
          ->ReportAggregatesOnly(true);
    }
  }
  return true;
}();

double python_rate(const std::string& algo, int threads) {
  const std::string cmd =
      fmt::format("/usr/bin/python3 {}/bench/reference/offline_update.py {} {} 2",
                  STITCH_SOURCE_DIR, algo, threads);
  std::vector<double> rates;
  for (int i = 0; i < kRepetitions; ++i)
    rates.push_back(run_python_reference(cmd, "updates_per_s"));
  return median(rates);
}

void print_comparison() {
  const double sgemm1 = median(g_sgemm[1]), sgemm2 = median(g_sgemm[2]),
               pair = median(g_sgemm_pair);
  const double sgemm = std::max({sgemm1, sgemm2, pair});
  fmt::print(
      "\nstitch vs the Python reference (best thread setting of each, median of {} repetitions; "
      "same run)\n",
      kRepetitions);
  fmt::print("{:<8} {:>14} {:>14} {:>8} {:>12} {:>16}\n", "algo", "stitch upd/s", "python upd/s",
             "ratio", "GFLOP/s", "% of best sgemm");
  // Updates/s of `key` ("algo" or "algo/bf16") at its better thread setting.
  auto best = [](const std::string& key) {
    return std::max(median(g_updates_per_s[key + "/1"]), median(g_updates_per_s[key + "/2"]));
  };
  for (const char* algo : {"iql", "td3_bc", "cql", "sac_n", "edac", "rebrac"}) {
    if (!g_updates_per_s.count(fmt::format("{}/1", algo))) continue;  // filtered out
    const double ours = best(algo);
    const double py = std::max(python_rate(algo, 1), python_rate(algo, 2));
    const double gflops = ours * update_flops(algo) / 1e9;
    fmt::print("{:<8} {:>14.1f} {:>14.1f} {:>8.2f} {:>12.1f} {:>15.0f}%\n", algo, ours, py,
               py > 0 ? ours / py : 0.0, gflops, 100.0 * gflops / sgemm);
  }
  fmt::print(
      "sgemm 256x256x256: {:.1f} GFLOP/s (1 thread), {:.1f} (one call on 2 threads), {:.1f} (two "
      "1-thread calls at once)\n",
      sgemm1, sgemm2, pair);

  if (g_bf16_bar.empty()) return;
  const double bar = std::max(median(g_bf16_bar), median(g_bf16_bar_pair));
  fmt::print("\nbf16 matmuls (nn/matmul.h, oneDNN ISA {}) against fp32, same run\n",
             nn::fused::matmul_isa());
  fmt::print("{:<8} {:>12} {:>12} {:>8} {:>12} {:>16}\n", "algo", "fp32 upd/s", "bf16 upd/s",
             "speedup", "bf16 GFLOP/s", "% of bf16 bar");
  for (const char* algo : {"iql", "td3_bc", "sac_n", "edac", "rebrac"}) {
    const std::string key = fmt::format("{}/bf16", algo);
    if (!g_updates_per_s.count(key + "/1")) continue;
    const double fp32 = best(algo), bf16 = best(key);
    const double gflops = bf16 * update_flops(algo) / 1e9;
    fmt::print("{:<8} {:>12.1f} {:>12.1f} {:>8.2f} {:>12.1f} {:>15.0f}%\n", algo, fp32, bf16,
               fp32 > 0 ? bf16 / fp32 : 0.0, gflops, 100.0 * gflops / bar);
  }
  fmt::print(
      "bf16 256x256x256 (operands cast in): {:.1f} GFLOP/s (1 thread), {:.1f} (two 1-thread "
      "calls at once)\n",
      median(g_bf16_bar), median(g_bf16_bar_pair));
}

}  // namespace
}  // namespace stitch

int main(int argc, char** argv) {
  return stitch::run_benchmarks(argc, argv, [] {
    if (!stitch::g_updates_per_s.empty() && !stitch::g_sgemm.empty()) stitch::print_comparison();
  });
}
