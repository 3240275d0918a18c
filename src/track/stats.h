// Aggregate statistics over seeds, as rliable defines them (Agarwal et al. 2021, "Deep
// Reinforcement Learning at the Edge of the Statistical Precipice", NeurIPS): interquartile mean,
// optimality gap, stratified bootstrap confidence intervals, performance profiles.
//
// Scores come as scores[task][run]: the runs (seeds) of each task (for stitch report: one
// (algorithm, dataset) group, usually one task). Aggregates are over all scores pooled.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace stitch::stats {

using Scores = std::vector<std::vector<double>>;  // [task][run]
using Aggregate = std::function<double(const std::vector<double>&)>;

double mean(const std::vector<double>& x);
double median(std::vector<double> x);
// The mean of the middle 50%: drop floor(n / 4) scores from each end of the sorted scores
// (scipy.stats.trim_mean(x, 0.25), which rliable uses).
double iqm(std::vector<double> x);
// mean(max(gamma - x, 0)): how far below the target gamma the scores fall (rliable's
// optimality gap; gamma = 100 for normalised scores in percent).
double optimality_gap(const std::vector<double>& x, double gamma = 100.0);

struct Interval {
  double point = 0.0;  // the aggregate of the data
  double low = 0.0;    // percentile bootstrap interval
  double high = 0.0;
};

// The aggregate with a percentile confidence interval from a stratified bootstrap: each
// replicate resamples every task's runs with replacement (keeping the tasks), pools them and
// aggregates. Seeded: the same inputs give the same interval.
Interval bootstrap_interval(const Scores& scores, const Aggregate& aggregate, int replicates = 2000,
                            double confidence = 0.95, uint64_t seed = 0);

// Performance profile (rliable's score distribution): for each threshold tau, the fraction of
// runs scoring above tau, computed per task and averaged over tasks.
std::vector<double> performance_profile(const Scores& scores,
                                        const std::vector<double>& thresholds);
// ... with a stratified bootstrap interval at each threshold.
std::vector<Interval> performance_profile_intervals(const Scores& scores,
                                                    const std::vector<double>& thresholds,
                                                    int replicates = 2000, double confidence = 0.95,
                                                    uint64_t seed = 0);

}  // namespace stitch::stats
