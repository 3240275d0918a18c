#include "nn/fused_mlp.h"

#include <cblas.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "nn/matmul.h"
#include "nn/target_clones.h"

namespace stitch::nn::fused {
namespace {

void ensure(std::vector<float>& buffer, int64_t n) {
  if (static_cast<int64_t>(buffer.size()) < n) buffer.resize(static_cast<size_t>(n));
}

// Every row of y [rows, out] <- bias.
void fill_rows(float* __restrict y, const float* __restrict bias, int64_t rows, int64_t out) {
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(y + r * out, bias, static_cast<size_t>(out) * sizeof(float));
}

STITCH_TARGET_CLONES
void relu_inplace(float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = y[i] > 0.0f ? y[i] : 0.0f;
}

// g <- g * (h > 0): the gradient through a ReLU whose output was h.
STITCH_TARGET_CLONES
void relu_mask(float* __restrict g, const float* __restrict h, int64_t n) {
  for (int64_t i = 0; i < n; ++i) g[i] = h[i] > 0.0f ? g[i] : 0.0f;
}

// exp(x) without a library call, so that the loops below vectorise (a glibc expf call per
// element made SiLU the largest cost of a model rollout): Cephes' expf, the reduction
// x = n ln2 + r with ln2 split in two, |r| <= ln2 / 2, a degree-6 polynomial, and 2^n built in
// the exponent bits; within 1 ulp of exp on [-87, 88] (tests/algo/nn_test.cpp). Outside it n is
// held in [-126, 127] and r in [-0.35, 0.35], so the result saturates at about 8e-39 below and
// 2.4e38 above (finite, positive), and NaN stays NaN. The clamps are on n and r, not on x: with
// x clamped GCC computed x / (1 + exp(bound)) for every lane as the clamped case, whose
// subnormal results cost a microcode assist per vector (15 times slower).
inline float exp_poly(float x) {
  const float m = std::min(std::max(std::floor(x * 1.44269504088896341f + 0.5f), -126.0f), 127.0f);
  const auto n = static_cast<int32_t>(m);
  const float r = std::min(std::max(x - m * 0.693359375f + m * 2.12194440e-4f, -0.35f), 0.35f);
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * r * r + r + 1.0f;
  return e * std::bit_cast<float>((n + 127) << 23);
}

}  // namespace

float exp_vectorisable(float x) { return exp_poly(x); }

namespace {

// SiLU in place: pre <- y, y <- y sigmoid(y).
STITCH_TARGET_CLONES
void silu_inplace(float* __restrict y, float* __restrict pre, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float x = y[i];
    pre[i] = x;
    y[i] = x / (1.0f + exp_poly(-x));
  }
}

// g <- g * d/dx (x sigmoid(x)) = g * s (1 + x (1 - s)), s = sigmoid(x): the gradient through a
// SiLU whose input was x.
STITCH_TARGET_CLONES
void silu_backward(float* __restrict g, const float* __restrict pre, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float x = pre[i];
    const float sig = 1.0f / (1.0f + exp_poly(-x));
    g[i] *= sig * (1.0f + x * (1.0f - sig));
  }
}

// gb[j] = sum_r dz[r, j].
STITCH_TARGET_CLONES
void column_sums(const float* __restrict dz, int64_t rows, int64_t out, float* __restrict gb) {
  for (int64_t j = 0; j < out; ++j) gb[j] = 0.0f;
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = dz + r * out;
    for (int64_t j = 0; j < out; ++j) gb[j] += row[j];
  }
}

// dst[r, i] = dz[r] * w[i] (a layer with one output).
STITCH_TARGET_CLONES
void outer(const float* __restrict dz, const float* __restrict w, int64_t rows, int64_t in,
           float* __restrict dst) {
  for (int64_t r = 0; r < rows; ++r) {
    const float g = dz[r];
    float* __restrict d = dst + r * in;
    for (int64_t i = 0; i < in; ++i) d[i] = g * w[i];
  }
}

