#include "envs/mujoco/hopper.h"

#include "env/registry.h"

namespace stitch {

// Hopper-v4 constants (Gymnasium hopper_v4.py defaults).
namespace {
constexpr double kForwardWeight = 1.0, kCtrlCostWeight = 1e-3, kHealthyReward = 1.0;
constexpr double kStateLimit = 100.0, kMinZ = 0.7, kAngleLimit = 0.2, kResetNoise = 5e-3;
// Healthy at s = [qpos[1:], qvel]: every entry of s[1:] in (-100, 100), z = s[0] > 0.7, torso
// angle s[1] in (-0.2, 0.2). The env reads it from its state, `terminal` from the observation
// (the same vector with qvel clipped to [-10, 10]).
template <class T>
bool healthy(std::span<const T> s) {
  for (size_t i = 1; i < s.size(); ++i) {
    if (!(s[i] > -kStateLimit && s[i] < kStateLimit)) return false;
  }
  return s[0] > kMinZ && s[1] > -kAngleLimit && s[1] < kAngleLimit;
}
}  // namespace

Hopper::Hopper() : MujocoEnv("hopper.xml", 4, 11) {}

bool Hopper::is_healthy_state() const {
  const std::vector<double> s = qpos_qvel_state(1);
  return healthy<double>(s);
}

std::vector<float> Hopper::observe() const { return qpos_qvel_observation(1, 10.0); }

std::vector<float> Hopper::do_reset(Rng& rng) {
  reset_with_noise(rng, kResetNoise, /*normal_qvel=*/false);
  return observe();
}

StepResult Hopper::do_step(std::span<const float> action) {
  return locomotion_step(
      action, {.forward = kForwardWeight, .healthy = kHealthyReward, .ctrl_cost = kCtrlCostWeight},
      true);
}

STITCH_REGISTER_ENV(hopper,
                    {.id = "hopper-v4",
                     .summary = "one-legged hopper, MuJoCo (Gymnasium Hopper-v4)",
                     .max_episode_steps = 1000,
                     .reward_threshold = 3800.0,
                     .make = [] { return std::make_unique<Hopper>(); },
                     .terminal = [](std::span<const float> obs) { return !healthy<float>(obs); }});

}  // namespace stitch
