// libFuzzer target over the D4RL reader: any byte string is opened as an in-memory HDF5 file
// and loaded. A stitch::Error is the expected outcome for bad input; anything else (a crash,
// a sanitizer report, another exception type) is a bug. Build and run: scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <exception>

#include "core/error.h"
#include "data/io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    stitch::load_d4rl_image(data, size);
  } catch (const stitch::Error&) {
    // Rejected with a message: fine.
  }
  return 0;
}
