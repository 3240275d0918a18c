// Streaming agents (Elsayed, Vasan & Mahmood 2024, "Streaming Deep Reinforcement Learning
// Finally Works", arXiv:2410.14606): learn from each transition once, as it arrives, with no
// replay buffer and no batches. Torch-free: the networks and ObGD are src/nn/stream_mlp.h.
//
// The streaming loop (stream_loop.cpp) owns the env and the paper's input pipeline (Sec. 4 and
// its public code's wrappers), applied in this order to what the agent sees:
//   - observation normalisation: running mean and sample variance (Welford), updated with
//     every observation (reset and step) before it is normalised, never frozen during
//     training: x' = (x - mean) / sqrt(var + 1e-8);
//   - reward scaling: a discounted return trace u <- gamma * u * (1 - done) + r, its running
//     sample variance, r' = r / sqrt(var(u) + 1e-8) (no mean subtraction);
//   - a time feature appended to the normalised observation: -0.5 + t / T at step t of an
//     episode of time limit T (Pardo et al. 2018, "Time limits in RL"; the paper's AddTimeInfo).
//     The public code appends the value of the previous step, so its first two observations
//     both read -0.5; here the feature is exactly the elapsed fraction.
//
// Deviation from the public code, on purpose: a time-out (truncated, not terminated) ends the
// episode and resets the traces, but the TD target still bootstraps from the final observation,
// as a time limit is not part of the task (Pardo et al. 2018). The public code stops
// bootstrapping at time-outs too.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "algo/algo_config.h"
#include "algo/registry.h"
#include "core/rng.h"
#include "core/running_stats.h"
#include "nn/stream_mlp.h"

namespace stitch {

// One transition as the agent sees it: normalised features (with the time feature when on), the
// action it chose and the scaled reward.
struct StreamTransition {
  std::span<const float> obs, action, next_obs;
  double reward = 0.0;
  bool terminated = false;
  bool truncated = false;
};

// What one update did, for the logs.
struct StreamUpdateInfo {
  double delta = 0.0;             // TD error
  double step_size = 0.0;         // ObGD's effective step of the value (or Q) network
  double policy_step_size = 0.0;  // ... of the policy network (actor-critic only)
};

class StreamAgent {
 public:
  virtual ~StreamAgent() = default;
  // Chooses an action: `features` as above, `raw_obs` as the env returned it (for a scripted
  // behaviour policy). Discrete actions are written as one float holding the index.
  virtual void act(std::span<const float> features, std::span<const float> raw_obs,
                   bool deterministic, std::span<float> action) = 0;
  // One update from one transition; the transition is forgotten afterwards.
  virtual StreamUpdateInfo update(const StreamTransition& t) = 0;
  // Called once at the end of each training episode; per-episode diagnostics (may be empty).
  virtual std::map<std::string, double> end_episode() { return {}; }
  // Complete state (networks, traces, counters, random generator), exactly restorable.
  virtual nlohmann::json state() const = 0;
  virtual void set_state(const nlohmann::json& state) = 0;
  // Every network's parameters by name (NaN checks).
  virtual std::vector<std::pair<std::string, std::span<const float>>> parameters() const = 0;
};

// Hyperparameters every streaming agent shares; defaults are the paper's (Table 3 and the public
// code's command-line defaults).
struct StreamConfig : AlgoConfig {
  int64_t hidden = 0;         // hidden width; 0: 32 for up to 8 observation dims, else 128
  int64_t hidden_layers = 2;  // the paper's networks have two hidden layers
  double lr = 1.0;            // ObGD's alpha
  double gamma = 0.99;
  double lambda = 0.8;
  double kappa = 2.0;     // ObGD's kappa for the value (or Q) network
  double sparsity = 0.9;  // fraction of each unit's fan-in zeroed at initialisation
  bool normalize_observations = true;
  bool scale_rewards = true;
  bool time_feature = true;

  void describe(ConfigFields& f) override;  // every key with its range
  // The hidden width for observations of obs_dim values (resolving hidden = 0).
  int64_t width(int64_t obs_dim) const;
  std::vector<int64_t> hidden_sizes(int64_t obs_dim) const;
  nn::ObGDConfig obgd(double kappa_value) const { return {lr, gamma, lambda, kappa_value}; }
};

// The input pipeline above, with its state (checkpointed with the run).
class StreamFeatures {
 public:
  StreamFeatures() = default;
  StreamFeatures(int64_t obs_dim, const StreamConfig& config, int64_t time_limit);

  int64_t feature_dim() const { return obs_dim_ + (time_feature_ ? 1 : 0); }
  // Normalises `obs` (updating the statistics when `update`) into `out`, appending the time
  // feature for step t of the episode.
  void observe(std::span<const float> obs, int64_t t, bool update, std::vector<float>& out);
  // Scales one reward, updating the return trace and its statistics.
  double scale_reward(double reward, bool done);

  nlohmann::json state() const;
  void set_state(const nlohmann::json& state);

 private:
  int64_t obs_dim_ = 0;
  bool normalize_ = true, scale_ = true, time_feature_ = true;
  double gamma_ = 0.99;
  int64_t time_limit_ = 0;
  RunningMeanVar obs_stats_, return_stats_;
  double return_trace_ = 0.0;
};

// A network with its ObGD optimiser and scratch buffers: what every agent is built from.
struct StreamNetwork {
  nn::StreamMlp net;
  nn::ObGD optimizer;
  nn::StreamMlp::Tape tape;     // the forward pass that update() differentiates
  nn::StreamMlp::Tape scratch;  // other forward passes (next state, acting)

  StreamNetwork() = default;
  StreamNetwork(int64_t in, std::vector<int64_t> hidden, int64_t out, nn::ObGDConfig obgd,
                double sparsity, Rng& rng);
  // Backpropagates grad_out through `tape` into the eligibility trace, then takes one ObGD
  // step; returns the step size.
  double learn(std::span<const float> grad_out, double delta, bool reset);
  nlohmann::json state() const;
  void set_state(const nlohmann::json& state, const char* name);
};

// Checkpoint helpers for agent state: float buffers, and the Rng.
nlohmann::json floats_to_json(std::span<const float> values);
void floats_from_json(const nlohmann::json& j, std::span<float> out, const char* what);
nlohmann::json rng_to_json(const Rng& rng);
void rng_from_json(const nlohmann::json& j, Rng& rng);

}  // namespace stitch
