// `mpirun -n N stitch train --algo sac --online --dist`: SAC with its environment steps spread
// over actor ranks (docs/distributed.md). Rank 0 is the learner: it holds the replay buffer, the
// networks, the run directory and its checkpoints, evaluations and logs, as `stitch train
// --online` does. Ranks 1..N-1 are actors: each steps a VectorEnv of num_envs envs with the
// learner's newest policy on the torch-free path (deploy/gaussian_policy.h) and sends its
// transitions to the learner in chunks. The dataflow is SRL's (Mei et al. 2023, "SRL: Scaling
// Distributed Reinforcement Learning to Over Ten Thousand Cores") with the policy workers inside
// the actors and one trainer.
//
// Protocol (one tag each way, so each direction keeps its order):
//   learner -> actor  start (JSON: the resolved config, the policy's shape, the actor's seed);
//                     after each chunk it takes in, a reply: the policy's parameters when they are
//                     newer than the actor's (every kParamEvery updates), else an acknowledgement;
//                     stop at the end
//   actor -> learner  hello (JSON: env id, dimensions, stitch commit; checked against the
//                     learner's, an error naming the rank otherwise); chunks of kChunkSteps env
//                     steps of every env (each row s, a, r, s', terminated, truncated, then the
//                     episodes that ended and the policy version that acted); bye after stop
// An actor keeps at most kWindow chunks unacknowledged: it steps its envs while the learner
// takes in its last chunk (double buffering) and waits only when it is two chunks ahead. Before
// learning_starts env steps (counted over all actors) actors act uniformly at random, as the
// online loop does; the learner then does utd_ratio updates per transition it takes in.
//
// A run is reproducible only up to the order in which chunks arrive (the ranks run freely); a
// resume restores the learner (networks, optimisers, replay buffer, env step) and restarts the
// actors' envs. A rank that dies ends the job (mpirun stops every rank).
#pragma once

#include <string>

#include "algo/trainer.h"

namespace stitch {

// Called by every rank with the same arguments: config_json as for train(); with resume,
// run_dir's stored config (rank 0 reads it). Returns the learner's result on rank 0, an empty one
// on actors. Error when not started by mpirun or with fewer than 2 ranks; an error on any rank
// is printed by it and ends the job.
TrainResult train_distributed(const std::string& config_json, bool resume,
                              const std::string& run_dir, int learners = 1);

}  // namespace stitch
