// What the MPI commands (sweep_mpi.cpp, dist_train.cpp) share: joining the job, one error line
// and the end of the whole job when a rank fails, and messages received by polling. Internal to
// src/dist: only its files see mpi.h (CMakeLists.txt says why).
#pragma once

// The C API only: OpenMPI's and MPICH's deprecated C++ bindings do not build with our warnings.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace stitch::dist {

// How long a waiting rank sleeps between polls: a blocking receive would spin a core.
constexpr auto kPoll = std::chrono::milliseconds(1);

struct World {
  int rank = 0, size = 1;
};

// MPI_Init for `command` ("sweep --mpi"); Error when the process was not started by an MPI
// launcher (mpirun, or srun with PMI/PMIx), before touching MPI.
World join(const std::string& command);

// An error raised once every other rank has been told to stop (e.g. a bad grid on the sweep's
// rank 0): the job can end normally, with the error on this rank alone.
struct EveryoneStopped : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Runs `body` on this rank. EveryoneStopped leaving it: MPI_Finalize, then an Error with its
// message. Any other exception prints "error: <what> (rank R)" and ends the
// whole job (MPI_Abort: another rank may be waiting on this one); otherwise MPI_Finalize.
void run_rank(const World& world, const std::function<void()>& body);

// Sends text; receives the next text with `tag` from `source` (MPI_ANY_SOURCE: any), polling.
void send_text(const std::string& text, int dest, int tag);
std::string recv_text(int source, int tag, int* from = nullptr);

// Receives the float message that MPI_Iprobe found (`status`) into `out` (resized).
void recv_floats(const MPI_Status& status, std::vector<float>& out);

// A non-blocking send from a buffer that stays alive until the send completes: fill buffer() (it
// waits for the previous send from it), then send().
class SendSlot {
 public:
  SendSlot() = default;
  SendSlot(const SendSlot&) = delete;
  SendSlot& operator=(const SendSlot&) = delete;
  ~SendSlot() { wait(); }
  std::vector<float>& buffer() {
    wait();
    return data_;
  }
  void send(int dest, int tag) {
    wait();
    MPI_Isend(data_.data(), static_cast<int>(data_.size()), MPI_FLOAT, dest, tag, MPI_COMM_WORLD,
              &request_);
    pending_ = true;
  }
  void wait() {
    if (pending_) MPI_Wait(&request_, MPI_STATUS_IGNORE);
    pending_ = false;
  }
  // Lets a send in flight make progress (MPI_Test): a large message over a network transport
  // moves only while its sender calls into MPI.
  void progress() {
    if (!pending_) return;
    int done = 0;
    MPI_Test(&request_, &done, MPI_STATUS_IGNORE);
    pending_ = done == 0;
  }

 private:
  std::vector<float> data_;
  MPI_Request request_ = MPI_REQUEST_NULL;
  bool pending_ = false;
};

// Receives the next float message with `tag` from `source` into `out`, polling; returns its
// sender.
int recv_floats(int source, int tag, std::vector<float>& out);

}  // namespace stitch::dist
