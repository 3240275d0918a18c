// Normalisers used by the offline algorithms.
//
// Observation normalisation (TD3+BC, Fujimoto & Gu 2021, Sec. 5): per-dimension mean and std
// over the dataset's observations, s' = (s - mean) / (std + eps) with eps = 1e-3; applied to
// observations and next_observations, and at evaluation time to the env's observations.
//
// D4RL-locomotion reward scaling (IQL, Kostrikov et al. 2021, App. B):
// r' = r * 1000 / (max_episode_return - min_episode_return), over the dataset's episodes
// (split at terminals and timeouts, the final partial episode included).
#pragma once

#include <span>
#include <vector>

#include "data/dataset.h"

namespace stitch {

struct ObservationNormalizer {
  std::vector<float> mean;  // [obs_dim]
  std::vector<float> std;   // [obs_dim], eps already added

  // Normalises one observation (or a row-major batch of them) in place.
  void apply(std::span<float> observations) const;
};

ObservationNormalizer fit_observation_normalizer(const Dataset& dataset, float eps = 1e-3f);
// Normalises observations and next_observations in place.
void normalize_observations(Dataset& dataset, const ObservationNormalizer& normalizer);

// What a training run applies to its data and so to every observation its policy later sees:
// kept in checkpoints (track/checkpoint.h) and folded into exported policies.
struct Normalizers {
  bool observations = false;  // obs is in use
  ObservationNormalizer obs;
  double reward_scale = 1.0;
};

// 1000 / (max episode return - min episode return) over the complete episodes (all of them when
// none is complete); throws Error when all those returns are equal.
double locomotion_reward_scale(const Dataset& dataset);
void scale_rewards(Dataset& dataset, double scale);

}  // namespace stitch
