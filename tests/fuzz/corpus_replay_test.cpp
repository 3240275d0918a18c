// Replays every seed and regression input of the fuzz targets through the same entry points
// (fuzz_entries.h) in the normal build, so that CI needs no clang and a fixed crash stays fixed:
//   tests/fuzz/corpus/<reader>/*        seeds, made by stitch itself (tests/fuzz/make_corpus.sh)
//   tests/fuzz/regressions/<reader>/*   every crash or hang a fuzzer found, kept after its fix
//   tests/data/regressions/*.hdf5       the D4RL reader's first two (also io_test.cpp's)
// A stitch::Error is the expected answer to bad input; any other exception fails the test, and
// a crash fails the binary.
#include <gtest/gtest.h>

#include <algorithm>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/fuzz_entries.h"

namespace stitch::fuzz {

// gtest's name for a parameter in failure messages.
void PrintTo(const Reader& reader, std::ostream* os) { *os << reader.name; }

namespace {

namespace fs = std::filesystem;

const fs::path kFuzzDir = fs::path(STITCH_SOURCE_DIR) / "tests" / "fuzz";

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file()) out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class FuzzReplay : public ::testing::TestWithParam<Reader> {};

TEST_P(FuzzReplay, EveryCorpusAndRegressionInputIsReadOrRejectedWithAnError) {
  const Reader& reader = GetParam();
  const std::vector<fs::path> seeds = files_in(kFuzzDir / "corpus" / reader.name);
  EXPECT_FALSE(seeds.empty()) << "no seed corpus in tests/fuzz/corpus/" << reader.name
                              << " (tests/fuzz/make_corpus.sh makes it)";
  std::vector<fs::path> inputs = seeds;
  for (const fs::path& p : files_in(kFuzzDir / "regressions" / reader.name)) inputs.push_back(p);
  if (std::string(reader.name) == "d4rl") {
    for (const fs::path& p : files_in(fs::path(STITCH_SOURCE_DIR) / "tests/data/regressions")) {
      if (p.extension() == ".hdf5") inputs.push_back(p);
    }
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::vector<uint8_t> bytes = read_bytes(inputs[i]);
    try {
      reader.entry(bytes.data(), bytes.size());
    } catch (const std::exception& e) {
      ADD_FAILURE() << inputs[i].string() << ": " << e.what();
      continue;
    }
    // A seed the reader rejects would start the fuzzer from nothing.
    if (i < seeds.size()) {
      EXPECT_EQ(last_rejection(), "") << "seed " << inputs[i].string() << " is rejected";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Readers, FuzzReplay, ::testing::ValuesIn(readers()),
                         [](const ::testing::TestParamInfo<Reader>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace stitch::fuzz
