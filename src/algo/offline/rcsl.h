// Return-conditioned supervised learning (RCSL; "RvS", Emmons et al. 2022): a deterministic
// policy a = pi(s, g) regressed on the dataset's actions (MSE), where g is the undiscounted
// return still to collect from s in its episode. At evaluation g starts at the target (the
// data's best episode return unless `target_return` is set) and drops by each reward received
// (algo/return_conditioned.h). MBRCSL (model_based/mbrcsl.cpp) trains the same policy on model
// rollouts; its config extends this one.
//
// Defaults: MBRCSL's RCSL policy for Point Maze (the authors' code, docs/reference-
// implementations.md C41): hidden 1024 x 1024 ReLU, Adam lr 5e-5 with weight decay 0.1 (L2, as
// torch.optim.Adam's), batch 256. Differences, named: the action is bounded by max_action *
// tanh (every stitch policy is; theirs is linear), the last layer keeps stitch's default
// initialisation (theirs: xavier, gain 0.01), training runs `steps` minibatches and keeps the
// last weights (theirs: 100 epochs with a 10% holdout choosing the weights), and g enters the
// network divided by the data's largest absolute episode return (theirs: raw).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "algo/algo_config.h"
#include "algo/registry.h"

namespace stitch {

class Algorithm;

struct RcslConfig : AlgoConfig {
  std::string name = "rcsl";  // the algorithm the keys belong to, for messages
  double lr = 5e-5;
  double weight_decay = 0.1;
  int64_t hidden = 1024;
  // "max": the best complete episode return of the training data; or a number (in the env's
  // reward units, whatever reward_scaling does to the training rewards).
  std::string target_return = "max";
  void describe(ConfigFields& f) override;
  void validate() const override;
};

// The RCSL learner under `name` ("rcsl", or "mbrcsl" for the same policy on model data).
std::unique_ptr<Algorithm> make_rcsl(const RcslConfig& config, const AlgoDims& dims, uint64_t seed,
                                     std::string name);

}  // namespace stitch
