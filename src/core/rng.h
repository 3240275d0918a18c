// A seedable, portable random number generator (xoshiro256** seeded through splitmix64).
//
// Why not <random>: std's distributions are implementation-defined, so the same seed gives
// different numbers on different standard libraries. Everything here is specified bit for bit,
// so runs are reproducible from their seed. The state is four 64-bit words and can be saved in
// checkpoints. Not thread-safe: give each thread (each env) its own Rng.
#pragma once

#include <array>
#include <cstdint>

namespace stitch {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) { seed_with(seed); }

  // Re-seeds: the same seed always gives the same stream.
  void seed_with(uint64_t seed);

  // Next raw 64-bit output.
  uint64_t next_u64();
  // Uniform in [0, 1) with 53 random bits.
  double uniform();
  // Uniform in [low, high).
  double uniform(double low, double high) { return low + (high - low) * uniform(); }
  // Uniform integer in [0, n); REQUIRES: n > 0. Unbiased (rejection sampling).
  uint64_t below(uint64_t n);
  // Standard normal (Box-Muller; the second value of a pair is cached).
  double normal();
  double normal(double mean, double stddev) { return mean + stddev * normal(); }

  // A new generator whose stream is independent of this one's (seeded from next_u64()).
  Rng split() { return Rng(next_u64()); }

  // Full state, for checkpoints: 4 words of xoshiro state plus the cached normal.
  struct State {
    std::array<uint64_t, 4> s;
    bool has_cached_normal;
    double cached_normal;
  };
  State state() const { return {s_, has_cached_normal_, cached_normal_}; }
  void set_state(const State& st) {
    s_ = st.s;
    has_cached_normal_ = st.has_cached_normal;
    cached_normal_ = st.cached_normal;
  }

 private:
  std::array<uint64_t, 4> s_{};
  bool has_cached_normal_ = false;
  double cached_normal_ = 0.0;
};

}  // namespace stitch