int blas_int(int64_t n) { return static_cast<int>(n); }

// Sums of n floats in 16 fixed lanes, then the lanes in order: vectorises without -ffast-math
// (no reassociation needed) and gives the same bits on every run.
constexpr int kLanes = 16;

STITCH_TARGET_CLONES
float lane_sum(const float* __restrict x, int64_t n) {
  float acc[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (int l = 0; l < kLanes; ++l) acc[l] += x[j + l];
  }
  for (; j < n; ++j) acc[j % kLanes] += x[j];
  float sum = 0.0f;
  for (float v : acc) sum += v;
  return sum;
}

// LayerNorm of each row of x [rows, n] into y: normed = (x - mean) * rstd, y = normed * scale +
// shift, rstd = 1 / sqrt(var + eps) (biased variance, two passes).
STITCH_TARGET_CLONES
void layer_norm_rows(const float* __restrict x, float* __restrict y, int64_t rows, int64_t n,
                     const float* __restrict scale, const float* __restrict shift, float eps,
                     float* __restrict normed, float* __restrict rstd) {
  const float inv_n = 1.0f / static_cast<float>(n);
  for (int64_t r = 0; r < rows; ++r) {
    const float* __restrict xr = x + r * n;
    float* __restrict out = normed + r * n;
    const float mean = lane_sum(xr, n) * inv_n;
    for (int64_t j = 0; j < n; ++j) {
      const float d = xr[j] - mean;
      out[j] = d * d;
    }
    const float inv = 1.0f / std::sqrt(lane_sum(out, n) * inv_n + eps);
    rstd[r] = inv;
    float* __restrict yr = y + r * n;
    for (int64_t j = 0; j < n; ++j) {
      out[j] = (xr[j] - mean) * inv;
      yr[j] = out[j] * scale[j] + shift[j];
    }
  }
}

// Backward of layer_norm_rows: g [rows, n], the gradient w.r.t. its output, becomes the gradient
// w.r.t. its input, dx = rstd (dxhat - mean(dxhat) - normed mean(dxhat normed)) with dxhat =
// g scale; writes the scale's and shift's gradients (sums over rows) where not null. `work`:
// n floats of scratch.
STITCH_TARGET_CLONES
void layer_norm_rows_backward(float* __restrict g, const float* __restrict normed,
                              const float* __restrict rstd, int64_t rows, int64_t n,
                              const float* __restrict scale, float* __restrict g_scale,
                              float* __restrict g_shift, float* __restrict work) {
  if (g_scale != nullptr) std::fill_n(g_scale, n, 0.0f);
  if (g_shift != nullptr) std::fill_n(g_shift, n, 0.0f);
  const float inv_n = 1.0f / static_cast<float>(n);
  for (int64_t r = 0; r < rows; ++r) {
    float* __restrict gr = g + r * n;
    const float* __restrict xr = normed + r * n;
    if (g_scale != nullptr) {
      for (int64_t j = 0; j < n; ++j) g_scale[j] += gr[j] * xr[j];
    }
    if (g_shift != nullptr) {
      for (int64_t j = 0; j < n; ++j) g_shift[j] += gr[j];
    }
    for (int64_t j = 0; j < n; ++j) gr[j] *= scale[j];  // dxhat
    const float m1 = lane_sum(gr, n) * inv_n;
    for (int64_t j = 0; j < n; ++j) work[j] = gr[j] * xr[j];
    const float m2 = lane_sum(work, n) * inv_n;
    const float inv = rstd[r];
    for (int64_t j = 0; j < n; ++j) gr[j] = inv * (gr[j] - m1 - xr[j] * m2);
  }
}

}  // namespace

namespace {
void forward_impl(const Mlp& net, const float* x, int64_t rows, Tape& tape, const Tape* masks);
}  // namespace

