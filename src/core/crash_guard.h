// A first read in a forked child, for libraries that can crash outright on a corrupt file:
// libhdf5 (segfaults inside H5Lexists on some damaged files) and libtorch's TorchScript importer
// (segfaults parsing a checkpoint's damaged code/ entries), both found by the fuzzers. The
// caller reads the file in a child process first; if the child dies by a signal, the caller
// reports one Error instead of crashing, and reads the file itself only when the child
// survived. Costs a fork and a second read (from the page cache).
#pragma once

#include <functional>

namespace stitch {

// Runs `read` in a forked child with the default action for SIGSEGV, SIGBUS, SIGFPE, SIGILL
// and SIGABRT (so that a crash kills it even under a sanitizer's or fuzzer's handler; under
// AddressSanitizer a memory error it reports kills the child with SIGABRT too), logging
// off, and no destructors or atexit handlers at its end; whatever `read` throws is ignored.
// Returns the signal that killed the child, or 0 when it ended normally (or fork failed: then
// nothing was run and the caller reads without the guard). Call it from the thread that will do
// the real read, with no other thread inside the library.
int crash_signal_in_child(const std::function<void()>& read);

}  // namespace stitch
