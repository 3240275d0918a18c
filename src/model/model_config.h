// The config keys of a dynamics ensemble and its fit (`stitch model train --set model.KEY=...`,
// and the model-based algorithms' `model.KEY`), with OfflineRL-Kit's defaults
// (docs/reference-implementations.md, "Model-based offline RL"). Torch-free.
#pragma once

#include <cstdint>
#include <string>

#include "core/config.h"
#include "core/error.h"
#include "model/dynamics.h"

namespace stitch {

struct ModelConfig {
  // A model run's checkpoint to reuse instead of fitting one (model-based algorithms only).
  std::string checkpoint;
  int members = 7;
  int elites = 5;
  int64_t hidden = 200;  // width of the 4 hidden layers
  double lr = 1e-3;
  int64_t batch = 256;
  double holdout_ratio = 0.2;
  int64_t max_holdout = 1000;
  int patience = 5;
  int max_epochs = 0;  // 0: until `patience` epochs pass without improvement
  // Whole episodes kept out of the fit, for `stitch model eval`'s open-loop rollouts.
  int eval_episodes = 10;

  void describe(ConfigFields& f) {
    f.add("checkpoint", checkpoint,
          "a model run's checkpoints/model.pt to reuse (empty: fit one on the dataset)");
    f.add("members", members, "ensemble members", {.min = 1, .max = 64});
    f.add("elites", elites, "members used for rollouts (smallest holdout error)",
          {.min = 1, .max = 64});
    f.add("hidden", hidden, "width of the 4 hidden layers", {.min = 1, .max = 4096});
    f.add("lr", lr, "Adam learning rate", kRateRange);
    f.add("batch", batch, "minibatch rows per member", {.min = 1, .max = 1 << 20});
    f.add("holdout_ratio", holdout_ratio, "share of transitions held out for early stopping",
          {.min = 0, .max = 1, .min_open = true, .max_open = true});
    f.add("max_holdout", max_holdout, "at most this many held-out transitions",
          {.min = 1, .max = 1 << 30});
    f.add("patience", patience, "epochs without a 1% holdout improvement before stopping",
          {.min = 1, .max = 1000});
    f.add("max_epochs", max_epochs, "at most this many epochs (0: no limit)",
          {.min = 0, .max = 1000000});
    f.add("eval_episodes", eval_episodes,
          "whole episodes kept out of the fit for `stitch model eval`", {.min = 0, .max = 1000000});
  }
  void validate() const {
    if (elites > members)
      fail("config key 'model.elites': {} elites of {} members", elites, members);
  }
  DynamicsOptions options() const {
    DynamicsOptions o;
    o.members = members;
    o.hidden.assign(4, hidden);
    o.lr = lr;
    return o;
  }
  DynamicsFitOptions fit_options() const {
    return {.batch = batch,
            .holdout_ratio = holdout_ratio,
            .max_holdout = max_holdout,
            .patience = patience,
            .max_epochs = max_epochs,
            .elites = elites};
  }
};

}  // namespace stitch
