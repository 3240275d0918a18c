// acrobot-v1: Gymnasium's Acrobot-v1 (classic_control/acrobot.py), Sutton (1996), with the
// "book" dynamics and a single RK4 step of 0.2 s per env step.
//
// State: joint angles theta1, theta2 (radians, 0 = hanging down / links aligned) and their
// velocities. Observation [6] float32: cos th1, sin th1, cos th2, sin th2, th1_dot, th2_dot.
// Action Discrete(3): torque -1, 0, +1 on the second joint. Reward -1 per step, 0 on the
// terminating step. Terminates when the tip is higher than one link length above the base:
// -cos(th1) - cos(th1 + th2) > 1. Time limit 500 steps. Reset: each state variable
// ~ U(-0.1, 0.1), rounded to float32 as Gymnasium does.
#pragma once

#include <array>

#include "env/env.h"

namespace stitch {

class Acrobot : public Env {
 public:
  // Constants of Gymnasium's AcrobotEnv.
  static constexpr double kDt = 0.2;
  static constexpr double kLinkLength1 = 1.0;
  static constexpr double kLinkMass1 = 1.0;
  static constexpr double kLinkMass2 = 1.0;
  static constexpr double kLinkComPos1 = 0.5;
  static constexpr double kLinkComPos2 = 0.5;
  static constexpr double kLinkMoi = 1.0;
  static constexpr double kPi = 3.14159265358979323846;
  static constexpr double kMaxVel1 = 4 * kPi;
  static constexpr double kMaxVel2 = 9 * kPi;
  static constexpr double kGravity = 9.8;
  static constexpr std::array<double, 3> kTorques = {-1.0, 0.0, 1.0};

  Acrobot();
  std::string id() const override { return "acrobot-v1"; }
  const Space& observation_space() const override { return observation_space_; }
  const Space& action_space() const override { return action_space_; }

  // State [theta1, theta2, theta1_dot, theta2_dot] in float64.
  const std::array<double, 4>& state() const { return state_; }
  void set_state(const std::array<double, 4>& s) { state_ = s; }

  // Time derivative of the state under `torque` (the "book" equations).
  static std::array<double, 4> derivatives(const std::array<double, 4>& s, double torque);

 protected:
  std::vector<float> do_reset(Rng& rng) override;
  StepResult do_step(std::span<const float> action) override;

 private:
  std::vector<float> observe() const;

  Space observation_space_, action_space_;
  std::array<double, 4> state_{};
};

}  // namespace stitch
