// Env stepping throughput: each classic env alone, and VectorEnv with 1 and 2 threads.
// Run: `stitch bench env` or build/bench/stitch_bench_env. items_per_second = env steps/s.
#include <benchmark/benchmark.h>

#include "core/runtime.h"
#include "env/registry.h"
#include "env/vector_env.h"

namespace stitch {
namespace {

const char* const kEnvs[] = {"pendulum-v1", "cartpole-v1", "mountaincarcontinuous-v0",
                             "acrobot-v1"};

// Random actions drawn before timing, cycled through.
std::vector<float> pregenerated_actions(const Space& space, int64_t count) {
  Rng rng(0);
  std::vector<float> actions(count * space.flat_dim());
  for (int64_t i = 0; i < count; ++i) {
    space.sample(rng, std::span(actions).subspan(i * space.flat_dim(), space.flat_dim()));
  }
  return actions;
}

void BM_EnvStep(benchmark::State& state, const char* id) {
  auto env = make_env(id);
  const int64_t dim = env->action_space().flat_dim();
  constexpr int64_t kActions = 4096;
  const auto actions = pregenerated_actions(env->action_space(), kActions);
  env->reset(0);
  int64_t t = 0;
  for (auto _ : state) {
    StepResult r = env->step(std::span(actions).subspan((t % kActions) * dim, dim));
    if (r.terminated || r.truncated) env->reset();
    benchmark::DoNotOptimize(r.reward);
    ++t;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_VectorEnvStep(benchmark::State& state, const char* id) {
  const int num_envs = static_cast<int>(state.range(0));
  const int threads = static_cast<int>(state.range(1));
  VectorEnv venv = VectorEnv::make(id, num_envs, threads);
  const int64_t row = num_envs * venv.act_dim();
  constexpr int64_t kBatches = 256;
  const auto actions = pregenerated_actions(venv.env(0).action_space(), kBatches * num_envs);
  venv.reset(0);
  int64_t t = 0;
  for (auto _ : state) {
    venv.step(std::span(actions).subspan((t % kBatches) * row, row));
    benchmark::DoNotOptimize(venv.observations().data());
    ++t;
  }
  state.SetItemsProcessed(state.iterations() * num_envs);
}

int register_all() {
  for (const char* id : kEnvs) {
    benchmark::RegisterBenchmark((std::string("EnvStep/") + id).c_str(), BM_EnvStep, id);
    benchmark::RegisterBenchmark((std::string("VectorEnvStep/") + id).c_str(), BM_VectorEnvStep,
                                 id)
        ->ArgNames({"envs", "threads"})
        ->Args({16, 1})
        ->Args({16, 2})
        ->Args({256, 1})
        ->Args({256, 2})
        ->UseRealTime();
  }
  return 0;
}

}  // namespace
}  // namespace stitch

int main(int argc, char** argv) {
  stitch::set_compute_threads({.threads = 1, .torch_threads = 1});
  stitch::register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
