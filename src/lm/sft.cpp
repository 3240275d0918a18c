#include "lm/sft.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <span>

#include "core/error.h"
#include "core/rng.h"
#include "core/timer.h"
#include "lm/policy_io.h"
#include "lm/tasks.h"
#include "lm/tokenizer.h"
#include "lm/transformer.h"
#include "track/checkpoint.h"
#include "track/run_files.h"
#include "track/run_log.h"

namespace stitch::lm {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// [bos] prompt answer [eos], padded: tokens [B, L] and the loss mask [B, L - 1] over the
// predictions of the answer's tokens and the end of sequence.
std::pair<torch::Tensor, torch::Tensor> sft_batch(const std::vector<Problem>& problems,
                                                  const CharTokenizer& tok, int64_t context) {
  std::vector<std::vector<int32_t>> rows;
  std::vector<size_t> prompt_lengths;
  size_t longest = 0;
  for (const Problem& p : problems) {
    std::vector<int32_t> row{CharTokenizer::kBos};
    const auto prompt = tok.encode(p.prompt), answer = tok.encode(p.answer);
    row.insert(row.end(), prompt.begin(), prompt.end());
    prompt_lengths.push_back(row.size());
    row.insert(row.end(), answer.begin(), answer.end());
    row.push_back(CharTokenizer::kEos);
    longest = std::max(longest, row.size());
    rows.push_back(std::move(row));
  }
  if (static_cast<int64_t>(longest) > context) {
    fail("lm sft: a problem of {} tokens does not fit the context of {} (raise context)", longest,
         context);
  }
  const auto b = static_cast<int64_t>(rows.size()), l = static_cast<int64_t>(longest);
  auto tokens = torch::full({b, l}, CharTokenizer::kPad, torch::kLong);
  auto mask = torch::zeros({b, l - 1});
  auto t = tokens.accessor<int64_t, 2>();
  auto m = mask.accessor<float, 2>();
  for (int64_t i = 0; i < b; ++i) {
    const auto& row = rows[static_cast<size_t>(i)];
    for (size_t j = 0; j < row.size(); ++j) t[i][static_cast<int64_t>(j)] = row[j];
    // Position j predicts token j + 1: the answer starts at prompt_lengths[i].
    for (size_t j = prompt_lengths[static_cast<size_t>(i)]; j < row.size(); ++j)
      m[i][static_cast<int64_t>(j) - 1] = 1.0f;
  }
  return {tokens, mask};
}

std::string config_text(const SftConfig& c) { return config_to_string(c, -1); }

}  // namespace

void SftConfig::describe(ConfigFields& f) {
  f.add("task", task, "verifiable task: addition, multiplication, sorting or countdown");
  f.add("difficulty", difficulty, "the task's difficulty (digits or list length)",
        {.min = 1, .max = 20});
  f.add("steps", steps, "gradient steps", {.min = 1, .max = int64_t{1} << 40});
  f.add("batch_size", batch_size, "problems per step", {.min = 1, .max = 65536});
  f.add("lr", lr, "AdamW learning rate", {.min = 0, .max = 1, .min_open = true});
  f.add("weight_decay", weight_decay, "AdamW weight decay", {.min = 0, .max = 1});
  f.add("width", width, "transformer width", {.min = 8, .max = 4096});
  f.add("layers", layers, "transformer blocks", {.min = 1, .max = 48});
  f.add("heads", heads, "attention heads (width must be a multiple)", {.min = 1, .max = 64});
  f.add("context", context, "longest sequence in tokens", {.min = 4, .max = 4096});
  f.add("log_every", log_every, "steps between metrics lines", {.min = 1, .max = int64_t{1} << 40});
  f.add("eval_every", eval_every, "steps between held-out evaluations (0: only at the end)",
        {.min = 0, .max = int64_t{1} << 40});
  f.add("checkpoint_every", checkpoint_every, "steps between checkpoints",
        {.min = 1, .max = int64_t{1} << 40});
  f.add("eval_problems", eval_problems, "held-out problems per evaluation",
        {.min = 1, .max = 100000});
  f.add("seed", seed, "seed of the weights and the training problems",
        {.min = 0, .max = std::numeric_limits<uint64_t>::max()});
  f.add("run_dir", run_dir, "run directory");
}

