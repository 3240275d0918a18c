// What the three training loops (offline/offline_loop.cpp, online/online_loop.cpp,
// streaming/stream_loop.cpp) share besides track/: the action bounds an env gives an
// algorithm, the Policy adapter that evaluation rolls out, divergence checks, evaluation
// logging, and the checkpoint container filled from and read into an Algorithm.
// Internal to src/algo; users call train() (algo/trainer.h).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "algo/algorithm.h"
#include "algo/trainer.h"
#include "core/timer.h"
#include "data/normalize.h"
#include "env/env.h"
#include "env/policy.h"
#include "track/checkpoint.h"

namespace stitch {

class RunLog;

// The loops, called by train() with a resolved config.
// train_on: a dataset file to train on instead of cfg's (MBRCSL's model rollouts).
TrainResult train_offline(const ResolvedTrainConfig& cfg, bool resume, int64_t stop_after_steps,
                          const std::string& train_on = {});
TrainResult train_online(const ResolvedTrainConfig& cfg, bool resume, int64_t stop_after_steps);
TrainResult train_stream(const ResolvedTrainConfig& cfg, bool resume, int64_t stop_after_steps);
// model_based/model_loop.cpp: the algorithms with AlgoEntry::model_rollouts.
TrainResult train_model_based(const ResolvedTrainConfig& cfg, bool resume,
                              int64_t stop_after_steps);
// model_based/mbrcsl.cpp: the algorithms with AlgoEntry::model_dataset.
TrainResult train_mbrcsl(const ResolvedTrainConfig& cfg, bool resume, int64_t stop_after_steps);
// A model-based run's dynamics model: model.checkpoint's, the run's own RUN/model (on resume,
// or when a start before its first checkpoint fitted it with the same dataset, env, seed and
// model.* keys: otherwise an Error naming the key), or fitted now on `data` into RUN/model.
struct TrainedModel;
TrainedModel model_for_run(const ResolvedTrainConfig& cfg, const Dataset& data,
                           const AlgoDims& dims, bool resume);
// A streaming checkpoint evaluated on env_id (evaluate_checkpoint's streaming half).
EvalResult evaluate_stream_checkpoint(const std::string& path, const std::string& env_id,
                                      int episodes, uint64_t seed);

// obs_dim, act_dim and max_action of a minibatch learner on env_id: bounded Box actions,
// symmetric and equal in every dimension.
AlgoDims dims_for(const Env& env, const std::string& env_id);
// Error naming the file when `data` (loaded from `path`) has other observation/action
// dimensions than env_id's `dims`.
void check_dataset_dims(const Dataset& data, const std::string& path, const std::string& env_id,
                        const AlgoDims& dims);

// An Algorithm's deterministic action as an env Policy: observations pass through the run's
// observation normaliser first. A return-conditioned algorithm (return_conditioned.h) starts
// each episode at its target return and sees every reward (scaled as its training rewards were).
class AlgorithmPolicy : public Policy {
 public:
  AlgorithmPolicy(Algorithm& algo, const Normalizers& normalizers)
      : algo_(algo), normalizers_(normalizers) {}
  void reset() override;
  void act(std::span<const float> obs, Rng& rng, std::span<float> action) override;
  void observe_reward(double reward) override;

 private:
  Algorithm& algo_;
  const Normalizers& normalizers_;
  std::vector<float> obs_;
};

// Evaluates `policy` on cfg's env with the run's evaluation seed, logs the result (eval.jsonl,
// TensorBoard, progress, one log line) and returns it.
EvalResult evaluate_and_log(const TrainConfig& cfg, Policy& policy, int64_t step, RunLog& log);

// The first fields of a minibatch loop's metrics line at gradient step `done`: step, wall_s (of
// `total`) and updates_per_s (log_every updates over `since_log`).
nlohmann::json metrics_line(int64_t done, const Stopwatch& total, const Stopwatch& since_log,
                            int64_t log_every);

// Removes the files in `dir` whose names start with `prefix`, except `keep`: the side files
// (replay or model buffers) of older checkpoints, once the newer checkpoint is written.
void remove_older_side_files(const std::filesystem::path& dir, const std::string& prefix,
                             const std::filesystem::path& keep);

// Error "training diverged at <unit> N: ..." for a non-finite metric or parameter.
void check_finite_metrics(const Metrics& metrics, int64_t step, const char* unit,
                          const TrainConfig& cfg);
void check_finite_parameters(Algorithm& algo, int64_t step, const char* unit);

// The minibatch checkpoint (track/checkpoint.h) of `algo`.
void save_algorithm_checkpoint(const std::filesystem::path& path, const Algorithm& algo,
                               CheckpointContents contents);
// An algorithm rebuilt from a checkpoint's stored config and loaded from it.
struct LoadedAlgorithm {
  std::unique_ptr<Algorithm> algo;
  CheckpointContents contents;
  ResolvedTrainConfig config;
};
LoadedAlgorithm load_algorithm_checkpoint(const std::string& path);

}  // namespace stitch
