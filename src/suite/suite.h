// The stitch benchmark suite: datasets built the way D4RL built its own (Fu et al. 2020, "D4RL:
// Datasets for Deep Data-Driven Reinforcement Learning", Sec. 5), regenerated deterministically
// from small committed behaviour policies.
//
// suite/manifest.json lists the datasets. Each is one recipe:
//   {"name": "hopper-v4-medium", "env": "hopper-v4", "recipe": "rollout",
//    "policy": "suite/policies/hopper-v4/step-100000.policy", "noise": "none", "seed": 1}
//   "rollout": one policy (random | scripted | a stitch-policy-v1 file) with optional noise;
//   "mixture": several policies in order, transitions split evenly (the suite's stand-in for
//              D4RL's medium-replay: the policies a training run passed through);
//   "concat":  other datasets of the manifest, concatenated (medium-expert).
// Policy files carry their sha256 in the manifest ("policies": {"path": "sha256"}); a mismatch
// is an error. Every dataset's transitions default to the manifest's "default_transitions" per
// env and scale with --size.
//
// suite/references.json holds per env the mean return over 100 episodes of a random policy and
// of the expert, for the normalised score 100 * (return - random) / (expert - random) (D4RL's
// definition, Fu et al. 2020, Sec. 5). It is compiled into the binary, and
// STITCH_SUITE_REFERENCES=FILE overrides it: eval/scores.h reads it (normalized_score()).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "eval/scores.h"

namespace stitch {

struct SuiteBuildOptions {
  std::string manifest = "suite/manifest.json";
  std::string data_dir = "data";
  std::string env;     // only this env's datasets (empty: all)
  int64_t size = 0;    // transitions per rollout dataset (0: the manifest's default per env)
  bool force = false;  // rebuild even when the file matches its recipe
};

struct SuiteBuildEntry {
  std::string name, path, sha256;
  int64_t transitions = 0;
  bool skipped = false;  // already built from the same recipe, bytes unchanged
};

// Builds the datasets (concatenations after their parts); each file is written atomically and
// recorded with its recipe hash in <data_dir>/<name>.hdf5.recipe.json, so a rebuild skips
// files whose recipe and bytes are unchanged. Deterministic: same manifest, policies and size,
// byte-identical files.
std::vector<SuiteBuildEntry> build_suite(const SuiteBuildOptions& options);

struct SuiteListEntry {
  std::string name, env, path;
  bool built = false;
  int64_t transitions = 0, episodes = 0;
  double mean_return = 0.0;
  std::optional<double> normalized;
};
std::vector<SuiteListEntry> list_suite(const std::string& manifest, const std::string& data_dir);

}  // namespace stitch
