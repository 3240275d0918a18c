#include "core/log.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/basic_file_sink.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include "core/error.h"

namespace stitch {

namespace {

// stderr, aware of the status line: clear it, print the message, draw it again.
class ConsoleSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  void set_status(const std::string& line) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!status_.empty() || !line.empty()) std::fputs("\r\033[K", stderr);
    status_ = line;
    std::fputs(status_.c_str(), stderr);
    std::fflush(stderr);
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    if (!status_.empty()) std::fputs("\r\033[K", stderr);
    std::fwrite(formatted.data(), 1, formatted.size(), stderr);
    std::fputs(status_.c_str(), stderr);
    std::fflush(stderr);
  }
  void flush_() override { std::fflush(stderr); }

 private:
  std::string status_;  // guarded by base_sink's mutex_
};

std::shared_ptr<ConsoleSink>& console() {
  static auto sink = std::make_shared<ConsoleSink>();
  return sink;
}

}  // namespace

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
    auto l = std::make_shared<spdlog::logger>("stitch", console());
    console()->set_pattern("[%l] %v");
    spdlog::set_default_logger(l);
    return l;
  }();
  // The console shows the chosen level; the logger passes info and above in any case, so that a
  // run's stdout.log (LogFileTee) is complete whatever the console shows.
  console()->set_level(parsed);
  logger->set_level(std::min(parsed, spdlog::level::info));
}

void set_status_line(const std::string& line) { console()->set_status(line); }

LogFileTee::LogFileTee(const std::filesystem::path& path) {
  try {
    sink_ = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path.string(), /*truncate=*/false);
  } catch (const spdlog::spdlog_ex& e) {
    fail("{}: cannot open the log file ({})", path.string(), e.what());
  }
  sink_->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
  sink_->set_level(spdlog::level::info);
  auto logger = spdlog::default_logger();
  logger->sinks().push_back(sink_);
  logger->flush_on(spdlog::level::info);
}

LogFileTee::~LogFileTee() {
  auto logger = spdlog::default_logger();
  auto& sinks = logger->sinks();
  sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
}

}  // namespace stitch
