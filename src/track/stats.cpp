#include "track/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "core/rng.h"

namespace stitch::stats {
namespace {

std::vector<double> pooled(const Scores& scores) {
  std::vector<double> out;
  for (const auto& task : scores) out.insert(out.end(), task.begin(), task.end());
  return out;
}

void check(const Scores& scores) {
  if (scores.empty()) fail("statistics: no tasks");
  for (size_t t = 0; t < scores.size(); ++t) {
    if (scores[t].empty()) fail("statistics: task {} has no runs", t);
  }
}

// The q-quantile of sorted values by linear interpolation (numpy's default percentile).
double quantile(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto i = static_cast<size_t>(std::floor(pos));
  const double frac = pos - static_cast<double>(i);
  return i + 1 < sorted.size() ? sorted[i] + frac * (sorted[i + 1] - sorted[i]) : sorted[i];
}

// Runs every replicate of a stratified bootstrap, calling fn(resampled scores).
template <typename Fn>
void stratified_bootstrap(const Scores& scores, int replicates, uint64_t seed, Fn&& fn) {
  Rng rng(seed);
  Scores sample = scores;
  for (int r = 0; r < replicates; ++r) {
    for (size_t t = 0; t < scores.size(); ++t) {
      const auto n = static_cast<uint64_t>(scores[t].size());
      for (auto& x : sample[t]) x = scores[t][rng.below(n)];
    }
    fn(sample);
  }
}

Interval interval_of(double point, std::vector<double> replicate_values, double confidence) {
  std::sort(replicate_values.begin(), replicate_values.end());
  const double tail = (1.0 - confidence) / 2.0;
  return {point, quantile(replicate_values, tail), quantile(replicate_values, 1.0 - tail)};
}

}  // namespace

double mean(const std::vector<double>& x) {
  if (x.empty()) fail("statistics: mean of no scores");
  return std::accumulate(x.begin(), x.end(), 0.0) / static_cast<double>(x.size());
}

double median(std::vector<double> x) {
  if (x.empty()) fail("statistics: median of no scores");
  std::sort(x.begin(), x.end());
  return quantile(x, 0.5);
}

double iqm(std::vector<double> x) {
  if (x.empty()) fail("statistics: IQM of no scores");
  std::sort(x.begin(), x.end());
  const size_t cut = x.size() / 4;
  return mean(std::vector<double>(x.begin() + static_cast<std::ptrdiff_t>(cut),
                                  x.end() - static_cast<std::ptrdiff_t>(cut)));
}

double optimality_gap(const std::vector<double>& x, double gamma) {
  if (x.empty()) fail("statistics: optimality gap of no scores");
  double sum = 0.0;
  for (double v : x) sum += std::max(gamma - v, 0.0);
  return sum / static_cast<double>(x.size());
}

Interval bootstrap_interval(const Scores& scores, const Aggregate& aggregate, int replicates,
                            double confidence, uint64_t seed) {
  check(scores);
  if (replicates < 1 || !(confidence > 0 && confidence < 1))
    fail("bootstrap: bad replicates or confidence");
  std::vector<double> values;
  values.reserve(static_cast<size_t>(replicates));
  stratified_bootstrap(scores, replicates, seed,
                       [&](const Scores& s) { values.push_back(aggregate(pooled(s))); });
  return interval_of(aggregate(pooled(scores)), std::move(values), confidence);
}

std::vector<double> performance_profile(const Scores& scores,
                                        const std::vector<double>& thresholds) {
  check(scores);
  std::vector<double> out;
  for (double tau : thresholds) {
    double sum = 0.0;
    for (const auto& task : scores) {
      sum += static_cast<double>(
                 std::count_if(task.begin(), task.end(), [tau](double v) { return v > tau; })) /
             static_cast<double>(task.size());
    }
    out.push_back(sum / static_cast<double>(scores.size()));
  }
  return out;
}

std::vector<Interval> performance_profile_intervals(const Scores& scores,
                                                    const std::vector<double>& thresholds,
                                                    int replicates, double confidence,
                                                    uint64_t seed) {
  const std::vector<double> point = performance_profile(scores, thresholds);
  std::vector<std::vector<double>> values(thresholds.size());
  stratified_bootstrap(scores, replicates, seed, [&](const Scores& s) {
    const auto p = performance_profile(s, thresholds);
    for (size_t i = 0; i < p.size(); ++i) values[i].push_back(p[i]);
  });
  std::vector<Interval> out;
  for (size_t i = 0; i < thresholds.size(); ++i)
    out.push_back(interval_of(point[i], std::move(values[i]), confidence));
  return out;
}

}  // namespace stitch::stats
