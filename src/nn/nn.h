// libtorch building blocks for the algorithms: MLPs, a vectorised ensemble of MLPs (E members
// in one batched matmul: twin critics and larger ensembles cost one call), policy heads and
// target-network updates.
//
// Initialisation: every linear layer (plain or ensemble member) uses PyTorch's nn.Linear
// default, weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as the CORL and d3rlpy
// implementations do; the policy heads' last layers follow the same rule.
// Shapes: obs [B, obs_dim], actions [B, act_dim], all float32.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "nn/fused_mlp.h"

namespace stitch::nn {

struct MlpOptions {
  std::vector<int64_t> hidden = {256, 256};  // hidden widths
  std::string activation = "relu";           // relu | tanh | elu
  bool layer_norm = false;                   // LayerNorm after each hidden linear layer
  double dropout = 0.0;                      // dropout after each hidden activation
};

// in -> hidden... -> out, activation between layers, none after the last.
class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t in, int64_t out, const MlpOptions& options);
  torch::Tensor forward(torch::Tensor x);
  // (weight [out, in], bias [out]) of each linear layer in order; throws Error when the MLP has
  // LayerNorm, dropout or a non-ReLU activation (not expressible as a plain ReLU MLP).
  std::vector<std::pair<torch::Tensor, torch::Tensor>> relu_linear_layers() const;

 private:
  torch::nn::Sequential layers_;
};
TORCH_MODULE(Mlp);

// E independent linear layers applied in one batched matmul.
// weight [E, in, out], bias [E, 1, out]; x [E, B, in] -> [E, B, out].
class EnsembleLinearImpl : public torch::nn::Module {
 public:
  EnsembleLinearImpl(int64_t ensemble, int64_t in, int64_t out);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;
};
TORCH_MODULE(EnsembleLinear);

// An ensemble of E MLPs (ReLU); x [B, in] (shared by all members) or [E, B, in] -> [E, B, out].
// With layer_norm, each hidden block is Linear, ReLU, LayerNorm (ReBRAC's order, CORL's
// rebrac.py), each member with its own LayerNorm scale and shift ([E, 1, width], starting at 1
// and 0) and `ln_eps` in the variance.
// The hidden layers' activation: ReLU (critics) or SiLU, x sigmoid(x) (the Swish of MBPO-style
// dynamics models).
enum class Activation { kRelu, kSilu };

class EnsembleMlpImpl : public torch::nn::Module {
 public:
  EnsembleMlpImpl(int64_t ensemble, int64_t in, int64_t out, std::vector<int64_t> hidden,
                  bool layer_norm = false, double ln_eps = 1e-5,
                  Activation activation = Activation::kRelu);
  torch::Tensor forward(torch::Tensor x);
  // Member k alone: x [B, in] -> [B, out]; equals forward(x)[k] (TD3's actor needs only Q1).
  torch::Tensor forward_member(torch::Tensor x, int64_t k);
  int64_t ensemble_size() const { return ensemble_; }
  // (weight [E, in, out], bias [E, 1, out]) of each layer.
  std::vector<std::pair<torch::Tensor, torch::Tensor>> linear_layers() const;
  // (scale [E, 1, width], shift [E, 1, width]) of each hidden layer's LayerNorm; empty without.
  std::vector<std::pair<torch::Tensor, torch::Tensor>> norm_layers() const;
  double ln_eps() const { return ln_eps_; }
  Activation activation() const { return activation_; }

 private:
  int64_t ensemble_;
  double ln_eps_;
  Activation activation_;
  std::vector<EnsembleLinear> layers_;
  std::vector<torch::Tensor> norm_scale_, norm_shift_;
};
TORCH_MODULE(EnsembleMlp);

// CORL's initialisation of its CQL critics (init_module_weights with orthogonal_init): each
// member's hidden weights orthogonal with gain `hidden_gain`, its last layer's with `last_gain`,
// every bias 0. Draws from torch's global generator.
void orthogonal_init(EnsembleMlpImpl& net, double hidden_gain, double last_gain);

