#include "track/svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace stitch::svg {

namespace {

// A colour-blind-friendly categorical palette (Okabe & Ito 2008, plus greys and a dark blue).
constexpr const char* kPalette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00",
                                    "#56B4E9", "#F0E442", "#000000", "#999999", "#332288"};

constexpr const char* kFont = "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\"";

std::string number_label(double v, double step) {
  // Enough decimals to tell neighbouring ticks apart.
  const int decimals = step >= 1 ? 0 : std::min(6, static_cast<int>(std::ceil(-std::log10(step))));
  if (std::abs(v) >= 1e5) return fmt::format("{:.3g}", v);
  return fmt::format("{:.{}f}", std::abs(v) < step * 1e-6 ? 0.0 : v, decimals);
}

struct Range {
  double lo = std::numeric_limits<double>::infinity(),
         hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  void finish() {
    if (!std::isfinite(lo)) lo = 0.0, hi = 1.0;
    if (hi - lo < 1e-12) {
      const double pad = std::max(1.0, std::abs(lo) * 0.1);
      lo -= pad;
      hi += pad;
    }
  }
};

// A plot area inside the SVG with linear maps from data to pixels.
struct Frame {
  double left, top, width, height;
  Range x, y;
  double px(double v) const { return left + (v - x.lo) / (x.hi - x.lo) * width; }
  double py(double v) const { return top + height - (v - y.lo) / (y.hi - y.lo) * height; }
};

// Ticks for r, and r widened to the ticks just outside it, so the grid closes the frame.
std::vector<double> snap(Range& r, int count) {
  const auto first = nice_ticks(r.lo, r.hi, count);
  const double step = first.size() > 1 ? first[1] - first[0] : 1.0;
  r.lo = std::min(r.lo, std::floor(r.lo / step + 1e-9) * step);
  r.hi = std::max(r.hi, std::ceil(r.hi / step - 1e-9) * step);
  return nice_ticks(r.lo, r.hi, count);
}

std::string header(int width, int height) {
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
      "{1}\" {2} "
      "font-size=\"12\">\n<rect width=\"{0}\" height=\"{1}\" fill=\"#ffffff\"/>\n",
      width, height, kFont);
}

std::string text(double x, double y, const std::string& s, const char* anchor = "middle",
                 int size = 12, const std::string& extra = "") {
  return fmt::format(
      "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"{}\" font-size=\"{}\"{}>{}</text>\n", x, y,
      anchor, size, extra, escape(s));
}

// Grid lines, tick labels and axis labels of a frame.
std::string axes_of(const Frame& f, const std::vector<double>& xt, const std::vector<double>& yt,
                    const std::string& x_label, const std::string& y_label) {
  std::string out;
  const double xstep = xt.size() > 1 ? xt[1] - xt[0] : 1.0,
               ystep = yt.size() > 1 ? yt[1] - yt[0] : 1.0;
  for (double v : yt) {
    const double y = f.py(v);
    out += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#e0e0e0\"/>\n",
        f.left, y, f.left + f.width, y);
    out += text(f.left - 6, y + 4, number_label(v, ystep), "end", 11);
  }
  for (double v : xt) {
    const double x = f.px(v);
    out += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#e0e0e0\"/>\n", x,
        f.top, x, f.top + f.height);
    out += text(x, f.top + f.height + 16, number_label(v, xstep), "middle", 11);
  }
  out += fmt::format(
      "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"none\" "
      "stroke=\"#555\"/>\n",
      f.left, f.top, f.width, f.height);
  if (!x_label.empty()) out += text(f.left + f.width / 2, f.top + f.height + 34, x_label);
  if (!y_label.empty()) {
    const double x = f.left - 48, y = f.top + f.height / 2;
    out += text(x, y, y_label, "middle", 12,
                fmt::format(" transform=\"rotate(-90 {:.1f} {:.1f})\"", x, y));
  }
  return out;
}

}  // namespace

const char* colour(size_t i) { return kPalette[i % (sizeof(kPalette) / sizeof(kPalette[0]))]; }

std::string escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::vector<double> nice_ticks(double lo, double hi, int count) {
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / std::max(1, count);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * magnitude;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step)
    ticks.push_back(v);
  return ticks;
}

