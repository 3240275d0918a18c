// pendulum-v1: Gymnasium's Pendulum-v1 (classic_control/pendulum.py).
//
// State: angle theta (0 = upright, radians) and angular velocity theta_dot.
// Observation [3] float32: cos(theta), sin(theta), theta_dot; bounds [-1,-1,-8]..[1,1,8].
// Action [1]: torque in [-2, 2]. Reward -(norm(theta)^2 + 0.1 theta_dot^2 + 0.001 u^2), computed
// on the state before the step. Never terminates; time limit 200 steps (the registry's).
// Reset: theta ~ U(-pi, pi), theta_dot ~ U(-1, 1).
#pragma once

#include "env/env.h"

namespace stitch {

struct PendulumConfig {
  double g = 10.0;  // gravity; Gymnasium's default (Pendulum-v1 `g` kwarg)
};

class Pendulum : public Env {
 public:
  // Constants of Gymnasium's PendulumEnv.
  static constexpr double kMaxSpeed = 8.0;
  static constexpr double kMaxTorque = 2.0;
  static constexpr double kDt = 0.05;
  static constexpr double kMass = 1.0;
  static constexpr double kLength = 1.0;

  explicit Pendulum(PendulumConfig config = {});
  std::string id() const override { return "pendulum-v1"; }
  const Space& observation_space() const override { return observation_space_; }
  const Space& action_space() const override { return action_space_; }

  // For tests and scripted controllers: the exact internal state.
  double theta() const { return theta_; }
  double theta_dot() const { return theta_dot_; }
  void set_state(double theta, double theta_dot) {
    theta_ = theta;
    theta_dot_ = theta_dot;
  }

 protected:
  std::vector<float> do_reset(Rng& rng) override;
  StepResult do_step(std::span<const float> action) override;

 private:
  std::vector<float> observe() const;

  PendulumConfig config_;
  Space observation_space_, action_space_;
  double theta_ = 0.0, theta_dot_ = 0.0;
};

// Wraps an angle into [-pi, pi) as Gymnasium's angle_normalize does.
double angle_normalize(double x);

}  // namespace stitch
