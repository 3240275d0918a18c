// libFuzzer target over the Minari reader (main_data.hdf5 or metadata.json of a dataset directory);
// see fuzz_entries.h.
#include "fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  stitch::fuzz::fuzz_minari(data, size);
  return 0;
}
