// For the model-based algorithms that read the dynamics model inside their updates, not only
// through the loop's rollouts (MOBILE's Bellman-target disagreement): the model-based loop
// (model_loop.cpp) hands the fitted model to an algorithm that implements this interface before
// its first update, and again after a resume.
#pragma once

#include <cstdint>
#include <vector>

namespace stitch {

class DynamicsEnsemble;

class UsesDynamicsModel {
 public:
  virtual ~UsesDynamicsModel() = default;
  // The model (it outlives the algorithm's updates), its elites (best first), and how many
  // leading rows of each minibatch come from the dataset (the rest: the model buffer).
  virtual void use_model(DynamicsEnsemble& model, const std::vector<int>& elites,
                         int64_t real_rows) = 0;
};

}  // namespace stitch
