// libFuzzer target over a run directory's config.json, meta.json, eval.jsonl and metrics.jsonl; see
// fuzz_entries.h.
#include "fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  stitch::fuzz::fuzz_run_dir(data, size);
  return 0;
}
