#include "nn/dense.h"

#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define STITCH_TARGET_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define STITCH_TARGET_CLONES
#endif

namespace stitch::nn {

// Accumulating whole rows of W keeps the inner loop over contiguous memory without a
// reduction, which the compiler vectorises without reassociating floating-point sums.
STITCH_TARGET_CLONES
void dense_forward(const float* __restrict x, int64_t in, const float* __restrict w,
                   const float* __restrict bias, int64_t out, float* __restrict y) {
  std::memcpy(y, bias, static_cast<size_t>(out) * sizeof(float));
  for (int64_t i = 0; i < in; ++i) {
    const float xi = x[i];
    const float* row = w + i * out;
    for (int64_t j = 0; j < out; ++j) y[j] += xi * row[j];
  }
}

STITCH_TARGET_CLONES
void dense_backward(const float* __restrict x, int64_t in, const float* __restrict w,
                    const float* __restrict gy, int64_t out, float* __restrict gx,
                    float* __restrict gw, float* __restrict gb) {
  std::memcpy(gb, gy, static_cast<size_t>(out) * sizeof(float));
  for (int64_t i = 0; i < in; ++i) {
    const float xi = x[i];
    float* grow = gw + i * out;
    for (int64_t j = 0; j < out; ++j) grow[j] = xi * gy[j];
  }
  if (gx == nullptr) return;
  for (int64_t i = 0; i < in; ++i) {
    // A dot product: eight independent partial sums (a fixed order, so results are
    // reproducible) that the compiler maps onto one vector register.
    const float* row = w + i * out;
    float acc[8] = {};
    int64_t j = 0;
    for (; j + 8 <= out; j += 8) {
      for (int k = 0; k < 8; ++k) acc[k] += row[j + k] * gy[j + k];
    }
    float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; j < out; ++j) s += row[j] * gy[j];
    gx[i] = s;
  }
}

// Eight float partial sums per chunk keep the loop vectorisable (in a fixed order, so the result
// is reproducible); the chunks are summed in double.
STITCH_TARGET_CLONES
double trace_accumulate(float* __restrict e, const float* __restrict g, float decay, int64_t n) {
  constexpr int64_t kChunk = 512;
  double l1 = 0.0;
  for (int64_t start = 0; start < n; start += kChunk) {
    const int64_t stop = start + kChunk < n ? start + kChunk : n;
    float acc[8] = {};
    int64_t i = start;
    for (; i + 8 <= stop; i += 8) {
      for (int64_t k = 0; k < 8; ++k) {
        e[i + k] = decay * e[i + k] + g[i + k];
        acc[k] += e[i + k] < 0.0f ? -e[i + k] : e[i + k];
      }
    }
    for (; i < stop; ++i) {
      e[i] = decay * e[i] + g[i];
      acc[0] += e[i] < 0.0f ? -e[i] : e[i];
    }
    l1 += static_cast<double>(((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])));
  }
  return l1;
}

STITCH_TARGET_CLONES
void axpy(float a, const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

}  // namespace stitch::nn
