#include "core/crash_guard.h"

#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>

// AddressSanitizer builds (make test-asan, the fuzz targets): a memory error it finds inside the
// child ends the child like a crash, not with ASan's exit code.
#if defined(__SANITIZE_ADDRESS__)
#define STITCH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STITCH_ASAN 1
#endif
#endif
#ifdef STITCH_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

namespace stitch {

int crash_signal_in_child(const std::function<void()>& read) {
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid < 0) return 0;  // cannot fork: the caller reads without the guard
  if (pid == 0) {
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) std::signal(sig, SIG_DFL);
#ifdef STITCH_ASAN
    __sanitizer_set_death_callback([] { std::abort(); });
#endif
    spdlog::set_level(spdlog::level::off);  // the parent reports what the read finds
    int code = 0;
    try {
      read();
    } catch (...) {
      code = 2;
    }
    _exit(code);  // no destructors or atexit handlers in the child
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

}  // namespace stitch
