#include "core/runtime.h"

#include <ATen/Parallel.h>
#include <H5public.h>
#include <dlfcn.h>
#include <fmt/format.h>
#include <link.h>
#include <malloc.h>
#include <mujoco/mujoco.h>
#include <spdlog/spdlog.h>
#include <torch/version.h>

#include <atomic>
#include <climits>
#include <cstdlib>
#include <string_view>
#include <thread>
#include <vector>

#include "core/error.h"

namespace stitch::build_info {
const char* version();  // generated/build_info.cpp
const char* git_commit();
}  // namespace stitch::build_info

namespace stitch {
namespace {

std::string real_path(const char* path) {
  char buffer[PATH_MAX];
  if (path != nullptr && realpath(path, buffer) != nullptr) return buffer;
  return path != nullptr ? path : "";
}

// Paths of every loaded shared object whose name contains "openblas" or that exports sgemm_.
std::vector<std::string> loaded_libraries() {
  std::vector<std::string> names;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        if (info->dlpi_name != nullptr && info->dlpi_name[0] != '\0') {
          static_cast<std::vector<std::string>*>(data)->push_back(info->dlpi_name);
        }
        return 0;
      },
      &names);
  return names;
}

// Calls `fn(handle)` for every loaded library that exports openblas_set_num_threads.
template <typename Fn>
void for_each_openblas(Fn&& fn) {
  for (const auto& name : loaded_libraries()) {
    void* handle = dlopen(name.c_str(), RTLD_LAZY | RTLD_NOLOAD);
    if (handle == nullptr) continue;
    if (dlsym(handle, "openblas_set_num_threads") != nullptr) fn(handle);
    dlclose(handle);
  }
}

using SetThreadsFn = void (*)(int);

// openblas_set_num_threads of every loaded OpenBLAS copy, looked up once.
const std::vector<SetThreadsFn>& openblas_setters() {
  static const std::vector<SetThreadsFn> setters = [] {
    std::vector<SetThreadsFn> out;
    for_each_openblas([&](void* handle) {
      out.push_back(reinterpret_cast<SetThreadsFn>(dlsym(handle, "openblas_set_num_threads")));
    });
    return out;
  }();
  return setters;
}

std::atomic<int> g_compute_threads{1};

}  // namespace

int compute_threads() { return g_compute_threads.load(); }

SingleThreadedBlas::SingleThreadedBlas() : changed_(compute_threads() != 1) {
  if (changed_) {
    for (auto set : openblas_setters()) set(1);
  }
}

SingleThreadedBlas::~SingleThreadedBlas() {
  if (changed_) {
    for (auto set : openblas_setters()) set(compute_threads());
  }
}

BlasInfo blas_info() {
  BlasInfo info;
  info.vendor = "unknown";
  void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
  Dl_info where{};
  if (sgemm == nullptr || dladdr(sgemm, &where) == 0) return info;
  info.library_path = real_path(where.dli_fname);
  void* handle = dlopen(where.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
  if (handle != nullptr) {
    using ConfigFn = char* (*)();
    using ThreadsFn = int (*)();
    if (auto config = reinterpret_cast<ConfigFn>(dlsym(handle, "openblas_get_config"))) {
      info.vendor = "OpenBLAS";
      info.detail = config();
      if (auto threads = reinterpret_cast<ThreadsFn>(dlsym(handle, "openblas_get_num_threads"))) {
        info.threads = threads();
      }
    }
    dlclose(handle);
  }
  if (info.vendor == "unknown" && info.library_path.find("/blas/") != std::string::npos) {
    info.vendor = "reference";  // Debian's netlib BLAS lives in <libdir>/blas/
  }
  return info;
}

void set_compute_threads(const ThreadSettings& settings) {
  if (settings.threads < 1) fail("threads must be >= 1, got {}", settings.threads);
  if (settings.torch_threads < 1)
    fail("torch_threads must be >= 1, got {}", settings.torch_threads);
  for (auto set : openblas_setters()) set(settings.threads);
  g_compute_threads = settings.threads;
  at::set_num_threads(settings.torch_threads);
}

int torch_threads() { return at::get_num_threads(); }

bool warn_if_reference_blas() {
  const BlasInfo info = blas_info();
  if (!info.is_reference()) return false;
  spdlog::warn(
      "libtorch is using the reference BLAS ({}), ~30x slower than OpenBLAS: run "
      "scripts/install-deps.sh or `update-alternatives --config libblas.so.3-$(gcc "
      "-dumpmachine)`",
      info.library_path);
  return true;
}

std::string version_report() {
  const BlasInfo blas = blas_info();
  unsigned h5_major = 0, h5_minor = 0, h5_release = 0;
  H5get_libversion(&h5_major, &h5_minor, &h5_release);
  std::string out;
  out += fmt::format("stitch {} (commit {})\n", build_info::version(), build_info::git_commit());
  out += fmt::format("compiler: {}\n", __VERSION__);
  out += fmt::format("libtorch: {}\n", TORCH_VERSION);
  out += fmt::format("mujoco: {}\n", mj_versionString());
  out += fmt::format("hdf5: {}.{}.{}\n", h5_major, h5_minor, h5_release);
  out += fmt::format("blas: {} ({})\n", blas.vendor,
                     blas.library_path.empty() ? "not loaded" : blas.library_path);
  if (!blas.detail.empty()) out += fmt::format("blas config: {}\n", blas.detail);
  out += fmt::format("threads: blas {}, torch intra-op {}, hardware {}\n",
                     blas.threads > 0 ? std::to_string(blas.threads) : "n/a", torch_threads(),
                     std::thread::hardware_concurrency());
  return out;
}

std::string version_string() { return build_info::version(); }

void tune_allocator() {
  // libtorch allocates and frees many tensors of a few hundred KB per gradient step; glibc's
  // defaults hand such blocks back to the kernel (mmap/munmap, heap trimming), so every step
  // pays page faults. Keeping them measured 8% more SAC updates/s on the dev machine.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_TOP_PAD, 64 << 20);
}

}  // namespace stitch
