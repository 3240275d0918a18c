// libFuzzer target over the streaming checkpoint (agent state, one evaluation episode); see
// fuzz_entries.h.
#include "fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  stitch::fuzz::fuzz_stream_checkpoint(data, size);
  return 0;
}
