// The main() every stitch benchmark binary shares: the thread policy (1 BLAS thread, 1 torch
// thread unless a benchmark sets its own), then Google Benchmark. `after` runs once at the end.
#pragma once

#include <functional>

#include <benchmark/benchmark.h>

#include "core/runtime.h"

namespace stitch {

inline int run_benchmarks(int argc, char** argv, const std::function<void()>& after = {}) {
  set_compute_threads({.threads = 1, .torch_threads = 1});
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (after) after();
  return 0;
}

}  // namespace stitch
