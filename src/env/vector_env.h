// N envs stepped together, on a thread pool, into preallocated row-major batch buffers.
//
// Auto-reset ("same-step", as Stable-Baselines3 and Gymnasium < 1.0): when env i ends on a
// step (terminated or truncated), it is reset within that same step. Then
//   observations() row i   = the first observation of the NEW episode,
//   final_observations() row i = the last observation of the episode that ended (never lost),
//   terminated()/truncated()[i] say how it ended, rewards()[i] is that last step's reward.
// Rows of envs that did not end hold the next observation in observations(), and their
// final_observations() row is left unspecified. Each env keeps its own RNG: env i is reset
// with seed + i, later resets continue its stream, so results are bit-identical for any
// number of threads.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "env/env.h"
#include "env/registry.h"

namespace stitch {

class VectorEnv {
 public:
  // All envs must share observation and action dimensions. num_threads >= 1 (1: inline).
  VectorEnv(std::vector<std::unique_ptr<Env>> envs, int num_threads);
  // num_envs copies of registry env `id`.
  static VectorEnv make(const std::string& id, int num_envs, int num_threads,
                        const MakeEnvOptions& options = {});

  int64_t num_envs() const { return static_cast<int64_t>(envs_.size()); }
  int64_t obs_dim() const { return obs_dim_; }
  int64_t act_dim() const { return act_dim_; }
  Env& env(int64_t i) { return *envs_[i]; }

  // Resets env i with seed + i.
  void reset(uint64_t seed);
  // actions: [num_envs, act_dim] float32, row-major. Steps every env once (auto-reset above).
  void step(std::span<const float> actions);

  std::span<const float> observations() const { return obs_; }              // [N, obs_dim]
  std::span<const float> final_observations() const { return final_obs_; }  // [N, obs_dim]
  std::span<const double> rewards() const { return rewards_; }              // [N]
  std::span<const double> costs() const { return costs_; }                  // [N]
  std::span<const uint8_t> terminated() const { return terminated_; }       // [N] 0/1
  std::span<const uint8_t> truncated() const { return truncated_; }         // [N] 0/1
  // Completed episodes' returns since the last reset(seed) (env order within a step).
  const std::vector<double>& finished_returns() const { return finished_returns_; }

 private:
  std::vector<std::unique_ptr<Env>> envs_;
  ThreadPool pool_;
  int64_t obs_dim_ = 0, act_dim_ = 0;
  bool started_ = false;
  std::vector<float> obs_, final_obs_;
  std::vector<double> rewards_, costs_, running_returns_, finished_returns_;
  std::vector<uint8_t> terminated_, truncated_;
};

}  // namespace stitch
