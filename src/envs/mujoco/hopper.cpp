#include "envs/mujoco/hopper.h"

#include "env/registry.h"

namespace stitch {

// Hopper-v4 constants (Gymnasium hopper_v4.py defaults).
namespace {
constexpr double kForwardWeight = 1.0, kCtrlCostWeight = 1e-3, kHealthyReward = 1.0;
constexpr double kStateLimit = 100.0, kMinZ = 0.7, kAngleLimit = 0.2, kResetNoise = 5e-3;
}  // namespace

Hopper::Hopper() : MujocoEnv("hopper.xml", 4, 11) {}

bool Hopper::is_healthy_state() const {
  const auto q = qpos(), v = qvel();
  for (size_t i = 2; i < q.size(); ++i) {
    if (!(q[i] > -kStateLimit && q[i] < kStateLimit)) return false;
  }
  for (double x : v) {
    if (!(x > -kStateLimit && x < kStateLimit)) return false;
  }
  return q[1] > kMinZ && q[2] > -kAngleLimit && q[2] < kAngleLimit;
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

STITCH_REGISTER_ENV(hopper, {.id = "hopper-v4",
                             .summary = "one-legged hopper, MuJoCo (Gymnasium Hopper-v4)",
                             .max_episode_steps = 1000,
                             .reward_threshold = 3800.0,
                             .make = [] { return std::make_unique<Hopper>(); }});

}  // namespace stitch
