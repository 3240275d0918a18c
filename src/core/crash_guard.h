// A first read in a forked child, for a library that can crash outright on a corrupt file:
// libhdf5 1.10 segfaults (or corrupts its heap) inside H5Lexists, H5F__accum_read and others on
// some damaged files, found by the fuzzers (data/io.h load_dataset). The caller reads the file in
// a child process first and reads it itself only when the child read it without error: a crash
// in the child becomes one Error, and a file the library rejects never reaches the library in
// the caller (its error paths on such files can leave its state damaged for the next file).
// Costs a fork and a second read (from the page cache). (Checkpoints need none: libtorch only
// reads archives whose bytes match the sha256 stitch wrote, track/checkpoint.h.)
#pragma once

#include <functional>
#include <string>

namespace stitch {

struct ChildRead {
  int signal = 0;      // the signal that killed the child; 0 when it ended normally
  bool threw = false;  // `read` threw in the child
  std::string error;   // then: the first line of what it threw (at most 4 KiB)
};

// Runs `read` in a forked child with the default action for SIGSEGV, SIGBUS, SIGFPE, SIGILL
// and SIGABRT (so that a crash kills it even under a sanitizer's or fuzzer's handler; under
// AddressSanitizer a memory error it reports kills the child with SIGABRT too), logging off,
// and no destructors or atexit handlers at its end. When fork fails nothing is run and the
// result says the read succeeded (the caller reads without the guard). Call it from the thread
// that will do the real read, with no other thread inside the library.
ChildRead read_in_child(const std::function<void()>& read);

}  // namespace stitch
