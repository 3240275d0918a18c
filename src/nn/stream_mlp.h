// The network and optimiser of streaming deep RL (Elsayed, Vasan & Mahmood 2024, "Streaming
// Deep Reinforcement Learning Finally Works", arXiv:2410.14606), torch-free.
//
// With a batch of one, a libtorch op's fixed cost (a few microseconds each, dozens per update)
// dwarfs the arithmetic, so these networks keep their parameters in one flat float buffer and
// compute gradients by hand. Same math as a torch module of the same layers; the tests check
// the gradients against finite differences.
//
// StreamMlp: in -> [Linear -> LayerNorm (no learnable parameters, eps 1e-5) -> LeakyReLU(0.01)]
// per hidden layer -> Linear -> out, as in the paper's networks (Sec. 4; Appendix, "network
// architecture"). Initialisation: sparse_init (the paper's Sec. 4 "sparse initialization").
//
// ObGD (the paper's Algorithm 3, "overshooting-bounded gradient descent") on eligibility traces:
//   e <- gamma * lambda * e + grad(prediction)
//   M = lr * kappa * max(|delta|, 1) * ||e||_1        (L1 over every parameter of the network)
//   step = lr / M if M > 1 else lr
//   theta <- theta + step * delta * e
//   e <- 0 at the end of an episode (and, in Q(lambda), after a non-greedy action).
// Defaults lr 1.0, gamma 0.99, lambda 0.8, kappa 2 (values) / 3 (policies): the paper's
// Table 3 and its public code's command-line defaults.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace stitch {
class Rng;
}

namespace stitch::nn {

class StreamMlp {
 public:
  // Activations of one forward pass, kept for backward. Reusable across calls.
  struct Tape {
    std::vector<std::vector<float>> inputs;  // input of each layer
    std::vector<std::vector<float>> normed;  // LayerNorm output of each hidden layer
    std::vector<float> rstd;                 // 1 / sqrt(var + eps) of each hidden layer
    std::vector<float> output;
    std::vector<float> grad_a, grad_b;  // scratch for backward
  };

  StreamMlp() = default;
  StreamMlp(int64_t in, std::vector<int64_t> hidden, int64_t out);

  int64_t in_dim() const { return sizes_.front(); }
  int64_t out_dim() const { return sizes_.back(); }
  int64_t num_layers() const { return static_cast<int64_t>(sizes_.size()) - 1; }
  int64_t num_params() const { return static_cast<int64_t>(params_.size()); }
  std::span<float> params() { return params_; }
  std::span<const float> params() const { return params_; }
  // Offsets of layer k's weight [in, out] and bias [out] in params().
  int64_t weight_offset(int64_t k) const { return offsets_[k]; }
  int64_t bias_offset(int64_t k) const { return offsets_[k] + sizes_[k] * sizes_[k + 1]; }

  // Sparse initialisation (Elsayed et al. 2024, Sec. 4): every weight uniform in
  // +-1/sqrt(fan_in), then for each output unit ceil(sparsity * fan_in) of its incoming
  // weights, chosen at random, set to zero; biases zero.
  void sparse_init(Rng& rng, double sparsity = 0.9);

  // Forward; the result is tape.output.
  void forward(std::span<const float> x, Tape& tape) const;
  // g = d(sum_j grad_out[j] * output[j]) / d(params) at the tape's forward pass. With decay 0,
  // out = g (overwritten); otherwise out = decay * out + g (an eligibility trace, updated in the
  // same pass). Returns the L1 norm of the new out. out has num_params() values.
  double backward(Tape& tape, std::span<const float> grad_out, std::span<float> out,
                  float decay = 0.0f) const;

 private:
  std::vector<int64_t> sizes_;    // in, hidden..., out
  std::vector<int64_t> offsets_;  // start of each layer in params_
  std::vector<float> params_;
};

struct ObGDConfig {
  double lr = 1.0;
  double gamma = 0.99;
  double lambda = 0.8;
  double kappa = 2.0;
};

class ObGD {
 public:
  ObGD() = default;
  ObGD(int64_t num_params, ObGDConfig config);

  // The effective step size for a TD error delta and a trace of L1 norm trace_l1.
  static double step_size(const ObGDConfig& config, double delta, double trace_l1);

  // Decays the trace and adds grad, then apply(). Returns the step size used.
  double step(std::span<float> params, std::span<const float> grad, double delta, bool reset);
  // Moves params by step * delta * trace for a trace already updated (whose L1 norm is
  // trace_l1, e.g. by StreamMlp::backward with decay gamma * lambda); zeroes the trace afterwards
  // when reset. Returns the step size used.
  double apply(std::span<float> params, double delta, double trace_l1, bool reset);
  float decay() const { return static_cast<float>(config_.gamma * config_.lambda); }

  const ObGDConfig& config() const { return config_; }
  std::span<float> trace() { return trace_; }
  std::span<const float> trace() const { return trace_; }

 private:
  ObGDConfig config_;
  std::vector<float> trace_;
};

}  // namespace stitch::nn