void forward(const Mlp& net, const float* x, int64_t rows, Tape& tape) {
  forward_impl(net, x, rows, tape, nullptr);
}

void forward_masked(const Mlp& net, const Tape& masks, const float* x, int64_t rows, Tape& tape) {
  STITCH_CHECK(masks.h.size() == net.size() && masks.rows == rows,
               "fused::forward_masked without a forward of the same rows");
  for (const Layer& layer : net)
    STITCH_CHECK(layer.ln_scale == nullptr, "fused::forward_masked on an MLP with LayerNorm");
  forward_impl(net, x, rows, tape, &masks);
}

namespace {
void forward_impl(const Mlp& net, const float* x, int64_t rows, Tape& tape, const Tape* masks) {
  STITCH_CHECK(!net.empty(), "fused::forward on an empty MLP");
  STITCH_CHECK(net.back().ln_scale == nullptr, "fused::forward: LayerNorm on the last layer");
  tape.input = x;
  tape.rows = rows;
  if (tape.h.size() != net.size()) {
    tape.h.resize(net.size());
    tape.pre_norm.resize(net.size());
    tape.normed.resize(net.size());
    tape.rstd.resize(net.size());
    tape.x16.resize(net.size());
    tape.w16.resize(net.size());
    tape.pre_act.resize(net.size());
  }
  tape.bf16 = matmul_precision() == Precision::kBf16;
  const float* in_data = x;
  const int m = blas_int(rows);
  for (size_t l = 0; l < net.size(); ++l) {
    const Layer& layer = net[l];
    const bool norm = layer.ln_scale != nullptr;
    // With a LayerNorm the linear layer and its ReLU write pre_norm, the LayerNorm h.
    auto& out = norm ? tape.pre_norm[l] : tape.h[l];
    ensure(out, rows * layer.out);
    float* y = out.data();
    const int n = blas_int(layer.out), k = blas_int(layer.in);
    // bf16 without masks: the bias and the ReLU in the product's epilogue (gemm_bf16_bias).
    const bool bf16 = tape.bf16 && layer.out > 1;
    const bool epilogue = bf16 && masks == nullptr && rows > 0 && layer.in > 0;
    const bool relu_done = epilogue && layer.relu;
    if (masks != nullptr) {
      std::fill_n(y, rows * layer.out, 0.0f);  // no bias
    } else if (!epilogue) {                    // (with the epilogue the product writes y whole)
      fill_rows(y, layer.b, rows, layer.out);
    }
    if (layer.out == 1) {  // [1, in] and [in, 1] are the same vector
      cblas_sgemv(CblasRowMajor, CblasNoTrans, m, k, 1.0f, in_data, k, layer.w, 1, 1.0f, y, 1);
    } else if (bf16) {  // the input and the weight cast once, kept for the backward
      const bool out_in = layer.layout == Layout::OutIn;
      to_bf16(in_data, rows, layer.in, layer.in, tape.x16[l]);
      if (out_in) {
        to_bf16(layer.w, layer.out, layer.in, layer.in, tape.w16[l]);
      } else {
        to_bf16(layer.w, layer.in, layer.out, layer.out, tape.w16[l]);
      }
      if (epilogue) {
        gemm_bf16_bias(out_in, m, n, k, tape.x16[l], tape.w16[l], layer.b, relu_done, y, n);
      } else {
        gemm_bf16(false, out_in, m, n, k, tape.x16[l], tape.w16[l], 1.0f, y, n);
      }
    } else if (layer.layout == Layout::OutIn) {
      sgemm(false, true, m, n, k, in_data, k, layer.w, k, 1.0f, y, n);
    } else {
      sgemm(false, false, m, n, k, in_data, k, layer.w, n, 1.0f, y, n);
    }
    if (layer.silu) {
      STITCH_CHECK(masks == nullptr && !norm && !layer.relu,
                   "fused: a SiLU layer has no ReLU, LayerNorm or masks");
      ensure(tape.pre_act[l], rows * layer.out);
      silu_inplace(y, tape.pre_act[l].data(), rows * layer.out);
    }
    if (layer.relu && !relu_done) {
      if (masks == nullptr) {
        relu_inplace(y, rows * layer.out);
      } else {
        relu_mask(y, masks->h[l].data(), rows * layer.out);
      }
    }
    if (norm) {
      ensure(tape.h[l], rows * layer.out);
      ensure(tape.normed[l], rows * layer.out);
      ensure(tape.rstd[l], rows);
      layer_norm_rows(y, tape.h[l].data(), rows, layer.out, layer.ln_scale, layer.ln_shift,
                      layer.ln_eps, tape.normed[l].data(), tape.rstd[l].data());
    }
    in_data = tape.h[l].data();
  }
}

}  // namespace

