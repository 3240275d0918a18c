// SAC-N's and EDAC's config and factory (sac_n.cpp), for the algorithms built on them: RAVL
// (algo/model_based/ravl.cpp), EDAC's critics on model rollouts.
#pragma once

#include <cstdint>
#include <memory>

#include "algo/algorithm.h"

namespace stitch {

enum class SacNKind { kSacN, kEdac, kRavl };

std::unique_ptr<AlgoConfig> make_sac_n_config(SacNKind kind);
// A SAC-N, EDAC or RAVL learner from a config made by make_sac_n_config.
std::unique_ptr<Algorithm> make_sac_n(const AlgoConfig& config, const AlgoDims& dims,
                                      uint64_t seed);
// RAVL's rollout keys (AlgoEntry::model_rollouts).
ModelRollouts sac_n_rollouts(const AlgoConfig& config);

}  // namespace stitch
