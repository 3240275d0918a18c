// The Algorithm interface every learner implements, and the algorithm registry.
//
// An Algorithm owns its networks, optimisers, step counter and random generator. `update` takes
// one gradient step on a minibatch; `act` maps (normalised) observations to actions without
// gradients; `save`/`load` carry the complete state, so that a run resumed from a checkpoint
// ends exactly where an uninterrupted run would (same machine and thread count).
//
// Registration is one line in the algorithm's own .cpp (STITCH_REGISTER_ALGORITHM); the config
// struct of each algorithm holds its paper's defaults with citations.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "algo/algo_config.h"
#include "algo/registry.h"
#include "core/config.h"
#include "data/sampler.h"
#include "deploy/policy.h"

namespace stitch {

using Metrics = std::map<std::string, double>;

// Tensor views over a Batch's buffers (torch::from_blob: no copy). [B, ...] float32.
struct TensorBatch {
  torch::Tensor observations, actions, rewards, next_observations, terminals, discounts;
  torch::Tensor next_actions, next_action_valid;  // undefined unless the sampler fills them
  torch::Tensor returns_to_go;  // [B] Monte-Carlo returns (Cal-QL); undefined unless filled
};
// The Batch must outlive the views.
TensorBatch as_tensors(Batch& batch);

class Algorithm {
 public:
  virtual ~Algorithm() = default;
  virtual std::string name() const = 0;
  // One gradient step; returns losses and diagnostics by name.
  virtual Metrics update(const TensorBatch& batch) = 0;
  // obs [B, obs_dim] -> actions [B, act_dim]; deterministic: the policy's mode.
  virtual torch::Tensor act(const torch::Tensor& obs, bool deterministic) = 0;
  // Complete state: networks, optimisers, step counter, random generator.
  virtual void save(torch::serialize::OutputArchive& archive) const;
  virtual void load(torch::serialize::InputArchive& archive);
  // Loads the state of another algorithm's checkpoint whose modules and optimisers this one
  // shares (by name and shape), for fine-tuning online: Cal-QL or WSRL from CQL. Parts the
  // checkpoint has and this algorithm does not are ignored.
  void adopt(torch::serialize::InputArchive& archive);
  // Every trainable module, by name (for checkpoints and NaN checks).
  virtual std::vector<std::pair<std::string, torch::nn::Module*>> modules() = 0;
  // libtorch optimisers, saved in checkpoints. Algorithms on the fused path keep their Adam
  // state in nn::FlatAdam modules, listed in modules(), and list only scalar optimisers here.
  virtual std::vector<std::pair<std::string, torch::optim::Optimizer*>> optimizers() = 0;
  // The deterministic action path as ReLU-MLP layers (weight [out, in], bias [out]), ending in
  // max_action * tanh: what `stitch export` writes for the deployable inference path.
  virtual std::vector<std::pair<torch::Tensor, torch::Tensor>> policy_layers() = 0;
  // The critics' Q(s, a), [members, B], differentiable with respect to obs [B, obs_dim] (as the
  // algorithm sees them: normalised where it trains on normalised ones) and actions [B, act_dim];
  // undefined for an algorithm without one (BC). For attacks on a trained agent (algo/attack.h).
  virtual torch::Tensor q_values(const torch::Tensor& obs, const torch::Tensor& actions) {
    (void)obs;
    (void)actions;
    return {};
  }

  int64_t steps() const { return steps_; }

 protected:
  explicit Algorithm(uint64_t seed);
  int64_t steps_ = 0;
  torch::Generator generator_;
  bool adopting_ = false;  // load() accepts another algorithm's name (adopt)  // all sampling
                           // inside updates draws from here
};

// Checks that `archive` holds, for every parameter and buffer of `module` and its children, a
// contiguous tensor of the same dtype and shape, before Module::load replaces them (Error
// naming `where` and the entry otherwise): a stored shape is never trusted.
void check_stored_shapes(torch::nn::Module& module, torch::serialize::InputArchive& archive,
                         const std::string& where);

// The algorithm's deterministic policy (policy_layers()) as a torch-free DeployedPolicy; pass
// the training-time observation normaliser (empty: none).
DeployedPolicy to_deployed_policy(Algorithm& algo, float max_action,
                                  std::vector<float> obs_mean = {},
                                  std::vector<float> obs_std = {});

}  // namespace stitch
