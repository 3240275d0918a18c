// Offline training: load a dataset, train an algorithm for N gradient steps, evaluate on the
// env every K steps, log, checkpoint atomically every C steps, resume after a crash.
//
// Run directory (config.run_dir):
//   config.json     the resolved configuration (trainer keys and "<algo>.<key>"s)
//   versions.txt    `stitch version` at the start of the run
//   metrics.jsonl   one JSON object per logged step: step, wall time, losses, updates/s
//   eval.jsonl      one JSON object per evaluation: step, returns, mean
//   checkpoints/latest.pt   the algorithm's state, the sampler's RNG, the normalisers
// A resumed run (resume = true) continues from checkpoints/latest.pt with the stored config and
// ends in the same state as an uninterrupted run; log lines past the checkpoint are dropped.
// Training that produces a NaN/inf loss or parameter stops with an Error naming the step.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "algo/registry.h"

namespace stitch {

class ConfigFields;

struct TrainConfig {
  std::string algo = "iql";
  std::string dataset;  // D4RL file or Minari dataset (offline algorithms)
  bool online = false;  // learn from the env instead (online and streaming agents)
  // Online agents (SAC, TD3); `steps` then counts env steps (transitions).
  int64_t num_envs = 1;            // envs stepped together (a VectorEnv)
  int64_t learning_starts = 5000;  // env steps of uniformly random actions before updates
  double utd_ratio = 1.0;          // gradient steps per transition (update-to-data ratio)
  int64_t buffer_size = 1000000;   // replay capacity
  int64_t snapshot_every = 0;      // keep snapshots/step-N.pt every N env steps (0: never)
  std::string env;                 // registered env id, for evaluation and the action bounds
  int64_t steps = 100000;          // gradient steps
  int64_t batch_size = 256;
  double discount = 0.99;
  uint64_t seed = 0;
  int64_t eval_every = 5000;  // 0: only at the end
  int eval_episodes = 10;
  int64_t checkpoint_every = 10000;
  int64_t log_every = 1000;
  std::string normalize_observations = "auto";  // auto (the algorithm's default) | true | false
  std::string reward_scaling = "auto";          // auto | none | locomotion
  std::string run_dir;                          // default runs/<algo>-<env>-s<seed>

  void describe(ConfigFields& f);
  void validate() const;
};

struct EvalResult {
  std::vector<double> returns;
  double mean = 0.0;
};

struct TrainResult {
  int64_t steps = 0;
  std::vector<std::pair<int64_t, EvalResult>> evaluations;  // (step, result) of this call
  std::string run_dir;
  std::string checkpoint;
};

// A training config resolved from JSON text: the trainer's keys, the algorithm's entry and its
// config struct, and the full JSON text.
struct ResolvedTrainConfig {
  TrainConfig train;
  std::unique_ptr<AlgoConfig> algo;
  const AlgoEntry* entry = nullptr;
  std::string json_text;
};
ResolvedTrainConfig resolve_train_config_text(const std::string& config_json);

// Resolves the config (trainer keys, then "<algo>.<key>" keys) from a JSON file and --set
// overrides, and returns the full JSON text.
std::string resolve_train_config(TrainConfig& config, const std::string& json_path,
                                 const std::vector<std::string>& overrides);

// Trains. With resume, continues the run in config.run_dir from its latest checkpoint (the
// stored config wins). stop_after_steps > 0 stops (after checkpointing) at that step, as a
// crash would, for tests.
TrainResult train(const std::string& config_json, bool resume, int64_t stop_after_steps = 0);

// Continues the run in run_dir from its last checkpoint with its stored config.json.
TrainResult resume_training(const std::string& run_dir);

// The checkpoint's deterministic policy as a torch-free DeployedPolicy (observation
// normalisation folded in), for `stitch export`.
class DeployedPolicy;
DeployedPolicy export_checkpoint_policy(const std::string& checkpoint);

// Evaluates a checkpoint on `env` for `episodes` episodes with seeds seed, seed+1, ...
EvalResult evaluate_checkpoint(const std::string& checkpoint, const std::string& env, int episodes,
                               uint64_t seed);

}  // namespace stitch
