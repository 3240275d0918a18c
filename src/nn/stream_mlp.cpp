#include "nn/stream_mlp.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "core/rng.h"
#include "nn/dense.h"

namespace stitch::nn {
namespace {

constexpr float kLayerNormEps = 1e-5f;  // torch.nn.functional.layer_norm's default
constexpr float kLeakySlope = 0.01f;    // torch.nn.functional.leaky_relu's default

}  // namespace

StreamMlp::StreamMlp(int64_t in, std::vector<int64_t> hidden, int64_t out) {
  STITCH_CHECK(in > 0 && out > 0, "stream network: sizes must be positive (in {}, out {})", in,
               out);
  sizes_.push_back(in);
  for (int64_t h : hidden) {
    STITCH_CHECK(h > 0, "stream network: hidden width must be positive, got {}", h);
    sizes_.push_back(h);
  }
  sizes_.push_back(out);
  int64_t total = 0;
  for (size_t k = 0; k + 1 < sizes_.size(); ++k) {
    offsets_.push_back(total);
    total += sizes_[k] * sizes_[k + 1] + sizes_[k + 1];
  }
  params_.assign(static_cast<size_t>(total), 0.0f);
}

void StreamMlp::sparse_init(Rng& rng, double sparsity) {
  STITCH_CHECK(sparsity >= 0.0 && sparsity < 1.0, "sparse_init: sparsity must be in [0, 1), got {}",
               sparsity);
  std::vector<int64_t> order;
  for (int64_t k = 0; k < num_layers(); ++k) {
    const int64_t in = sizes_[k], out = sizes_[k + 1];
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    float* w = params_.data() + weight_offset(k);
    for (int64_t i = 0; i < in * out; ++i) w[i] = static_cast<float>(rng.uniform(-bound, bound));
    const auto zeros = static_cast<int64_t>(std::ceil(sparsity * static_cast<double>(in)));
    order.resize(static_cast<size_t>(in));
    for (int64_t j = 0; j < out; ++j) {
      // A uniformly random subset of `zeros` inputs: the first entries of a partial shuffle.
      std::iota(order.begin(), order.end(), int64_t{0});
      for (int64_t i = 0; i < zeros; ++i) {
        const auto pick = i + static_cast<int64_t>(rng.below(static_cast<uint64_t>(in - i)));
        std::swap(order[i], order[pick]);
        w[order[i] * out + j] = 0.0f;
      }
    }
    std::fill_n(params_.data() + bias_offset(k), out, 0.0f);
  }
}

void StreamMlp::forward(std::span<const float> x, Tape& tape) const {
  STITCH_CHECK(static_cast<int64_t>(x.size()) == in_dim(),
               "stream network: input has {} values, expected {}", x.size(), in_dim());
  const auto layers = static_cast<size_t>(num_layers());
  tape.inputs.resize(layers);
  tape.normed.resize(layers - 1);
  tape.rstd.resize(layers - 1);
  tape.inputs[0].assign(x.begin(), x.end());
  for (size_t k = 0; k < layers; ++k) {
    const int64_t in = sizes_[k], out = sizes_[k + 1];
    const float* w = params_.data() + weight_offset(static_cast<int64_t>(k));
    const float* b = params_.data() + bias_offset(static_cast<int64_t>(k));
    if (k + 1 == layers) {
      tape.output.resize(static_cast<size_t>(out));
      dense_forward(tape.inputs[k].data(), in, w, b, out, tape.output.data());
      break;
    }
    std::vector<float>& z = tape.normed[k];
    z.resize(static_cast<size_t>(out));
    dense_forward(tape.inputs[k].data(), in, w, b, out, z.data());
    std::vector<float>& next = tape.inputs[k + 1];
    next.resize(static_cast<size_t>(out));
    layer_norm_leaky_relu(z.data(), out, kLayerNormEps, kLeakySlope, next.data(), &tape.rstd[k]);
  }
}

double StreamMlp::backward(Tape& tape, std::span<const float> grad_out, std::span<float> grad,
                           float decay) const {
  STITCH_CHECK(static_cast<int64_t>(grad_out.size()) == out_dim() &&
                   static_cast<int64_t>(grad.size()) == num_params(),
               "stream network: backward got {} output gradients and {} parameter slots",
               grad_out.size(), grad.size());
  if (decay == 0.0f) std::fill(grad.begin(), grad.end(), 0.0f);  // 0 * garbage may be NaN
  double l1 = 0.0;
  const int64_t layers = num_layers();
  std::vector<float>& g = tape.grad_a;    // gradient w.r.t. the current layer's output
  std::vector<float>& gin = tape.grad_b;  // gradient w.r.t. its input
  g.assign(grad_out.begin(), grad_out.end());
  for (int64_t k = layers - 1; k >= 0; --k) {
    const int64_t in = sizes_[k], out = sizes_[k + 1];
    if (k + 1 < layers) {
      layer_norm_leaky_relu_backward(g.data(), tape.normed[k].data(), out, tape.rstd[k],
                                     kLeakySlope);
    }
    gin.resize(static_cast<size_t>(in));
    l1 += dense_backward(tape.inputs[k].data(), in, params_.data() + weight_offset(k), g.data(),
                         out, k > 0 ? gin.data() : nullptr, grad.data() + weight_offset(k),
                         grad.data() + bias_offset(k), decay);
    std::swap(g, gin);
  }
  return l1;
}

ObGD::ObGD(int64_t num_params, ObGDConfig config)
    : config_(config), trace_(static_cast<size_t>(num_params), 0.0f) {
  STITCH_CHECK(config.lr > 0 && config.kappa > 0,
               "ObGD: lr and kappa must be positive (lr {}, kappa {})", config.lr, config.kappa);
  STITCH_CHECK(config.gamma >= 0 && config.gamma <= 1 && config.lambda >= 0 && config.lambda <= 1,
               "ObGD: gamma and lambda must lie in [0, 1] (gamma {}, lambda {})", config.gamma,
               config.lambda);
}

double ObGD::step_size(const ObGDConfig& config, double delta, double trace_l1) {
  const double delta_bar = std::max(std::abs(delta), 1.0);
  const double m = config.lr * config.kappa * delta_bar * trace_l1;
  return m > 1.0 ? config.lr / m : config.lr;
}

double ObGD::step(std::span<float> params, std::span<const float> grad, double delta, bool reset) {
  STITCH_CHECK(grad.size() == trace_.size(), "ObGD: {} gradients for a trace of {}", grad.size(),
               trace_.size());
  const double l1 =
      trace_accumulate(trace_.data(), grad.data(), decay(), static_cast<int64_t>(trace_.size()));
  return apply(params, delta, l1, reset);
}

double ObGD::apply(std::span<float> params, double delta, double trace_l1, bool reset) {
  STITCH_CHECK(params.size() == trace_.size(), "ObGD: {} parameters for a trace of {}",
               params.size(), trace_.size());
  const double step = step_size(config_, delta, trace_l1);
  axpy(static_cast<float>(step * delta), trace_.data(), params.data(),
       static_cast<int64_t>(trace_.size()));
  if (reset) std::fill(trace_.begin(), trace_.end(), 0.0f);
  return step;
}

}  // namespace stitch::nn
