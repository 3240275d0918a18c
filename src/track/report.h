// `stitch report`: groups runs by (algorithm, dataset, env) over seeds and summarises each
// group's final score with rliable's aggregates (track/stats.h) and 95% stratified bootstrap
// confidence intervals. The score of a run is its last evaluation: the normalised score when the
// suite has references for the env, else the raw mean return (the report says which); for a
// token-policy run (`stitch lm`), its held-out accuracy in percent.
//
// write_report() writes into out_dir:
//   summary.csv, summary.md   per group: seeds, mean, median, IQM, optimality gap, each [95% CI]
//   index.html                one self-contained page (no network): the tables, the runs, and
//                             the charts below inline
//   curves-<dataset>.svg      learning curves per task: per algorithm the mean evaluation score
//                             over seeds at each evaluation step, with a 95% bootstrap band
//   aggregates.svg            rliable's interval plot: median, IQM, mean, optimality gap
//   profiles.svg              performance profiles: fraction of runs scoring above tau, with bands
// When every group is normalised, the aggregate plot and the profiles compare algorithms over
// all their datasets (the datasets are the strata of the bootstrap, as in rliable); otherwise
// each group is its own entry, since raw returns of different tasks cannot be pooled.
// Output is a function of the runs and the options alone (no timestamps): reports diff cleanly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "track/runs.h"
#include "track/stats.h"

namespace stitch {

struct ReportGroup {
  std::string algo, dataset, env;
  bool normalized = false;     // scores are normalised (else raw returns)
  bool accuracy = false;       // lm runs: held-out accuracy in percent (normalized is set too)
  std::vector<double> scores;  // one per run (seed), in run order
  std::vector<std::string> runs;
  // Runs scored before their planned steps (running, stopped, killed or failed): their last
  // evaluation is not a final score, and the summary says how many there are.
  int unfinished = 0;
  stats::Interval mean, median, iqm, optimality_gap;
  // The same runs scored with D4RL's references (empty unless every run has that score).
  std::vector<double> d4rl_scores;
  stats::Interval d4rl_mean, d4rl_iqm;
  double wall_s = 0.0;  // mean wall time per run (to its last logged step)
  // Fine-tuning groups (every run has track/runs.h's finetune_scores): the score before the first
  // env step, the dip (the worst in the first 10% of env steps) and after, in the group's
  // score (normalised or return), bootstrap means over seeds; dip_step the mean step of the dip.
  std::vector<double> before_scores, dip_scores;
  stats::Interval before, dip;
  double dip_step = 0.0;
  bool finetune() const { return !before_scores.empty(); }
};

struct ReportOptions {
  int replicates = 2000;
  double confidence = 0.95;
  uint64_t seed = 0;  // of the bootstrap
  std::string title = "stitch report";
};

std::vector<ReportGroup> summarize_runs(const std::vector<RunSummary>& runs,
                                        const ReportOptions& options = {});

// summary.csv and summary.md in out_dir (created); returns the paths written.
std::vector<std::string> write_summary(const std::vector<ReportGroup>& groups,
                                       const std::string& out_dir);

// The summary files, index.html and the SVG charts (see above); returns the paths written,
// index.html last.
std::vector<std::string> write_report(const std::vector<RunSummary>& runs,
                                      const std::string& out_dir,
                                      const ReportOptions& options = {});

}  // namespace stitch
