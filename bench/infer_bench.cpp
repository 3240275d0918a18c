// Batch-1 policy inference latency for the 17-256-256-6 policy: libtorch eager (the trained
// module's act()), a raw libtorch addmm chain, and the deployable path (src/deploy), in one run.
// Run: `stitch bench infer` or build/bench/stitch_bench_infer.
#include <benchmark/benchmark.h>

#include "algo/algorithm.h"
#include "bench_main.h"
#include "core/runtime.h"
#include "deploy/policy.h"

namespace stitch {
namespace {

std::unique_ptr<Algorithm> make_td3_bc() {
  const auto& entry = AlgoRegistry::global().entry("td3_bc");
  auto config = entry.make_config();
  torch::manual_seed(0);
  return entry.make(*config, {.obs_dim = 17, .act_dim = 6, .max_action = 1.0}, 0);
}

void BM_LibtorchEager(benchmark::State& state) {
  auto algo = make_td3_bc();
  const auto obs = torch::randn({1, 17});
  for (auto _ : state) benchmark::DoNotOptimize(algo->act(obs, true));
}

void BM_LibtorchAddmm(benchmark::State& state) {
  auto algo = make_td3_bc();
  const auto layers = algo->policy_layers();
  const auto obs = torch::randn({1, 17});
  torch::NoGradGuard no_grad;
  for (auto _ : state) {
    auto h = torch::relu(torch::addmm(layers[0].second, obs, layers[0].first.t()));
    h = torch::relu(torch::addmm(layers[1].second, h, layers[1].first.t()));
    benchmark::DoNotOptimize(torch::tanh(torch::addmm(layers[2].second, h, layers[2].first.t())));
  }
}

void BM_Deployed(benchmark::State& state) {
  auto algo = make_td3_bc();
  const DeployedPolicy policy = to_deployed_policy(*algo, 1.0f);
  std::vector<float> obs(17, 0.1f), action(6);
  for (auto _ : state) {
    policy.act(obs, action);
    benchmark::DoNotOptimize(action.data());
  }
}

BENCHMARK(BM_LibtorchEager)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LibtorchAddmm)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Deployed)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace stitch

int main(int argc, char** argv) { return stitch::run_benchmarks(argc, argv); }
