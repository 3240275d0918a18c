// Evaluation of any policy on an env: N episodes with seeds seed, seed+1, ... through the one
// rollout function (env/rollout.h). What the training loops, `stitch eval` and the tests use,
// whatever the policy is: an Algorithm or a streaming agent (adapted to env/policy.h's Policy
// in src/algo), or an exported DeployedPolicy file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "env/policy.h"

namespace stitch {

struct EvalResult {
  std::vector<double> returns;  // undiscounted return of each episode, in seed order
  double mean = 0.0;
};

// Runs `episodes` episodes of `policy` on a fresh `env_id` (Box actions clipped to the bounds,
// as Gymnasium's ClipAction) with seeds seed, seed + 1, ...
EvalResult evaluate_policy(const std::string& env_id, Policy& policy, int episodes, uint64_t seed);

// The policy file written by `stitch export` (stitch-policy-v1), evaluated on env_id; an Error
// names the file when its dimensions do not match the env's.
EvalResult evaluate_policy_file(const std::string& path, const std::string& env_id, int episodes,
                                uint64_t seed);

// The seed of a training run's evaluation episodes: distinct from collection seeds, the same
// for every algorithm trained with that seed.
inline uint64_t evaluation_seed(uint64_t run_seed) { return 1'000'000 + run_seed * 1000; }

// Both normalised scores of a mean return (eval/scores.h), and one log line.
struct ScoredEval {
  std::optional<double> normalized, d4rl_normalized;
};
ScoredEval score_evaluation(const std::string& env_id, const EvalResult& result);
std::string describe_evaluation(const std::string& env_id, const EvalResult& result);

}  // namespace stitch
