// Progress of a long command (train, collect, suite build, report).
//
// When stderr is a terminal: one status line at the bottom of the terminal, updated in place at
// most 10 times a second, "<what> <done>/<total> <unit> (<pct>%)  <rate>/s  ETA <time>  <note>";
// log lines (core/log.h) are printed above it and it is redrawn under them. Otherwise (CI, a
// file): a plain log line every `log_interval_s` seconds, or none when log_interval_s is 0 (for
// commands that already log periodic lines of their own, as the trainers do).
// STITCH_PROGRESS=terminal|plain|auto (default auto) overrides the choice.
//
// One Progress at a time per process; not thread-safe (call it from the thread doing the work).
#pragma once

#include <cstdint>
#include <string>

#include "core/timer.h"

namespace stitch {

class Progress {
 public:
  // `done` starts at `start` (a resumed run); the rate counts only this process's work.
  Progress(std::string what, int64_t total, std::string unit, double log_interval_s = 10.0,
           int64_t start = 0);
  ~Progress();  // clears the status line
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void update(int64_t done);
  // A short note shown at the end of the line, e.g. the last evaluation score.
  void set_note(std::string note);
  bool terminal() const { return terminal_; }

 private:
  std::string line(double rate) const;
  std::string what_, unit_, note_;
  int64_t total_ = 0, start_ = 0, done_ = 0;
  double log_interval_s_ = 0.0, last_draw_s_ = 0.0;
  bool terminal_ = false;
  Stopwatch clock_;
};

// "3.2 k", "12.5 M": a rate or count in 3 significant digits.
std::string human_count(double x);
// "42s", "3m05s", "2h07m".
std::string human_duration(double seconds);

}  // namespace stitch
