// SAC: Haarnoja et al. 2018, "Soft Actor-Critic Algorithms and Applications" (arXiv:1812.05905),
// with automatic entropy tuning (Sec. 5) and twin Q networks with clipped double-Q targets.
// Defaults: the paper's Table 1: Adam lr 3e-4 for every network and the temperature, two hidden
// layers of 256, batch 256, tau 0.005, target entropy -act_dim, one gradient step per env step.
// The networks, the temperature and the steps below are the SAC core's (algo/sac_core.h), on the
// fused path (nn/fused_mlp.h); this file is their order.
//
//   y = r + gamma * (1 - terminated) * (min_i Q'_i(s', a') - alpha * log pi(a'|s')),  a' ~ pi(s')
//   critic: sum_i mean (Q_i(s, a) - y)^2
//   actor:  mean (alpha * log pi(a~|s) - min_i Q_i(s, a~)),  a~ ~ pi(s) (reparameterised)
//   alpha:  -mean log_alpha * (log pi(a~|s) + target_entropy)
#include <memory>
#include <tuple>

#include "algo/algorithm.h"
#include "algo/losses.h"
#include "algo/sac_core.h"
#include "core/error.h"
#include "core/runtime.h"
#include "nn/nn.h"

namespace stitch {
namespace {

struct SacConfig : SacFamilyConfig {
  double initial_alpha = 1.0;
  double target_entropy = 0.0;  // 0: -act_dim (the paper's heuristic)
  void describe(ConfigFields& f) override {
    describe_shared(f);
    f.add("initial_alpha", initial_alpha, "initial entropy temperature",
          {.min = 0, .max = 1e6, .min_open = true});
    f.add("target_entropy", target_entropy, "target entropy (0: -act_dim)",
          {.min = -1e6, .max = 1e6});
  }
};

class Sac : public SacCore {
 public:
  Sac(const SacConfig& c, const AlgoDims& d, uint64_t seed)
      : SacCore(sac_core_options(
                    c, c.initial_alpha,
                    c.target_entropy != 0.0 ? c.target_entropy : -static_cast<double>(d.act_dim)),
                d, seed) {}

  std::string name() const override { return "sac"; }

  Metrics update(const TensorBatch& b) override { return sac_update(b); }
};

}  // namespace

STITCH_REGISTER_ALGORITHM(
    sac, {.name = "sac",
          .summary =
              "SAC (Haarnoja et al. 2018): soft actor-critic with automatic entropy tuning; online",
          .online = true,
          .make_config = [] { return std::make_unique<SacConfig>(); },
          .make = [](const AlgoConfig& c, const AlgoDims& d,
                     uint64_t seed) -> std::unique_ptr<Algorithm> {
            return std::make_unique<Sac>(dynamic_cast<const SacConfig&>(c), d, seed);
          }});

}  // namespace stitch
