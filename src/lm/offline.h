// Data-driven RL on text: token policies improved from a fixed log of sequences with their
// rewards, never sampling during training.
//
//   stitch lm log      samples a run's policy (`lm sft` or `lm rl`) on `prompts` training
//                      problems of its task, `samples` completions each at `temperature`, scores
//                      each with the task's checker, and writes one JSON line per completion:
//                      {"prompt", "completion", "ended", "reward", "correct"} (`ended`: the
//                      completion closed with the end of sequence).
//   stitch lm offline  trains from an `lm sft` run (the start and the reference pi_ref) on such a
//                      log, with one of:
//     alol  A-LoL (Baheti et al. 2024, "Improving Language Models with Advantage-based Offline
//           Policy Gradients"): per row A = R(x, y) - V(x), V(x) the mean logged reward of the
//           prompt's completions (the logged policy's value at x, estimated by Monte Carlo from
//           the log; the paper fits a value head on the frozen reference to the same targets);
//           rows with A <= 0 are left out; each step a batch of the others, loss
//           -mean_i A_i w_i sum_t log pi(y_it | x_i, y_i<t), with w_i = clamp(pi(y_i|x_i) /
//           pi_ref(y_i|x_i), 1 - clip, 1 + clip) the sequence's importance weight, held fixed
//           in the gradient (clip 0.9 as the authors' --ppo_clip): the authors' a_lol, its
//           batches drawn uniformly from the rows with A > 0 (their good_random strategy).
//     nll   supervised fine-tuning on every logged completion (the NLL baseline of the paper):
//           the mean cross-entropy of the completions' tokens, rewards unused.
//     dpo   DPO (Rafailov et al. 2023) offline: per prompt of the log, its first correct
//           completion against its first incorrect one, -log sigmoid(beta ((log pi - log
//           pi_ref)(winner) - (log pi - log pi_ref)(loser))), sums over each completion's tokens.
//
// A run directory as `lm rl`'s (config.json, metrics.jsonl, eval.jsonl from step 0, meta.json,
// checkpoints/latest.pt) with an exact resume; `lm eval` reads it as it reads an RL run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"
#include "lm/rl.h"

namespace stitch::lm {

struct LogConfig {
  std::string run_dir;  // the policy that logs (`lm sft` or `lm rl`)
  std::string out;      // the JSON-lines file
  int64_t prompts = 500;
  int64_t samples = 8;
  double temperature = 1.0;
  uint64_t seed = 0;
};

struct LogSummary {
  int64_t rows = 0;
  double mean_reward = 0.0, accuracy = 0.0;
};

// Writes the log (durably: a temporary file renamed into place).
LogSummary write_sequence_log(const LogConfig& config);

struct LoggedSequence {
  std::string prompt, completion;
  bool ended = true;
  double reward = 0.0;
  bool correct = false;
};

// Reads a log written by write_sequence_log, trusting nothing: every line a JSON object with a
// non-empty string prompt, a string completion, a bool ended and correct, and a reward in
// [-1e6, 1e6];
// Error "FILE:LINE: ..." otherwise, and for a file of more than `max_rows` lines.
std::vector<LoggedSequence> read_sequence_log(const std::string& path,
                                              int64_t max_rows = 10'000'000);

struct OfflineConfig {
  std::string method = "alol";
  std::string from;  // an `lm sft` run: the start and the reference
  std::string data;  // a log of `lm log`
  int64_t steps = 200;
  int64_t batch_size = 64;
  double lr = 1e-4;
  double clip = 0.9;  // alol: the importance weight's clip
  double beta = 0.1;  // dpo
  int64_t log_every = 10, eval_every = 50, checkpoint_every = 50;
  int eval_problems = 200;
  uint64_t seed = 0;
  std::string run_dir;
  void describe(ConfigFields& f);
  void validate() const;
};

// Trains (resume: continues config.run_dir from its checkpoint with its stored config).
RlResult train_offline(const OfflineConfig& config, bool resume);
RlResult resume_offline(const std::string& run_dir);

}  // namespace stitch::lm