// The EDAC paper's critic initialisation (CORL's SAC-N and EDAC): every hidden layer's bias
// `hidden_bias`, the last layer's weights and biases uniform in [-last_bound, last_bound], the
// other weights as they are (libtorch's default). Draws from torch's global generator.
void edac_init(EnsembleMlpImpl& net, double hidden_bias, double last_bound);
// The same over (weight, bias) views of a network's layers in order (e.g. a policy's
// action_layers(), for ReBRAC's actor).
void edac_init(const std::vector<std::pair<torch::Tensor, torch::Tensor>>& layers,
               double hidden_bias, double last_bound);

// a = max_action * tanh(mlp(obs)).
class DeterministicPolicyImpl : public torch::nn::Module {
 public:
  DeterministicPolicyImpl(int64_t obs_dim, int64_t act_dim, const MlpOptions& options,
                          double max_action);
  torch::Tensor forward(const torch::Tensor& obs);
  // The layers of the action path: a = max_action * tanh(ReLU MLP(obs)).
  std::vector<std::pair<torch::Tensor, torch::Tensor>> action_layers() const {
    return net_->relu_linear_layers();
  }

 private:
  Mlp net_;
  double max_action_;
};
TORCH_MODULE(DeterministicPolicy);

// Tanh-squashed Gaussian (SAC, CQL): u ~ N(mean(obs), exp(log_std(obs))), a = max_action*tanh(u).
// log_std is clamped to [log_std_min, log_std_max].
class TanhGaussianPolicyImpl : public torch::nn::Module {
 public:
  // log_std_affine: log_std = clamp(scale * head(h) + offset, min, max) with two learned scalars
  // starting at 1 and -1 (CORL's CQL actor: log_std_multiplier and log_std_offset); without it,
  // log_std = clamp(head(h), min, max).
  TanhGaussianPolicyImpl(int64_t obs_dim, int64_t act_dim, const MlpOptions& options,
                         double max_action, double log_std_min = -20.0, double log_std_max = 2.0,
                         bool log_std_affine = false);
  // (action, log_prob [B]) with the reparameterisation trick; deterministic: a = tanh(mean).
  std::pair<torch::Tensor, torch::Tensor> sample(const torch::Tensor& obs, bool deterministic,
                                                 torch::Generator* generator = nullptr);
  // log pi(action | obs) [B] for actions inside (-max_action, max_action).
  torch::Tensor log_prob(const torch::Tensor& obs, const torch::Tensor& action);
  // The layers of the deterministic action max_action * tanh(mean(obs)).
  std::vector<std::pair<torch::Tensor, torch::Tensor>> action_layers() const;
  // For the fused path: the trunk's layers (a ReLU after each, the last included) and the heads.
  std::vector<std::pair<torch::Tensor, torch::Tensor>> trunk_layers() const {
    return trunk_->relu_linear_layers();
  }
  std::pair<torch::Tensor, torch::Tensor> mean_head() const {
    return {mean_->weight.detach(), mean_->bias.detach()};
  }
  std::pair<torch::Tensor, torch::Tensor> log_std_head() const {
    return {log_std_->weight.detach(), log_std_->bias.detach()};
  }
  double max_action() const { return max_action_; }
  double log_std_min() const { return log_std_min_; }
  double log_std_max() const { return log_std_max_; }
  // The learned scalars of log_std_affine ([1] each); undefined tensors without it.
  const torch::Tensor& log_std_scale() const { return log_std_scale_; }
  const torch::Tensor& log_std_offset() const { return log_std_offset_; }
  // CORL's initialisation of the heads (its actor's last layer): xavier-uniform with gain
  // `gain` over the heads as one [2 act_dim, width] layer, biases 0.
  void init_heads_xavier(double gain);
  // The EDAC paper's initialisation (CORL's SAC-N and EDAC actor): every trunk bias
  // `hidden_bias`, the heads' weights and biases uniform in [-head_bound, head_bound].
  void init_edac(double hidden_bias, double head_bound);
  // The Gaussian before the tanh: (mean, log_std clamped) [B, act_dim].
  std::pair<torch::Tensor, torch::Tensor> mean_log_std(const torch::Tensor& obs);