std::string line_chart(const std::vector<Series>& series, const Axes& a) {
  Frame f{.left = 72, .top = 34, .width = a.width - 72.0 - 150.0, .height = a.height - 34.0 - 52.0};
  for (const Series& s : series) {
    for (double v : s.x) f.x.add(v);
    for (double v : s.y) f.y.add(v);
    for (double v : s.low) f.y.add(v);
    for (double v : s.high) f.y.add(v);
  }
  f.x.finish();
  f.y.finish();
  const auto xt = nice_ticks(f.x.lo, f.x.hi), yt = snap(f.y, 5);
  std::string out = header(a.width, a.height);
  out += text(f.left + f.width / 2, 20, a.title, "middle", 14, " font-weight=\"bold\"");
  out += axes_of(f, xt, yt, a.x_label, a.y_label);
  for (size_t i = 0; i < series.size(); ++i) {
    const Series& s = series[i];
    if (s.x.empty()) continue;
    if (s.low.size() == s.x.size() && s.high.size() == s.x.size() && s.x.size() > 1) {
      std::string points;
      for (size_t k = 0; k < s.x.size(); ++k)
        points += fmt::format("{:.1f},{:.1f} ", f.px(s.x[k]), f.py(s.high[k]));
      for (size_t k = s.x.size(); k-- > 0;)
        points += fmt::format("{:.1f},{:.1f} ", f.px(s.x[k]), f.py(s.low[k]));
      out +=
          fmt::format("<polygon points=\"{}\" fill=\"{}\" fill-opacity=\"0.2\" stroke=\"none\"/>\n",
                      points, colour(i));
    }
    std::string points;
    for (size_t k = 0; k < s.x.size(); ++k)
      points += fmt::format("{:.1f},{:.1f} ", f.px(s.x[k]), f.py(s.y[k]));
    out += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>\n",
                       points, colour(i));
    if (s.x.size() == 1) {
      out += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>\n",
                         f.px(s.x[0]), f.py(s.y[0]), colour(i));
    }
    // Legend, right of the frame.
    const double ly = f.top + 10 + 20.0 * static_cast<double>(i), lx = f.left + f.width + 14;
    out += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" "
        "stroke-width=\"3\"/>\n",
        lx, ly, lx + 18, ly, colour(i));
    out += text(lx + 24, ly + 4, s.label, "start", 12);
  }
  out += "</svg>\n";
  return out;
}

std::string interval_chart(const std::vector<std::string>& metrics,
                           const std::vector<std::string>& entries,
                           const std::vector<std::vector<Estimate>>& values,
                           const std::string& title, const std::string& x_label) {
  size_t longest = 4;
  for (const auto& e : entries) longest = std::max(longest, e.size());
  const double label_w = std::min(260.0, 12.0 + 7.0 * static_cast<double>(longest));
  const double panel_w = 180, gap = 30, row_h = 26, top = 52;
  const double height_rows = row_h * static_cast<double>(std::max<size_t>(1, entries.size()));
  const int width =
      static_cast<int>(label_w + (panel_w + gap) * static_cast<double>(metrics.size()) + 10);
  const int height = static_cast<int>(top + height_rows + 52);
  std::string out = header(width, height);
  out += text(width / 2.0, 20, title, "middle", 14, " font-weight=\"bold\"");
  for (size_t e = 0; e < entries.size(); ++e) {
    out +=
        text(label_w - 8, top + row_h * (static_cast<double>(e) + 0.5) + 4, entries[e], "end", 12);
  }
  for (size_t m = 0; m < metrics.size(); ++m) {
    Frame f{.left = label_w + (panel_w + gap) * static_cast<double>(m),
            .top = top,
            .width = panel_w,
            .height = height_rows};
    for (const Estimate& v : values[m]) {
      f.x.add(v.low);
      f.x.add(v.high);
      f.x.add(v.point);
    }
    f.x.finish();
    const double pad = 0.05 * (f.x.hi - f.x.lo);  // keeps a bar that spans the data off the frame
    f.x.lo -= pad;
    f.x.hi += pad;
    const auto xt = snap(f.x, 3);
    f.y = {.lo = 0, .hi = 1};
    out += text(f.left + f.width / 2, top - 8, metrics[m], "middle", 13, " font-weight=\"bold\"");
    out += axes_of(f, xt, {}, m == metrics.size() / 2 ? x_label : "", "");
    for (size_t e = 0; e < values[m].size(); ++e) {
      const Estimate& v = values[m][e];
      const double cy = top + row_h * (static_cast<double>(e) + 0.5);
      const double x0 = f.px(v.low), x1 = std::max(f.px(v.high), x0 + 1.5);
      out += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\" "
          "fill-opacity=\"0.55\"/>\n",
          x0, cy - 8, x1 - x0, 16.0, colour(e));
      out += fmt::format(
          "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#000\" "
          "stroke-width=\"2\"/>\n",
          f.px(v.point), cy - 10, cy + 10);
    }
  }
  out += "</svg>\n";
  return out;
}

}  // namespace stitch::svg
