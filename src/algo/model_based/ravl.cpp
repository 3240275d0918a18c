// RAVL: Sims, Lu, Foerster & Teh 2024, "The Edge-of-Reach Problem in Offline Model-Based
// Reinforcement Learning" (NeurIPS). Model-based offline RL fails, the paper argues, not through
// model error but through states that k-step rollouts reach only at their last step ("edge of
// reach"): their values are never corrected by a Bellman update, so they are over-estimated. RAVL
// drops the dynamics-uncertainty penalty and trains EDAC's critic ensemble (src/algo/offline/
// sac_n.cpp) on the model rollouts (the model-based loop, model_loop.cpp), whose pessimism over
// the ensemble covers the edge-of-reach states.
//
// Defaults: the authors' code (github.com/anyasims/edge-of-reach, train_ravl_agent.py; facts in
// docs/reference-implementations.md): N = 10 critics, eta 1.0, 3 hidden layers of 256 with EDAC's
// initialisation, Adam lr 3e-4 for the actor, the critics and the temperature, target entropy
// -act_dim; rollouts of 5 steps from 50,000 dataset states every 1,000 updates, kept for 5
// rollout batches, real ratio 0.05; the raw model reward (no penalty). The model is the same
// ensemble as MOPO's (model.* keys).
#include "algo/offline/sac_n.h"

namespace stitch {

STITCH_REGISTER_ALGORITHM(
    ravl, {.name = "ravl",
           .summary = "RAVL (Sims et al. 2024): EDAC's critic ensemble on dynamics-model rollouts, "
                      "no model penalty",
           .model_rollouts = sac_n_rollouts,
           .make_config = [] { return make_sac_n_config(SacNKind::kRavl); },
           .make = make_sac_n});

}  // namespace stitch
