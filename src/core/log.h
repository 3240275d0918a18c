// Logging: spdlog, to stderr, so that stdout carries only results.
// Level from `--log-level` or the STITCH_LOG_LEVEL environment variable (default "info").
#pragma once

#include <spdlog/spdlog.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace stitch {

// Sets up the default logger (stderr, "[level] message"). Throws Error for an unknown level.
// Call once at program start; safe to call again to change the level.
void init_logging(std::string_view level = "");

// The status line at the bottom of the terminal (core/progress.h draws it): log lines are
// printed above it and it is redrawn under them. An empty line removes it.
void set_status_line(const std::string& line);

// While alive, every log line also goes to `path` (appended, with timestamps, flushed per
// line): a run directory's stdout.log.
class LogFileTee {
 public:
  explicit LogFileTee(const std::filesystem::path& path);
  ~LogFileTee();
  LogFileTee(const LogFileTee&) = delete;
  LogFileTee& operator=(const LogFileTee&) = delete;

 private:
  std::shared_ptr<spdlog::sinks::sink> sink_;
};

}  // namespace stitch
