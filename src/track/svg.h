// Self-contained SVG charts for `stitch report` (track/report.h): no scripts, no fonts or files
// from outside, so a chart reads the same inline in index.html, opened alone, or in a paper.
#pragma once

#include <string>
#include <vector>

namespace stitch::svg {

// One line of a line chart, with an optional band (a confidence interval) around it. x, y, low
// and high have equal lengths; low/high may be empty (no band).
struct Series {
  std::string label;
  std::vector<double> x, y, low, high;
};

struct Axes {
  std::string title, x_label, y_label;
  int width = 640, height = 380;  // px
};

// Lines with shaded bands and a legend; a palette colour per series, in order.
std::string line_chart(const std::vector<Series>& series, const Axes& axes);

// rliable's aggregate-metric plot: one panel per metric, one row per entry, the point estimate
// as a tick inside its confidence interval's bar. values[metric][entry] = {point, low, high}.
struct Estimate {
  double point = 0.0, low = 0.0, high = 0.0;
};
std::string interval_chart(const std::vector<std::string>& metrics,
                           const std::vector<std::string>& entries,
                           const std::vector<std::vector<Estimate>>& values,
                           const std::string& title, const std::string& x_label);

// "Nice" tick positions covering [lo, hi] (about `count` of them, steps of 1, 2 or 5 x 10^k).
std::vector<double> nice_ticks(double lo, double hi, int count = 5);

// Escapes &, <, >, " for XML text and attributes.
std::string escape(const std::string& text);

// The i-th colour of the palette (repeats after 10).
const char* colour(size_t i);

}  // namespace stitch::svg
