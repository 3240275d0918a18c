// libFuzzer target over the suite manifest (list_suite); see fuzz_entries.h.
#include "fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  stitch::fuzz::fuzz_suite_manifest(data, size);
  return 0;
}
