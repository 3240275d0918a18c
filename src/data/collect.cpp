#include "data/collect.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "core/error.h"
#include "core/progress.h"
#include "core/runtime.h"

namespace stitch {

void parse_noise(const std::string& spec, CollectOptions& options) {
  if (spec.empty() || spec == "none") return;
  const size_t colon = spec.find(':');
  const std::string kind = spec.substr(0, colon);
  double value = -1;
  if (colon != std::string::npos) {
    const char* first = spec.data() + colon + 1;
    const char* last = spec.data() + spec.size();
    const auto [ptr, ec] = std::from_chars(first, last, value);
    if (ec != std::errc() || ptr != last) value = -1;
  }
  if ((kind != "gaussian" && kind != "epsilon") || !std::isfinite(value) || value < 0 ||
      (kind == "epsilon" && value > 1)) {
    fail("noise '{}': expected gaussian:<std >= 0>, epsilon:<p in [0,1]> or none", spec);
  }
  (kind == "gaussian" ? options.gaussian_noise : options.epsilon) = value;
}

Dataset collect(Env& env, Policy& policy, const CollectOptions& options) {
  if (options.transitions < 1)
    fail("collect: transitions must be >= 1, got {}", options.transitions);
  const Space& space = env.action_space();
  if (options.gaussian_noise > 0 && !space.is_box()) {
    fail("collect: Gaussian noise needs a Box action space, {} has {}", env.id(), space.describe());
  }
  Dataset d;
  d.obs_dim = env.observation_space().flat_dim();
  d.act_dim = space.flat_dim();
  d.observations.reserve(options.transitions * d.obs_dim);
  d.next_observations.reserve(options.transitions * d.obs_dim);
  d.actions.reserve(options.transitions * d.act_dim);
  Rng policy_rng(options.seed ^ 0x5bd1e9955bd1e995ULL);
  Rng noise_rng(options.seed ^ 0x2545f4914f6cdd1dULL);
  std::vector<float> action(d.act_dim);
  uint64_t episode = 0;
  std::vector<float> obs = env.reset(options.seed);
  policy.reset();
  Progress progress("collect " + env.id(), options.transitions, "transitions");
  while (d.size() < options.transitions) {
    progress.update(d.size());
    policy.act(obs, policy_rng, action);
    if (options.epsilon > 0 && noise_rng.uniform() < options.epsilon) {
      space.sample(noise_rng, action);
    } else if (options.gaussian_noise > 0) {
      for (int64_t k = 0; k < d.act_dim; ++k) {
        const double half = 0.5 * (space.high()[k] - space.low()[k]);
        const double a = action[k] + options.gaussian_noise * half * noise_rng.normal();
        action[k] = std::clamp(static_cast<float>(a), space.low()[k], space.high()[k]);
      }
    }
    // The env's per-state infos (e.g. MuJoCo's qpos/qvel), aligned with the observation row as
    // in D4RL's infos/*.
    for (const auto& [name, values] : env.info()) {
      Column& col = d.infos[name];
      if (col.data.empty()) {
        col.width = static_cast<int64_t>(values.size());
        col.float64 = true;  // exact states: Env::restore() restarts from them bit for bit
      }
      STITCH_CHECK(col.width == static_cast<int64_t>(values.size()), "info '{}' changed width",
                   name);
      col.data.insert(col.data.end(), values.begin(), values.end());
    }
    StepResult r = env.step(action);
    policy.observe_reward(r.reward);
    d.observations.insert(d.observations.end(), obs.begin(), obs.end());
    d.actions.insert(d.actions.end(), action.begin(), action.end());
    d.rewards.push_back(static_cast<float>(r.reward));
    d.next_observations.insert(d.next_observations.end(), r.obs.begin(), r.obs.end());
    d.costs.push_back(static_cast<float>(r.cost));
    d.terminals.push_back(r.terminated);
    d.timeouts.push_back(!r.terminated && r.truncated);
    d.has_next.push_back(1);
    if (r.terminated || r.truncated) {
      ++episode;
      obs = env.reset(options.seed + episode);
      policy.reset();
    } else {
      obs = std::move(r.obs);
    }
  }
  // The budget cut the last episode (unless the env ended it on that very step): a time-out for
  // bootstrapping purposes, recorded as cut so that its partial return counts in no statistic.
  if (!d.terminals.back() && !d.timeouts.back()) {
    d.timeouts.back() = 1;
    set_cut_episode_ends(d, {d.size() - 1});
  }
  if (std::all_of(d.costs.begin(), d.costs.end(), [](float c) { return c == 0.0f; }))
    d.costs.clear();
  d.set_metadata_string("env_id", env.id());
  d.set_metadata_string("stitch_version", version_string());
  d.set_metadata_number("seed", static_cast<double>(options.seed));
  d.set_metadata_number("gaussian_noise", options.gaussian_noise);
  d.set_metadata_number("epsilon", options.epsilon);
  d.index_episodes();
  return d;
}

}  // namespace stitch
