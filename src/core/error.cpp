#include "core/error.h"

#include <new>

namespace stitch {

std::string first_line(std::string_view message) {
  constexpr std::string_view kSpace = " \t\r\n";
  while (!message.empty()) {
    const size_t end = message.find('\n');
    std::string_view line = message.substr(0, end);
    const size_t last = line.find_last_not_of(kSpace);
    if (last != std::string_view::npos) {
      line = line.substr(0, last + 1);
      return std::string(line.substr(line.find_first_not_of(kSpace)));
    }
    if (end == std::string_view::npos) break;
    message.remove_prefix(end + 1);
  }
  return "unknown error";
}

std::string error_summary(const std::exception& e) {
  if (dynamic_cast<const std::bad_alloc*>(&e) != nullptr) {
    return "out of memory (std::bad_alloc)";
  }
  return first_line(e.what());
}

}  // namespace stitch

namespace stitch::detail {

void check_failed(const char* expr, const char* file, int line, const std::string& msg) {
  std::string text = fmt::format("internal check failed: {} at {}:{}", expr, file, line);
  if (!msg.empty()) text += ": " + msg;
  throw Error(text);
}

}  // namespace stitch::detail
