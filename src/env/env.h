// The environment interface, with Gymnasium semantics.
//
// `reset(seed)` and `step(action)` are public and non-virtual: they do the bookkeeping every env
// needs (seeding, action checks, step counting, the time limit, the end-of-episode guard) and
// then call the env's own protected `do_reset` / `do_step` (OpenSpiel's ApplyAction ->
// DoApplyAction). An env implements only its physics.
//
// `terminated` means the env reached a true terminal state (no bootstrapping past it);
// `truncated` means the episode was cut, e.g. by the time limit (bootstrapping continues).
// They are never merged; both can be true on the same step.
//
// Values are flat float32 vectors: observation [observation_space().flat_dim()], action
// [action_space().flat_dim()] (a Discrete action is one float holding the index).
// Not thread-safe: one thread drives one Env at a time; distinct Envs may run in parallel.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/rng.h"
#include "env/space.h"

namespace stitch {

struct StepResult {
  std::vector<float> obs;  // [obs_dim] float32: the observation after the step
  double reward = 0.0;
  bool terminated = false;  // true terminal state
  bool truncated = false;   // episode cut (time limit)
  double cost = 0.0;        // safety cost of the step; 0 where the task defines none
  std::string message;      // why the episode ended abnormally (e.g. an unstable simulation)
};

// Per-step extra values an env exposes (e.g. MuJoCo's qpos and qvel), keyed by name.
using EnvInfo = std::map<std::string, std::vector<double>>;

class Env {
 public:
  virtual ~Env() = default;

  // Versioned id of the underlying task, e.g. "pendulum-v1".
  virtual std::string id() const = 0;
  virtual const Space& observation_space() const = 0;
  virtual const Space& action_space() const = 0;

  // Starts an episode. With a seed the env's RNG is re-seeded (same seed: same episode); without
  // one it continues its stream (the very first reset without a seed uses seed 0).
  std::vector<float> reset(std::optional<uint64_t> seed = std::nullopt);

  // Advances one step. Throws Error when called before reset() or after the episode ended, when
  // the action has the wrong size, holds NaN/inf, or lies outside the action space.
  StepResult step(std::span<const float> action);

  // Steps taken since the last reset.
  int64_t elapsed_steps() const { return elapsed_steps_; }
  // Time limit applied by step(); 0 means none (set by the TimeLimit wrapper).
  int64_t max_episode_steps() const { return max_episode_steps_; }
  // True before the first reset and after an episode ended.
  bool needs_reset() const { return needs_reset_; }

  // Extra values describing the current state (after reset or the last step), for datasets that
  // record them (D4RL's infos/qpos, infos/qvel). Empty by default.
  virtual EnvInfo info() const { return {}; }

  // Starts an episode at a recorded state instead of a drawn one: `state` holds the values
  // info() gave for it (MuJoCo: qpos and qvel; a dataset row's infos/qpos and infos/qvel, which
  // stitch stores as float64 so the state is exact). The episode's step count starts at
  // `elapsed_steps` (the row's index in its episode, so the time limit falls where it did).
  // Returns that state's observation; stepping on replays the recorded transitions bit for bit
  // when the actions are the recorded ones. Throws Error when the env cannot restore states
  // (the classic-control envs) or the state has the wrong names, sizes or non-finite values.
  std::vector<float> restore(const EnvInfo& state, int64_t elapsed_steps = 0);

 protected:
  // Draws the initial state from `rng` (the env's own, already seeded) and returns the first
  // observation.
  virtual std::vector<float> do_reset(Rng& rng) = 0;
  // Applies a validated action. Leaves `truncated` false unless the env itself truncates.
  virtual StepResult do_step(std::span<const float> action) = 0;
  // Sets the recorded state and returns its observation; the default refuses.
  virtual std::vector<float> do_restore(const EnvInfo& state);

  // The seed passed to the reset in progress (for wrappers, which forward it to the inner env).
  std::optional<uint64_t> reset_seed() const { return reset_seed_; }
  void set_max_episode_steps(int64_t steps);

 private:
  Rng rng_;
  std::optional<uint64_t> reset_seed_;
  bool ever_reset_ = false;
  bool needs_reset_ = true;
  int64_t elapsed_steps_ = 0;
  int64_t max_episode_steps_ = 0;
};

// Throws Error naming `who` when `action` does not belong to `space`.
void check_action(const std::string& who, const Space& space, std::span<const float> action);

}  // namespace stitch
