// libFuzzer target over a model evaluation read by stitch report; see
// fuzz_entries.h.
#include "fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  stitch::fuzz::fuzz_model_eval(data, size);
  return 0;
}
