#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>

#include "cli/commands.h"
#include "core/error.h"
#include "track/sweep.h"
#ifdef STITCH_HAVE_MPI
#include "dist/sweep_mpi.h"
#endif

namespace stitch::cli {

void add_sweep_command(CLI::App& app) {
  auto o = std::make_shared<SweepOptions>();
  auto shard = std::make_shared<std::string>("0/1");
  auto mpi = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand(
      "sweep",
      "train a grid of algorithms x datasets x seeds in worker processes, resumable "
      "(docs/sweep.md); ends with a report");
  cmd->add_option("grid", o->grid, "GRID.json")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out", o->out, "directory of the cells' run directories (default runs)");
  auto* workers = cmd->add_option("--workers", o->workers,
                                  "training processes at once; each gets --threads / N")
                      ->check(CLI::PositiveNumber);
  cmd->add_flag("--mpi", *mpi,
                "under `mpirun -n K`: rank 0 hands cells to the other ranks as they free up, one "
                "cell per rank at a time; --threads is each host's cores, shared by its ranks");
  cmd->add_option("--shard", *shard,
                  "I/N: run only cells i with i % N == I (split a sweep over machines or jobs)");
  cmd->add_flag("--retry-failed", o->retry_failed, "run failed cells again");
  cmd->add_option("--replicates", o->report_replicates, "bootstrap replicates of the report")
      ->check(CLI::PositiveNumber);
  cmd->callback([o, shard, mpi, workers] {
    setup_runtime(false);
    const size_t slash = shard->find('/');
    try {
      if (slash == std::string::npos) throw std::invalid_argument(*shard);
      o->shard_index = std::stoi(shard->substr(0, slash));
      o->shard_count = std::stoi(shard->substr(slash + 1));
    } catch (const std::exception&) {
      fail("--shard: expected I/N (e.g. 0/4), got '{}'", *shard);
    }
    o->total_threads = global_options().threads_given
                           ? global_options().threads
                           : static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
    const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
    SweepResult r;
    if (*mpi) {
      if (workers->count() > 0)
        fail("sweep: --workers is for one machine; with --mpi each rank but 0 runs one cell");
#ifdef STITCH_HAVE_MPI
      const MpiSweepResult m = run_sweep_mpi(*o, self);
      if (!m.coordinator) return;  // rank 0 reports for the job
      r = m.result;
#else
      fail("sweep --mpi: this stitch was built without MPI (install libopenmpi-dev and rebuild)");
#endif
    } else {
      r = run_sweep(*o, self);
    }
    fmt::print("sweep: {} finished, {} failed, {} finished before{}\n", r.finished, r.failed,
               r.skipped, r.report_dir.empty() ? "" : "; report " + r.report_dir + "/index.html");
    for (const auto& name : r.failed_cells) fmt::print("failed: {}\n", name);
    if (r.failed > 0) fail("{} cell(s) failed; see {}/logs/", r.failed, o->out);
  });
}

}  // namespace stitch::cli
