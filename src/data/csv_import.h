// Importing transitions from CSV logs.
//
// One row per transition, a header row naming the columns, comma-separated (double-quoted
// fields allowed). A JSON spec says which columns hold what:
//
//   {
//     "observations": ["x", "x_dot"],          required: observation columns, in order
//     "actions": ["u"],                         required
//     "reward": "r",                            required
//     "terminal": "done",                       optional: 1/0/true/false, a true terminal state
//     "timeout": "truncated",                   optional: 1/0/true/false, a time-limit cut
//     "episode": "episode_id",                  optional: a change of value starts an episode
//     "next_observations": ["nx", "nx_dot"],   optional: recorded successor states
//     "cost": "c",                              optional: safety cost
//     "metadata": {"env_id": "pendulum-v1"}     optional: copied into the dataset
//   }
//
// When the episode column changes after a row that has neither flag, that row ends its episode
// as a time-out (the log was cut there). Every problem names the file, row (1-based, header =
// row 1) and column.
#pragma once

#include <string>

#include "data/dataset.h"

namespace stitch {

Dataset import_csv(const std::string& csv_path, const std::string& spec_path);

}  // namespace stitch
