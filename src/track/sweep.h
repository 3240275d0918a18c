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

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
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

// ---- the parts a scheduler is made of (run_sweep here, the MPI one in dist/sweep_mpi.h) -----

// How one cell's worker process ended.
struct CellOutcome {
  bool ok = false;
  std::string error;  // the worker's last "error: " line, or how it died
  double seconds = 0.0;
};

// The `stitch` arguments that run a cell with `threads` threads: `train --resume` when its run
// directory holds a checkpoint (then *resumed is set), its fresh-start arguments otherwise.
std::vector<std::string> cell_args(const SweepCell& cell, int threads, bool* resumed = nullptr);
// Starts the cell's worker (`binary` cell_args...) with its output appended to
// <out>/logs/<name>.log; the worker dies with the calling process (PR_SET_PDEATHSIG).
pid_t start_cell(const std::string& binary, const SweepCell& cell, int threads,
                 const std::string& out);
// The outcome of a worker from its waitpid status and its log.
CellOutcome cell_outcome(const SweepCell& cell, int wait_status, double seconds,
                         const std::string& out);
// Runs a cell to its end in a worker process (start_cell, then waits for it).
CellOutcome run_cell(const std::string& binary, const SweepCell& cell, int threads,
                     const std::string& out);

// A sweep's bookkeeping, whoever runs the cells: this shard's cells and their states (from
// their run directories, then as they run), sweep-I-of-N.json after every change, a progress
// line per ended cell, and the report at the end. Holds the output directory's lock.
class SweepQueue {
 public:
  // `parallel`: cells run at once (for the ETA).
  SweepQueue(const SweepOptions& options, int parallel);
  ~SweepQueue();
  SweepQueue(const SweepQueue&) = delete;
  SweepQueue& operator=(const SweepQueue&) = delete;

  // The next waiting cell, now marked running (logged as starting or resuming), or nullopt.
  std::optional<size_t> take();
  const SweepCell& cell(size_t i) const;
  void finish(size_t i, const CellOutcome& outcome);
  // Writes the report over the output directory (none when no cell has results) and returns
  // the counts.
  SweepResult close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stitch
