#include "envs/mujoco/walker2d.h"

#include <algorithm>

#include "env/registry.h"

namespace stitch {

// Walker2d-v4 constants (Gymnasium walker2d_v4.py defaults).
namespace {
constexpr double kForwardWeight = 1.0, kCtrlCostWeight = 1e-3, kHealthyReward = 1.0;
constexpr double kMinZ = 0.8, kMaxZ = 2.0, kAngleLimit = 1.0, kResetNoise = 5e-3;
}  // namespace

Walker2d::Walker2d() : MujocoEnv("walker2d.xml", 4, 17) {}

bool Walker2d::is_healthy() const {
  const auto q = qpos();
  return q[1] > kMinZ && q[1] < kMaxZ && q[2] > -kAngleLimit && q[2] < kAngleLimit;
}

std::vector<float> Walker2d::observe() const {
  const auto q = qpos(), v = qvel();
  std::vector<float> obs;
  obs.reserve(17);
  for (size_t i = 1; i < q.size(); ++i) obs.push_back(static_cast<float>(q[i]));
  for (double x : v) obs.push_back(static_cast<float>(std::clamp(x, -10.0, 10.0)));
  return obs;
}

std::vector<float> Walker2d::do_reset(Rng& rng) {
  reset_with_noise(rng, kResetNoise, /*normal_qvel=*/false);
  return observe();
}

StepResult Walker2d::do_step(std::span<const float> action) {
  const double x_before = qpos()[0];
  if (!simulate(action)) return unstable_step_result();
  terms_.x_velocity = (qpos()[0] - x_before) / dt();
  terms_.forward = kForwardWeight * terms_.x_velocity;
  terms_.healthy = kHealthyReward;
  terms_.ctrl_cost = kCtrlCostWeight * sum_squares(action);
  terms_.contact_cost = 0.0;
  StepResult r;
  r.obs = observe();
  r.reward = terms_.total();
  r.terminated = !is_healthy();
  return r;
}

STITCH_REGISTER_ENV(walker2d, {.id = "walker2d-v4",
                               .summary = "two-legged walker, MuJoCo (Gymnasium Walker2d-v4)",
                               .max_episode_steps = 1000,
                               .make = [] { return std::make_unique<Walker2d>(); }});

}  // namespace stitch
