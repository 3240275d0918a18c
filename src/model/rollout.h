// Branched model rollouts (MBPO, Janner et al. 2019; OfflineRL-Kit's rollout, facts in
// docs/reference-implementations.md): from start states (dataset states, chosen by the caller),
// `horizon` steps of the policy and the dynamics ensemble's sample, all rows at once; a row
// stops after the step that the env's termination rule (EnvSpec::terminal) ends. Every
// transition goes to a buffer (the terminal one flagged), the model buffer that model-based
// algorithms mix with real data.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "core/rng.h"
#include "data/sampler.h"
#include "model/dynamics.h"

namespace stitch {

// actions [rows, act] for observations [rows, obs].
using RolloutPolicy = std::function<void(const float* obs, int64_t rows, float* actions)>;
// The env's termination rule on an observation; empty: never.
using TerminalRule = std::function<bool(std::span<const float> obs)>;

struct RolloutStats {
  int64_t transitions = 0;  // added to the buffer
  int64_t terminated = 0;   // rows ended by the termination rule
  double mean_reward = 0;   // over the transitions, before the penalty
  double mean_penalty = 0;  // penalty * uncertainty, over the transitions
};

// Rolls `rows` start states [rows, obs] `horizon` steps through `model` (members drawn from
// `elites`, draws from `rng`), adding each transition to `buffer`. With `penalty` > 0 each stored
// reward is MOPO's r - penalty * u(s, a) (Yu et al. 2020, Eq. 8; u from
// DynamicsEnsemble::uncertainty), computed once, at rollout time, as OfflineRL-Kit does.
RolloutStats model_rollout(DynamicsEnsemble& model, const std::vector<int>& elites,
                           const float* starts, int64_t rows, int horizon,
                           const RolloutPolicy& policy, const TerminalRule& terminal, Rng& rng,
                           ReplayBuffer& buffer, double penalty = 0.0);

// Whole episodes through the model (MBRCSL's rollouts, Zhou et al. 2023): from `rows` start
// states [rows, obs] (episode starts of the data), up to `horizon` steps each of `policy` and the
// ensemble's sample, a row stopping after the step that the termination rule ends. Row-major
// [rows, horizon, ...] results; a row's steps past its length are zeros.
struct ModelEpisodes {
  int64_t rows = 0, horizon = 0, obs_dim = 0, act_dim = 0;
  std::vector<float> observations, actions, rewards, next_observations;
  std::vector<int64_t> lengths;     // [rows] steps taken
  std::vector<uint8_t> terminated;  // [rows] ended by the termination rule
  std::vector<double> returns;      // [rows] sum of the rewards
};
ModelEpisodes model_episodes(DynamicsEnsemble& model, const std::vector<int>& elites,
                             const float* starts, int64_t rows, int64_t horizon,
                             const RolloutPolicy& policy, const TerminalRule& terminal, Rng& rng);

}  // namespace stitch
