// RIQL's adversarial corruption (Yang et al. 2024; the authors' attack.py, facts in
// docs/reference-implementations.md) against a trained agent loaded from its checkpoint: for
// `stitch dataset corrupt --kind adversarial --target obs|actions|dynamics --attack CHECKPOINT`.
//
// For the chosen rows, a perturbation p (in units of each dimension's std over the clean column)
// starts uniform in [-scale, scale] and takes 100 steps that lower the mean over the critics
// and rows of Q(s + p std, a) (obs), Q(s, a + p std) (actions) or Q(s' + p std, pi(s' + p std))
// (dynamics, pi the agent's deterministic action), each step one fresh Adam step of lr
// 0.01 scale as attack.py's (lr g / (|g| + 1e-8), about a signed-gradient step), then p clipped
// to [-scale, scale]; the row becomes x + p std. Rows go in chunks of 1024. The agent sees
// observations through its run's normaliser. Torch-free header; libtorch in attack.cpp.
#pragma once

#include <string>

#include "data/corrupt.h"

namespace stitch {

// The attack of the agent in `checkpoint` (a checkpoint file, or a run directory: its
// checkpoints/latest.pt). Throws Error naming the file when it cannot be loaded or its algorithm
// has no critics (BC).
AdversarialAttack q_attack(const std::string& checkpoint);

}  // namespace stitch
