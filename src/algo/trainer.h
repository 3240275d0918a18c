// Training, the entry point of every loop: train() resolves the config and runs the loop its
// algorithm needs (a thin dispatch):
//   offline   (offline/offline_loop.cpp)   minibatches from a dataset, `steps` gradient steps
//   online    (online/online_loop.cpp)     SAC/TD3 from a VectorEnv through a replay buffer
//   streaming (streaming/stream_loop.cpp)  one transition at a time, no replay
// Every loop shares the run directory, logs and checkpoint containers of src/track, evaluation
// through src/eval, and the pieces in algo/training_loop.h. Each loop's file describes its run
// directory. A run resumed from its last checkpoint (the stored config wins) ends in the same
// state as an uninterrupted run; training that produces a NaN/inf loss or parameter stops with an
// Error naming the step.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "algo/train_config.h"
#include "eval/evaluate.h"

namespace stitch {

struct TrainResult {
  int64_t steps = 0;
  std::vector<std::pair<int64_t, EvalResult>> evaluations;  // (step, result) of this call
  std::string run_dir;
  std::string checkpoint;
};

// Trains. With resume, continues the run in config.run_dir from its latest checkpoint (the
// stored config wins). stop_after_steps > 0 stops (after checkpointing) at that step, as a
// crash would, for tests.
TrainResult train(const std::string& config_json, bool resume, int64_t stop_after_steps = 0);

// `stitch finetune`'s config text (algo/o2o/finetune.h): {algo: method, from: checkpoint} with
// the checkpoint's "<its algo>.<key>" values for every key the method's config shares (from
// another algorithm's checkpoint: AlgoEntry::finetune.network_keys only), its discount and the
// method's fine-tuning settings, then the JSON file's and the overrides' keys (the user's win).
// Errors name the checkpoint: missing or damaged, or an algorithm the method does not continue.
std::string finetune_config(const std::string& checkpoint, const std::string& method,
                            const std::string& json_path,
                            const std::vector<std::string>& overrides);

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
