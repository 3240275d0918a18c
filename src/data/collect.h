// Rolling out a policy into a Dataset (the data side of `stitch collect`).
//
// Episodes run with seeds seed, seed+1, ...; the policy may be perturbed with Gaussian noise
// (std relative to half the action range, clipped to the bounds) or epsilon-uniform actions,
// as D4RL's noisy behaviour policies were. next_observations are recorded for every row; when
// the transition budget ends an episode early, its last row is marked as a time-out. Per-state
// values the env exposes through Env::info() (MuJoCo: qpos, qvel) are recorded as infos/*.
#pragma once

#include <cstdint>
#include <string>

#include "data/dataset.h"
#include "env/env.h"
#include "env/policy.h"

namespace stitch {

struct CollectOptions {
  int64_t transitions = 10000;  // stop after this many rows
  uint64_t seed = 0;
  double gaussian_noise = 0.0;  // std as a fraction of (high - low) / 2; Box actions only
  double epsilon = 0.0;         // probability of a uniform random action instead
};

// Runs `policy` on `env`, recording transitions. Metadata: env_id, seed, noise settings.
Dataset collect(Env& env, Policy& policy, const CollectOptions& options);

// "gaussian:0.1" -> gaussian_noise 0.1, "epsilon:0.3" -> epsilon 0.3, "none" -> neither.
void parse_noise(const std::string& spec, CollectOptions& options);

}  // namespace stitch
