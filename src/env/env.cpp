#include "env/env.h"

#include <cmath>
#include <limits>

#include "core/error.h"

namespace stitch {

void check_action(const std::string& who, const Space& space, std::span<const float> action) {
  if (static_cast<int64_t>(action.size()) != space.flat_dim()) {
    fail("{}: action has {} values, expected {} for {}", who, action.size(), space.flat_dim(),
         space.describe());
  }
  for (size_t i = 0; i < action.size(); ++i) {
    if (!std::isfinite(action[i])) fail("{}: action[{}] is {}", who, i, action[i]);
  }
  if (space.is_discrete()) {
    if (!space.contains(action)) {
      fail("{}: action {} is not an integer in [0, {})", who, action[0], space.n());
    }
    return;
  }
  for (size_t i = 0; i < action.size(); ++i) {
    if (action[i] < space.low()[i] || action[i] > space.high()[i]) {
      fail("{}: action[{}] = {} is outside [{}, {}] (wrap the env in ClipAction to clip)", who, i,
           action[i], space.low()[i], space.high()[i]);
    }
  }
}

std::vector<float> Env::reset(std::optional<uint64_t> seed) {
  if (seed.has_value()) {
    rng_.seed_with(*seed);
  } else if (!ever_reset_) {
    rng_.seed_with(0);
  }
  reset_seed_ = seed;
  ever_reset_ = true;
  elapsed_steps_ = 0;
  std::vector<float> obs = do_reset(rng_);
  reset_seed_.reset();
  STITCH_CHECK(static_cast<int64_t>(obs.size()) == observation_space().flat_dim(),
               "{}: reset returned {} values", id(), obs.size());
  needs_reset_ = false;
  return obs;
}

StepResult Env::step(std::span<const float> action) {
  if (needs_reset_) {
    fail("{}: step() called {}; call reset() first", id(),
         ever_reset_ ? "after the episode ended" : "before reset()");
  }
  check_action(id(), action_space(), action);
  StepResult r = do_step(action);
  ++elapsed_steps_;
  STITCH_CHECK(static_cast<int64_t>(r.obs.size()) == observation_space().flat_dim(),
               "{}: step returned {} values", id(), r.obs.size());
  for (size_t i = 0; i < r.obs.size(); ++i) {
    if (!std::isfinite(r.obs[i])) {
      fail("{}: observation[{}] became {} at step {}", id(), i, r.obs[i], elapsed_steps_);
    }
  }
  if (max_episode_steps_ > 0 && elapsed_steps_ >= max_episode_steps_) r.truncated = true;
  needs_reset_ = r.terminated || r.truncated;
  return r;
}

std::vector<float> Env::restore(const EnvInfo& state, int64_t elapsed_steps) {
  if (elapsed_steps < 0 || (max_episode_steps_ > 0 && elapsed_steps >= max_episode_steps_)) {
    fail("{}: restore at step {}: must be in [0, {})", id(), elapsed_steps,
         max_episode_steps_ > 0 ? max_episode_steps_ : std::numeric_limits<int64_t>::max());
  }
  for (const auto& [name, values] : state) {
    for (size_t i = 0; i < values.size(); ++i) {
      if (!std::isfinite(values[i])) fail("{}: restore: {}[{}] is {}", id(), name, i, values[i]);
    }
  }
  needs_reset_ = true;  // until the state is set: a failed restore leaves no episode running
  ever_reset_ = true;
  elapsed_steps_ = elapsed_steps;
  std::vector<float> obs = do_restore(state);
  STITCH_CHECK(static_cast<int64_t>(obs.size()) == observation_space().flat_dim(),
               "{}: restore returned {} values", id(), obs.size());
  needs_reset_ = false;
  return obs;
}

std::vector<float> Env::do_restore(const EnvInfo&) {
  fail("{}: cannot restore a recorded state (only the MuJoCo envs can)", id());
}

void Env::set_max_episode_steps(int64_t steps) {
  if (steps < 0) fail("max_episode_steps must be >= 0, got {}", steps);
  max_episode_steps_ = steps;
}

}  // namespace stitch
