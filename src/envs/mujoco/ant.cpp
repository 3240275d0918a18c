#include "envs/mujoco/ant.h"

#include <mujoco/mujoco.h>

#include <cmath>
#include <limits>

#include "core/error.h"
#include "env/registry.h"

namespace stitch {

// Ant-v4 constants (Gymnasium ant_v4.py defaults).
namespace {
constexpr double kNoClip = std::numeric_limits<double>::infinity();
constexpr double kCtrlCostWeight = 0.5, kHealthyReward = 1.0;
constexpr double kMinZ = 0.2, kMaxZ = 1.0, kResetNoise = 0.1;

// Healthy at s = [qpos[2:], qvel] (the observation): every entry finite, torso z = s[0] in
// [0.2, 1.0]. (The env also needs qpos[0:2], the x-y position the observation leaves out,
// finite.)
template <class T>
bool healthy(std::span<const T> s) {
  for (const T x : s) {
    if (!std::isfinite(x)) return false;
  }
  return s[0] >= kMinZ && s[0] <= kMaxZ;
}
}  // namespace

Ant::Ant() : MujocoEnv("ant.xml", 5, 27) {
  torso_body_ = mj_name2id(model(), mjOBJ_BODY, "torso");
  STITCH_CHECK(torso_body_ >= 0, "ant.xml has no body named torso");
}

double Ant::x_position() const { return data()->xpos[3 * torso_body_]; }

bool Ant::is_healthy_state() const {
  const std::vector<double> s = qpos_qvel_state(2);
  return std::isfinite(qpos()[0]) && std::isfinite(qpos()[1]) && healthy<double>(s);
}

std::vector<float> Ant::observe() const { return qpos_qvel_observation(2, kNoClip); }

std::vector<float> Ant::do_reset(Rng& rng) {
  reset_with_noise(rng, kResetNoise, /*normal_qvel=*/true);
  return observe();
}

StepResult Ant::do_step(std::span<const float> action) {
  return locomotion_step(
      action, {.forward = 1.0, .healthy = kHealthyReward, .ctrl_cost = kCtrlCostWeight}, true);
}

STITCH_REGISTER_ENV(ant,
                    {.id = "ant-v4",
                     .summary = "four-legged ant, MuJoCo (Gymnasium Ant-v4)",
                     .max_episode_steps = 1000,
                     .reward_threshold = 6000.0,
                     .make = [] { return std::make_unique<Ant>(); },
                     .terminal = [](std::span<const float> obs) { return !healthy<float>(obs); }});

}  // namespace stitch
