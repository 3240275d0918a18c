#include "env/space.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>

#include "core/error.h"

namespace stitch {

Space Space::box(std::vector<float> low, std::vector<float> high) {
  if (low.size() != high.size()) {
    fail("Box: low has {} dimensions but high has {}", low.size(), high.size());
  }
  if (low.empty()) fail("Box: needs at least one dimension");
  for (size_t i = 0; i < low.size(); ++i) {
    if (std::isnan(low[i]) || std::isnan(high[i]) || low[i] > high[i]) {
      fail("Box: dimension {} has low {} > high {}", i, low[i], high[i]);
    }
  }
  Space s;
  s.kind_ = Kind::kBox;
  s.low_ = std::move(low);
  s.high_ = std::move(high);
  return s;
}

Space Space::box(int64_t dim, float low, float high) {
  if (dim < 1) fail("Box: dimension must be >= 1, got {}", dim);
  return box(std::vector<float>(dim, low), std::vector<float>(dim, high));
}

Space Space::discrete(int64_t n) {
  if (n < 1) fail("Discrete: n must be >= 1, got {}", n);
  Space s;
  s.kind_ = Kind::kDiscrete;
  s.n_ = n;
  return s;
}

bool Space::bounded() const {
  if (is_discrete()) return true;
  for (size_t i = 0; i < low_.size(); ++i) {
    if (!std::isfinite(low_[i]) || !std::isfinite(high_[i])) return false;
  }
  return true;
}

bool Space::contains(std::span<const float> value) const {
  if (static_cast<int64_t>(value.size()) != flat_dim()) return false;
  if (is_discrete()) {
    const float v = value[0];
    return std::isfinite(v) && v == std::floor(v) && v >= 0 && v < static_cast<float>(n_);
  }
  for (size_t i = 0; i < value.size(); ++i) {
    if (!std::isfinite(value[i]) || value[i] < low_[i] || value[i] > high_[i]) return false;
  }
  return true;
}

void Space::sample(Rng& rng, std::span<float> out) const {
  STITCH_CHECK(static_cast<int64_t>(out.size()) == flat_dim(), "sample buffer has {} floats",
               out.size());
  if (is_discrete()) {
    out[0] = static_cast<float>(rng.below(static_cast<uint64_t>(n_)));
    return;
  }
  if (!bounded()) fail("cannot sample uniformly from an unbounded {}", describe());
  for (size_t i = 0; i < low_.size(); ++i) {
    // Computed in double, rounded once; clamp guards the float rounding at the upper edge.
    const double v = rng.uniform(low_[i], high_[i]);
    out[i] = std::min(static_cast<float>(v), high_[i]);
  }
}

std::vector<float> Space::sample(Rng& rng) const {
  std::vector<float> out(flat_dim());
  sample(rng, out);
  return out;
}

std::string Space::describe() const {
  if (is_discrete()) return fmt::format("Discrete({})", n_);
  return fmt::format("Box({}, low=[{}], high=[{}])", low_.size(), fmt::join(low_, ", "),
                     fmt::join(high_, ", "));
}

}  // namespace stitch
