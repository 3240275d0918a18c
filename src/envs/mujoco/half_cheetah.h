// halfcheetah-v4: Gymnasium's HalfCheetah-v4.
//
// Observation [17]: qpos[1:9] (z, torso angle, six joint angles), then qvel [9] (not clipped).
// Action [6] in [-1, 1]. Frame skip 5 at 0.01 s (Euler): dt = 0.05 s.
// Reward = x_velocity - 0.1 * |a|^2. Never terminates; time limit 1000.
// Reset: qpos0 + U(-0.1, 0.1), qvel 0.1 * N(0, 1).
#pragma once

#include "envs/mujoco/mujoco_env.h"

namespace stitch {

class HalfCheetah : public MujocoEnv {
 public:
  HalfCheetah();
  std::string id() const override { return "halfcheetah-v4"; }

 protected:
  std::vector<float> do_reset(Rng& rng) override;
  StepResult do_step(std::span<const float> action) override;
  std::vector<float> observe() const override;
};

}  // namespace stitch
