#include "envs/mujoco/walker2d.h"

#include "env/registry.h"

namespace stitch {

// Walker2d-v4 constants (Gymnasium walker2d_v4.py defaults).
namespace {
constexpr double kForwardWeight = 1.0, kCtrlCostWeight = 1e-3, kHealthyReward = 1.0;
constexpr double kMinZ = 0.8, kMaxZ = 2.0, kAngleLimit = 1.0, kResetNoise = 5e-3;
// Healthy at s = [qpos[1:], qvel] (the observation, with qvel clipped: the rule does not read it):
// z = s[0] in (0.8, 2.0) and torso angle s[1] in (-1, 1).
template <class T>
bool healthy(std::span<const T> s) {
  return s[0] > kMinZ && s[0] < kMaxZ && s[1] > -kAngleLimit && s[1] < kAngleLimit;
}
}  // namespace

Walker2d::Walker2d() : MujocoEnv("walker2d.xml", 4, 17) {}

bool Walker2d::is_healthy_state() const {
  const std::vector<double> s = qpos_qvel_state(1);
  return healthy<double>(s);
}

std::vector<float> Walker2d::observe() const { return qpos_qvel_observation(1, 10.0); }

std::vector<float> Walker2d::do_reset(Rng& rng) {
  reset_with_noise(rng, kResetNoise, /*normal_qvel=*/false);
  return observe();
}

StepResult Walker2d::do_step(std::span<const float> action) {
  return locomotion_step(
      action, {.forward = kForwardWeight, .healthy = kHealthyReward, .ctrl_cost = kCtrlCostWeight},
      true);
}

STITCH_REGISTER_ENV(walker2d,
                    {.id = "walker2d-v4",
                     .summary = "two-legged walker, MuJoCo (Gymnasium Walker2d-v4)",
                     .max_episode_steps = 1000,
                     .make = [] { return std::make_unique<Walker2d>(); },
                     .terminal = [](std::span<const float> obs) { return !healthy<float>(obs); }});

}  // namespace stitch