void SftConfig::validate() const {
  const auto t = make_task(task);  // Error naming the known tasks
  if (difficulty > t->max_difficulty() || difficulty < t->min_difficulty())
    fail("config key 'difficulty': {} takes {}..{}, got {}", task, t->min_difficulty(),
         t->max_difficulty(), difficulty);
  if (width % heads != 0)
    fail("config key 'heads': width {} is not a multiple of {} heads", width, heads);
  if (run_dir.empty()) fail("config key 'run_dir': an SFT run needs --run-dir DIR");
}

SftResult train_sft(const SftConfig& config_in, bool resume) {
  SftConfig c = config_in;
  const fs::path dir = c.run_dir;
  const fs::path checkpoint = dir / "checkpoints" / "latest.pt";
  if (resume) {
    if (!fs::exists(dir / "config.json")) fail("{}: not an lm sft run (no config.json)", c.run_dir);
    SftConfig stored;
    resolve_config(stored, (dir / "config.json").string(), {});
    stored.run_dir = c.run_dir;
    c = stored;
  }
  const std::string config_json = config_text(c);
  const RunFiles files{.dir = dir, .logs = {"metrics.jsonl", "eval.jsonl"}};
  SftResult result{.run_dir = dir.string(), .checkpoint = checkpoint.string()};
  in_policy_run(dir, resume, json{{"kind", "lm-sft"}, {"task", c.task}, {"seed", c.seed}}, [&] {
    const auto task = make_task(c.task);
    PolicyState t;
    torch::manual_seed(c.seed);
    t.net = TokenPolicy(net_config(c, t.tok));
    t.optim = std::make_unique<torch::optim::AdamW>(
        t.net->parameters(), torch::optim::AdamWOptions(c.lr).weight_decay(c.weight_decay));
    Rng rng(c.seed);
    if (resume) {
      load_policy(checkpoint, t, &rng);
      files.rewind(t.step);
    } else {
      files.start(config_json);
    }
    spdlog::info("lm sft: {} difficulty {}, a transformer of {} parameters", c.task, c.difficulty,
                 t.net->parameter_count());
    RunLog log(dir, t.step, c.steps, "steps");
    Stopwatch since_log;
    std::vector<Problem> batch(static_cast<size_t>(c.batch_size));
    while (t.step < c.steps) {
      for (Problem& p : batch) p = training_problem(*task, rng, c.difficulty);
      const auto [tokens, mask] = sft_batch(batch, t.tok, c.context);
      const auto logp = torch::log_softmax(t.net->forward(tokens.slice(1, 0, -1)), -1)
                            .gather(2, tokens.slice(1, 1).unsqueeze(-1))
                            .squeeze(-1);
      const auto loss = -(logp * mask).sum() / mask.sum();
      t.optim->zero_grad();
      loss.backward();
      t.optim->step();
      finish_step(
          t, loss.item<double>(), "lm sft",
          {c.steps, c.log_every, c.eval_every, c.checkpoint_every}, log, since_log, nullptr,
          [&] {
            result.last =
                evaluate_and_log(dir, t.step, t.net, *task, c.difficulty, c.eval_problems, t.tok);
            t.net->train();
          },
          [&] { save_policy(checkpoint, config_json, c.context, t, rng); });
    }
    result.steps = t.step;
  });
  return result;
}

SftResult resume_sft(const std::string& run_dir) {
  SftConfig c;
  c.run_dir = run_dir;
  return train_sft(c, true);
}

TaskEval evaluate_sft_run(const std::string& run_dir, int problems) {
  SftConfig c;
  TokenPolicy net = load_run_policy(run_dir, &c);
  net->eval();
  return evaluate_policy(net, *make_task(c.task), c.difficulty, problems, CharTokenizer());
}

}  // namespace stitch::lm