void backward(const Mlp& net, Tape& tape, const float* dy, float* dx, const Tape* masks) {
  STITCH_CHECK(tape.h.size() == net.size() && tape.input != nullptr,
               "fused::backward without a forward");
  STITCH_CHECK(masks == nullptr || (masks->h.size() == net.size() && masks->rows == tape.rows),
               "fused::backward: the masks' tape has another shape");
  if (masks != nullptr) {
    for (const Layer& layer : net)
      STITCH_CHECK(layer.ln_scale == nullptr,
                   "fused::backward with masks on an MLP with LayerNorm");
  }
  // The ReLU masks: where the (masks' or this) forward's ReLU output was positive (before the
  // LayerNorm, where the layer has one).
  auto mask_of = [&](size_t l) -> const float* {
    if (net[l].ln_scale != nullptr) return tape.pre_norm[l].data();
    return (masks != nullptr ? masks->h[l] : tape.h[l]).data();
  };
  const int64_t rows = tape.rows;
  const int m = blas_int(rows);
  const float* dz = dy;  // gradient w.r.t. the current layer's pre-activation
  int next = 0;
  if (net.back().relu || net.back().silu) {  // the gradient arrives above the top activation
    const int64_t n = rows * net.back().out;
    ensure(tape.scratch[next], n);
    std::memcpy(tape.scratch[next].data(), dy, static_cast<size_t>(n) * sizeof(float));
    if (net.back().silu) {
      silu_backward(tape.scratch[next].data(), tape.pre_act[net.size() - 1].data(), n);
    } else {
      relu_mask(tape.scratch[next].data(), mask_of(net.size() - 1), n);
    }
    dz = tape.scratch[next].data();
    next ^= 1;
  }
  for (size_t li = net.size(); li-- > 0;) {
    const Layer& layer = net[li];
    const float* x = li == 0 ? tape.input : tape.h[li - 1].data();
    const int n = blas_int(layer.out), k = blas_int(layer.in);
    const bool bf16 = tape.bf16 && layer.out > 1;  // one-output layers stay fp32 (GEMV)
    if (bf16) to_bf16(dz, rows, layer.out, layer.out, tape.dz16);
    if (layer.gw != nullptr) {
      if (layer.out == 1) {
        cblas_sgemv(CblasRowMajor, CblasTrans, m, k, 1.0f, x, k, dz, 1, 0.0f, layer.gw, 1);
      } else if (layer.layout == Layout::OutIn) {  // gw [out, in] = dz^T x
        if (bf16) {
          gemm_bf16(true, false, n, k, m, tape.dz16, tape.x16[li], 0.0f, layer.gw, k);
        } else {
          sgemm(true, false, n, k, m, dz, n, x, k, 0.0f, layer.gw, k);
        }
      } else {  // gw [in, out] = x^T dz
        if (bf16) {
          gemm_bf16(true, false, k, n, m, tape.x16[li], tape.dz16, 0.0f, layer.gw, n);
        } else {
          sgemm(true, false, k, n, m, x, k, dz, n, 0.0f, layer.gw, n);
        }
      }
    }
    if (layer.gb != nullptr) column_sums(dz, rows, layer.out, layer.gb);
    if (li == 0 && dx == nullptr) break;
    float* dst = dx;
    if (li > 0) {
      ensure(tape.scratch[next], rows * layer.in);
      dst = tape.scratch[next].data();
    }
    const Layer* below = li > 0 ? &net[li - 1] : nullptr;
    const float* mask =
        below != nullptr && below->relu ? mask_of(li - 1) : nullptr;  // the previous layer's ReLU
    if (layer.out == 1) {
      outer(dz, layer.w, rows, layer.in, dst);
    } else if (bf16) {  // the weight as the forward cast it
      gemm_bf16(false, layer.layout == Layout::InOut, m, k, n, tape.dz16, tape.w16[li], 0.0f, dst,
                k);
    } else if (layer.layout == Layout::OutIn) {  // dx = dz W, W [out, in]
      sgemm(false, false, m, k, n, dz, n, layer.w, k, 0.0f, dst, k);
    } else {  // dx = dz W^T, W [in, out]
      sgemm(false, true, m, k, n, dz, n, layer.w, n, 0.0f, dst, k);
    }
    // A LayerNorm below: its backward comes between this layer's and the ReLU mask.
    if (below != nullptr && below->ln_scale != nullptr) {
      ensure(tape.ln_work, layer.in);
      layer_norm_rows_backward(dst, tape.normed[li - 1].data(), tape.rstd[li - 1].data(), rows,
                               layer.in, below->ln_scale, below->g_ln_scale, below->g_ln_shift,
                               tape.ln_work.data());
    }
    if (mask != nullptr) relu_mask(dst, mask, rows * layer.in);
    if (below != nullptr && below->silu) {
      silu_backward(dst, tape.pre_act[li - 1].data(), rows * layer.in);
    }
    dz = dst;
    next ^= 1;
  }
}