 private:
  Mlp trunk_{nullptr};
  torch::nn::Linear mean_{nullptr}, log_std_{nullptr};
  torch::Tensor log_std_scale_, log_std_offset_;
  double max_action_, log_std_min_, log_std_max_;
};
TORCH_MODULE(TanhGaussianPolicy);

// Gaussian with a tanh-bounded mean and a state-independent log_std (IQL's actor, as in the
// IQL paper's locomotion setup and CORL): mean = max_action * tanh(mlp(obs)).
class GaussianPolicyImpl : public torch::nn::Module {
 public:
  GaussianPolicyImpl(int64_t obs_dim, int64_t act_dim, const MlpOptions& options, double max_action,
                     double log_std_min = -20.0, double log_std_max = 2.0);
  torch::Tensor mean(const torch::Tensor& obs);
  // log N(action; mean(obs), std) summed over action dimensions, [B].
  torch::Tensor log_prob(const torch::Tensor& obs, const torch::Tensor& action);
  torch::Tensor sample(const torch::Tensor& obs, torch::Generator* generator = nullptr);
  // The layers of the deterministic action (the mean).
  std::vector<std::pair<torch::Tensor, torch::Tensor>> action_layers() const {
    return net_->relu_linear_layers();
  }
  // The clamp bounds and the (unclamped) log_std parameter [act_dim], for the fused path.
  const torch::Tensor& log_std() const { return log_std_; }
  double log_std_min() const { return log_std_min_; }
  double log_std_max() const { return log_std_max_; }

 private:
  Mlp net_;
  torch::Tensor log_std_;
  double max_action_, log_std_min_, log_std_max_;
};
TORCH_MODULE(GaussianPolicy);

// log N(x; mean, exp(log_std)) summed over the last dimension.
torch::Tensor gaussian_log_prob(const torch::Tensor& x, const torch::Tensor& mean,
                                const torch::Tensor& log_std);
// log(1 - tanh(u)^2), computed stably as 2 (log 2 - u - softplus(-2u)).
torch::Tensor tanh_log_det_jacobian(const torch::Tensor& u);

// target <- tau * source + (1 - tau) * target, parameter by parameter (Polyak averaging).
void soft_update(torch::nn::Module& target, const torch::nn::Module& source, double tau);
// target <- source.
void hard_update(torch::nn::Module& target, const torch::nn::Module& source);

// True when every parameter of `module` is finite.
bool all_finite(const torch::nn::Module& module);

// While alive, `module`'s parameters require no gradient, so a loss that flows through it (an
// actor's loss through its critic) records and computes only the gradient with respect to the
// module's inputs, never its weights' (which the critic's next zero_grad() would discard).
// Must outlive the forward pass and the backward() it serves. Restores the previous flags.
class FrozenParameters {
 public:
  explicit FrozenParameters(torch::nn::Module& module);
  ~FrozenParameters();
  FrozenParameters(const FrozenParameters&) = delete;
  FrozenParameters& operator=(const FrozenParameters&) = delete;

 private:
  std::vector<std::pair<torch::Tensor, bool>> params_;
};

// ---- the fused path (nn/fused_mlp.h) on torch modules -------------------------------------

