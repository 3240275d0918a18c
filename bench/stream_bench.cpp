// Streaming RL throughput: stream AC(lambda) on hopper-v4, one transition at a time (env step +
// action + update, the whole training loop), and its parts: the env step alone, the action alone,
// the update alone. Beside it, the Python reference bench/reference/stream_ac.py (same math,
// Debian's python3-torch, the paper's way), run from this same binary. Debian's Python has no
// MuJoCo, so the reference times the agent alone (act + update), and the agent with the
// normalisers the loop runs around it; its rate is an upper bound on a Python training loop's
// (Gymnasium's own per-step Python work is not counted), so the ratios understate stitch's.
// Run: `stitch bench stream` or build/bench/stitch_bench_stream. items_per_second = steps/s.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "algo/registry.h"
#include "algo/streaming/agent.h"
#include "bench_main.h"
#include "core/config.h"
#include "core/timer.h"
#include "env/registry.h"

namespace stitch {
namespace {

std::map<std::string, double> g_rate;  // benchmark -> items/s

std::unique_ptr<StreamAgent> make_stream_ac(const AlgoDims& dims) {
  const auto& entry = AlgoRegistry::global().entry("stream-ac");
  auto config = entry.make_config();
  return entry.make_stream(*config, dims, 0);
}

// The training loop of algo/streaming/stream_trainer.cpp without its logging.
void BM_StreamAcHopperLoop(benchmark::State& state) {
  auto env = make_env("hopper-v4", {.clip_actions = true});
  StreamConfig config;
  StreamFeatures features(env->observation_space().flat_dim(), config, 1000);
  const AlgoDims dims{.obs_dim = features.feature_dim(),
                      .act_dim = env->action_space().flat_dim(),
                      .env = "hopper-v4"};
  auto agent = make_stream_ac(dims);
  std::vector<float> x, x_next, action(static_cast<size_t>(dims.act_dim));
  std::vector<float> raw = env->reset(0);
  features.observe(raw, 0, true, x);
  int64_t t = 0;
  uint64_t episode = 0;
  Stopwatch clock;
  for (auto _ : state) {
    agent->act(x, raw, false, action);
    StepResult r = env->step(action);
    ++t;
    const bool done = r.terminated || r.truncated;
    const double reward = features.scale_reward(r.reward, done);
    features.observe(r.obs, t, true, x_next);
    agent->update({.obs = x,
                   .action = action,
                   .next_obs = x_next,
                   .reward = reward,
                   .terminated = r.terminated,
                   .truncated = r.truncated});
    if (done) {
      raw = env->reset(++episode);
      t = 0;
      features.observe(raw, 0, true, x);
    } else {
      std::swap(x, x_next);
      raw = std::move(r.obs);
    }
  }
  g_rate["loop"] = static_cast<double>(state.iterations()) / clock.seconds();
  state.SetItemsProcessed(state.iterations());
}

void BM_HopperEnvStep(benchmark::State& state) {
  auto env = make_env("hopper-v4", {.clip_actions = true});
  Rng rng(0);
  std::vector<float> action(3);
  env->reset(0);
  uint64_t episode = 0;
  Stopwatch clock;
  for (auto _ : state) {
    for (float& a : action) a = static_cast<float>(rng.uniform(-1, 1));
    const StepResult r = env->step(action);
    if (r.terminated || r.truncated) env->reset(++episode);
  }
  g_rate["env"] = static_cast<double>(state.iterations()) / clock.seconds();
  state.SetItemsProcessed(state.iterations());
}

// The agent alone at Hopper's sizes on random features, as the Python reference.
void BM_StreamAcAgent(benchmark::State& state, bool update) {
  const AlgoDims dims{.obs_dim = 12, .act_dim = 3, .env = "hopper-v4"};
  auto agent = make_stream_ac(dims);
  Rng rng(1);
  std::vector<std::vector<float>> obs(64, std::vector<float>(12));
  for (auto& o : obs) {
    for (float& v : o) v = static_cast<float>(rng.normal());
  }
  std::vector<float> action(3);
  int64_t i = 0;
  Stopwatch clock;
  for (auto _ : state) {
    const auto& s = obs[i % 64];
    agent->act(s, s, false, action);
    if (update) {
      agent->update({.obs = s,
                     .action = action,
                     .next_obs = obs[(i + 1) % 64],
                     .reward = rng.normal(),
                     .terminated = false,
                     .truncated = i % 1000 == 999});
    }
    ++i;
  }
  g_rate[update ? "agent" : "act"] = static_cast<double>(state.iterations()) / clock.seconds();
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_StreamAcHopperLoop)->MinTime(3.0)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_HopperEnvStep)->MinTime(1.0)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_StreamAcAgent, act, false)->MinTime(1.0)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_StreamAcAgent, act_and_update, true)
    ->MinTime(2.0)
    ->Unit(benchmark::kMicrosecond);

// mode "agent": act + update alone; "": also the observation normaliser, time feature and reward
// scaling that the training loop runs around the agent (as the paper's code's wrappers).
double python_rate(const char* mode) {
  const std::string cmd =
      fmt::format("/usr/bin/python3 {}/bench/reference/stream_ac.py 3 {}", STITCH_SOURCE_DIR, mode);
  return run_python_reference(cmd, "steps_per_s");
}

void print_comparison() {
  const double py = python_rate("agent"), py_loop = python_rate("");
  const double loop = g_rate["loop"], agent = g_rate["agent"];
  fmt::print(
      "\nstream AC(lambda), Hopper sizes (12 features, 3 actions, 2x128), one thread, same run\n");
  fmt::print("{:<44} {:>12} {:>10}\n", "", "steps/s", "us/step");
  auto row = [](const char* what, double rate) {
    fmt::print("{:<44} {:>12.0f} {:>10.2f}\n", what, rate, rate > 0 ? 1e6 / rate : 0.0);
  };
  row("stitch: training loop on hopper-v4", loop);
  row("stitch: agent alone (act + update)", agent);
  row("python reference: agent alone (act + update)", py);
  row("python reference: agent + normalisers (no env)", py_loop);
  if (py > 0) {
    fmt::print(
        "ratio, agent alone: {:.1f}x; stitch's whole loop vs Python's agent alone: {:.1f}x\n",
        agent / py, loop / py);
  }
  if (g_rate.count("env") && g_rate.count("act") && loop > 0) {
    const double env_us = 1e6 / g_rate["env"], act_us = 1e6 / g_rate["act"];
    const double update_us = 1e6 / agent - act_us;
    const double rest_us = 1e6 / loop - env_us - act_us - update_us;
    if (py_loop > 0) {
      fmt::print(
          "whole loops, Python's estimated as its agent + normalisers time plus this env step "
          "time: {:.1f}x\n",
          (1e6 / py_loop + env_us) / (1e6 / loop));
    }
    fmt::print(
        "where a loop step goes: env {:.2f} us (random actions), act {:.2f} us, update {:.2f} us, "
        "rest "
        "{:.2f} us (normalisers, bookkeeping, cache misses after mj_step, and MuJoCo's cost on the "
        "agent's "
        "trajectories rather than random ones)\n",
        env_us, act_us, update_us, rest_us);
  }
}

}  // namespace
}  // namespace stitch

int main(int argc, char** argv) {
  return stitch::run_benchmarks(argc, argv, [] {
    if (stitch::g_rate.count("loop") && stitch::g_rate.count("agent")) stitch::print_comparison();
  });
}
