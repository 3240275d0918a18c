// Running a policy on an env for whole episodes.
#pragma once

#include <cstdint>
#include <vector>

#include "env/env.h"
#include "env/policy.h"

namespace stitch {

struct EpisodeStats {
  double total_return = 0.0;  // undiscounted sum of rewards
  double total_cost = 0.0;
  int64_t length = 0;
  bool terminated = false;  // ended in a true terminal state
  bool truncated = false;   // ended by the time limit
};

// Runs one episode from reset(seed) until terminated or truncated. The policy draws its
// randomness from `policy_rng`. Throws Error if the env has no time limit and the episode
// exceeds `max_steps_guard` steps (an episode that never ends).
EpisodeStats run_episode(Env& env, Policy& policy, uint64_t seed, Rng& policy_rng,
                         int64_t max_steps_guard = 10'000'000);

// Runs `episodes` episodes with seeds seed, seed+1, ...; the policy's rng is seeded from `seed`
// through a separate stream, so env and policy randomness never share numbers.
std::vector<EpisodeStats> run_episodes(Env& env, Policy& policy, int episodes, uint64_t seed);

}  // namespace stitch
