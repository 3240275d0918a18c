// libFuzzer target over the suite's reference returns (STITCH_SUITE_REFERENCES); see
// fuzz_entries.h.
#include "fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  stitch::fuzz::fuzz_suite_references(data, size);
  return 0;
}
