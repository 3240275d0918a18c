// libFuzzer target over sweep grids (stitch sweep GRID.json); see fuzz_entries.h.
#include "fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  stitch::fuzz::fuzz_sweep_grid(data, size);
  return 0;
}
