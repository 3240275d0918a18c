// `stitch sweep GRID.json`: a grid of training runs (algorithms x datasets x seeds, with shared
// and per-algorithm config overrides), one run directory per cell, N worker processes, resumable.
//
// The grid (docs/sweep.md has a full example):
//   {"algos": ["bc", "iql"],                        required
//    "datasets": ["data/hopper-v4-medium.hdf5"],    required (offline); omit for --online grids
//    "env": "hopper-v4",                            optional when every dataset's metadata names
//                                                   its env (env_id, as collect/suite write it)
//    "seeds": [0, 1, 2],                            required
//    "steps": 200000,                               optional (the trainer's default otherwise)
//    "online": false,                               optional: online/streaming algorithms
//    "set": {"eval_every": 10000, "iql.expectile": 0.8},
//    "configs": {"rebrac": "suite/configs/rebrac/{dataset}.json"},  optional: config files
//    "from": {"iql": "runs/table/iql-{dataset}-s{seed}/checkpoints/latest.pt"}}
//   "set" keys apply to every cell; "<algo>.<key>" keys only to that algorithm's cells.
//   "from" makes an algorithm's cells fine-tuning runs (`stitch finetune --from` the checkpoint
//   of the same dataset file stem and seed, with --dataset the cell's dataset).
//
// Cell names are stable: <algo>-<dataset file stem or env>-s<seed>, under the output directory.
// Each cell runs as `stitch train ...` in a worker process with --threads = cores / workers.
// Rerunning the same command skips finished cells, resumes killed ones from their checkpoints
// (`train --resume`), starts those that never wrote one, and leaves failed cells (their error in
// meta.json) alone unless retry_failed. A failed cell does not stop the others. sweep.json in
// the output directory records the grid and every cell's state; the sweep ends with `stitch
// report` over the output directory (<out>/report).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace stitch {

struct SweepCell {
  std::string name;                     // stable run directory name
  std::string run_dir;                  // <out>/<name>
  std::vector<std::string> train_args;  // `stitch train` arguments of a fresh start
};

struct SweepOptions {
  std::string grid;          // GRID.json
  std::string out = "runs";  // where the cells' run directories go
  int workers = 1;
  int shard_index = 0, shard_count = 1;  // run cells i with i % count == index
  bool retry_failed = false;
  int total_threads = 0;  // cores to share among workers (0: hardware concurrency)
  int64_t report_replicates = 2000;
};

// The grid's cells in order (before sharding); Error naming the file and key on a bad grid.
std::vector<SweepCell> sweep_cells(const std::string& grid_path, const std::string& out_dir);

struct SweepResult {
  int finished = 0, failed = 0, skipped = 0;  // skipped: already finished before this call
  std::vector<std::string> failed_cells;
  std::string report_dir;
};

// Runs the sweep with `stitch_binary` as the worker program (the CLI passes itself).
SweepResult run_sweep(const SweepOptions& options, const std::string& stitch_binary);

}  // namespace stitch