STITCH_TARGET_CLONES
void adam_step(float* __restrict param, const float* __restrict grad, float* __restrict m,
               float* __restrict v, int64_t n, int64_t step, const AdamOptions& o) {
  // torch.optim.Adam: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
  // p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
  const double t = static_cast<double>(step);
  const float step_size =
      static_cast<float>(o.lr / (1.0 - std::pow(static_cast<double>(o.beta1), t)));
  const float inv_bc2_sqrt =
      static_cast<float>(1.0 / std::sqrt(1.0 - std::pow(static_cast<double>(o.beta2), t)));
  const float b1 = o.beta1, b2 = o.beta2, c1 = 1.0f - o.beta1, c2 = 1.0f - o.beta2, eps = o.eps;
  for (int64_t i = 0; i < n; ++i) {
    const float g = grad[i];
    const float mi = b1 * m[i] + c1 * g;
    const float vi = b2 * v[i] + c2 * g * g;
    m[i] = mi;
    v[i] = vi;
    param[i] -= step_size * mi / (std::sqrt(vi) * inv_bc2_sqrt + eps);
  }
}

STITCH_TARGET_CLONES
void polyak(float* __restrict target, const float* __restrict source, int64_t n, float tau) {
  const float keep = 1.0f - tau;
  for (int64_t i = 0; i < n; ++i) target[i] = target[i] * keep + source[i] * tau;
}

STITCH_TARGET_CLONES
void axpy_range(float* __restrict y, const float* __restrict x, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) y[i] += x[i];
}

void concat_columns(const float* x, int64_t a, const float* y, int64_t b, int64_t rows,
                    float* dst) {
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(dst + r * (a + b), x + r * a, static_cast<size_t>(a) * sizeof(float));
    std::memcpy(dst + r * (a + b) + a, y + r * b, static_cast<size_t>(b) * sizeof(float));
  }
}

}  // namespace stitch::nn::fused
