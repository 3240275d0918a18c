// Test helpers for MPI jobs (built where CMake found MPI and defined STITCH_MPIEXEC): the
// launcher's command line, and the pid of one rank of a running job.
#pragma once

#include <fmt/format.h>
#include <sys/types.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "testing/run_command.h"

namespace stitch::testing {

// `mpirun -n ranks stitch args` (as root, more ranks than cores allowed).
inline std::string mpirun(int ranks, const std::string& args) {
  return fmt::format("{} --allow-run-as-root --oversubscribe -n {} {} {}", STITCH_MPIEXEC, ranks,
                     STITCH_CLI_PATH, args);
}

// The pid of the process of MPI rank `rank` (OpenMPI's OMPI_COMM_WORLD_RANK) whose command line
// holds `needle`, or -1.
inline pid_t mpi_rank_pid(int rank, const std::string& needle) {
  namespace fs = std::filesystem;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = read_file((e.path() / "cmdline").string());
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(needle) == std::string::npos || cmdline.find(STITCH_CLI_PATH) != 0) continue;
    std::string environ = read_file((e.path() / "environ").string());
    std::replace(environ.begin(), environ.end(), '\0', '\n');
    if (("\n" + environ).find(fmt::format("\nOMPI_COMM_WORLD_RANK={}\n", rank)) !=
        std::string::npos)
      return std::stoi(name);
  }
  return -1;
}

}  // namespace stitch::testing
