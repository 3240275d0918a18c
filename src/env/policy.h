// Policies that drive an Env without learning: the uniform random policy and the scripted
// (hand-designed) controllers that built-in envs provide. Learned policies live in src/algo.
#pragma once

#include <memory>
#include <span>

#include "core/rng.h"
#include "env/space.h"

namespace stitch {

class Policy {
 public:
  virtual ~Policy() = default;
  // Called at the start of each episode (for policies with internal state).
  virtual void reset() {}
  // Writes the action for `obs` into `action` ([act_dim] floats). Any randomness comes from
  // `rng`, so a seeded rng makes the policy reproducible.
  virtual void act(std::span<const float> obs, Rng& rng, std::span<float> action) = 0;
  // Called after each step with the reward the last action earned (a return-conditioned policy
  // counts its target return down by it).
  virtual void observe_reward(double reward) { (void)reward; }
};

// Samples uniformly from `action_space` (which must be bounded).
std::unique_ptr<Policy> make_random_policy(const Space& action_space);

}  // namespace stitch
