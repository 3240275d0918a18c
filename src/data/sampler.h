// Minibatch sampling from a Dataset, and a ring replay buffer for online use.
//
// A Batch is allocated once (make_batch) and refilled by every sample() call: a gather of B
// random rows into contiguous row-major buffers, no allocation per call. Training code wraps
// the buffers as tensors without copying (torch::from_blob).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/rng.h"
#include "data/dataset.h"

namespace stitch {

struct Batch {
  int64_t size = 0, obs_dim = 0, act_dim = 0;
  std::vector<float> observations;       // [B, obs_dim]
  std::vector<float> actions;            // [B, act_dim]
  std::vector<float> rewards;            // [B]: r_t, or the n-step sum sum_k discount^k r_{t+k}
  std::vector<float> next_observations;  // [B, obs_dim]: the state to bootstrap from
  std::vector<float> terminals;          // [B]: 1 when the target must not bootstrap
  std::vector<float> discounts;          // [B]: discount^k of the bootstrap term (k = steps used)
  std::vector<float> returns_to_go;      // [B] when SamplerOptions::return_to_go
  std::vector<float> costs;              // [B] when the data has costs
  // When SamplerOptions::next_actions: the action recorded after the bootstrap state (row t+1's,
  // for 1-step targets) [B, act_dim], and 1 where there is one, 0 where the episode ends there
  // (terminal or truncated; then zeros).
  std::vector<float> next_actions;
  std::vector<float> next_action_valid;
  std::vector<int64_t> indices;  // [B]: dataset rows
};

struct SamplerOptions {
  int64_t batch_size = 256;
  int n_step = 1;             // >= 1; n-step targets stop at the end of the episode
  double discount = 0.99;     // for n-step rewards and `discounts`
  bool return_to_go = false;  // fill returns_to_go (discounted by rtg_discount, within the episode)
  double rtg_discount = 1.0;
  bool next_actions = false;  // fill next_actions (ReBRAC's critic penalty)
  uint64_t seed = 0;
};

class Sampler {
 public:
  // Samples uniformly over rows usable as TD targets (has_next); throws Error if there are none.
  // The dataset must outlive the sampler.
  Sampler(const Dataset& dataset, const SamplerOptions& options);

  Batch make_batch() const;
  // Fills `batch` (made by make_batch) with batch_size random rows, drawn from the sampler's own
  // generator or from `rng` (one generator for two sources: offline-to-online mixing).
  void sample(Batch& batch);
  void sample(Batch& batch, Rng& rng);
  // Fills `batch` with the given rows (for evaluation and tests).
  void gather(const std::vector<int64_t>& rows, Batch& batch) const;

  int64_t eligible_rows() const { return static_cast<int64_t>(rows_.size()); }
  Rng& rng() { return rng_; }

 private:
  void fill_row(int64_t b, int64_t row, Batch& batch) const;
  void fill_next_action(int64_t b, int64_t last, Batch& batch) const;

  const Dataset& data_;
  SamplerOptions options_;
  Rng rng_;
  std::vector<int64_t> rows_;         // eligible rows
  bool all_rows_eligible_ = false;    // rows_ is 0..N-1
  std::vector<int64_t> episode_end_;  // per row: one past the last row of its episode
  std::vector<float> returns_to_go_;  // per row, when enabled
};

// A fixed-capacity ring buffer of transitions for online training; the oldest are overwritten.
// `terminated` and `truncated` are stored apart: a transition stored with truncated = 1 still
// bootstraps from its next observation.
// Copies every column `to` has (returns_to_go, costs only where both have them) of from's rows
// into to's rows [at, at + from.size): two sources' minibatches into one.
void copy_batch_rows(const Batch& from, Batch& to, int64_t at);

class ReplayBuffer {
 public:
  ReplayBuffer(int64_t capacity, int64_t obs_dim, int64_t act_dim);

  // obs, next_obs: [obs_dim]; action: [act_dim]. return_to_go: the discounted return from this
  // transition to its episode's end, when the caller knows it (Cal-QL's bound; 0 otherwise).
  void add(const float* obs, const float* action, float reward, const float* next_obs,
           bool terminated, bool truncated, float cost = 0.0f, float return_to_go = 0.0f);
  // Fills `batch` (from make_batch) with uniform samples (and returns_to_go where the batch has
  // that column); throws Error when empty.
  void sample(Batch& batch, Rng& rng) const;
  Batch make_batch(int64_t batch_size) const;

  int64_t size() const { return size_; }
  int64_t capacity() const { return capacity_; }
  // The stored transitions in insertion order, as a Dataset (episodes end at terminated or
  // truncated; e.g. for writing a medium-replay dataset).
  Dataset to_dataset() const;

  // The complete state (contents, insertion point), for checkpoints of online training: an
  // HDF5 file written to path.tmp and renamed. load() restores it exactly; the file must match
  // this buffer's capacity and dimensions (Error naming the file otherwise).
  void save(const std::string& path) const;
  void load(const std::string& path);

 private:
  int64_t capacity_, obs_dim_, act_dim_;
  int64_t size_ = 0, next_ = 0;
  std::vector<float> obs_, actions_, rewards_, next_obs_, costs_, returns_to_go_;
  std::vector<uint8_t> terminated_, truncated_;
};

}  // namespace stitch
