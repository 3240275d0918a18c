// What an online learner's loop sets up and saves alike: the online loop (online/online_loop.cpp)
// and the distributed learner (dist/dist_train.cpp). The run directory's files, the algorithm
// (fine-tuning: adopted from its pre-trained checkpoint), the replay buffer, the minibatch
// sampler and its generator, and on a resume all of them as the last checkpoint left them; then
// the checkpoint of a moment, and the episode returns of a log window.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "algo/algorithm.h"
#include "algo/o2o/finetune.h"
#include "algo/train_config.h"
#include "core/rng.h"
#include "data/normalize.h"
#include "data/sampler.h"
#include "track/checkpoint.h"
#include "track/run_files.h"

namespace stitch {

class OnlineRun {
 public:
  // Error naming the checkpoint when a resume finds no online checkpoint within c.steps.
  // owner false: a data-parallel learner beside the one that owns the run directory (`train
  // --dist --learners L`): it writes nothing there and, on a resume, reads the owner's last
  // checkpoint and replay buffer.
  OnlineRun(const ResolvedTrainConfig& cfg, bool resume, bool owner = true);
  OnlineRun(const OnlineRun&) = delete;
  OnlineRun& operator=(const OnlineRun&) = delete;

  const ResolvedTrainConfig& cfg;
  const RunFiles files;
  const std::filesystem::path checkpoint;  // checkpoints/latest.pt
  AlgoDims dims;
  ReplayBuffer buffer;
  Rng rng;  // random warm-up actions and minibatch sampling
  std::unique_ptr<Algorithm> algo;
  Normalizers norm;  // online agents see raw observations; fine-tuned ones, pre-training's
  OnlineLoopState state;
  std::unique_ptr<MixedBatch> mixed;  // each minibatch (offline_ratio of it from the offline data)
  TensorBatch tensors;                // views of mixed->batch

  // The checkpoint of this moment, with `saved` as the loop's state: the replay file first
  // (named by its step), then the checkpoint that points at it, then older replay files, so a
  // kill at any moment leaves a consistent pair.
  void save(const OnlineLoopState& saved);

 private:
  std::filesystem::path replay_file(int64_t step) const;
};

// The training episodes' returns between two metrics lines.
struct EpisodeWindow {
  int64_t episodes = 0;
  double returns = 0.0;
  void add(double episode_return) {
    ++episodes;
    returns += episode_return;
  }
  // Sets line["episode_return"] when an episode ended, returns the log line's words for it, and
  // starts a new window.
  std::string close(nlohmann::json& line);
};

}  // namespace stitch
