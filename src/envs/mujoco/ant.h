// ant-v4: Gymnasium's Ant-v4 with its defaults (use_contact_forces = false).
//
// Observation [27]: qpos[2:15] (torso z, orientation quaternion, eight joint angles), then
// qvel [14]. Contact forces are not part of the v4 default observation, and the contact cost
// is 0. Action [8] in [-1, 1] (gear 150). Frame skip 5 at 0.01 s (RK4): dt = 0.05 s.
// Reward = x_velocity of the torso body + 1 (healthy) - 0.5 * |a|^2, where x_velocity is the
// change of the torso body's frame position (mjData.xpos, as Gymnasium's get_body_com reads it)
// over dt. Terminated when unhealthy: healthy means every qpos/qvel entry finite and torso
// z = qpos[2] in [0.2, 1.0]. Time limit 1000. Reset: qpos0 + U(-0.1, 0.1) on every qpos entry
// (quaternion included, as Gymnasium does), qvel 0.1 * N(0, 1).
#pragma once

#include "envs/mujoco/mujoco_env.h"

namespace stitch {

class Ant : public MujocoEnv {
 public:
  Ant();
  std::string id() const override { return "ant-v4"; }
  bool is_healthy() const { return is_healthy_state(); }
  bool is_healthy_state() const override;

 protected:
  std::vector<float> do_reset(Rng& rng) override;
  StepResult do_step(std::span<const float> action) override;
  std::vector<float> observe() const override;

 private:
  double x_position() const override;  // the torso body's frame x (mjData.xpos)
  int torso_body_ = -1;
};

}  // namespace stitch
