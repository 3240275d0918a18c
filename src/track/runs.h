// Reading run directories (written by the training loops, algo/trainer.h) back: what
// `stitch runs list` prints and `stitch report` aggregates. Tolerant of runs killed at any
// moment: a missing file or an unfinished last line is skipped, never an error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace stitch {

struct EvalPoint {
  int64_t step = 0;
  double mean = 0.0;  // lm runs: the held-out accuracy in percent (also in `normalized`)
  std::optional<double> normalized;  // with the suite's references (or the env's own)
  std::optional<double> d4rl;        // with D4RL's references, where D4RL has the env
};

struct RunSummary {
  std::string dir, name;           // name: the directory's last component
  std::string algo, env, dataset;  // dataset: "online" for online and streaming runs
  uint64_t seed = 0;
  int64_t planned_steps = 0;
  int64_t steps = 0;    // last logged step
  double wall_s = 0.0;  // wall time at the last logged step
  // From meta.json: running | finished | stopped | failed | killed (a running run whose process
  // is gone); runs without meta.json: finished | stopped | empty, from their logs.
  std::string status;
  std::string error;  // failed runs: the error
  std::vector<EvalPoint> evaluations;
  std::string from;  // fine-tuning runs: the pre-trained checkpoint (config key `from`)
  // A token-policy run (`stitch lm sft|rl|offline`, lm/): algo is sft-<steps>, the rl method
  // (grpo, ppo, ...; +shuffled, +N-prompts for those variants) or offline-<method>; dataset the
  // task and difficulty of its SFT start
  // ("addition-d2"); env "lm"; scores its held-out greedy accuracy in percent. `from` stays
  // empty (the SFT start is a group of its own, not a pre-trained checkpoint).
  bool accuracy = false;
};

// A fine-tuning run's scores (the dip protocol of `stitch finetune`): the evaluation before its
// first env step (step 0), the worst one in the first 10% of its planned env steps (the dip; the
// first after step 0 when none falls there), and the last. Empty for other runs, and for runs
// without an evaluation after step 0.
struct FinetuneScores {
  EvalPoint before, dip, after;
};
std::optional<FinetuneScores> finetune_scores(const RunSummary& run);

// Whether `dir` is a run directory (holds a config.json with an "algo", a model run's kind, or
// an lm run's task or method).
bool is_run_dir(const std::string& dir);
RunSummary read_run(const std::string& dir);
// `dir` itself when it is a run, else every run directory below it (sorted by path).
std::vector<std::string> find_run_dirs(const std::string& dir);
std::vector<RunSummary> find_runs(const std::string& dir);  // read_run of each

}  // namespace stitch
