// Logging: spdlog, to stderr, so that stdout carries only results.
// Level from `--log-level` or the STITCH_LOG_LEVEL environment variable (default "info").
#pragma once

#include <string_view>

#include <spdlog/spdlog.h>

namespace stitch {

// Sets up the default logger (stderr, "[level] message"). Throws Error for an unknown level.
// Call once at program start; safe to call again to change the level.
void init_logging(std::string_view level = "");

}  // namespace stitch
