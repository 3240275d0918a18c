// What MOPO and MOBILE share (mopo.cpp, mobile.cpp): SAC on model rollouts with OfflineRL-Kit's
// SAC settings (actor and temperature lr 1e-4, target entropy -act_dim unless set), the rollout
// keys, and their registry entry.
#pragma once

#include <memory>
#include <string>

#include "algo/algorithm.h"
#include "algo/sac_core.h"

namespace stitch {

struct ModelSacConfig : SacFamilyConfig {
  double target_entropy = 0.0;  // 0: -act_dim
  ModelRollouts rollouts;
  ModelSacConfig() {
    actor_lr = 1e-4;
    alpha_lr = 1e-4;
  }
  // SAC's keys and target_entropy; the caller adds its own and the rollout keys.
  void describe_sac(ConfigFields& f) {
    describe_shared(f);
    f.add("target_entropy", target_entropy, "target entropy (0: -act_dim)",
          {.min = -1e6, .max = 1e6});
  }
  SacCoreOptions core_options(const AlgoDims& d) const {
    return sac_core_options(
        *this, 1.0, target_entropy != 0.0 ? target_entropy : -static_cast<double>(d.act_dim));
  }
};

// The registry entry of an algorithm Impl(const Config&, const AlgoDims&, uint64_t seed) whose
// Config derives from ModelSacConfig.
template <class Config, class Impl>
AlgoEntry model_sac_entry(std::string name, std::string summary) {
  return {
      .name = std::move(name),
      .summary = std::move(summary),
      .model_rollouts = [](const AlgoConfig& c) { return dynamic_cast<const Config&>(c).rollouts; },
      .make_config = [] { return std::make_unique<Config>(); },
      .make = [](const AlgoConfig& c, const AlgoDims& d,
                 uint64_t seed) -> std::unique_ptr<Algorithm> {
        return std::make_unique<Impl>(dynamic_cast<const Config&>(c), d, seed);
      }};
}

}  // namespace stitch
