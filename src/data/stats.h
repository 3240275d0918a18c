// Dataset diagnostics for `stitch dataset info`.
//
// Trajectory quality and state-action coverage follow Schweighofer et al., "A Dataset
// Perspective on Offline Reinforcement Learning" (CoLLAs 2022):
//  - TQ = (mean episode return - random reference) / (expert reference - random reference),
//    when both reference returns are known (flags, or Minari's ref_min_score / ref_max_score).
//  - SACo = unique state-action pairs in the dataset / unique pairs in a reference dataset.
//    The paper counts exact pairs in discrete envs; for continuous spaces stitch counts cells of
//    a grid: each (s, a) dimension is cut into `saco_bins` equal bins between the reference
//    dataset's per-dimension min and max (values outside are clipped into the edge bins), and a
//    pair's cell is the tuple of bin indices. Without a reference dataset the grid uses this
//    dataset's own bounds and only the unique-cell count is reported. In high dimensions almost
//    every pair gets its own cell, so SACo tends to N / N_ref; use few bins there.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/io.h"

namespace stitch {

struct StatsOptions {
  std::optional<double> ref_min;       // random-policy reference return
  std::optional<double> ref_max;       // expert reference return
  const Dataset* reference = nullptr;  // for SACo
  int saco_bins = 8;
  int histogram_bins = 10;
};

struct RangeStats {
  std::vector<float> min, max, mean, std;  // per dimension
};

struct DatasetStats {
  std::string layout;
  int64_t transitions = 0;
  int64_t episodes = 0;
  // How episodes ended: cut counts those cut by a collector's budget or the end of the data.
  int64_t terminated = 0, timed_out = 0, cut = 0;
  // Returns over the complete episodes (all episodes when none is complete): return_episodes.
  int64_t return_episodes = 0;
  double return_min = 0, return_median = 0, return_mean = 0, return_max = 0;
  double length_min = 0, length_mean = 0, length_max = 0;
  std::vector<int64_t> histogram;  // episode-return counts over equal bins in [min, max]
  RangeStats observations, actions;
  std::vector<std::string> anomalies;
  std::optional<double> tq;
  int64_t unique_cells = 0;            // discretised (s, a) cells
  int64_t reference_unique_cells = 0;  // 0 without a reference
  std::optional<double> saco;
  std::optional<double> ref_min, ref_max;
  std::map<std::string, std::string> metadata;  // the dataset's metadata (JSON text values)
  // Rows marked in infos/corrupted, per target (stitch dataset corrupt); empty when none.
  std::map<std::string, int64_t> corrupted;
};

DatasetStats compute_stats(const Dataset& dataset, const LoadReport& report,
                           const StatsOptions& options);
std::string format_stats_text(const DatasetStats& stats, const std::string& name);
std::string format_stats_json(const DatasetStats& stats, const std::string& name);

// Number of distinct grid cells of (s, a) pairs (see above); bounds per dimension, [obs+act].
int64_t count_unique_cells(const Dataset& dataset, const std::vector<float>& low,
                           const std::vector<float>& high, int bins);

}  // namespace stitch
