#include "envs/classic/cartpole.h"

#include <cmath>

#include "env/registry.h"

namespace stitch {

namespace {
// Fallen at s = [x, x_dot, theta, theta_dot] (the observation is s in float32): the cart past
// +-2.4 or the pole past +-12 degrees.
template <class T>
bool fallen(const T* s) {
  const double x = s[0], theta = s[2];
  return x < -CartPole::kXThreshold || x > CartPole::kXThreshold ||
         theta < -CartPole::kThetaThreshold || theta > CartPole::kThetaThreshold;
}
}  // namespace

CartPole::CartPole()
    : observation_space_(Space::box({static_cast<float>(-2 * kXThreshold), -kInf,
                                     static_cast<float>(-2 * kThetaThreshold), -kInf},
                                    {static_cast<float>(2 * kXThreshold), kInf,
                                     static_cast<float>(2 * kThetaThreshold), kInf})),
      action_space_(Space::discrete(2)) {}

std::vector<float> CartPole::observe() const {
  return {static_cast<float>(state_[0]), static_cast<float>(state_[1]),
          static_cast<float>(state_[2]), static_cast<float>(state_[3])};
}

std::vector<float> CartPole::do_reset(Rng& rng) {
  for (double& s : state_) s = rng.uniform(-0.05, 0.05);
  return observe();
}

StepResult CartPole::do_step(std::span<const float> action) {
  auto [x, x_dot, theta, theta_dot] = state_;
  const double force = action[0] == 1.0f ? kForceMag : -kForceMag;
  const double cos_theta = std::cos(theta), sin_theta = std::sin(theta);
  // Florian (2007), "Correct equations for the dynamics of the cart-pole system", as Gymnasium.
  const double temp = (force + kPoleMassLength * theta_dot * theta_dot * sin_theta) / kTotalMass;
  const double theta_acc = (kGravity * sin_theta - cos_theta * temp) /
                           (kLength * (4.0 / 3.0 - kMassPole * cos_theta * cos_theta / kTotalMass));
  const double x_acc = temp - kPoleMassLength * theta_acc * cos_theta / kTotalMass;
  // Gymnasium's default "euler" integrator: positions use the old velocities.
  x = x + kTau * x_dot;
  x_dot = x_dot + kTau * x_acc;
  theta = theta + kTau * theta_dot;
  theta_dot = theta_dot + kTau * theta_acc;
  state_ = {x, x_dot, theta, theta_dot};

  StepResult r;
  r.terminated = fallen(state_.data());
  r.reward = 1.0;
  r.obs = observe();
  return r;
}

namespace {

// Pushes toward where the pole is falling, with a little position and velocity feedback so the
// cart stays near the centre: a hand-tuned linear rule, enough to reach the 500-step limit.
class CartPoleBalance : public Policy {
 public:
  void act(std::span<const float> obs, Rng&, std::span<float> action) override {
    const double signal = 0.05 * obs[0] + 0.2 * obs[1] + 1.0 * obs[2] + 0.3 * obs[3];
    action[0] = signal > 0.0 ? 1.0f : 0.0f;
  }
};

}  // namespace

STITCH_REGISTER_ENV(cartpole,
                    {.id = "cartpole-v1",
                     .summary = "balance a pole on a cart, discrete push (Gymnasium CartPole-v1)",
                     .max_episode_steps = 500,
                     .reward_threshold = 475.0,
                     .make = [] { return std::make_unique<CartPole>(); },
                     .scripted_policy = [] { return std::make_unique<CartPoleBalance>(); },
                     .terminal = [](std::span<const float> obs) { return fallen(obs.data()); }});

}  // namespace stitch
