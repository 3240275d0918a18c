// Reading and writing datasets in the field's two HDF5 layouts.
//
// D4RL (flat, one file): observations [N,obs], actions [N,act], rewards [N] or [N,1],
// terminals [N] or [N,1], timeouts [N] (optional: accepted with a warning), optional
// next_observations [N,obs], costs [N], infos/* [N,...], metadata/* (scalars and strings).
// Any float or integer dtype is read (D4RL's medium-replay files are float64) and stored as
// float32; booleans may be h5py's enum bools or integers 0/1.
//
// Minari (episodic): a dataset directory holding data/main_data.hdf5 (one group per episode,
// episode_<id>/{observations [T+1,obs], actions [T,act], rewards [T], terminations [T],
// truncations [T], infos/*}, group attributes id, total_steps, seed) and data/metadata.json
// (dataset_id, total_episodes, total_steps, observation_space, action_space, ref_min_score,
// ref_max_score, ...). The directory, its data/ folder, or the HDF5 file alone is accepted.
//
// Writes are atomic (a temporary file or directory, then rename) and never replace an existing
// path unless `force` is set. Every problem is an Error naming the file, the key and the first
// bad row.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace stitch {

enum class Layout { kD4rl, kMinari };

// "d4rl" / "minari"; throws Error for anything else.
Layout parse_layout(const std::string& name);
const char* layout_name(Layout layout);

// Which layout a path holds; throws Error when it is neither.
Layout detect_layout(const std::string& path);

struct LoadOptions {
  // Errors instead of warnings for: actions outside the declared bounds, a final episode with
  // no terminal or timeout, a file without `timeouts`.
  bool strict = false;
  // Read the file once in a forked child process first. libhdf5 (1.10) can crash outright on
  // some corrupt files (the fuzzer found such a segfault inside H5Lexists); with the guard a
  // crash becomes an Error ("... the HDF5 library crashed reading it") instead of killing the
  // caller. Costs a second read of the file (from the page cache).
  bool crash_guard = true;
};

// What validation found; warnings were also logged.
struct LoadReport {
  Layout layout = Layout::kD4rl;
  std::vector<std::string> warnings;
  int64_t actions_out_of_bounds = 0;  // rows with any action dimension outside the bounds
  int64_t first_action_out_of_bounds_row = -1;
  bool derived_next_observations = false;
  bool had_timeouts = true;
};

Dataset load_dataset(const std::string& path, const LoadOptions& options = {},
                     LoadReport* report = nullptr);

struct SaveOptions {
  Layout layout = Layout::kD4rl;
  int gzip_level = 0;  // 0: no compression; 1-9: gzip (deflate) level
  bool force = false;  // replace an existing file or directory
};

void save_dataset(const Dataset& dataset, const std::string& path, const SaveOptions& options);

// Reads a D4RL-layout file from an in-memory image (the fuzz target's entry point).
Dataset load_d4rl_image(const void* data, size_t size, const LoadOptions& options = {});

// Checks values and structure (NaN/inf with the first bad row, action bounds from the metadata
// or the registered env, episodes longer than the env's time limit, unterminated final
// episode). Called by load_dataset; usable on datasets built in memory.
void validate_dataset(const Dataset& dataset, const std::string& source, const LoadOptions& options,
                      LoadReport& report);

}  // namespace stitch
