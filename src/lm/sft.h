// `stitch lm sft`: supervised fine-tuning of a token policy (lm/transformer.h) on a verifiable
// task's generated solutions (lm/tasks.h), from scratch: each step a batch of training problems
// (never a held-out prompt), teacher-forced, the loss the mean cross-entropy of the completion's
// tokens (the answer and its end of sequence; the prompt's tokens are context only). Evaluates
// greedy decoding on the task's held-out test set. A run directory as `stitch train`'s
// (config.json, metrics.jsonl, eval.jsonl, meta.json, stdout.log, checkpoints/latest.pt) and
// an exact resume from its last checkpoint.
//
// This is the partial SFT the RL methods start from (the LM-RL issue): stop it early (small
// `steps`) and the policy has something left to improve.
#pragma once

#include <cstdint>
#include <string>

#include "core/config.h"

namespace stitch::lm {

struct SftConfig {
  std::string task = "addition";
  int difficulty = 2;
  int64_t steps = 2000;
  int64_t batch_size = 64;
  double lr = 1e-3;  // AdamW, nanoGPT's character-level default
  double weight_decay = 0.1;
  int64_t width = 64, layers = 2, heads = 4, context = 32;
  int64_t log_every = 100, eval_every = 500, checkpoint_every = 500;
  int eval_problems = 200;
  uint64_t seed = 0;
  std::string run_dir;
  void describe(ConfigFields& f);
  void validate() const;
};

// Greedy decoding on `problems` held-out problems of the task (test_set with seed 0).
struct TaskEval {
  int problems = 0;
  double accuracy = 0.0;     // correct completions
  double format_rate = 0.0;  // completions in the answer's form
};

struct SftResult {
  int64_t steps = 0;
  TaskEval last;
  std::string run_dir, checkpoint;
};

// Trains (resume: continues config.run_dir from its checkpoint with its stored config).
SftResult train_sft(const SftConfig& config, bool resume);
SftResult resume_sft(const std::string& run_dir);
// The held-out accuracy of an `lm sft` or `lm rl` run's checkpoint (checkpoints/latest.pt).
TaskEval evaluate_sft_run(const std::string& run_dir, int problems);

}  // namespace stitch::lm
