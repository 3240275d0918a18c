#include "core/running_stats.h"

#include "core/error.h"

namespace stitch {
namespace {

template <typename T>
void welford(int64_t& count, std::vector<double>& mean, std::vector<double>& m2,
             std::span<const T> x) {
  STITCH_CHECK(x.size() == mean.size(), "running statistics: got {} values, expected {}", x.size(),
               mean.size());
  ++count;
  const double n = static_cast<double>(count);
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = static_cast<double>(x[i]);
    const double delta = v - mean[i];
    mean[i] += delta / n;
    m2[i] += delta * (v - mean[i]);
  }
}

}  // namespace

void RunningMeanVar::update(std::span<const float> x) { welford(count_, mean_, m2_, x); }
void RunningMeanVar::update(std::span<const double> x) { welford(count_, mean_, m2_, x); }

double RunningMeanVar::population_variance(size_t i) const {
  return count_ < 2 ? 1.0 : m2_[i] / static_cast<double>(count_);
}

double RunningMeanVar::sample_variance(size_t i) const {
  return count_ < 2 ? 1.0 : m2_[i] / static_cast<double>(count_ - 1);
}

void RunningMeanVar::restore(int64_t count, std::vector<double> mean, std::vector<double> m2) {
  STITCH_CHECK(count >= 0 && mean.size() == m2.size(), "running statistics: bad saved state");
  count_ = count;
  mean_ = std::move(mean);
  m2_ = std::move(m2);
}

}  // namespace stitch
