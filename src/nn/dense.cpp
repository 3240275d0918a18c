#include "nn/dense.h"

#include <cstring>

#include "nn/target_clones.h"

namespace stitch::nn {

// Outputs in blocks of 32 (four AVX registers) kept in registers while every input row streams
// past: each weight is loaded once and y is not re-read per input. Within a block the inner
// loop has no reduction, so the compiler vectorises it without reassociating sums.
STITCH_TARGET_CLONES
void dense_forward(const float* __restrict x, int64_t in, const float* __restrict w,
                   const float* __restrict bias, int64_t out, float* __restrict y) {
  constexpr int64_t kBlock = 32;
  int64_t j0 = 0;
  for (; j0 + kBlock <= out; j0 += kBlock) {
    float acc[kBlock];
    for (int64_t k = 0; k < kBlock; ++k) acc[k] = bias[j0 + k];
    for (int64_t i = 0; i < in; ++i) {
      const float xi = x[i];
      const float* row = w + i * out + j0;
      for (int64_t k = 0; k < kBlock; ++k) acc[k] += xi * row[k];
    }
    for (int64_t k = 0; k < kBlock; ++k) y[j0 + k] = acc[k];
  }
  if (j0 == out) return;
  std::memcpy(y + j0, bias + j0, static_cast<size_t>(out - j0) * sizeof(float));
  for (int64_t i = 0; i < in; ++i) {
    const float xi = x[i];
    const float* row = w + i * out;
    for (int64_t j = j0; j < out; ++j) y[j] += xi * row[j];
  }
}

STITCH_TARGET_CLONES
double dense_backward(const float* __restrict x, int64_t in, const float* __restrict w,
                      const float* __restrict gy, int64_t out, float* __restrict gx,
                      float* __restrict gw, float* __restrict gb, float decay) {
  // Eight float partial sums of |.| (a fixed order, so the result is reproducible), summed in
  // double per row.
  double l1 = 0.0;
  auto accumulate = [&](float* __restrict dst, float scale) {
    float acc[8] = {};
    int64_t j = 0;
    for (; j + 8 <= out; j += 8) {
      for (int64_t k = 0; k < 8; ++k) {
        const float v = decay * dst[j + k] + scale * gy[j + k];
        dst[j + k] = v;
        acc[k] += v < 0.0f ? -v : v;
      }
    }
    for (; j < out; ++j) {
      const float v = decay * dst[j] + scale * gy[j];
      dst[j] = v;
      acc[0] += v < 0.0f ? -v : v;
    }
    l1 += static_cast<double>(((acc[0] + acc[1]) + (acc[2] + acc[3])) +
                              ((acc[4] + acc[5]) + (acc[6] + acc[7])));
  };
  for (int64_t i = 0; i < in; ++i) accumulate(gw + i * out, x[i]);
  accumulate(gb, 1.0f);
  if (gx != nullptr) {
    for (int64_t i = 0; i < in; ++i) {
      // A dot product, with eight independent partial sums as above.
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
  return l1;
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
    l1 += static_cast<double>(((acc[0] + acc[1]) + (acc[2] + acc[3])) +
                              ((acc[4] + acc[5]) + (acc[6] + acc[7])));
  }
  return l1;
}

STITCH_TARGET_CLONES
void axpy(float a, const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

STITCH_TARGET_CLONES
void layer_norm_leaky_relu(float* __restrict z, int64_t n, float eps, float slope,
                           float* __restrict act, float* rstd_out) {
  // Float sums in eight lanes (fixed order): exact enough for a LayerNorm over a hidden layer.
  auto sum8 = [n](auto&& term) {
    float acc[8] = {};
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
      for (int64_t k = 0; k < 8; ++k) acc[k] += term(j + k);
    }
    for (; j < n; ++j) acc[0] += term(j);
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  };
  const float mean = sum8([z](int64_t j) { return z[j]; }) / static_cast<float>(n);
  const float var =
      sum8([z, mean](int64_t j) { return (z[j] - mean) * (z[j] - mean); }) / static_cast<float>(n);
  const float rstd = 1.0f / __builtin_sqrtf(var + eps);
  for (int64_t j = 0; j < n; ++j) {
    const float v = (z[j] - mean) * rstd;
    z[j] = v;
    act[j] = v > 0.0f ? v : slope * v;
  }
  *rstd_out = rstd;
}

STITCH_TARGET_CLONES
void layer_norm_leaky_relu_backward(float* __restrict g, const float* __restrict normed, int64_t n,
                                    float rstd, float slope) {
  float acc_g[8] = {}, acc_gn[8] = {};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    for (int64_t k = 0; k < 8; ++k) {
      const float d = g[j + k] * (normed[j + k] > 0.0f ? 1.0f : slope);
      g[j + k] = d;
      acc_g[k] += d;
      acc_gn[k] += d * normed[j + k];
    }
  }
  for (; j < n; ++j) {
    const float d = g[j] * (normed[j] > 0.0f ? 1.0f : slope);
    g[j] = d;
    acc_g[0] += d;
    acc_gn[0] += d * normed[j];
  }
  auto total = [](const float* a) {
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
  };
  const float mean_g = total(acc_g) / static_cast<float>(n);
  const float mean_gn = total(acc_gn) / static_cast<float>(n);
  for (int64_t i = 0; i < n; ++i) g[i] = rstd * (g[i] - mean_g - normed[i] * mean_gn);
}

}  // namespace stitch::nn
