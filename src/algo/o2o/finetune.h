// Offline-to-online fine-tuning: `stitch finetune --from CHECKPOINT --algo METHOD` continues a
// pre-trained run online. The loop is the online loop (online/online_loop.cpp, config key
// `from`); this header holds what fine-tuning adds to it:
//   adopt_pretrained  the method's algorithm takes the checkpoint's networks and optimiser state
//                     (Algorithm::adopt), its normalisers are kept; errors name the checkpoint
//   MixedBatch        each minibatch: offline_ratio of it from the offline dataset (normalised as
//                     in pre-training), the rest from the replay buffer (Cal-QL's and RLPD's 50/50
//                     symmetric sampling at 0.5), one generator for both draws
//   EpisodeHold       for methods that need Monte-Carlo returns-to-go (Cal-QL): an episode's
//                     transitions reach the buffer when it ends, each with its discounted return
//                     to the episode's end
// (finetune_config, the config of `stitch finetune`, is declared in algo/trainer.h.)
// The methods (AlgoEntry::finetune says which checkpoints each continues): iql and td3_bc with
// their offline losses (the plain baselines), calql (algo/o2o/calql.cpp), wsrl
// (algo/o2o/wsrl.cpp). The dip protocol (the score at step 0 and the worst score in the first 10%
// of env steps) is track/runs.h's finetune_scores.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "algo/algorithm.h"
#include "algo/train_config.h"
#include "data/dataset.h"
#include "data/normalize.h"
#include "data/sampler.h"

namespace stitch {

// Loads the checkpoint c.from into `algo` (the method entry's algorithm); returns its
// normalisers. Errors: not a checkpoint, an algorithm the method does not continue (naming
// both), other observation/action dimensions than c.env's.
Normalizers adopt_pretrained(const TrainConfig& c, const AlgoEntry& method, const AlgoDims& dims,
                             Algorithm& algo);

// The loop's minibatch, from the replay buffer alone, or mixed with the offline dataset.
class MixedBatch {
 public:
  // Loads c.dataset when c.offline_ratio > 0 (Error when it does not match the env), or copies
  // `offline` when given (the caller's loaded c.dataset), normalised with `norm`.
  MixedBatch(const TrainConfig& c, const AlgoEntry& entry, const ReplayBuffer& buffer,
             const Normalizers& norm, const Dataset* offline = nullptr);
  // Refills `batch`: the offline rows first, then the online rows.
  void sample(Rng& rng);
  // How many of the batch's rows are the offline dataset's (the first ones).
  int64_t offline_rows() const { return offline_rows_.size; }

  Batch batch;

 private:
  const ReplayBuffer& buffer_;
  Dataset offline_;
  std::unique_ptr<Sampler> sampler_;
  Batch offline_rows_, online_rows_;
};

// Per env, the transitions of its running episode when returns-to-go are needed; otherwise a
// pass-through to the buffer.
class EpisodeHold {
 public:
  EpisodeHold(bool returns_to_go, int64_t num_envs, const AlgoDims& dims, double discount);
  // Adds env i's transition; an episode ends at terminated or truncated (a checkpoint's cut too).
  void add(ReplayBuffer& buffer, int64_t i, const float* obs, const float* action, float reward,
           const float* next_obs, bool terminated, bool truncated);

 private:
  struct Episode {
    std::vector<float> obs, actions, rewards, next_obs;
    std::vector<uint8_t> terminated;
  };
  bool hold_;
  int64_t obs_dim_, act_dim_;
  double discount_;
  std::vector<Episode> episodes_;
};

// One log line at the end of a fine-tuning run: the score before, the dip and the score after
// (track/runs.h finetune_scores).
void log_finetune_scores(const std::filesystem::path& run_dir);

}  // namespace stitch
