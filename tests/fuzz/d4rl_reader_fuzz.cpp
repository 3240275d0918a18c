// libFuzzer target over the D4RL reader (an in-memory HDF5 image); see fuzz_entries.h.
#include "fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  stitch::fuzz::fuzz_d4rl(data, size);
  return 0;
}
