// The env registry: built-in envs register a spec under a versioned id ("pendulum-v1") and
// everything else (CLI, datasets, trainers) creates envs by id.
//
// Registration is one line in the env's own .cpp:
//   STITCH_REGISTER_ENV(pendulum, {.id = "pendulum-v1", .max_episode_steps = 200, ...});
// The library is an OBJECT library, so every registration object is linked into every binary.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "env/env.h"
#include "env/policy.h"

namespace stitch {

struct EnvSpec {
  std::string id;                 // versioned id, lower case: "<name>-v<N>"
  std::string summary;            // one line for `stitch env list`
  int64_t max_episode_steps = 0;  // time limit applied by make_env (0: none)
  double reward_threshold = 0.0;  // Gymnasium's "solved" threshold, 0 when it defines none
  std::function<std::unique_ptr<Env>()> make;                // the bare env, no time limit
  std::function<std::unique_ptr<Policy>()> scripted_policy;  // empty when the env has none
  // Whether the episode ends at a state with this observation: the env's own termination rule
  // read from the observation (where the observation holds the state, the function its step
  // uses; the step reads the float64 state, so the two can differ within float32 rounding of a
  // threshold), for what predicts states without the simulator (model rollouts). Empty: the env
  // never terminates (Pendulum, HalfCheetah).
  std::function<bool(std::span<const float> obs)> terminal;
};

class EnvRegistry {
 public:
  static EnvRegistry& global();
  // Adds a spec; throws Error when the id is taken or malformed.
  void add(EnvSpec spec);
  // Throws Error for an unknown id, listing the known ones.
  const EnvSpec& spec(const std::string& id) const;
  bool contains(const std::string& id) const;
  std::vector<std::string> ids() const;  // sorted

 private:
  std::vector<EnvSpec> specs_;
};

struct MakeEnvOptions {
  bool time_limit = true;               // wrap in TimeLimit(spec.max_episode_steps)
  int64_t max_episode_steps = 0;        // > 0 overrides the spec's limit
  bool clip_actions = false;            // wrap in ClipAction
  bool rescale_actions = false;         // wrap in RescaleAction (agent acts in [-1, 1])
  bool normalize_observations = false;  // wrap in NormalizeObservation
};

// Creates the env registered under `id`, wrapped as `options` ask. Order of wrappers, inner to
// outer: TimeLimit, RescaleAction, ClipAction (so with both, actions clip to [-1, 1]),
// NormalizeObservation.
std::unique_ptr<Env> make_env(const std::string& id, const MakeEnvOptions& options = {});

// The scripted policy of env `id`; throws Error when it has none.
std::unique_ptr<Policy> make_scripted_policy(const std::string& id);

namespace detail {
struct EnvRegistration {
  explicit EnvRegistration(EnvSpec spec) { EnvRegistry::global().add(std::move(spec)); }
};
}  // namespace detail

}  // namespace stitch

#define STITCH_REGISTER_ENV(name, ...) \
  static const ::stitch::detail::EnvRegistration stitch_env_registration_##name(__VA_ARGS__)
