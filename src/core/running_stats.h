// Running per-dimension mean and variance (Welford's algorithm), for normalisers that learn
// from a stream and can never see the whole data: the env-side NormalizeObservation wrapper and
// the streaming agents' observation and reward normalisers. Numerically stable for long runs
// (the sum of squared deviations is accumulated, not the sum of squares).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace stitch {

class RunningMeanVar {
 public:
  explicit RunningMeanVar(size_t dim = 0) : mean_(dim, 0.0), m2_(dim, 0.0) {}

  void update(std::span<const float> x);
  void update(std::span<const double> x);
  void update(double x) { update(std::span<const double>(&x, 1)); }

  size_t dim() const { return mean_.size(); }
  int64_t count() const { return count_; }
  const std::vector<double>& mean() const { return mean_; }
  // Sum of squared deviations from the mean (Welford's M2).
  const std::vector<double>& m2() const { return m2_; }
  // M2 / n, and M2 / (n - 1); both are 1 while fewer than 2 samples were seen, so that a fresh
  // normaliser passes values through unscaled.
  double population_variance(size_t i) const;
  double sample_variance(size_t i) const;

  // For checkpoints.
  void restore(int64_t count, std::vector<double> mean, std::vector<double> m2);

 private:
  int64_t count_ = 0;
  std::vector<double> mean_, m2_;
};

}  // namespace stitch
