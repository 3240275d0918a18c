// Test helper: one of the suite's Pendulum datasets at 20,000 transitions, built once into `dir`
// (suite/manifest.json's recipe: stitch suite build --env pendulum-v1 --size 20000).
#pragma once

#include <filesystem>
#include <string>

#include "suite/suite.h"

namespace stitch::testing {

// The path of `dir`/pendulum-v1-<name>.hdf5 (name: random, medium, medium-replay, ...).
inline std::string pendulum_suite_data(const std::filesystem::path& dir, const std::string& name) {
  const std::filesystem::path path = dir / ("pendulum-v1-" + name + ".hdf5");
  if (!std::filesystem::exists(path)) {
    build_suite({.manifest = std::string(STITCH_SOURCE_DIR) + "/suite/manifest.json",
                 .data_dir = dir.string(),
                 .env = "pendulum-v1",
                 .size = 20000});
  }
  return path.string();
}

}  // namespace stitch::testing
