// TD3+BC: Fujimoto & Gu 2021, "A Minimalist Approach to Offline Reinforcement Learning".
// TD3 (Fujimoto et al. 2018) with a behaviour-cloning term in the actor loss and normalised
// states. Defaults: the paper's D4RL locomotion settings (Sec. 5 and App. C); the
// implementation, shared with online TD3, is src/algo/td3.cpp.
#include "algo/algorithm.h"
#include "algo/td3.h"

namespace stitch {

STITCH_REGISTER_ALGORITHM(
    td3_bc, {.name = "td3_bc",
             .summary = "TD3+BC (Fujimoto & Gu 2021): TD3 with a BC term, normalised states",
             .normalize_observations = true,
             .locomotion_reward_scaling = false,
             .finetune = {.from = {"td3_bc"}},  // continued online with its offline losses
             .make_config = [] { return std::make_unique<Td3Config>(Td3Variant::td3_bc); },
             .make = [](const AlgoConfig& c, const AlgoDims& d,
                        uint64_t seed) -> std::unique_ptr<Algorithm> {
               return make_td3(dynamic_cast<const Td3Config&>(c), d, seed);
             }});

}  // namespace stitch
