// The main() every stitch benchmark binary shares: the thread policy (1 BLAS thread, 1 torch
// thread unless a benchmark sets its own), then Google Benchmark. `after` runs once at the end.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "core/runtime.h"

namespace stitch {

// Runs a Python reference (a shell command printing one JSON object) and returns that object, or
// an empty one when it fails (no python3-torch, say).
inline nlohmann::json run_python_reference_json(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return nlohmann::json::object();
  char buffer[4096];
  std::string out;
  while (fgets(buffer, sizeof(buffer), pipe) != nullptr) out += buffer;
  pclose(pipe);
  auto j = nlohmann::json::parse(out, nullptr, false);
  return j.is_object() ? j : nlohmann::json::object();
}

// Its number `key`, or 0 when it fails: the comparison then shows 0.
inline double run_python_reference(const std::string& command, const std::string& key) {
  return run_python_reference_json(command).value(key, 0.0);
}

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
