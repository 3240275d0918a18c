// A dependency-light deterministic policy for control loops: an MLP (ReLU between layers,
// max_action * tanh at the end) with the training-time observation normalisation folded in.
// No libtorch, no allocation per call; act() is safe to call from one thread at a time per
// DeployedPolicy (it uses two preallocated scratch buffers).
//
// File format ("stitch-policy-v1"): one JSON header line
//   {"format":"stitch-policy-v1","layers":[[in,out],...],"max_action":2.0,"normalize":true,...}
// followed by little-endian float32 arrays: obs_mean [obs], obs_std [obs] (when normalize),
// then per layer weight [in, out] (row i holds the weights from input i) and bias [out].
// Written by `stitch export` (src/deploy/export.h).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace stitch {

class DeployedPolicy {
 public:
  struct Layer {
    int64_t in = 0, out = 0;
    std::vector<float> weight;  // [in, out]
    std::vector<float> bias;    // [out]
  };

  DeployedPolicy(std::vector<Layer> layers, float max_action, std::vector<float> obs_mean = {},
                 std::vector<float> obs_std = {});
  // Reads a file written by `stitch export`; throws Error naming the file on any problem.
  static DeployedPolicy load(const std::string& path);
  void save(const std::string& path) const;

  int64_t obs_dim() const { return layers_.front().in; }
  int64_t act_dim() const { return layers_.back().out; }
  // obs [obs_dim] (raw, as the env returns it) -> action [act_dim].
  void act(std::span<const float> obs, std::span<float> action) const;

 private:
  std::vector<Layer> layers_;
  float max_action_;
  std::vector<float> obs_mean_, obs_std_;
  mutable std::vector<float> a_, b_;  // scratch, sized for the widest layer
};

class Policy;
// The deployed policy as an env Policy (env/policy.h), e.g. to collect a dataset with it.
std::unique_ptr<Policy> as_env_policy(DeployedPolicy policy);

}  // namespace stitch
