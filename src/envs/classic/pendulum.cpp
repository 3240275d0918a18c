#include "envs/classic/pendulum.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "env/registry.h"

namespace stitch {

double angle_normalize(double x) {
  const double two_pi = 2.0 * std::numbers::pi;
  // Python's % takes the sign of the divisor; std::fmod takes the dividend's.
  double m = std::fmod(x + std::numbers::pi, two_pi);
  if (m < 0) m += two_pi;
  return m - std::numbers::pi;
}

Pendulum::Pendulum(PendulumConfig config)
    : config_(config),
      observation_space_(Space::box({-1.0f, -1.0f, -static_cast<float>(kMaxSpeed)},
                                    {1.0f, 1.0f, static_cast<float>(kMaxSpeed)})),
      action_space_(
          Space::box(1, -static_cast<float>(kMaxTorque), static_cast<float>(kMaxTorque))) {}

std::vector<float> Pendulum::observe() const {
  return {static_cast<float>(std::cos(theta_)), static_cast<float>(std::sin(theta_)),
          static_cast<float>(theta_dot_)};
}

std::vector<float> Pendulum::do_reset(Rng& rng) {
  theta_ = rng.uniform(-std::numbers::pi, std::numbers::pi);
  theta_dot_ = rng.uniform(-1.0, 1.0);
  return observe();
}

StepResult Pendulum::do_step(std::span<const float> action) {
  const double u = std::clamp(static_cast<double>(action[0]), -kMaxTorque, kMaxTorque);
  const double th = theta_, thdot = theta_dot_;
  const double costs =
      angle_normalize(th) * angle_normalize(th) + 0.1 * thdot * thdot + 0.001 * u * u;
  const double g = config_.g, m = kMass, l = kLength;
  double new_thdot = thdot + (3.0 * g / (2.0 * l) * std::sin(th) + 3.0 / (m * l * l) * u) * kDt;
  new_thdot = std::clamp(new_thdot, -kMaxSpeed, kMaxSpeed);
  theta_ = th + new_thdot * kDt;
  theta_dot_ = new_thdot;
  StepResult r;
  r.obs = observe();
  r.reward = -costs;
  return r;
}

namespace {

// Energy-based swing-up with a linear balance controller near the top.
//
// Pendulum's dynamics are theta_ddot = a sin(theta) + b u with a = 3g/(2l) = 15, b = 3/(ml^2) = 3.
// E = theta_dot^2 / 2 + a cos(theta) is conserved without torque (dE/dt = b u theta_dot) and equals
// a at rest upright. Far from the top, push with the velocity while E < a (pump energy in) and
// against it when E > a; near the top (|theta| < 0.6 rad and E close to a) apply the linear
// state feedback u = -(k_p theta + k_d theta_dot), gains chosen by pole placement on the
// linearisation theta_ddot = a theta + b u (closed-loop poles near -4 and -6).
class PendulumSwingUp : public Policy {
 public:
  void act(std::span<const float> obs, Rng&, std::span<float> action) override {
    const double theta = std::atan2(obs[1], obs[0]);
    const double theta_dot = obs[2];
    constexpr double a = 15.0, b = 3.0;
    const double energy = 0.5 * theta_dot * theta_dot + a * std::cos(theta);
    double u;
    if (std::abs(theta) < 0.6 && std::abs(energy - a) < 6.0) {
      // (s + 4)(s + 6) = s^2 + 10 s + 24 = s^2 + b k_d s + (b k_p - a)
      constexpr double kp = (24.0 + a) / b, kd = 10.0 / b;
      u = -(kp * theta + kd * theta_dot);
    } else {
      const double direction = theta_dot >= 0.0 ? 1.0 : -1.0;
      u = (energy < a ? 1.0 : -0.5) * Pendulum::kMaxTorque * direction;
    }
    action[0] = static_cast<float>(std::clamp(u, -Pendulum::kMaxTorque, Pendulum::kMaxTorque));
  }
};

}  // namespace

STITCH_REGISTER_ENV(pendulum,
                    {.id = "pendulum-v1",
                     .summary = "swing a pendulum up and hold it (Gymnasium Pendulum-v1)",
                     .max_episode_steps = 200,
                     .reward_threshold = 0.0,
                     .make = [] { return std::make_unique<Pendulum>(); },
                     .scripted_policy = [] { return std::make_unique<PendulumSwingUp>(); }});

}  // namespace stitch
