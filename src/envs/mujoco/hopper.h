// hopper-v4: Gymnasium's Hopper-v4 (Erez, Tassa & Todorov 2011 hopper; v4 definition).
//
// Observation [11]: qpos[1:6] (z, torso angle, thigh, leg, foot angles), then qvel [6] clipped
// to [-10, 10]. Action [3] in [-1, 1] (gear 200). Frame skip 4 at 0.002 s: dt = 0.008 s.
// Reward = x_velocity + 1 (healthy) - 1e-3 * |a|^2.
// Terminated when unhealthy: healthy means every entry of (qpos[2:], qvel) in (-100, 100),
// z = qpos[1] > 0.7, and torso angle qpos[2] in (-0.2, 0.2). Time limit 1000 (the registry's).
// Reset: qpos0 + U(-5e-3, 5e-3), qvel U(-5e-3, 5e-3).
#pragma once

#include "envs/mujoco/mujoco_env.h"

namespace stitch {

class Hopper : public MujocoEnv {
 public:
  Hopper();
  std::string id() const override { return "hopper-v4"; }
  bool is_healthy() const { return is_healthy_state(); }
  bool is_healthy_state() const override;

 protected:
  std::vector<float> do_reset(Rng& rng) override;
  StepResult do_step(std::span<const float> action) override;
  std::vector<float> observe() const override;
};

}  // namespace stitch
