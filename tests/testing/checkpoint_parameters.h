// Test helper: every parameter of the algorithm stored in a minibatch checkpoint, in module
// order, to compare two runs' final states exactly.
#pragma once

#include <string>
#include <vector>

#include "algo/training_loop.h"

namespace stitch::testing {

inline std::vector<torch::Tensor> checkpoint_parameters(const std::string& checkpoint) {
  LoadedAlgorithm a = load_algorithm_checkpoint(checkpoint);
  std::vector<torch::Tensor> out;
  for (const auto& [name, module] : a.algo->modules()) {
    for (const auto& p : module->parameters()) out.push_back(p.detach().clone());
  }
  return out;
}

inline bool same_tensors(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!torch::equal(a[i], b[i])) return false;
  }
  return true;
}

}  // namespace stitch::testing
