// Token policies (src/lm): sampling with and without the key/value cache, and a GRPO step of
// `stitch lm rl` against the Python reference bench/reference/lm_grpo_step.py (python3-torch,
// the loss as TRL's GRPOTrainer computes it), one thread each, same run.
//   BM_Sample:   128 sequences (16 prompts x 8) of 8 prompt tokens continued to the context
//                (no eos), tokens/s, cache on (1) and off (0).
//   BM_GrpoStep: `stitch lm rl --method grpo` from a freshly initialised SFT policy (16 prompts x
//                8 completions of addition, difficulty 2), steps/s over kSteps steps after
//                kWarmup; the reference does the same steps and prints its rate.
// Sizes: 0 is the learning tests' policy (width 64, 2 layers, 4 heads, context 32; 0.1M
// parameters), 1 a larger one (width 256, 4 layers, 8 heads, context 64; 3.2M).
// Run: `stitch bench lm` or build/bench/stitch_bench_lm.
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "bench_main.h"
#include "lm/rl.h"
#include "lm/sft.h"
#include "lm/transformer.h"

namespace stitch {
namespace {

struct Size {
  int64_t width, layers, heads, context;
};
constexpr Size kSizes[] = {{64, 2, 4, 32}, {256, 4, 8, 64}};
constexpr int64_t kSteps = 10, kWarmup = 2, kPrompts = 16, kGroup = 8;
static_assert(kSteps % kWarmup == 0);

void BM_Sample(benchmark::State& state) {
  const Size z = kSizes[state.range(0)];
  const bool cache = state.range(1) != 0;
  torch::manual_seed(0);
  lm::TokenPolicy net(lm::TransformerConfig{
      .vocab = 24, .context = z.context, .width = z.width, .layers = z.layers, .heads = z.heads});
  net->eval();
  const int64_t p = 8, batch = kPrompts * kGroup;
  const auto prompts = torch::randint(3, 24, {batch, p}, torch::kLong);
  auto gen = at::detail::createCPUGenerator(0);
  int64_t tokens = 0;
  for (auto _ : state) {
    const auto s =
        net->sample(prompts, {.max_new_tokens = z.context - p, .eos = -1, .kv_cache = cache}, gen);
    tokens += s.mask.sum().item<int64_t>();
  }
  state.counters["tokens_per_s"] =
      benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
}

BENCHMARK(BM_Sample)
    ->ArgNames({"size", "cache"})
    ->ArgsProduct({{0, 1}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(1.0);

struct StepRate {
  double steps_per_s = 0, completion_tokens = 0;
};
std::map<int64_t, StepRate> g_ours;  // size -> rate

void BM_GrpoStep(benchmark::State& state) {
  const int64_t size = state.range(0);
  const Size z = kSizes[size];
  spdlog::set_level(spdlog::level::warn);
  const auto dir =
      std::filesystem::temp_directory_path() / fmt::format("stitch_bench_lm_{}", getpid());
  std::filesystem::remove_all(dir);
  lm::SftConfig sft;
  sft.steps = 1;  // a freshly initialised policy, as the reference's
  sft.width = z.width, sft.layers = z.layers, sft.heads = z.heads, sft.context = z.context;
  sft.eval_every = 0, sft.eval_problems = 1;
  sft.run_dir = (dir / "sft").string();
  lm::train_sft(sft, false);
  for (auto _ : state) {
    lm::RlConfig c;
    c.from = sft.run_dir;
    c.steps = kWarmup + kSteps;
    c.prompts = kPrompts, c.group = kGroup;
    c.log_every = kWarmup;  // kSteps is a multiple of it
    c.eval_every = 0, c.eval_problems = 1, c.checkpoint_every = c.steps;
    c.run_dir = (dir / "rl").string();
    std::filesystem::remove_all(c.run_dir);
    lm::train_rl(c, false);
    // The training wall time from the line at kWarmup to the last: kSteps steps (the final
    // evaluation and checkpoint come after the last line).
    std::ifstream in(dir / "rl" / "metrics.jsonl");
    std::string line;
    double warm_wall = 0.0, last_wall = 0.0, tokens = 0.0;
    while (std::getline(in, line)) {
      const auto j = nlohmann::json::parse(line);
      if (j.at("step").get<int64_t>() == kWarmup) warm_wall = j.at("wall_s").get<double>();
      if (j.at("step").get<int64_t>() > kWarmup) tokens += j.at("completion_tokens").get<double>();
      last_wall = j.at("wall_s").get<double>();
    }
    g_ours[size] = {static_cast<double>(kSteps) / (last_wall - warm_wall),
                    tokens / static_cast<double>(kSteps / kWarmup)};
    state.SetIterationTime(static_cast<double>(kSteps) / g_ours[size].steps_per_s);
  }
  std::filesystem::remove_all(dir);
  state.counters["steps_per_s"] = g_ours[size].steps_per_s;
}

BENCHMARK(BM_GrpoStep)
    ->ArgName("size")
    ->Arg(0)
    ->Arg(1)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kSecond);

void print_comparison() {
  if (g_ours.empty()) return;
  fmt::print(
      "\nGRPO step ({} prompts x {} completions, {} steps after {}), 1 thread, same run:\n"
      "{:<34} {:>14} {:>14} {:>8} {:>22}\n",
      kPrompts, kGroup, kSteps, kWarmup, "policy", "stitch steps/s", "python steps/s", "ratio",
      "completion tokens s/p");
  for (const auto& [size, ours] : g_ours) {
    const Size z = kSizes[size];
    const std::string cmd = fmt::format(
        "/usr/bin/python3 {}/bench/reference/lm_grpo_step.py {} {} {} {} {} {} {} 1",
        STITCH_SOURCE_DIR, kSteps, z.width, z.layers, z.heads, z.context, kPrompts, kGroup);
    const auto reference = run_python_reference_json(cmd);
    const double py = reference.value("steps_per_s", 0.0);
    const double py_tokens = reference.value("completion_tokens", 0.0);
    fmt::print("{:<34} {:>14.2f} {:>14.2f} {:>8.2f} {:>12.1f} / {:<8.1f}\n",
               fmt::format("width {}, {} layers, context {}", z.width, z.layers, z.context),
               ours.steps_per_s, py, py > 0 ? ours.steps_per_s / py : 0.0, ours.completion_tokens,
               py_tokens);
  }
}

}  // namespace
}  // namespace stitch

int main(int argc, char** argv) {
  return stitch::run_benchmarks(argc, argv, stitch::print_comparison);
}
