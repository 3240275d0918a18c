// train()'s shell (algo/trainer.h) around a loop of the caller's: the run directory's lock, the
// stored config on a resume, stdout.log, the matmul precision and meta.json. For loops that live
// outside src/algo: the distributed learner (dist/dist_train.h).
#pragma once

#include <functional>
#include <string>

#include "algo/train_config.h"
#include "algo/trainer.h"

namespace stitch {

using TrainLoop = std::function<TrainResult(const ResolvedTrainConfig& cfg, bool resume)>;
TrainResult train_with_loop(const std::string& config_json, bool resume, const TrainLoop& loop);

// The stored config.json of the run in run_dir, with run_dir set to where the run is now (a
// copied or moved run resumes where it is); Error when run_dir holds no run.
std::string stored_run_config(const std::string& run_dir);

}  // namespace stitch
