// Torch-free training kernels for ReLU (or SiLU) MLPs at minibatch sizes: the offline learners'
// fast path (IQL, TD3+BC, TD3; src/algo/fused_nets.h binds them to the torch modules).
//
// Why by hand: at the D4RL sizes (batch 256, two hidden layers of 256) one update is a few
// dozen 256x256x256 matmuls, and libtorch's autograd adds a tensor allocation, a dispatch and a
// separate elementwise pass around each of them (bias add, ReLU, its mask, Adam tensor by
// tensor). Here every layer is one sgemm with the bias pre-filled (beta = 1), the ReLU and its
// backward mask are one pass each, gradients land in one flat buffer per network and Adam and
// Polyak averaging are one pass over it. Same math as the torch modules: the tests compare
// every gradient with autograd's.
//
// Layout: row-major. A layer's weight is either [out, in] (torch::nn::Linear) or [in, out] (one
// member of an EnsembleLinear); both go to sgemm as they are, through its transpose flags.
#pragma once

#include <cstdint>
#include <vector>

#include "nn/matmul.h"

namespace stitch::nn::fused {

enum class Layout { OutIn, InOut };

struct Layer {
  int64_t in = 0, out = 0;
  Layout layout = Layout::OutIn;
  const float* w = nullptr;  // parameters
  const float* b = nullptr;
  float* gw = nullptr;  // their gradients, overwritten by backward; null: not computed
  float* gb = nullptr;
  bool relu = true;   // ReLU on the output
  bool silu = false;  // SiLU, x sigmoid(x), on the output instead (not with LayerNorm or masks)
  // LayerNorm after the ReLU (ReBRAC's block order: Dense, ReLU, LayerNorm), y = (x - mean) /
  // sqrt(var + eps) * scale + shift over the layer's outputs (biased variance, as torch's and
  // Flax's); null scale: none. Not on the last layer, and not with forward_masked.
  const float* ln_scale = nullptr;
  const float* ln_shift = nullptr;
  float* g_ln_scale = nullptr;  // their gradients, overwritten by backward; null: not computed
  float* g_ln_shift = nullptr;
  float ln_eps = 1e-5f;
};

// Layers in order; the builders (nn.h) put a ReLU after every layer but the last.
using Mlp = std::vector<Layer>;

// One forward pass's activations, kept for backward; reusable (buffers grow once).
struct Tape {
  const float* input = nullptr;
  int64_t rows = 0;
  std::vector<std::vector<float>> h;  // output of each layer [rows, out], after its ReLU if any
                                      // (and its LayerNorm if any)
  // Layers with LayerNorm: the ReLU's output [rows, out], the normalised values before scale
  // and shift [rows, out], and 1 / sqrt(var + eps) per row.
  std::vector<std::vector<float>> pre_norm, normed, rstd;
  std::vector<std::vector<float>> pre_act;  // SiLU layers: the input of the SiLU [rows, out]
  std::vector<float> ln_work;               // LayerNorm backward's scratch
  // In bf16 precision (nn/matmul.h): each layer's input and weight as the forward cast them,
  // reused by the backward's products, and the backward's cast of the layer's output gradient.
  bool bf16 = false;
  std::vector<Bf16Block> x16, w16;
  Bf16Block dz16;
  std::vector<float> scratch[2];  // backward's gradient buffers
  const float* output() const { return h.back().data(); }
};

// y = net(x) for x [rows, in]; the tape keeps x's pointer, which must stay valid for backward.
void forward(const Mlp& net, const float* x, int64_t rows, Tape& tape);

// The same layers as a linear map at the ReLU pattern of another forward (`masks`, of the same
// rows): no biases, and each ReLU replaced by "keep where masks' output was positive". For ReLU
// nets this is the input-gradient's derivative: c . dQ/dx = forward_masked(c) (EDAC's
// diversity term differentiates dQ/da with respect to the weights through it).
void forward_masked(const Mlp& net, const Tape& masks, const float* x, int64_t rows, Tape& tape);

// Backward of the forward recorded in `tape` for dy = dLoss/dOutput [rows, out]: writes each
// layer's gw/gb that is not null, and dx = dLoss/dx [rows, in] when dx is not null. With
// `masks`, the ReLU gradients follow that tape's pattern instead (the backward of
// forward_masked).
void backward(const Mlp& net, Tape& tape, const float* dy, float* dx, const Tape* masks = nullptr);

// Adam (Kingma & Ba 2015) as torch.optim.Adam computes it, over n values at once: step counts
// from 1; m, v start at zero.
struct AdamOptions {
  float lr = 3e-4f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
};
void adam_step(float* param, const float* grad, float* m, float* v, int64_t n, int64_t step,
               const AdamOptions& options);

// target <- (1 - tau) * target + tau * source over n values.
void polyak(float* target, const float* source, int64_t n, float tau);

// y[i] += x[i] for i in [begin, end) (summing two partial gradients).
void axpy_range(float* y, const float* x, int64_t begin, int64_t end);

// dst[r, 0:a) = x[r, :], dst[r, a:a+b) = y[r, :] for r < rows.
void concat_columns(const float* x, int64_t a, const float* y, int64_t b, int64_t rows, float* dst);

// exp(x) as the SiLU kernels compute it (a polynomial that vectorises; within 1 ulp of the true
// value on [-87, 88], saturating outside it): exposed for its test.
float exp_vectorisable(float x);

}  // namespace stitch::nn::fused