// Moves every parameter of `module` into one contiguous float32 buffer: each parameter tensor
// becomes a view of it, so the module (forward, checkpoints, export) and the fused kernels see
// the same numbers. A gradient buffer of the same layout comes with it.
class FlatParameters {
 public:
  explicit FlatParameters(torch::nn::Module& module);
  float* data() { return flat_.data_ptr<float>(); }
  float* grad() { return grad_.data_ptr<float>(); }
  int64_t size() const { return flat_.numel(); }
  // The gradient slot of `p`, which must be one of the module's parameters (or a view of one).
  float* grad_of(const torch::Tensor& p) { return slot_of(p, grad()); }
  // The slot of `p` in another buffer of size() values laid out as this one.
  float* slot_of(const torch::Tensor& p, float* buffer);
  // Loading a checkpoint gives the parameters new storage: copy their values back into the
  // buffer and make them views of it again. Pointers into the buffer stay valid.
  void rebind();

 private:
  torch::nn::Module* module_;
  torch::Tensor flat_, grad_;
  std::vector<int64_t> offsets_;
};

// Adam over one FlatParameters (fused::adam_step), its state held as module buffers
// (exp_avg, exp_avg_sq, step) so that checkpoints carry it like a torch optimiser's.
class FlatAdamImpl : public torch::nn::Module {
 public:
  FlatAdamImpl(int64_t size, const fused::AdamOptions& options);
  // One step on [begin, end) of the buffer with the gradient in params.grad(); call advance()
  // once per step first (so that ranges of one step can run on different threads).
  void advance();
  void step(FlatParameters& params, int64_t begin, int64_t end);
  void step(FlatParameters& params) {
    advance();
    step(params, 0, params.size());
  }
  fused::AdamOptions options;

 private:
  torch::Tensor exp_avg_, exp_avg_sq_, step_;
};
TORCH_MODULE(FlatAdam);

// Fused views of a module's layers: pointers into `params` (a FlatParameters of the module)
// and, when `grads` is not null, into that gradient buffer (params.grad() or another buffer of
// params.size() values with the same layout).
fused::Mlp fused_mlp(const std::vector<std::pair<torch::Tensor, torch::Tensor>>& linear_layers,
                     FlatParameters& params, float* grads);
// Member k of an ensemble.
fused::Mlp fused_member(const EnsembleMlpImpl& ensemble, int64_t k, FlatParameters& params,
                        float* grads);

// A TanhGaussianPolicy on the fused path: sampling with given noise, and the backward pass of a
// loss given its gradient with respect to the actions and the log-probabilities, through the
// reparameterisation a = max_action tanh(mean + eps std) (as autograd differentiates sample()).
class FusedTanhGaussian {
 public:
  // `grads`: the gradient buffer to write (params.grad() or one of its layout); null: none.
  FusedTanhGaussian(const TanhGaussianPolicyImpl& policy, FlatParameters& params, float* grads);
  // action [rows, act] and log_prob [rows] as TanhGaussianPolicy::sample with eps [rows, act].
  // Keeps what backward needs (eps must stay valid until then).
  void sample(const float* obs, int64_t rows, const float* eps, float* action, float* log_prob);
  // The last sample's Gaussian before the tanh: mean and log_std (clamped) [rows, act].
  const float* mean() const { return mean_tape_.output(); }
  const float* log_std() const { return ls_.data(); }
  // Writes the parameters' gradients for dL/daction and dL/dlog_prob and, for a loss on the
  // Gaussian itself, dL/dmean and dL/dlog_std (each null: zero); and dL/dobs [rows, obs] into
  // d_obs (null: not computed).
  void backward(const float* d_action, const float* d_log_prob, const float* d_mean = nullptr,
                const float* d_log_std = nullptr, float* d_obs = nullptr);

 private:
  fused::Mlp trunk_, mean_, log_std_;
  fused::Tape trunk_tape_, mean_tape_, log_std_tape_;
  std::vector<float> u_, ls_, dmean_, dlog_std_, dh_, dh2_;
  const float* eps_ = nullptr;
  int64_t act_ = 0, rows_ = 0;
  float max_a_, lo_, hi_;
  // log_std_affine's scalars in the flat buffer and their gradient slots (null: none).
  const float *scale_ = nullptr, *offset_ = nullptr;
  float *dscale_ = nullptr, *doffset_ = nullptr;
};

}  // namespace stitch::nn
