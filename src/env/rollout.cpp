#include "env/rollout.h"

#include "core/error.h"

namespace stitch {

EpisodeStats run_episode(Env& env, Policy& policy, uint64_t seed, Rng& policy_rng,
                         int64_t max_steps_guard) {
  EpisodeStats stats;
  std::vector<float> obs = env.reset(seed);
  std::vector<float> action(env.action_space().flat_dim());
  policy.reset();
  while (true) {
    policy.act(obs, policy_rng, action);
    StepResult r = env.step(action);
    policy.observe_reward(r.reward);
    stats.total_return += r.reward;
    stats.total_cost += r.cost;
    ++stats.length;
    if (r.terminated || r.truncated) {
      stats.terminated = r.terminated;
      stats.truncated = r.truncated;
      return stats;
    }
    if (stats.length >= max_steps_guard) {
      fail("{}: episode with seed {} did not end within {} steps", env.id(), seed, max_steps_guard);
    }
    obs = std::move(r.obs);
  }
}

std::vector<EpisodeStats> run_episodes(Env& env, Policy& policy, int episodes, uint64_t seed) {
  if (episodes < 1) fail("episodes must be >= 1, got {}", episodes);
  // A distinct stream for the policy: splitmix of (seed ^ constant).
  Rng policy_rng(seed ^ 0x5bd1e9955bd1e995ULL);
  std::vector<EpisodeStats> out;
  out.reserve(episodes);
  for (int e = 0; e < episodes; ++e) {
    out.push_back(run_episode(env, policy, seed + static_cast<uint64_t>(e), policy_rng));
  }
  return out;
}

}  // namespace stitch
