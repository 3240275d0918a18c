#include "core/runtime.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "testing/run_command.h"

namespace stitch {
namespace {

using ::testing::HasSubstr;

TEST(Runtime, FindsTheBlasLibtorchCalls) {
  const BlasInfo info = blas_info();
  EXPECT_FALSE(info.library_path.empty());
  EXPECT_NE(info.vendor, "unknown") << info.library_path;
}

TEST(Runtime, ThreadPolicyIsApplied) {
  set_compute_threads({.threads = 2, .torch_threads = 1});
  const BlasInfo info = blas_info();
  if (info.vendor == "OpenBLAS") {
    EXPECT_EQ(info.threads, 2);
  }
  EXPECT_EQ(torch_threads(), 1);
  set_compute_threads({.threads = 1, .torch_threads = 1});
  if (info.vendor == "OpenBLAS") {
    EXPECT_EQ(blas_info().threads, 1);
  }
  EXPECT_THROW(set_compute_threads({.threads = 0}), Error);
}

TEST(Runtime, VersionReportNamesEveryLibrary) {
  const std::string report = version_report();
  for (const char* key : {"stitch ", "libtorch:", "mujoco:", "hdf5:", "blas:", "threads:"}) {
    EXPECT_THAT(report, HasSubstr(key));
  }
}

TEST(Runtime, WarnsWhenLibtorchUsesTheReferenceBlas) {
  // Debian's netlib BLAS (a dependency of libtorch) is in <libdir>/blas/. Preloading its
  // directory makes libtorch resolve libblas.so.3 to it, as on a machine without OpenBLAS.
  const char* dirs[] = {"/usr/lib/x86_64-linux-gnu/blas", "/usr/lib/aarch64-linux-gnu/blas"};
  for (const char* dir : dirs) {
    if (access((std::string(dir) + "/libblas.so.3").c_str(), R_OK) != 0) continue;
    const auto r = testing::run_command(std::string("LD_LIBRARY_PATH=") + dir + " " +
                                        STITCH_CLI_PATH + " version");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("blas: reference"));
    EXPECT_THAT(r.err, HasSubstr("reference BLAS"));
    return;
  }
  GTEST_SKIP() << "reference BLAS not installed";
}

}  // namespace
}  // namespace stitch
