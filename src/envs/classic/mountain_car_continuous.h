// mountaincarcontinuous-v0: Gymnasium's MountainCarContinuous-v0
// (classic_control/continuous_mountain_car.py), Moore (1990).
//
// Observation [2] float32: position in [-1.2, 0.6], velocity in [-0.07, 0.07].
// Action [1]: force in [-1, 1]. Reward: -0.1 * action^2 each step, +100 on reaching the goal
// (position >= 0.45 with velocity >= 0), which terminates. Time limit 999 steps.
// Reset: position ~ U(-0.6, -0.4), velocity 0.
// As in Gymnasium, the state is stored in float32 after every step (the reset state is
// float64 until the first step); each update is computed in float64.
#pragma once

#include "env/env.h"

namespace stitch {

class MountainCarContinuous : public Env {
 public:
  // Constants of Gymnasium's Continuous_MountainCarEnv.
  static constexpr double kMinAction = -1.0;
  static constexpr double kMaxAction = 1.0;
  static constexpr double kMinPosition = -1.2;
  static constexpr double kMaxPosition = 0.6;
  static constexpr double kMaxSpeed = 0.07;
  static constexpr double kGoalPosition = 0.45;
  static constexpr double kGoalVelocity = 0.0;
  static constexpr double kPower = 0.0015;

  MountainCarContinuous();
  std::string id() const override { return "mountaincarcontinuous-v0"; }
  const Space& observation_space() const override { return observation_space_; }
  const Space& action_space() const override { return action_space_; }

  double position() const { return position_; }
  double velocity() const { return velocity_; }
  void set_state(double position, double velocity) {
    position_ = position;
    velocity_ = velocity;
  }

 protected:
  std::vector<float> do_reset(Rng& rng) override;
  StepResult do_step(std::span<const float> action) override;

 private:
  Space observation_space_, action_space_;
  double position_ = 0.0, velocity_ = 0.0;
};

}  // namespace stitch
