// Data corruption as RIQL defines it (Yang et al. 2024, "Towards Robust Offline Reinforcement
// Learning under Diverse Data Corruption"; the authors' attack.py, facts in
// docs/reference-implementations.md), behind `stitch dataset corrupt`:
//
//   rows      each row independently with probability `rate` (one uniform draw per row, in row
//             order, then the noise of the chosen rows in row order);
//   random    observations / actions / dynamics (next_observations): x + U(-scale, scale) * std,
//             std the column's per-dimension standard deviation over the clean data (actions
//             are not clipped to their bounds); rewards: replaced by U(-30 scale, 30 scale);
//   adversarial rewards: r -> -scale * r; observations / actions / dynamics: x + p * std with
//             p in [-scale, scale] found by gradient steps that lower a trained agent's Q
//             (an AdversarialAttack: src/algo/attack.h builds one from a checkpoint).
//
// The corrupted rows are marked in the per-row column infos/corrupted (a bit per target:
// observations 1, actions 2, rewards 4, dynamics 8), which stays aligned with its rows through
// slices, merges and conversions, and every application is recorded in the metadata key
// "corruption" (a JSON list of {target, kind, rate, scale, seed, rows: how many}).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/rng.h"
#include "data/dataset.h"

namespace stitch {

enum class CorruptTarget { kObservations, kActions, kRewards, kDynamics };
enum class CorruptKind { kRandom, kAdversarial };

struct CorruptOptions {
  CorruptTarget target = CorruptTarget::kRewards;
  CorruptKind kind = CorruptKind::kRandom;
  double rate = 0.3;   // fraction of rows, in [0, 1]
  double scale = 1.0;  // epsilon, >= 0
  uint64_t seed = 0;
};

// "obs"/"observations", "actions", "rewards", "dynamics"; "random", "adversarial". Throw Error
// naming the value and the choices.
CorruptTarget parse_corrupt_target(const std::string& name);
CorruptKind parse_corrupt_kind(const std::string& name);
const char* corrupt_target_name(CorruptTarget target);

// The bit of infos/corrupted for a target.
int corrupt_target_bit(CorruptTarget target);

// An adversarial perturbation of `rows` of the target's column (observations, actions or
// next_observations of `d`, `width` wide): writes column[i] = clean + p * std with each
// p in [-scale, scale], drawing what it draws from `rng`.
using AdversarialAttack = std::function<void(
    const Dataset& d, CorruptTarget target, const std::vector<int64_t>& rows,
    const std::vector<double>& std, double scale, std::vector<float>& column, Rng& rng)>;

// Corrupts `d` in place and returns how many rows were corrupted. `next_recorded`: whether the
// source stored next_observations (dynamics corruption needs them); `attack`: required for
// adversarial observations, actions and dynamics. Checks every option first: on bad options it
// throws Error and `d` is unchanged.
int64_t corrupt_dataset(Dataset& d, const CorruptOptions& options, bool next_recorded,
                        const AdversarialAttack* attack = nullptr);

}  // namespace stitch
