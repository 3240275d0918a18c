#include "core/error.h"

namespace stitch::detail {

void check_failed(const char* expr, const char* file, int line, const std::string& msg) {
  std::string text = fmt::format("internal check failed: {} at {}:{}", expr, file, line);
  if (!msg.empty()) text += ": " + msg;
  throw Error(text);
}

}  // namespace stitch::detail
