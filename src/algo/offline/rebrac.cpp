// ReBRAC: Tarasov, Kurenkov, Nikulin & Kolesnikov 2023, "Revisiting the Minimalist Approach to
// Offline Reinforcement Learning". TD3+BC with three hidden layers, LayerNorm critics, a batch of
// 1024, lr 1e-3, a BC penalty in the critic's target as well as the actor's loss, and the Q term
// normalised by mean|min Q|. Defaults: CORL's rebrac.py; the per-dataset BC coefficients of
// CORL's configs ship as suite/configs/rebrac/<dataset>.json. No state normalisation, no reward
// scaling (CORL's locomotion configs). The implementation, shared with TD3 and TD3+BC, is
// src/algo/td3.cpp.
#include "algo/algorithm.h"
#include "algo/td3.h"

namespace stitch {

STITCH_REGISTER_ALGORITHM(
    rebrac, {.name = "rebrac",
             .summary = "ReBRAC (Tarasov et al. 2023): TD3+BC, deeper LayerNorm critics, critic BC",
             .normalize_observations = false,
             .locomotion_reward_scaling = false,
             .batch_size = 1024,
             .next_actions = true,
             .make_config = [] { return std::make_unique<Td3Config>(Td3Variant::rebrac); },
             .make = [](const AlgoConfig& c, const AlgoDims& d,
                        uint64_t seed) -> std::unique_ptr<Algorithm> {
               return make_td3(dynamic_cast<const Td3Config&>(c), d, seed);
             }});

}  // namespace stitch
