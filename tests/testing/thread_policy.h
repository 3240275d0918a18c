// Applies the CLI's thread policy (1 BLAS thread, 1 torch thread) to a whole test binary;
// without it OpenBLAS starts one spinning thread per core. Include from one test file.
#pragma once

#include <gtest/gtest.h>

#include "core/runtime.h"

namespace stitch::testing {

class ThreadPolicy : public ::testing::Environment {
 public:
  void SetUp() override { set_compute_threads({.threads = 1, .torch_threads = 1}); }
};
inline ::testing::Environment* const kThreadPolicy =
    ::testing::AddGlobalTestEnvironment(new ThreadPolicy);

}  // namespace stitch::testing
