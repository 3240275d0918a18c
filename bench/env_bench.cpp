// Env stepping throughput: each env alone, VectorEnv with 1 and 2 threads, and for the MuJoCo
// tasks a raw mj_step loop on the same model with the same frame skip (the physics bound).
// Run: `stitch bench env` or build/bench/stitch_bench_env. items_per_second = env steps/s.
#include <benchmark/benchmark.h>
#include <mujoco/mujoco.h>

#include "bench_main.h"
#include "core/runtime.h"
#include "env/registry.h"
#include "env/vector_env.h"
#include "envs/mujoco/mujoco_env.h"

namespace stitch {
namespace {

const char* const kEnvs[] = {"pendulum-v1", "cartpole-v1", "mountaincarcontinuous-v0",
                             "acrobot-v1"};

struct MujocoTask {
  const char* id;
  const char* asset;
  int frame_skip;
  double reset_noise;
  bool normal_qvel;
  // The env's end-of-episode rule on qpos, so that the raw loop resets as often as the env.
  bool (*ended)(const double* qpos);
};
const MujocoTask kMujoco[] = {
    {"hopper-v4", "hopper.xml", 4, 5e-3, false,
     [](const double* q) { return !(q[1] > 0.7 && q[2] > -0.2 && q[2] < 0.2); }},
    {"walker2d-v4", "walker2d.xml", 4, 5e-3, false,
     [](const double* q) { return !(q[1] > 0.8 && q[1] < 2.0 && q[2] > -1.0 && q[2] < 1.0); }},
    {"halfcheetah-v4", "half_cheetah.xml", 5, 0.1, true, [](const double*) { return false; }},
    {"ant-v4", "ant.xml", 5, 0.1, true,
     [](const double* q) { return !(q[2] >= 0.2 && q[2] <= 1.0); }},
};

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

// The physics alone, on the same trajectory as BM_EnvStep: the same actions, the same reset
// noise from the same seed stream, resets where the env ends its episodes (its rule on qpos,
// or 1000 steps). ctrl <- action, then frame_skip x mj_step.
void BM_RawMjStep(benchmark::State& state, const MujocoTask* task) {
  const auto model = load_mujoco_model(task->asset);
  const mjModel* m = model.get();
  mjData* d = mj_makeData(m);
  constexpr int64_t kActions = 4096;
  const Space space = Space::box(m->nu, -1.0f, 1.0f);
  const auto actions = pregenerated_actions(space, kActions);
  Rng rng(0);  // as Env::reset(0), then continued by later resets
  auto reset = [&] {
    mj_resetData(m, d);
    for (int i = 0; i < m->nq; ++i)
      d->qpos[i] = m->qpos0[i] + rng.uniform(-task->reset_noise, task->reset_noise);
    for (int i = 0; i < m->nv; ++i) {
      d->qvel[i] = task->normal_qvel ? task->reset_noise * rng.normal()
                                     : rng.uniform(-task->reset_noise, task->reset_noise);
    }
    mj_forward(m, d);
  };
  reset();
  int64_t t = 0, episode_step = 0;
  for (auto _ : state) {
    const float* a = actions.data() + (t % kActions) * m->nu;
    for (int i = 0; i < m->nu; ++i) d->ctrl[i] = a[i];
    for (int k = 0; k < task->frame_skip; ++k) mj_step(m, d);
    if (task->ended(d->qpos) || ++episode_step == 1000) {
      reset();
      episode_step = 0;
    }
    ++t;
  }
  benchmark::DoNotOptimize(d->qpos[0]);
  mj_deleteData(d);
  state.SetItemsProcessed(state.iterations());
}

int register_all() {
  for (const MujocoTask& task : kMujoco) {
    benchmark::RegisterBenchmark((std::string("EnvStep/") + task.id).c_str(), BM_EnvStep, task.id);
    benchmark::RegisterBenchmark((std::string("RawMjStep/") + task.id).c_str(), BM_RawMjStep,
                                 &task);
    benchmark::RegisterBenchmark((std::string("VectorEnvStep/") + task.id).c_str(),
                                 BM_VectorEnvStep, task.id)
        ->ArgNames({"envs", "threads"})
        ->Args({16, 1})
        ->Args({16, 2})
        ->UseRealTime();
  }
  for (const char* id : kEnvs) {
    benchmark::RegisterBenchmark((std::string("EnvStep/") + id).c_str(), BM_EnvStep, id);
    benchmark::RegisterBenchmark((std::string("VectorEnvStep/") + id).c_str(), BM_VectorEnvStep, id)
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
  stitch::register_all();
  return stitch::run_benchmarks(argc, argv);
}
