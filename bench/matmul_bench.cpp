// The fused path's products at its shapes (batch 256 and 1024, widths 23 and 256), one thread:
// fp32 (OpenBLAS sgemm), bf16 with both operands cast on the way in (nn::fused::gemm, as a
// one-off product), and bf16 on operands already cast (gemm_bf16: what a layer's backward
// products see, their operands cast once in the forward). The measurement behind choosing
// oneDNN for bf16 (src/nn/matmul.h). Run: `stitch bench matmul`.
#include <benchmark/benchmark.h>

#include <vector>

#include "bench_main.h"
#include "core/runtime.h"
#include "nn/matmul.h"

namespace stitch {
namespace {

using nn::fused::Precision;

// 0: fp32 sgemm; 1: bf16 with casts; 2: bf16 on pre-cast operands.
void BM_Matmul(benchmark::State& state) {
  const int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  const int mode = static_cast<int>(state.range(3));
  if (mode > 0 && !nn::fused::cpu_has_bf16_matmul()) {
    state.SkipWithError("no AMX or AVX-512 BF16 on this CPU");
    for (auto _ : state) {
    }
    return;
  }
  set_compute_threads({.threads = 1, .torch_threads = 1});
  std::vector<float> a(m * k, 0.5f), b(k * n, 0.25f), c(m * n);
  nn::fused::Bf16Block a16, b16;
  nn::fused::to_bf16(a.data(), m, k, k, a16);
  nn::fused::to_bf16(b.data(), k, n, n, b16);
  nn::fused::set_matmul_precision(mode == 0 ? Precision::kFp32 : Precision::kBf16);
  for (auto _ : state) {
    if (mode == 2) {
      nn::fused::gemm_bf16(false, false, m, n, k, a16, b16, 0.0f, c.data(), n);
    } else {
      nn::fused::gemm(false, false, m, n, k, a.data(), k, b.data(), n, 0.0f, c.data(), n);
    }
    benchmark::DoNotOptimize(c.data());
  }
  nn::fused::set_matmul_precision(Precision::kFp32);
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * m * n * k * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

BENCHMARK(BM_Matmul)
    ->ArgNames({"m", "n", "k", "mode"})
    ->ArgsProduct({{256}, {256}, {256}, {0, 1, 2}})
    ->ArgsProduct({{1024}, {256}, {256}, {0, 1, 2}})
    ->ArgsProduct({{256}, {256}, {23}, {0, 1, 2}})
    ->ArgsProduct({{256}, {23}, {256}, {0, 1, 2}})
    ->MinTime(0.3);

}  // namespace
}  // namespace stitch

int main(int argc, char** argv) {
  return stitch::run_benchmarks(argc, argv, [] {});
}
