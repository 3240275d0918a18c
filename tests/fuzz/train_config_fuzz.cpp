// libFuzzer target over the training config JSON (--config and a checkpoint's stored config); see
// fuzz_entries.h.
#include "fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  stitch::fuzz::fuzz_train_config(data, size);
  return 0;
}
