#include "envs/classic/acrobot.h"

#include <algorithm>
#include <cmath>

#include "env/registry.h"

namespace stitch {
namespace {

// Wraps x into [m, M] by whole periods, as Gymnasium's wrap().
double wrap(double x, double m, double M) {
  const double diff = M - m;
  while (x > M) x -= diff;
  while (x < m) x += diff;
  return x;
}

}  // namespace

Acrobot::Acrobot()
    : observation_space_(Space::box(
          {-1.0f, -1.0f, -1.0f, -1.0f, static_cast<float>(-kMaxVel1),
           static_cast<float>(-kMaxVel2)},
          {1.0f, 1.0f, 1.0f, 1.0f, static_cast<float>(kMaxVel1), static_cast<float>(kMaxVel2)})),
      action_space_(Space::discrete(3)) {}

std::vector<float> Acrobot::observe() const {
  const auto& s = state_;
  return {static_cast<float>(std::cos(s[0])), static_cast<float>(std::sin(s[0])),
          static_cast<float>(std::cos(s[1])), static_cast<float>(std::sin(s[1])),
          static_cast<float>(s[2]),           static_cast<float>(s[3])};
}

std::vector<float> Acrobot::do_reset(Rng& rng) {
  for (double& s : state_) s = static_cast<float>(rng.uniform(-0.1, 0.1));
  return observe();
}

std::array<double, 4> Acrobot::derivatives(const std::array<double, 4>& s, double a) {
  constexpr double m1 = kLinkMass1, m2 = kLinkMass2, l1 = kLinkLength1;
  constexpr double lc1 = kLinkComPos1, lc2 = kLinkComPos2, I1 = kLinkMoi, I2 = kLinkMoi;
  constexpr double g = kGravity;
  const double theta1 = s[0], theta2 = s[1], dtheta1 = s[2], dtheta2 = s[3];
  const double d1 =
      m1 * lc1 * lc1 + m2 * (l1 * l1 + lc2 * lc2 + 2 * l1 * lc2 * std::cos(theta2)) + I1 + I2;
  const double d2 = m2 * (lc2 * lc2 + l1 * lc2 * std::cos(theta2)) + I2;
  const double phi2 = m2 * lc2 * g * std::cos(theta1 + theta2 - kPi / 2.0);
  const double phi1 = -m2 * l1 * lc2 * dtheta2 * dtheta2 * std::sin(theta2) -
                      2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * std::sin(theta2) +
                      (m1 * lc1 + m2 * l1) * g * std::cos(theta1 - kPi / 2.0) + phi2;
  const double ddtheta2 =
      (a + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta1 * dtheta1 * std::sin(theta2) - phi2) /
      (m2 * lc2 * lc2 + I2 - d2 * d2 / d1);
  const double ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
  return {dtheta1, dtheta2, ddtheta1, ddtheta2};
}

StepResult Acrobot::do_step(std::span<const float> action) {
  const double torque = kTorques[static_cast<size_t>(action[0])];
  // One classical RK4 step over [0, dt] (Gymnasium's rk4 with t = [0, dt]).
  const auto& y = state_;
  auto axpy = [](const std::array<double, 4>& base, double h, const std::array<double, 4>& k) {
    return std::array<double, 4>{base[0] + h * k[0], base[1] + h * k[1], base[2] + h * k[2],
                                 base[3] + h * k[3]};
  };
  const double dt = kDt, dt2 = kDt / 2.0;
  const auto k1 = derivatives(y, torque);
  const auto k2 = derivatives(axpy(y, dt2, k1), torque);
  const auto k3 = derivatives(axpy(y, dt2, k2), torque);
  const auto k4 = derivatives(axpy(y, dt, k3), torque);
  std::array<double, 4> ns;
  for (int i = 0; i < 4; ++i) ns[i] = y[i] + dt / 6.0 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
  ns[0] = wrap(ns[0], -kPi, kPi);
  ns[1] = wrap(ns[1], -kPi, kPi);
  ns[2] = std::clamp(ns[2], -kMaxVel1, kMaxVel1);
  ns[3] = std::clamp(ns[3], -kMaxVel2, kMaxVel2);
  state_ = ns;

  StepResult r;
  r.terminated = -std::cos(ns[0]) - std::cos(ns[1] + ns[0]) > 1.0;
  r.reward = r.terminated ? 0.0 : -1.0;
  r.obs = observe();
  return r;
}

namespace {

// Energy pumping: torque in the direction the second joint is already moving (bang-bang on
// the sign of theta2_dot), which feeds energy into the swing until the tip clears the bar,
// typically in 70-100 steps. (Torque along theta1_dot instead never gets there.)
class AcrobotPump : public Policy {
 public:
  void act(std::span<const float> obs, Rng&, std::span<float> action) override {
    const float theta2_dot = obs[5];
    action[0] = theta2_dot >= 0.0f ? 2.0f : 0.0f;  // index 2: torque +1, index 0: torque -1
  }
};

}  // namespace

STITCH_REGISTER_ENV(acrobot, {.id = "acrobot-v1",
                              .summary = "swing a two-link arm's tip above a bar (Gymnasium "
                                         "Acrobot-v1)",
                              .max_episode_steps = 500,
                              .reward_threshold = -100.0,
                              .make = [] { return std::make_unique<Acrobot>(); },
                              .scripted_policy = [] { return std::make_unique<AcrobotPump>(); },
                              // The step's rule, -cos(t1) - cos(t1 + t2) > 1, on the observation
                              // [cos t1, sin t1, cos t2, sin t2, ...] (the step keeps Gymnasium's
                              // form on the angles).
                              .terminal =
                                  [](std::span<const float> o) {
                                    const double c1 = o[0], s1 = o[1], c2 = o[2], s2 = o[3];
                                    return -c1 - (c1 * c2 - s1 * s2) > 1.0;
                                  }});

}  // namespace stitch
