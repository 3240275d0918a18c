// libFuzzer target over the exported policy file (stitch-policy-v1); see fuzz_entries.h.
#include "fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  stitch::fuzz::fuzz_policy(data, size);
  return 0;
}
