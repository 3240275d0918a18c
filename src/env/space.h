// Observation and action spaces (Gymnasium's Box and Discrete).
//
// Values travel as flat float32 spans. A Box of shape [d] holds d floats with per-dimension
// bounds (+-inf allowed). A Discrete(n) action is one float holding an integer in [0, n).
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "core/rng.h"

namespace stitch {

class Space {
 public:
  enum class Kind { kBox, kDiscrete };

  // A Box with per-dimension bounds; low and high must have the same size and low <= high.
  static Space box(std::vector<float> low, std::vector<float> high);
  // A Box of `dim` dimensions, all in [low, high].
  static Space box(int64_t dim, float low, float high);
  // Discrete(n): one integer in [0, n); n >= 1.
  static Space discrete(int64_t n);

  Kind kind() const { return kind_; }
  bool is_box() const { return kind_ == Kind::kBox; }
  bool is_discrete() const { return kind_ == Kind::kDiscrete; }
  // Number of floats a value of this space occupies (Box: dimensions; Discrete: 1).
  int64_t flat_dim() const { return is_box() ? static_cast<int64_t>(low_.size()) : 1; }
  // Discrete: number of choices. Box: 0.
  int64_t n() const { return n_; }
  const std::vector<float>& low() const { return low_; }    // Box only
  const std::vector<float>& high() const { return high_; }  // Box only
  // True when every dimension is bounded on both sides.
  bool bounded() const;

  // True when `value` has flat_dim() finite entries inside the bounds (Discrete: an integer in
  // [0, n)).
  bool contains(std::span<const float> value) const;
  // Writes a uniform sample (Box: must be bounded) into `out` (flat_dim() floats).
  void sample(Rng& rng, std::span<float> out) const;
  std::vector<float> sample(Rng& rng) const;

  // "Box(3, low=[-1, -1, -8], high=[1, 1, 8])" or "Discrete(2)".
  std::string describe() const;

 private:
  Kind kind_ = Kind::kBox;
  std::vector<float> low_, high_;
  int64_t n_ = 0;
};

inline constexpr float kInf = std::numeric_limits<float>::infinity();

}  // namespace stitch
