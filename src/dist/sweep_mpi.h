// `mpirun -n K stitch sweep GRID.json --mpi`: one sweep balanced over MPI ranks (docs/sweep.md).
//
// Rank 0 holds the queue (track/sweep.h's SweepQueue: the grid, the cells' states, the status
// file, the report) and runs no cell. Every other rank asks it for a cell, runs it to its end in
// a worker process (`stitch train`, or `train --resume` when the cell's run directory holds a
// checkpoint), reports how it ended and asks again: a rank that finishes early gets the next
// cell (dynamic balance; runs differ in length). The ranks share one output directory (a shared
// file system on several hosts), so the run directories, and with the same --threads the
// scores, are those of `stitch sweep` on one machine.
//
// A rank killed mid-sweep takes the job with it (mpirun ends every rank, and the cells' workers
// die with their ranks). Rerunning the same command skips finished cells and resumes the killed
// ones from their checkpoints, as for a local sweep: only the steps since a cell's last
// checkpoint are lost.
//
// Messages are JSON text: a worker sends {"cell": i, "ok", "error", "seconds"} (cell -1 when it
// has run none yet); rank 0 answers with a cell ({"cell", "name", "run_dir", "train_args"}) or
// {"stop": true}. Waiting ranks poll every millisecond rather than spin in a blocking receive, so
// an idle rank costs no core.
#pragma once

#include <string>

#include "track/sweep.h"

namespace stitch {

struct MpiSweepResult {
  bool coordinator = false;  // rank 0: `result` holds the sweep's counts
  SweepResult result;
};

// Called by every rank with the same options. Threads per cell: options.total_threads shared by
// the worker ranks on each host. Error (on rank 0, after every rank has been told to stop) for a
// bad grid or a job of fewer than 2 ranks; Error on every rank when not started by mpirun.
MpiSweepResult run_sweep_mpi(const SweepOptions& options, const std::string& stitch_binary);

}  // namespace stitch
