// What the token-policy loops (lm/sft.cpp, lm/rl.cpp) share: the policy with its optimiser and
// counters, its checkpoint (track/checkpoint.h's container: the policy, AdamW, the step, the open
// metrics window, the problem generator's state), greedy evaluation on held-out problems, and
// the run directory's shell. Internal to src/lm.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "core/rng.h"
#include "core/timer.h"
#include "lm/sft.h"
#include "lm/tasks.h"
#include "lm/tokenizer.h"
#include "lm/transformer.h"
#include "track/run_log.h"

namespace stitch::lm {

struct PolicyState {
  CharTokenizer tok;
  TokenPolicy net{nullptr};
  // lm rl's PPO: V(state before a token) from the policy's hidden state (null otherwise); in the
  // checkpoint when set.
  torch::nn::Linear value_head{nullptr};
  std::unique_ptr<torch::optim::AdamW> optim;  // null when only evaluated
  int64_t step = 0;
  double loss_sum = 0.0;  // the open metrics window (kept in checkpoints: a resumed run logs
  int64_t losses = 0;     // the same lines)
  // Training wall time: before this process (from the checkpoint), and this process's clock
  // (restarted when a checkpoint is loaded). The metrics lines' wall_s is their sum.
  double wall_before = 0.0;
  Stopwatch clock;
  double wall_s() const { return wall_before + clock.seconds(); }
};

TransformerConfig net_config(const SftConfig& c, const CharTokenizer& tok);

// Greedy decoding on `count` held-out problems (test_set seed 0); a completion counts only when
// it ends with eos and holds no padding or bos before it.
TaskEval evaluate_policy(TokenPolicy& net, const Task& task, int difficulty, int count,
                         const CharTokenizer& tok);

// evaluate_policy, appended to dir/eval.jsonl ({step, accuracy, format_rate, problems}) and
// logged.
TaskEval evaluate_and_log(const std::filesystem::path& dir, int64_t step, TokenPolicy& net,
                          const Task& task, int difficulty, int count, const CharTokenizer& tok);

// When a token-policy loop (lm sft, rl, offline) logs, evaluates and checkpoints.
struct StepSchedule {
  int64_t steps, log_every, eval_every, checkpoint_every;  // eval_every 0: only at the end
};
// The end of one step of such a loop: `what` ("lm sft") names it in the error on a non-finite
// loss; counts the step and its loss into s's window; every log_every steps and at the last,
// the metrics line {step, loss (the window's mean), steps_per_s, wall_s} with `extra`'s fields
// (null: none; it also resets its own sums), and a new window; every eval_every steps and at the
// last, `evaluate`; every checkpoint_every steps and at the last, `save`.
void finish_step(PolicyState& s, double loss, const char* what, const StepSchedule& when,
                 RunLog& log, Stopwatch& since_log,
                 const std::function<void(nlohmann::json&)>& extra,
                 const std::function<void()>& evaluate, const std::function<void()>& save);

void save_policy(const std::filesystem::path& path, const std::string& config_json, int64_t context,
                 PolicyState& s, const Rng& rng);
// Loads the policy (and, when s.optim is set, the optimiser) and the counters; the generator's
// state into *rng when not null.
void load_policy(const std::filesystem::path& path, PolicyState& s, Rng* rng);

// The policy of an `lm sft` run (its checkpoints/latest.pt), its config into *config.
TokenPolicy load_sft_policy(const std::string& run_dir, SftConfig* config);
// The policy of an `lm sft`, `lm rl` or `lm offline` run (the last two: their own checkpoint in
// the network of the SFT run they started from); the SFT config that gives its task, difficulty and
// shape into *config.
TokenPolicy load_run_policy(const std::string& run_dir, SftConfig* config);

// The score of row `row` of sampled tokens [B, T] whose prompt takes its first p tokens: a
// completion counts only when it ends with eos and holds no bos or padding before it (else a
// score of 0, not formatted).
Score score_sample(const Task& task, const std::string& prompt, const torch::Tensor& tokens,
                   int64_t row, int64_t p, const CharTokenizer& tok);
// The prompt's tokens [1, P]: bos, then the prompt's characters. Error when it leaves no room for
// a completion in the context.
torch::Tensor prompt_tokens(const std::string& prompt, const CharTokenizer& tok, int64_t context);

// The run directory's shell: the lock, stdout.log, meta.json (`fields`; finished, or failed with
// the error) around body(). Error when a new run finds a checkpoint or a resume finds none.
void in_policy_run(const std::filesystem::path& dir, bool resume, const nlohmann::json& fields,
                   const std::function<void()>& body);

}  // namespace stitch::lm
