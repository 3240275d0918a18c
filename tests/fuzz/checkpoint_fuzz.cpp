// libFuzzer target over the minibatch checkpoint (rebuilt algorithm and its state); see
// fuzz_entries.h.
#include "fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  stitch::fuzz::fuzz_checkpoint(data, size);
  return 0;
}
