// TD3: Fujimoto, van Hoof & Meger 2018, "Addressing Function Approximation Error in Actor-Critic
// Methods": clipped double-Q, delayed policy updates, target policy smoothing; exploration noise
// N(0, 0.1 max_action) (the paper's Sec. 6.1). Online (`stitch train --algo td3 --online`); the
// implementation, shared with TD3+BC, is src/algo/td3.cpp.
#include "algo/td3.h"

#include "algo/algorithm.h"

namespace stitch {

STITCH_REGISTER_ALGORITHM(
    td3, {.name = "td3",
          .summary = "TD3 (Fujimoto et al. 2018): twin delayed DDPG; online",
          .learning_starts = 25000,  // the authors' start_timesteps (sfujim/TD3, main.py)
          .online = true,
          .make_config = [] { return std::make_unique<Td3Config>(Td3Variant::td3); },
          .make = [](const AlgoConfig& c, const AlgoDims& d,
                     uint64_t seed) -> std::unique_ptr<Algorithm> {
            return make_td3(dynamic_cast<const Td3Config&>(c), d, seed);
          }});

}  // namespace stitch
