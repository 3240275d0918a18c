// libFuzzer target over CSV import (a one-line JSON spec, then the CSV); see fuzz_entries.h.
#include "fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  stitch::fuzz::fuzz_csv(data, size);
  return 0;
}
