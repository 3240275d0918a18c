// libFuzzer target over logs of scored completions (stitch lm log); see fuzz_entries.h.
#include "fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  stitch::fuzz::fuzz_sequence_log(data, size);
  return 0;
}
