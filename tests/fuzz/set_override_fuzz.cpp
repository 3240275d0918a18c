// libFuzzer target over --set key=value overrides (one per line); see fuzz_entries.h.
#include "fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  stitch::fuzz::fuzz_set_override(data, size);
  return 0;
}
