// walker2d-v4: Gymnasium's Walker2d-v4.
//
// Observation [17]: qpos[1:9] (z, torso angle, six joint angles), then qvel [9] clipped to
// [-10, 10]. Action [6] in [-1, 1] (gear 100). Frame skip 4 at 0.002 s: dt = 0.008 s.
// Reward = x_velocity + 1 (healthy) - 1e-3 * |a|^2.
// Terminated when unhealthy: healthy means z = qpos[1] in (0.8, 2.0) and torso angle qpos[2]
// in (-1, 1). Time limit 1000. Reset: qpos0 + U(-5e-3, 5e-3), qvel U(-5e-3, 5e-3).
#pragma once

#include "envs/mujoco/mujoco_env.h"

namespace stitch {

class Walker2d : public MujocoEnv {
 public:
  Walker2d();
  std::string id() const override { return "walker2d-v4"; }
  bool is_healthy() const { return is_healthy_state(); }
  bool is_healthy_state() const override;

 protected:
  std::vector<float> do_reset(Rng& rng) override;
  StepResult do_step(std::span<const float> action) override;
  std::vector<float> observe() const override;
};

}  // namespace stitch
