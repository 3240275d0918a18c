// cartpole-v1: Gymnasium's CartPole-v1 (classic_control/cartpole.py), Barto, Sutton & Anderson
// (1983) with Euler integration.
//
// Observation [4] float32: cart position x, cart velocity, pole angle theta (0 = upright,
// radians), pole angular velocity. Action Discrete(2): 0 pushes left, 1 pushes right (10 N).
// Reward +1 for every step, including the terminating one. Terminates when |x| > 2.4 or
// |theta| > 12 degrees; time limit 500 steps. Reset: each state variable ~ U(-0.05, 0.05).
#pragma once

#include <array>

#include "env/env.h"

namespace stitch {

class CartPole : public Env {
 public:
  // Constants of Gymnasium's CartPoleEnv.
  static constexpr double kGravity = 9.8;
  static constexpr double kMassCart = 1.0;
  static constexpr double kMassPole = 0.1;
  static constexpr double kTotalMass = kMassPole + kMassCart;
  static constexpr double kLength = 0.5;  // half the pole's length
  static constexpr double kPoleMassLength = kMassPole * kLength;
  static constexpr double kForceMag = 10.0;
  static constexpr double kTau = 0.02;  // seconds between updates
  static constexpr double kThetaThreshold = 12.0 * 2.0 * 3.14159265358979323846 / 360.0;
  static constexpr double kXThreshold = 2.4;

  CartPole();
  std::string id() const override { return "cartpole-v1"; }
  const Space& observation_space() const override { return observation_space_; }
  const Space& action_space() const override { return action_space_; }

  // State [x, x_dot, theta, theta_dot] in float64.
  const std::array<double, 4>& state() const { return state_; }
  void set_state(const std::array<double, 4>& s) { state_ = s; }

 protected:
  std::vector<float> do_reset(Rng& rng) override;
  StepResult do_step(std::span<const float> action) override;

 private:
  std::vector<float> observe() const;

  Space observation_space_, action_space_;
  std::array<double, 4> state_{};
};

}  // namespace stitch
