#include "dist/sweep_mpi.h"

// The C API only: OpenMPI's and MPICH's deprecated C++ bindings do not build with our warnings.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <fmt/format.h>
#include <mpi.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <thread>

#include "core/error.h"

namespace stitch {
namespace {

using nlohmann::json;

constexpr int kTagReport = 1;  // worker -> rank 0: how its last cell ended, and "give me one"
constexpr int kTagWork = 2;    // rank 0 -> worker: a cell, or stop
constexpr auto kPoll = std::chrono::milliseconds(20);

// True when this process was started by an MPI launcher (OpenMPI's mpirun, or a PMI/PMIx one
// such as srun), so MPI_Init joins a job instead of making a job of one.
bool launched_by_mpi() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"}) {
    if (std::getenv(var) != nullptr) return true;
  }
  return false;
}

void send_json(const json& j, int dest, int tag) {
  const std::string text = j.dump();
  MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR, dest, tag, MPI_COMM_WORLD);
}

// The next message with `tag` from `source` (MPI_ANY_SOURCE for any), polled so that a waiting
// rank sleeps; *from is its sender.
json recv_json(int source, int tag, int* from) {
  MPI_Status status;
  int ready = 0;
  while (true) {
    MPI_Iprobe(source, tag, MPI_COMM_WORLD, &ready, &status);
    if (ready) break;
    std::this_thread::sleep_for(kPoll);
  }
  int count = 0;
  MPI_Get_count(&status, MPI_CHAR, &count);
  std::string text(static_cast<size_t>(std::max(count, 0)), '\0');
  MPI_Recv(text.data(), count, MPI_CHAR, status.MPI_SOURCE, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  if (from != nullptr) *from = status.MPI_SOURCE;
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    fail("sweep --mpi: rank {} sent a message that is not a JSON object", status.MPI_SOURCE);
  return j;
}

// The worker ranks on this rank's host (rank 0 runs no cell), to share the host's cores.
int local_workers(int rank) {
  MPI_Comm local;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &local);
  int local_size = 0;
  MPI_Comm_size(local, &local_size);
  int coordinator_here = rank == 0 ? 1 : 0;
  int sum = 0;
  MPI_Allreduce(&coordinator_here, &sum, 1, MPI_INT, MPI_SUM, local);
  MPI_Comm_free(&local);
  return std::max(1, local_size - sum);
}

// An error raised after every worker rank has been told to stop (a bad grid): the job can end
// normally, with the error on rank 0.
struct StoppedEveryone : std::runtime_error {
  using std::runtime_error::runtime_error;
};

SweepResult coordinate(const SweepOptions& o, int ranks) {
  // A bad grid still answers every worker (with stop) before the error leaves, so no rank hangs.
  std::optional<SweepQueue> queue;
  std::string setup_error;
  try {
    queue.emplace(o, ranks - 1);
    spdlog::info("sweep --mpi: {} worker ranks, one cell each at a time", ranks - 1);
  } catch (const Error& e) {
    setup_error = e.what();
  }
  int live = ranks - 1;
  while (live > 0) {
    int from = 0;
    const json report = recv_json(MPI_ANY_SOURCE, kTagReport, &from);
    const int64_t done = report.value("cell", int64_t{-1});
    if (done >= 0 && queue) {
      queue->finish(static_cast<size_t>(done), {.ok = report.value("ok", false),
                                                .error = report.value("error", ""),
                                                .seconds = report.value("seconds", 0.0)});
    }
    const std::optional<size_t> next = queue ? queue->take() : std::nullopt;
    if (!next) {
      send_json({{"stop", true}}, from, kTagWork);
      --live;
      continue;
    }
    const SweepCell& c = queue->cell(*next);
    send_json(
        {{"cell", *next}, {"name", c.name}, {"run_dir", c.run_dir}, {"train_args", c.train_args}},
        from, kTagWork);
  }
  if (!setup_error.empty()) throw StoppedEveryone(setup_error);
  return queue->close();
}

void work(const SweepOptions& o, const std::string& binary, int threads) {
  json report{{"cell", -1}};
  while (true) {
    send_json(report, 0, kTagReport);
    const json msg = recv_json(0, kTagWork, nullptr);
    if (msg.value("stop", false)) return;
    SweepCell c;
    c.name = msg.at("name").get<std::string>();
    c.run_dir = msg.at("run_dir").get<std::string>();
    c.train_args = msg.at("train_args").get<std::vector<std::string>>();
    const CellOutcome r = run_cell(binary, c, threads, o.out);
    report = {{"cell", msg.at("cell")}, {"ok", r.ok}, {"error", r.error}, {"seconds", r.seconds}};
  }
}

}  // namespace

MpiSweepResult run_sweep_mpi(const SweepOptions& o, const std::string& binary) {
  if (!launched_by_mpi()) {
    fail(
        "sweep --mpi: not started by mpirun; run `mpirun -n K stitch sweep GRID.json --mpi` "
        "with K >= 2 (rank 0 hands out cells, the other ranks run them)");
  }
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SINGLE, &provided);
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  if (ranks < 2) {
    MPI_Finalize();
    fail(
        "sweep --mpi: the job has 1 rank; it needs 2 or more (rank 0 hands out cells, the other "
        "ranks run them)");
  }
  MpiSweepResult r;
  try {
    const int workers_here = local_workers(rank);
    if (rank == 0) {
      r.coordinator = true;
      r.result = coordinate(o, ranks);
    } else {
      const int cores = o.total_threads > 0
                            ? o.total_threads
                            : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
      work(o, binary, std::max(1, cores / workers_here));
    }
  } catch (const StoppedEveryone& e) {
    MPI_Finalize();  // every rank was told to stop: the error is this rank's alone
    throw Error(e.what());
  } catch (const std::exception& e) {
    // Another rank may be waiting on this one: say why here, then end the whole job.
    fmt::print(stderr, "error: {} (rank {})\n", e.what(), rank);
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Finalize();
  return r;
}

}  // namespace stitch
