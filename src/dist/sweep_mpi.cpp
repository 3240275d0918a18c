#include "dist/sweep_mpi.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "core/error.h"
#include "dist/mpi_util.h"

namespace stitch {
namespace {

using nlohmann::json;

constexpr int kTagReport = 1;  // worker -> rank 0: how its last cell ended, and "give me one"
constexpr int kTagWork = 2;    // rank 0 -> worker: a cell, or stop
// (An invalid UTF-8 byte in a worker's error line is replaced, not a reason to end the job.)
void send_json(const json& j, int dest, int tag) {
  dist::send_text(j.dump(-1, ' ', false, json::error_handler_t::replace), dest, tag);
}

json recv_json(int source, int tag, int* from) {
  int sender = 0;
  json j = json::parse(dist::recv_text(source, tag, &sender), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    fail("sweep --mpi: rank {} sent a message that is not a JSON object", sender);
  if (from != nullptr) *from = sender;
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

SweepResult coordinate(const SweepOptions& o, int ranks) {
  // A bad grid still answers every worker (with stop) before the error leaves, so no rank hangs.
  std::optional<SweepQueue> queue;
  std::string setup_error;
  try {
    queue.emplace(o, ranks - 1);
    spdlog::info("sweep --mpi: {} worker ranks, one cell each at a time", ranks - 1);
  } catch (const std::exception& e) {
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
  if (!setup_error.empty()) throw dist::EveryoneStopped(setup_error);
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
  const dist::World world = dist::join("sweep --mpi");
  if (world.size < 2) {
    MPI_Finalize();
    fail(
        "sweep --mpi: the job has 1 rank; it needs 2 or more (rank 0 hands out cells, the other "
        "ranks run them)");
  }
  MpiSweepResult r;
  dist::run_rank(world, [&] {
    const int workers_here = local_workers(world.rank);
    if (world.rank == 0) {
      r.coordinator = true;
      r.result = coordinate(o, world.size);
    } else {
      const int cores = o.total_threads > 0
                            ? o.total_threads
                            : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
      work(o, binary, std::max(1, cores / workers_here));
    }
  });
  return r;
}

}  // namespace stitch
