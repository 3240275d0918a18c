// The MPI transport of `stitch train --dist` alone, against raw MPI ping-pong on the same host:
//   mpirun --allow-run-as-root -n 2 build/bench/stitch_bench_dist
// Rank 0 plays the learner, rank 1 an actor. Measured:
//   raw       blocking MPI_Send/MPI_Recv ping-pong: one-way time and bandwidth for a 4-byte
//             message, a chunk of 32 hopper transitions (28 floats each) and the parameters of
//             a 17-256-256-6 tanh-Gaussian policy (its trunk, mean and log-std heads)
//   polled    the same ping-pong through the trainer's receive (MPI_Iprobe, 1 ms sleep when
//             nothing has arrived: src/dist/mpi_util.h), so the cost of polling shows
//   chunks    the actor's stream: chunks sent non-blocking, at most 2 unacknowledged (the
//             trainer's window), each acknowledged by the learner: transitions per second
// No environment and no learning: the rates are the transport's ceiling on this host.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <vector>

#include "dist/mpi_util.h"

namespace {

using stitch::dist::recv_floats;
using stitch::dist::SendSlot;
using Clock = std::chrono::steady_clock;

constexpr int kTag = 7;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// One-way seconds of a `floats`-float message, ping-pong averaged over `reps` round trips.
double ping_pong(int rank, int floats, int reps, bool polled) {
  std::vector<float> buf(static_cast<size_t>(floats), 1.0f), in;
  MPI_Barrier(MPI_COMM_WORLD);
  const auto t = Clock::now();
  for (int i = 0; i < reps; ++i) {
    if (rank == 0) {
      MPI_Send(buf.data(), floats, MPI_FLOAT, 1, kTag, MPI_COMM_WORLD);
      if (polled) {
        recv_floats(1, kTag, in);
      } else {
        MPI_Recv(buf.data(), floats, MPI_FLOAT, 1, kTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      }
    } else {
      if (polled) {
        recv_floats(0, kTag, in);
      } else {
        MPI_Recv(buf.data(), floats, MPI_FLOAT, 0, kTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      }
      MPI_Send(buf.data(), floats, MPI_FLOAT, 0, kTag, MPI_COMM_WORLD);
    }
  }
  return seconds_since(t) / (2.0 * reps);
}

// Transitions per second of `chunks` chunks of `rows` rows of `width` floats, window 2.
double stream(int rank, int rows, int width, int chunks) {
  std::vector<float> msg;
  MPI_Barrier(MPI_COMM_WORLD);
  const auto t = Clock::now();
  if (rank == 1) {
    SendSlot slots[2];
    int sent = 0, acked = 0;
    while (acked < chunks) {
      while (sent < chunks && sent - acked < 2) {
        std::vector<float>& chunk = slots[sent % 2].buffer();
        chunk.assign(static_cast<size_t>(4 + rows * width), 0.5f);
        slots[sent % 2].send(0, kTag);
        ++sent;
      }
      recv_floats(0, kTag, msg);
      ++acked;
    }
  } else {
    SendSlot ack;
    for (int i = 0; i < chunks; ++i) {
      recv_floats(1, kTag, msg);
      ack.buffer().assign({3.0f, 0.0f});
      ack.send(1, kTag);
    }
  }
  return static_cast<double>(rows) * chunks / seconds_since(t);
}

}  // namespace

int main() {
  MPI_Init(nullptr, nullptr);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size != 2) {
    if (rank == 0) std::fprintf(stderr, "error: run it as mpirun -n 2 stitch_bench_dist\n");
    MPI_Finalize();
    return 1;
  }
  const int chunk_rows = 32, width = 2 * 11 + 3 + 3;  // 32 hopper steps of one env
  const int policy = (17 * 256 + 256) + (256 * 256 + 256) + 2 * (256 * 6 + 6);
  struct Size {
    const char* what;
    int floats;
    int reps;
  };
  const Size sizes[] = {{"4 B", 1, 2000},
                        {"chunk (32 hopper transitions)", 4 + chunk_rows * width, 2000},
                        {"policy 17-256-256-6", 2 + policy, 300}};
  if (rank == 0)
    fmt::print("{:<32} {:>10} {:>21} {:>11}\n", "message", "bytes", "raw (one-way)", "polled");
  for (const Size& s : sizes) {
    const double raw = ping_pong(rank, s.floats, s.reps, false);
    const double polled = ping_pong(rank, s.floats, s.reps / 4, true);
    if (rank == 0) {
      const double bytes = 4.0 * s.floats;
      fmt::print("{:<32} {:>10.0f} {:>8.1f} us {:>3.1f}GB/s {:>8.1f} us\n", s.what, bytes,
                 raw * 1e6, bytes / raw / 1e9, polled * 1e6);
    }
  }
  const double rate = stream(rank, chunk_rows, width, 20000);
  if (rank == 0) {
    fmt::print(
        "chunks actor->learner, window 2, acknowledged: {:.0f} transitions/s ({:.0f} MB/s)\n", rate,
        rate * width * 4 / 1e6);
  }
  MPI_Finalize();
  return 0;
}
