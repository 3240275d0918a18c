// Torch-free dense-layer kernels for batch-of-one work: the deployable inference path
// (src/deploy) and the streaming learners (src/nn/stream_mlp.h), where a libtorch call's fixed
// overhead (microseconds) would exceed the arithmetic (a 128x128 layer is 16k multiply-adds).
//
// Layout: weight [in, out] row-major (row i holds the weights leaving input i), bias [out].
// Each kernel is compiled for AVX2+FMA and a baseline and picked at run time (GCC
// target_clones), so one binary runs everywhere and is fast where it can be.
#pragma once

#include <cstdint>

namespace stitch::nn {

// y[j] = bias[j] + sum_i x[i] * w[i, j].
void dense_forward(const float* x, int64_t in, const float* w, const float* bias, int64_t out, float* y);

// Backward of dense_forward for an upstream gradient gy [out]: writes gw = x (outer) gy,
// gb = gy and, when gx is not null, gx = w gy ([in]).
void dense_backward(const float* x, int64_t in, const float* w, const float* gy, int64_t out,
                    float* gx, float* gw, float* gb);

// e = decay * e + g over n values; returns the L1 norm of the new e (eligibility traces).
double trace_accumulate(float* e, const float* g, float decay, int64_t n);

// y += a * x over n values.
void axpy(float a, const float* x, float* y, int64_t n);

}  // namespace stitch::nn
