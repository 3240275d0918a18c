// libFuzzer target over a model run's checkpoint (the loaded dynamics ensemble, sampled once); see
// fuzz_entries.h.
#include "fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  stitch::fuzz::fuzz_model_checkpoint(data, size);
  return 0;
}
