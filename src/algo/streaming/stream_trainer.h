// The streaming loop: act, step the env, update once, forget the transition (Elsayed et al.
// 2024). Called by train() (algo/trainer.h) for streaming algorithms (`stitch train --algo
// stream-ac --env hopper-v4 --online`).
//
// Run directory, as for offline training:
//   config.json, versions.txt
//   metrics.jsonl   every log_every steps: step, wall time, steps/s, mean |TD error|, mean ObGD
//                   step sizes, mean return of the episodes that ended in the window
//   episodes.jsonl  one line per training episode: step, episode, return, length (+ agent
//                   diagnostics such as stream TD's value_rmse)
//   eval.jsonl      every eval_every steps: deterministic-policy returns on separate episodes
//   checkpoints/latest.cbor   "stitch-stream-checkpoint-v1\n" then CBOR: agent (networks,
//                   traces, counters, RNG), normalisers, loop counters
// Checkpoints are written at the first episode boundary after every checkpoint_every steps (a
// boundary needs no env state to resume from: the next episode starts from its own seed), and at
// the end. A run killed mid-way resumes from its last checkpoint and ends in exactly the state
// of an uninterrupted run (same machine); at most one episode's steps are recomputed.
#pragma once

#include <cstdint>
#include <string>

#include "algo/trainer.h"

namespace stitch {

class AlgoConfig;
struct AlgoEntry;

TrainResult train_stream(const TrainConfig& config, const AlgoEntry& entry,
                         const AlgoConfig& algo_config, const std::string& config_json, bool resume,
                         int64_t stop_after_steps);

// Whether `path` is a streaming checkpoint, and evaluating one (see evaluate_checkpoint).
bool is_stream_checkpoint(const std::string& path);
EvalResult evaluate_stream_checkpoint(const std::string& path, const std::string& env, int episodes,
                                      uint64_t seed);

}  // namespace stitch
