#include "envs/mujoco/half_cheetah.h"

#include "env/registry.h"

namespace stitch {

// HalfCheetah-v4 constants (Gymnasium half_cheetah_v4.py defaults).
namespace {
constexpr double kForwardWeight = 1.0, kCtrlCostWeight = 0.1, kResetNoise = 0.1;
}  // namespace

HalfCheetah::HalfCheetah() : MujocoEnv("half_cheetah.xml", 5, 17) {}

std::vector<float> HalfCheetah::observe() const {
  const auto q = qpos(), v = qvel();
  std::vector<float> obs;
  obs.reserve(17);
  for (size_t i = 1; i < q.size(); ++i) obs.push_back(static_cast<float>(q[i]));
  for (double x : v) obs.push_back(static_cast<float>(x));
  return obs;
}

std::vector<float> HalfCheetah::do_reset(Rng& rng) {
  reset_with_noise(rng, kResetNoise, /*normal_qvel=*/true);
  return observe();
}

StepResult HalfCheetah::do_step(std::span<const float> action) {
  const double x_before = qpos()[0];
  if (!simulate(action)) return unstable_step_result();
  terms_.x_velocity = (qpos()[0] - x_before) / dt();
  terms_.forward = kForwardWeight * terms_.x_velocity;
  terms_.healthy = 0.0;
  terms_.ctrl_cost = kCtrlCostWeight * sum_squares(action);
  terms_.contact_cost = 0.0;
  StepResult r;
  r.obs = observe();
  r.reward = terms_.total();
  return r;
}

STITCH_REGISTER_ENV(halfcheetah, {.id = "halfcheetah-v4",
                                  .summary = "planar cheetah runner, MuJoCo (Gymnasium HalfCheetah-v4)",
                                  .max_episode_steps = 1000,
                                  .reward_threshold = 4800.0,
                                  .make = [] { return std::make_unique<HalfCheetah>(); }});

}  // namespace stitch
