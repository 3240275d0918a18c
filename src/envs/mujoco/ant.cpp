#include "envs/mujoco/ant.h"

#include <mujoco/mujoco.h>

#include <cmath>

#include "core/error.h"
#include "env/registry.h"

namespace stitch {

// Ant-v4 constants (Gymnasium ant_v4.py defaults).
namespace {
constexpr double kCtrlCostWeight = 0.5, kHealthyReward = 1.0;
constexpr double kMinZ = 0.2, kMaxZ = 1.0, kResetNoise = 0.1;
}  // namespace

Ant::Ant() : MujocoEnv("ant.xml", 5, 27) {
  torso_body_ = mj_name2id(model(), mjOBJ_BODY, "torso");
  STITCH_CHECK(torso_body_ >= 0, "ant.xml has no body named torso");
}

double Ant::torso_x() const { return data()->xpos[3 * torso_body_]; }

bool Ant::is_healthy() const {
  for (double x : qpos()) {
    if (!std::isfinite(x)) return false;
  }
  for (double x : qvel()) {
    if (!std::isfinite(x)) return false;
  }
  const double z = qpos()[2];
  return z >= kMinZ && z <= kMaxZ;
}

std::vector<float> Ant::observe() const {
  const auto q = qpos(), v = qvel();
  std::vector<float> obs;
  obs.reserve(27);
  for (size_t i = 2; i < q.size(); ++i) obs.push_back(static_cast<float>(q[i]));
  for (double x : v) obs.push_back(static_cast<float>(x));
  return obs;
}

std::vector<float> Ant::do_reset(Rng& rng) {
  reset_with_noise(rng, kResetNoise, /*normal_qvel=*/true);
  return observe();
}

StepResult Ant::do_step(std::span<const float> action) {
  const double x_before = torso_x();
  if (!simulate(action)) return unstable_step_result();
  terms_.x_velocity = (torso_x() - x_before) / dt();
  terms_.forward = terms_.x_velocity;
  terms_.healthy = kHealthyReward;
  terms_.ctrl_cost = kCtrlCostWeight * sum_squares(action);
  terms_.contact_cost = 0.0;
  StepResult r;
  r.obs = observe();
  r.reward = terms_.total();
  r.terminated = !is_healthy();
  return r;
}

STITCH_REGISTER_ENV(ant, {.id = "ant-v4",
                          .summary = "four-legged ant, MuJoCo (Gymnasium Ant-v4)",
                          .max_episode_steps = 1000,
                          .reward_threshold = 6000.0,
                          .make = [] { return std::make_unique<Ant>(); }});

}  // namespace stitch
