// Small envs for testing the Env machinery itself.
#pragma once

#include "env/env.h"

namespace stitch::testing {

// Observation [2]: the step count and the last action; terminates when the action is >= 0.9.
// The initial observation draws one uniform number from the env's RNG (to test seeding).
class CounterEnv : public Env {
 public:
  std::string id() const override { return "counter-v0"; }
  const Space& observation_space() const override { return obs_; }
  const Space& action_space() const override { return act_; }

 protected:
  std::vector<float> do_reset(Rng& rng) override {
    count_ = 0;
    return {0.0f, static_cast<float>(rng.uniform())};
  }
  StepResult do_step(std::span<const float> action) override {
    ++count_;
    StepResult r;
    r.obs = {static_cast<float>(count_), action[0]};
    r.reward = action[0];
    r.cost = 0.5;
    r.terminated = action[0] >= 0.9f;
    return r;
  }

 private:
  Space obs_ = Space::box(2, -kInf, kInf);
  Space act_ = Space::box({-1.0f}, {1.0f});
  int count_ = 0;
};

}  // namespace stitch::testing
