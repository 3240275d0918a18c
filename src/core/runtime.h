// The process's compute runtime: which BLAS libtorch is calling, the threading policy, and the
// versions of every library stitch is built on (`stitch version`).
//
// Threading policy (measured, see README "Threads"): libtorch's intra-op pool (OpenMP) and
// OpenBLAS's pthread pool do not know about each other, and 2 + 2 threads on 2 cores made a
// training step ~3x slower than 1 + 1. stitch therefore gives the compute threads to BLAS,
// where the matmuls are, and keeps torch's intra-op pool at 1 thread unless asked otherwise:
//   set_compute_threads({.threads = N})  ->  OpenBLAS N threads, torch intra-op 1 thread.
// Call it once at start-up, before the first tensor operation.
#pragma once

#include <string>

namespace stitch {

struct BlasInfo {
  std::string vendor;        // "OpenBLAS", "reference" (netlib) or "unknown"
  std::string library_path;  // resolved path of the library that provides sgemm_
  std::string detail;        // OpenBLAS's build configuration string, when available
  int threads = 0;           // OpenBLAS threads in use; 0 when it cannot be queried
  bool is_reference() const { return vendor == "reference"; }
};

// Inspects the loaded libraries (no side effects).
BlasInfo blas_info();

struct ThreadSettings {
  int threads = 1;        // BLAS threads (the compute threads); >= 1
  int torch_threads = 1;  // libtorch intra-op threads; >= 1
};

// Applies the policy to OpenBLAS (every loaded copy) and libtorch. Throws Error for counts < 1.
void set_compute_threads(const ThreadSettings& settings);

// The compute threads of the last set_compute_threads (1 before any call).
int compute_threads();

// While alive, OpenBLAS runs each call on its calling thread: the fused training path (src/nn/
// fused_mlp.h) brings its own threads and calls sgemm from both, which must not also fork.
// Restores compute_threads() BLAS threads at the end. Cheap: two function calls per library.
class SingleThreadedBlas {
 public:
  SingleThreadedBlas();
  ~SingleThreadedBlas();
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

 private:
  bool changed_;
};

// libtorch's current intra-op thread count.
int torch_threads();

// Logs one warning line when libtorch is calling the reference BLAS; returns true if it did.
bool warn_if_reference_blas();

// The release version ("0.1.0"), without the commit: recorded in datasets, whose bytes must
// not change with every commit.
std::string version_string();

// Multi-line report for `stitch version`: stitch version and git commit, compiler, libtorch,
// MuJoCo, HDF5, BLAS (vendor and path) and thread counts.
std::string version_report();

// Keeps glibc from returning freed tensor memory to the kernel after every step (see .cpp).
void tune_allocator();

}  // namespace stitch
