#include "core/progress.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <string_view>

#include "core/error.h"
#include "core/log.h"

namespace stitch {

namespace {

bool use_terminal() {
  const char* mode = std::getenv("STITCH_PROGRESS");
  const std::string_view m = mode != nullptr ? mode : "auto";
  if (m == "terminal") return true;
  if (m == "plain") return false;
  if (m != "auto") fail("STITCH_PROGRESS: unknown value '{}' (use auto, terminal or plain)", m);
  return isatty(STDERR_FILENO) == 1;
}

constexpr double kRedrawInterval_s = 0.1;

}  // namespace

std::string human_count(double x) {
  const double a = std::abs(x);
  if (a >= 1e9) return fmt::format("{:.3g} G", x / 1e9);
  if (a >= 1e6) return fmt::format("{:.3g} M", x / 1e6);
  if (a >= 1e3) return fmt::format("{:.3g} k", x / 1e3);
  return fmt::format("{:.3g}", x);
}

std::string human_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<int64_t>(std::llround(seconds));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

Progress::Progress(std::string what, int64_t total, std::string unit, double log_interval_s,
                   int64_t start)
    : what_(std::move(what)),
      unit_(std::move(unit)),
      total_(total),
      start_(start),
      done_(start),
      log_interval_s_(log_interval_s),
      terminal_(use_terminal()) {}

Progress::~Progress() {
  if (terminal_) set_status_line("");
}

std::string Progress::line(double rate) const {
  const double pct =
      total_ > 0 ? 100.0 * static_cast<double>(done_) / static_cast<double>(total_) : 0.0;
  std::string out = fmt::format("{} {}/{} {} ({:.0f}%)", what_, done_, total_, unit_, pct);
  if (rate > 0) {
    out += fmt::format("  {}{}/s  ETA {}", human_count(rate), unit_.empty() ? "" : " " + unit_,
                       human_duration(static_cast<double>(total_ - done_) / rate));
  }
  if (!note_.empty()) out += "  " + note_;
  return out;
}

void Progress::update(int64_t done) {
  done_ = done;
  const double now = clock_.seconds();
  const double interval = terminal_ ? kRedrawInterval_s : log_interval_s_;
  if (interval <= 0 || (now - last_draw_s_ < interval && done_ < total_)) return;
  last_draw_s_ = now;
  const double rate = now > 0 ? static_cast<double>(done_ - start_) / now : 0.0;
  if (terminal_) {
    set_status_line(line(rate));
  } else {
    spdlog::info("{}", line(rate));
  }
}

void Progress::set_note(std::string note) { note_ = std::move(note); }

}  // namespace stitch
