// Cal-QL: Nakamoto, Zhai, Singh, Sobol Mark, Ma, Finn, Kumar & Levine 2023, "Cal-QL: Calibrated
// Offline RL Pre-Training for Efficient Online Fine-Tuning" (NeurIPS). CQL whose conservative
// term scores the policy's actions at max(Q, G), G the Monte-Carlo return-to-go, so the
// pre-trained Q-function is calibrated (no lower than the behaviour policy's values) when online
// training starts; the update is CQL's (src/algo/offline/cql.cpp, which describes the bound).
// Pre-train offline with `stitch train --algo calql --dataset FILE` (the sampler gives each row
// its discounted return to the episode's end, without bootstrapping past a timeout, as the
// authors' replay buffer does), then `stitch finetune --algo calql --from RUN/checkpoints/latest.pt
// --dataset FILE`: half of each minibatch from the offline data (the paper's mixing ratio 0.5),
// online episodes stored with their returns-to-go when they end, one update per env step from
// the first online step (no warm-up), as in the authors' code.
// Defaults: CQL's (CORL's locomotion settings, conservative weight 10): neither the authors'
// code nor CORL has Cal-QL settings for locomotion (the authors': AntMaze and Adroit only;
// CORL's: the same). The sparse-reward rule of the authors' code (G = r / (1 - discount) when
// every reward of an episode is the minimum) is not implemented: dense rewards only.
#include "algo/offline/cql.h"

namespace stitch {

STITCH_REGISTER_ALGORITHM(
    calql,
    {.name = "calql",
     .summary = "Cal-QL (Nakamoto et al. 2023): CQL calibrated by Monte-Carlo returns; fine-tunes",
     .normalize_observations = true,
     .locomotion_reward_scaling = false,
     .returns_to_go = true,
     .finetune = {.from = {"calql", "cql"}},
     .make_config = [] { return make_cql_config(true); },
     .make = make_cql});

}  // namespace stitch
