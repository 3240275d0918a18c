// stitch's one error type and the always-on CHECK macros.
//
// Rule: throw `stitch::Error` at the fault with a message that names the file, field, row or
// value at fault; catch it only at the edge (the CLI prints `error: <message>` and exits
// non-zero). Invariants that only a bug can break use STITCH_CHECK, which is always on.
#pragma once

#include <fmt/format.h>

#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>

namespace stitch {

// The exception every stitch component throws for bad input, bad configuration or a failed
// invariant. `what()` is a complete one-line message meant for a user.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Throws Error with a fmt-formatted message: `fail("bad action shape: got {}", n)`.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

// The first non-empty line of an error message, trailing whitespace trimmed ("unknown error"
// when there is none): what a user sees of an exception whose text runs on, such as libtorch's
// c10::Error with its backtrace.
std::string first_line(std::string_view message);

// One line for any exception, for the CLI's `error: ...` and a run's meta.json "error":
// first_line(e.what()), and "out of memory (std::bad_alloc)" for a failed allocation.
std::string error_summary(const std::exception& e);

namespace detail {
[[noreturn]] void check_failed(const char* expr, const char* file, int line,
                               const std::string& msg);
}  // namespace detail

}  // namespace stitch

// Always-on invariant check (OpenSpiel's SPIEL_CHECK): a failure is a bug in stitch, reported
// with the expression, source location and an optional message.
#define STITCH_CHECK(cond, ...)                                                                 \
  do {                                                                                          \
    if (!(cond)) [[unlikely]]                                                                   \
      ::stitch::detail::check_failed(#cond, __FILE__, __LINE__, ::fmt::format("" __VA_ARGS__)); \
  } while (0)
