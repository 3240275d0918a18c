#include "eval/evaluate.h"

#include <fmt/format.h>

#include "core/error.h"
#include "deploy/policy.h"
#include "env/registry.h"
#include "env/rollout.h"
#include "eval/scores.h"

namespace stitch {

EvalResult evaluate_policy(const std::string& env_id, Policy& policy, int episodes, uint64_t seed) {
  auto probe = make_env(env_id);
  auto env = make_env(env_id, {.clip_actions = probe->action_space().is_box()});
  EvalResult r;
  for (const EpisodeStats& e : run_episodes(*env, policy, episodes, seed)) {
    r.returns.push_back(e.total_return);
  }
  double sum = 0;
  for (double x : r.returns) sum += x;
  r.mean = sum / static_cast<double>(episodes);
  return r;
}

EvalResult evaluate_policy_file(const std::string& path, const std::string& env_id, int episodes,
                                uint64_t seed) {
  DeployedPolicy policy = DeployedPolicy::load(path);
  auto env = make_env(env_id);
  const int64_t obs_dim = env->observation_space().flat_dim();
  const int64_t act_dim = env->action_space().flat_dim();
  if (!env->action_space().is_box()) fail("{}: {} has no Box actions", path, env_id);
  if (policy.obs_dim() != obs_dim || policy.act_dim() != act_dim) {
    fail("{}: a policy for observation/action dimensions {}/{}, but {} has {}/{}", path,
         policy.obs_dim(), policy.act_dim(), env_id, obs_dim, act_dim);
  }
  auto adapted = as_env_policy(std::move(policy));
  return evaluate_policy(env_id, *adapted, episodes, seed);
}

ScoredEval score_evaluation(const std::string& env_id, const EvalResult& result) {
  return {normalized_score(env_id, result.mean), d4rl_normalized_score(env_id, result.mean)};
}

std::string describe_evaluation(const std::string& env_id, const EvalResult& result) {
  const ScoredEval s = score_evaluation(env_id, result);
  std::string text =
      fmt::format("mean return {:.3f} over {} episodes", result.mean, result.returns.size());
  if (s.normalized) text += fmt::format(", normalised score {:.1f}", *s.normalized);
  if (s.d4rl_normalized) text += fmt::format(" (D4RL references: {:.1f})", *s.d4rl_normalized);
  return text;
}

}  // namespace stitch
