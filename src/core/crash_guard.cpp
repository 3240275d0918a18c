#include "core/crash_guard.h"

#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "core/error.h"

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
namespace {

constexpr size_t kMaxMessage = 4096;

void write_all(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

}  // namespace

ChildRead read_in_child(const std::function<void()>& read) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return {};
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid < 0) {
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    return {};  // cannot fork: the caller reads without the guard
  }
  if (pid == 0) {
    ::close(pipe_fds[0]);
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) std::signal(sig, SIG_DFL);
#ifdef STITCH_ASAN
    __sanitizer_set_death_callback([] { std::abort(); });
#endif
    spdlog::set_level(spdlog::level::off);  // the parent reports what the read finds
    int code = 0;
    try {
      read();
    } catch (const std::exception& e) {
      code = 2;
      write_all(pipe_fds[1], first_line(e.what()).substr(0, kMaxMessage));
    } catch (...) {
      code = 2;
      write_all(pipe_fds[1], "unknown error");
    }
    _exit(code);  // no destructors or atexit handlers in the child
  }
  ::close(pipe_fds[1]);
  ChildRead result;
  char buffer[1024];
  while (true) {
    const ssize_t n = ::read(pipe_fds[0], buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.error.append(buffer, static_cast<size_t>(n));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
    result.threw = true;
    if (result.error.empty()) result.error = "unknown error";
  }
  return result;
}

}  // namespace stitch
