// Torch-free dense-layer kernels for batch-of-one work: the deployable inference path
// (src/deploy) and the streaming learners (src/nn/stream_mlp.h), where a libtorch call's fixed
// overhead (microseconds) would exceed the arithmetic (a 128x128 layer is 16k multiply-adds).
//
// Layout: weight [in, out] row-major (row i holds the weights leaving input i), bias [out].
// Each kernel is compiled for AVX-512, AVX2+FMA and a baseline and picked at run time (GCC
// target_clones), so one binary runs everywhere and is fast where it can be.
#pragma once

#include <cstdint>

namespace stitch::nn {

// y[j] = bias[j] + sum_i x[i] * w[i, j].
void dense_forward(const float* x, int64_t in, const float* w, const float* bias, int64_t out,
                   float* y);

// Backward of dense_forward for an upstream gradient gy [out], accumulated into eligibility
// traces: gw = decay * gw + x (outer) gy and gb = decay * gb + gy (decay 0 with zeroed buffers:
// the plain gradient), and, when gx is not null, gx = w gy ([in]). Returns the L1 norm of the
// new gw and gb. Fusing the trace update into backward saves two passes over the parameters.
double dense_backward(const float* x, int64_t in, const float* w, const float* gy, int64_t out,
                      float* gx, float* gw, float* gb, float decay = 0.0f);

// e = decay * e + g over n values; returns the L1 norm of the new e (eligibility traces).
double trace_accumulate(float* e, const float* g, float decay, int64_t n);

// LayerNorm without learnable parameters (biased variance, as torch's layer_norm), then leaky
// ReLU: z becomes the normalised values, act the activations; *rstd = 1 / sqrt(var + eps).
void layer_norm_leaky_relu(float* z, int64_t n, float eps, float slope, float* act, float* rstd);
// Backward of layer_norm_leaky_relu: g, the gradient w.r.t. act, becomes the gradient w.r.t.
// the pre-normalisation values: d = g * leaky'(normed); rstd * (d - mean(d) - normed * mean(d *
// normed)).
void layer_norm_leaky_relu_backward(float* g, const float* normed, int64_t n, float rstd,
                                    float slope);

// y += a * x over n values.
void axpy(float a, const float* x, float* y, int64_t n);

}  // namespace stitch::nn
