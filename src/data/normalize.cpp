#include "data/normalize.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace stitch {

void ObservationNormalizer::apply(std::span<float> observations) const {
  const size_t d = mean.size();
  STITCH_CHECK(d > 0 && observations.size() % d == 0, "normalizer of width {} given {} values", d,
               observations.size());
  for (size_t i = 0; i < observations.size(); ++i) {
    observations[i] = (observations[i] - mean[i % d]) / std[i % d];
  }
}

ObservationNormalizer fit_observation_normalizer(const Dataset& dataset, float eps) {
  const int64_t n = dataset.size(), d = dataset.obs_dim;
  if (n == 0) fail("cannot fit an observation normaliser on an empty dataset");
  std::vector<double> mean(d, 0.0), m2(d, 0.0);
  for (int64_t i = 0; i < n; ++i) {  // Welford, in float64
    for (int64_t k = 0; k < d; ++k) {
      const double x = dataset.observations[i * d + k];
      const double delta = x - mean[k];
      mean[k] += delta / static_cast<double>(i + 1);
      m2[k] += delta * (x - mean[k]);
    }
  }
  ObservationNormalizer out;
  for (int64_t k = 0; k < d; ++k) {
    out.mean.push_back(static_cast<float>(mean[k]));
    out.std.push_back(static_cast<float>(std::sqrt(m2[k] / static_cast<double>(n)) + eps));
  }
  return out;
}

void normalize_observations(Dataset& dataset, const ObservationNormalizer& normalizer) {
  normalizer.apply(dataset.observations);
  normalizer.apply(dataset.next_observations);
}

double locomotion_reward_scale(const Dataset& dataset) {
  if (dataset.episodes.empty()) fail("reward scaling needs at least one episode");
  // Complete episodes only, as CORL's return_range counts an episode once it terminates or
  // reaches the time limit: a budget-cut episode's partial return would widen the range.
  const std::vector<double> returns = complete_episode_returns(dataset);
  const auto [min_it, max_it] = std::minmax_element(returns.begin(), returns.end());
  const double lo = *min_it, hi = *max_it;
  if (hi - lo <= 0.0) {
    fail(
        "reward scaling: every complete episode has the same return {}; 1000 / (max - min) is "
        "undefined",
        lo);
  }
  return 1000.0 / (hi - lo);
}

void scale_rewards(Dataset& dataset, double scale) {
  for (float& r : dataset.rewards) r = static_cast<float>(r * scale);
  dataset.index_episodes();
}

}  // namespace stitch
