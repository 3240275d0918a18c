// Model runs: `stitch model train` fits a dynamics ensemble (model/dynamics.h) on a dataset into
// a run directory, and `stitch model eval` measures its open-loop error over horizons 1..H on
// the episodes the fit never saw, beside a constant-state baseline. The model-based algorithms
// (src/algo/model_based) fit their model the same way, into RUN/model.
//
// Run directory (track/run_files.h): config.json ({"kind": "model", dataset, env, seed,
// model.*}), versions.txt, meta.json, stdout.log,
//   metrics.jsonl          one line per epoch: each member's holdout MSE
//   checkpoints/model.pt   the ensemble (module "dynamics"), its elites and the held-out episodes
//   model_eval.{json,md,svg}   written by `stitch model eval`
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/dynamics.h"
#include "model/model_config.h"
#include "track/model_eval.h"

namespace stitch {

struct Dataset;

struct ModelRunConfig {
  std::string dataset;
  std::string env;  // the env the data came from (its dimensions must match)
  std::string run_dir;
  uint64_t seed = 0;
  ModelConfig model;
  void describe(ConfigFields& f);
  void validate() const;
};

// A fitted (or loaded) ensemble with what the run recorded about it.
struct TrainedModel {
  std::unique_ptr<DynamicsEnsemble> ensemble;
  std::vector<int> elites;
  std::vector<double> holdout_mse;     // per member
  std::vector<int64_t> eval_episodes;  // episode indices of the dataset kept out of the fit
  std::string env;
  int64_t obs_dim = 0, act_dim = 0;
  ModelConfig config;
};

// Fits the model of `config` on its dataset into config.run_dir (created; an existing model
// checkpoint there is an Error) and returns it. `data` is the loaded dataset when the caller has
// it (nullptr: loaded from config.dataset).
TrainedModel train_model_run(const ModelRunConfig& config, const Dataset* data = nullptr);

// Loads checkpoints/model.pt (or the file itself when `path` is one). Errors name the file: a
// damaged or foreign file, or (when `env` is not empty) a model of another env or dimensions.
TrainedModel load_model_checkpoint(const std::string& path, const std::string& env = "",
                                   int64_t obs_dim = 0, int64_t act_dim = 0);

// Open-loop rollouts of the elites' mean prediction from every row of the held-out episodes,
// driven by the episode's own actions, up to `horizon` steps; writes model_eval.json, .md and
// .svg into the run directory and returns the rows of the table.
std::vector<HorizonError> evaluate_model_run(const std::string& run_dir, int horizon);

}  // namespace stitch
