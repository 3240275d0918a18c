#include "core/log.h"

#include <cstdlib>
#include <string>

#include <spdlog/sinks/stdout_sinks.h>

#include "core/error.h"

namespace stitch {

void init_logging(std::string_view level) {
  std::string name(level);
  if (name.empty()) {
    const char* env = std::getenv("STITCH_LOG_LEVEL");
    name = env != nullptr ? env : "info";
  }
  const auto parsed = spdlog::level::from_str(name);
  // from_str maps unknown names to "off"; only accept "off" when asked for by name.
  if (parsed == spdlog::level::off && name != "off") {
    fail("unknown log level '{}' (use trace, debug, info, warn, error or off)", name);
  }
  static auto logger = [] {
    auto l = std::make_shared<spdlog::logger>("stitch", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l->set_pattern("[%l] %v");
    spdlog::set_default_logger(l);
    return l;
  }();
  logger->set_level(parsed);
}

}  // namespace stitch
