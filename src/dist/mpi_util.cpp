#include "dist/mpi_util.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "core/error.h"

namespace stitch::dist {

World join(const std::string& command) {
  bool launched = false;
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    launched |= std::getenv(var) != nullptr;
  if (!launched) {
    fail("{}: not started by mpirun; run it as `mpirun -n K stitch {}`", command, command);
  }
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);  // MPI from one thread
  World w;
  MPI_Comm_rank(MPI_COMM_WORLD, &w.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &w.size);
  return w;
}

void run_rank(const World& world, const std::function<void()>& body) {
  try {
    body();
  } catch (const EveryoneStopped& e) {
    MPI_Finalize();
    throw Error(e.what());
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {} (rank {})\n", e.what(), world.rank);
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Finalize();
}

namespace {

// The status of the next message with `tag` from `source`, once it has arrived (polled).
MPI_Status wait_for(int source, int tag) {
  MPI_Status status;
  int ready = 0;
  while (true) {
    MPI_Iprobe(source, tag, MPI_COMM_WORLD, &ready, &status);
    if (ready) return status;
    std::this_thread::sleep_for(kPoll);
  }
}

}  // namespace

void send_text(const std::string& text, int dest, int tag) {
  MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR, dest, tag, MPI_COMM_WORLD);
}

std::string recv_text(int source, int tag, int* from) {
  const MPI_Status status = wait_for(source, tag);
  int count = 0;
  MPI_Get_count(&status, MPI_CHAR, &count);
  std::string text(static_cast<size_t>(std::max(count, 0)), '\0');
  MPI_Recv(text.data(), count, MPI_CHAR, status.MPI_SOURCE, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  if (from != nullptr) *from = status.MPI_SOURCE;
  return text;
}

void recv_floats(const MPI_Status& status, std::vector<float>& out) {
  int count = 0;
  MPI_Get_count(&status, MPI_FLOAT, &count);
  out.resize(static_cast<size_t>(std::max(count, 0)));
  MPI_Recv(out.data(), count, MPI_FLOAT, status.MPI_SOURCE, status.MPI_TAG, MPI_COMM_WORLD,
           MPI_STATUS_IGNORE);
}

int recv_floats(int source, int tag, std::vector<float>& out) {
  const MPI_Status status = wait_for(source, tag);
  recv_floats(status, out);
  return status.MPI_SOURCE;
}

}  // namespace stitch::dist
