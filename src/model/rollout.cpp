#include "model/rollout.h"

#include <algorithm>

#include "core/error.h"

namespace stitch {

RolloutStats model_rollout(DynamicsEnsemble& model, const std::vector<int>& elites,
                           const float* starts, int64_t rows, int horizon,
                           const RolloutPolicy& policy, const TerminalRule& terminal, Rng& rng,
                           ReplayBuffer& buffer, double penalty) {
  STITCH_CHECK(horizon >= 1 && rows >= 0, "model_rollout: horizon {} and rows {}", horizon, rows);
  const int64_t obs = model.output_dim() - 1, act = model.input_dim() - obs;
  std::vector<float> state(starts, starts + rows * obs), next(static_cast<size_t>(rows * obs));
  std::vector<float> actions(static_cast<size_t>(rows * act)), rewards(static_cast<size_t>(rows));
  std::vector<float> u(penalty > 0 ? static_cast<size_t>(rows) : 0);
  RolloutStats stats;
  double reward_sum = 0, penalty_sum = 0;
  int64_t alive = rows;  // the first `alive` rows of state are still running
  for (int t = 0; t < horizon && alive > 0; ++t) {
    policy(state.data(), alive, actions.data());
    model.sample(state.data(), actions.data(), alive, elites, rng, next.data(), rewards.data(),
                 penalty > 0 ? u.data() : nullptr);
    int64_t kept = 0;
    for (int64_t i = 0; i < alive; ++i) {
      const float* s2 = next.data() + i * obs;
      const bool done = terminal && terminal(std::span<const float>(s2, static_cast<size_t>(obs)));
      const double cost = penalty > 0 ? penalty * u[static_cast<size_t>(i)] : 0.0;
      buffer.add(state.data() + i * obs, actions.data() + i * act,
                 static_cast<float>(rewards[i] - cost), s2, done, false);
      reward_sum += rewards[i];
      penalty_sum += cost;
      ++stats.transitions;
      if (done) {
        ++stats.terminated;
        continue;
      }
      std::copy_n(s2, obs, state.data() + kept * obs);  // the running rows, packed in order
      ++kept;
    }
    alive = kept;
  }
  if (stats.transitions > 0) {
    stats.mean_reward = reward_sum / static_cast<double>(stats.transitions);
    stats.mean_penalty = penalty_sum / static_cast<double>(stats.transitions);
  }
  return stats;
}

ModelEpisodes model_episodes(DynamicsEnsemble& model, const std::vector<int>& elites,
                             const float* starts, int64_t rows, int64_t horizon,
                             const RolloutPolicy& policy, const TerminalRule& terminal, Rng& rng) {
  STITCH_CHECK(horizon >= 1 && rows >= 0, "model_episodes: horizon {} and rows {}", horizon, rows);
  ModelEpisodes e{.rows = rows,
                  .horizon = horizon,
                  .obs_dim = model.output_dim() - 1,
                  .act_dim = model.input_dim() - (model.output_dim() - 1)};
  const int64_t obs = e.obs_dim, act = e.act_dim;
  const auto cells = static_cast<size_t>(rows * horizon);
  e.observations.assign(cells * obs, 0.0f);
  e.next_observations.assign(cells * obs, 0.0f);
  e.actions.assign(cells * act, 0.0f);
  e.rewards.assign(cells, 0.0f);
  e.lengths.assign(static_cast<size_t>(rows), 0);
  e.terminated.assign(static_cast<size_t>(rows), 0);
  e.returns.assign(static_cast<size_t>(rows), 0.0);
  // The running rows, packed: alive_rows[i] is the episode that packed row i steps.
  std::vector<float> state(starts, starts + rows * obs), next(static_cast<size_t>(rows * obs));
  std::vector<float> actions(static_cast<size_t>(rows * act)), rewards(static_cast<size_t>(rows));
  std::vector<int64_t> alive_rows(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) alive_rows[static_cast<size_t>(i)] = i;
  int64_t alive = rows;
  for (int64_t t = 0; t < horizon && alive > 0; ++t) {
    policy(state.data(), alive, actions.data());
    model.sample(state.data(), actions.data(), alive, elites, rng, next.data(), rewards.data(),
                 nullptr);
    int64_t kept = 0;
    for (int64_t i = 0; i < alive; ++i) {
      const int64_t row = alive_rows[static_cast<size_t>(i)];
      const int64_t cell = row * horizon + t;
      const float* s2 = next.data() + i * obs;
      std::copy_n(state.data() + i * obs, obs, e.observations.data() + cell * obs);
      std::copy_n(s2, obs, e.next_observations.data() + cell * obs);
      std::copy_n(actions.data() + i * act, act, e.actions.data() + cell * act);
      e.rewards[static_cast<size_t>(cell)] = rewards[static_cast<size_t>(i)];
      e.returns[static_cast<size_t>(row)] += rewards[static_cast<size_t>(i)];
      e.lengths[static_cast<size_t>(row)] = t + 1;
      if (terminal && terminal(std::span<const float>(s2, static_cast<size_t>(obs)))) {
        e.terminated[static_cast<size_t>(row)] = 1;
        continue;
      }
      std::copy_n(s2, obs, state.data() + kept * obs);
      alive_rows[static_cast<size_t>(kept)] = row;
      ++kept;
    }
    alive = kept;
  }
  return e;
}

}  // namespace stitch
