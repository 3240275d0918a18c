#include "envs/mujoco/half_cheetah.h"

#include <limits>

#include "env/registry.h"

namespace stitch {

// HalfCheetah-v4 constants (Gymnasium half_cheetah_v4.py defaults).
namespace {
constexpr double kNoClip = std::numeric_limits<double>::infinity();
constexpr double kForwardWeight = 1.0, kCtrlCostWeight = 0.1, kResetNoise = 0.1;
}  // namespace

HalfCheetah::HalfCheetah() : MujocoEnv("half_cheetah.xml", 5, 17) {}

std::vector<float> HalfCheetah::observe() const { return qpos_qvel_observation(1, kNoClip); }

std::vector<float> HalfCheetah::do_reset(Rng& rng) {
  reset_with_noise(rng, kResetNoise, /*normal_qvel=*/true);
  return observe();
}

StepResult HalfCheetah::do_step(std::span<const float> action) {
  return locomotion_step(
      action, {.forward = kForwardWeight, .healthy = 0.0, .ctrl_cost = kCtrlCostWeight}, false);
}

STITCH_REGISTER_ENV(halfcheetah,
                    {.id = "halfcheetah-v4",
                     .summary = "planar cheetah runner, MuJoCo (Gymnasium HalfCheetah-v4)",
                     .max_episode_steps = 1000,
                     .reward_threshold = 4800.0,
                     .make = [] { return std::make_unique<HalfCheetah>(); }});

}  // namespace stitch
