#include "nn/nn.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace stitch::nn {
namespace {

// PyTorch's nn.Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias.
void linear_default_init(torch::Tensor& weight, torch::Tensor& bias, int64_t fan_in) {
  torch::NoGradGuard no_grad;
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  weight.uniform_(-bound, bound);
  bias.uniform_(-bound, bound);
}

torch::nn::AnyModule activation(const std::string& name) {
  if (name == "relu") return torch::nn::AnyModule(torch::nn::ReLU());
  if (name == "tanh") return torch::nn::AnyModule(torch::nn::Tanh());
  if (name == "elu") return torch::nn::AnyModule(torch::nn::ELU());
  fail("unknown activation '{}' (use relu, tanh or elu)", name);
}

}  // namespace

MlpImpl::MlpImpl(int64_t in, int64_t out, const MlpOptions& options) {
  int64_t width = in;
  for (int64_t h : options.hidden) {
    layers_->push_back(torch::nn::Linear(width, h));
    if (options.layer_norm)
      layers_->push_back(torch::nn::LayerNorm(torch::nn::LayerNormOptions({h})));
    layers_->push_back(activation(options.activation));
    if (options.dropout > 0) layers_->push_back(torch::nn::Dropout(options.dropout));
    width = h;
  }
  layers_->push_back(torch::nn::Linear(width, out));
  register_module("layers", layers_);
}

torch::Tensor MlpImpl::forward(torch::Tensor x) { return layers_->forward(x); }

std::vector<std::pair<torch::Tensor, torch::Tensor>> MlpImpl::relu_linear_layers() const {
  std::vector<std::pair<torch::Tensor, torch::Tensor>> out;
  for (const auto& child : layers_->children()) {
    if (const auto* linear = child->as<torch::nn::Linear>()) {
      out.emplace_back(linear->weight.detach(), linear->bias.detach());
    } else if (child->as<torch::nn::ReLU>() == nullptr) {
      fail("this MLP has a {} layer and cannot be exported as a ReLU MLP", child->name());
    }
  }
  return out;
}

EnsembleLinearImpl::EnsembleLinearImpl(int64_t ensemble, int64_t in, int64_t out) {
  weight = register_parameter("weight", torch::empty({ensemble, in, out}));
  bias = register_parameter("bias", torch::empty({ensemble, 1, out}));
  linear_default_init(weight, bias, in);
}

torch::Tensor EnsembleLinearImpl::forward(const torch::Tensor& x) {
  return torch::baddbmm(bias, x, weight);  // [E, B, in] x [E, in, out] + [E, 1, out]
}

EnsembleMlpImpl::EnsembleMlpImpl(int64_t ensemble, int64_t in, int64_t out,
                                 std::vector<int64_t> hidden, bool layer_norm, double ln_eps,
                                 Activation activation)
    : ensemble_(ensemble), ln_eps_(ln_eps), activation_(activation) {
  if (ensemble < 1) fail("ensemble size must be >= 1, got {}", ensemble);
  STITCH_CHECK(!(layer_norm && activation == Activation::kSilu),
               "an ensemble MLP has LayerNorm with ReLU only");
  int64_t width = in;
  hidden.push_back(out);
  for (size_t i = 0; i < hidden.size(); ++i) {
    layers_.push_back(
        register_module("linear" + std::to_string(i), EnsembleLinear(ensemble, width, hidden[i])));
    if (layer_norm && i + 1 < hidden.size()) {
      const std::string name = "norm" + std::to_string(i);
      norm_scale_.push_back(
          register_parameter(name + "_scale", torch::ones({ensemble, 1, hidden[i]})));
      norm_shift_.push_back(
          register_parameter(name + "_shift", torch::zeros({ensemble, 1, hidden[i]})));
    }
    width = hidden[i];
  }
}

namespace {
// Linear, then on hidden layers the activation and (with scale defined) LayerNorm over the last
// dimension.
torch::Tensor hidden_block(torch::Tensor x, const torch::Tensor& scale, const torch::Tensor& shift,
                           double eps, Activation activation) {
  x = activation == Activation::kSilu ? torch::silu(x) : torch::relu(x);
  if (!scale.defined()) return x;
  return torch::layer_norm(x, {x.size(-1)}, {}, {}, eps) * scale + shift;
}
}  // namespace

torch::Tensor EnsembleMlpImpl::forward(torch::Tensor x) {
  if (x.dim() == 2) x = x.unsqueeze(0).expand({ensemble_, x.size(0), x.size(1)});
  for (size_t i = 0; i < layers_.size(); ++i) {
    x = layers_[i]->forward(x);
    if (i + 1 < layers_.size()) {
      x = norm_scale_.empty()
              ? hidden_block(x, {}, {}, ln_eps_, activation_)
              : hidden_block(x, norm_scale_[i], norm_shift_[i], ln_eps_, activation_);
    }
  }
  return x;
}

void orthogonal_init(EnsembleMlpImpl& net, double hidden_gain, double last_gain) {
  torch::NoGradGuard no_grad;
  const auto layers = net.linear_layers();
  for (size_t l = 0; l < layers.size(); ++l) {
    const auto& [w, b] = layers[l];  // [E, in, out], [E, 1, out]: views of the parameters
    const double gain = l + 1 == layers.size() ? last_gain : hidden_gain;
    for (int64_t k = 0; k < net.ensemble_size(); ++k) {
      auto weight = torch::empty({w.size(2), w.size(1)});  // torch's [out, in]
      torch::nn::init::orthogonal_(weight, gain);
      w[k].copy_(weight.t());
    }
    b.zero_();
  }
}

void edac_init(EnsembleMlpImpl& net, double hidden_bias, double last_bound) {
  edac_init(net.linear_layers(), hidden_bias, last_bound);  // views of the parameters
}

void edac_init(const std::vector<std::pair<torch::Tensor, torch::Tensor>>& layers,
               double hidden_bias, double last_bound) {
  torch::NoGradGuard no_grad;
  for (size_t l = 0; l + 1 < layers.size(); ++l) layers[l].second.fill_(hidden_bias);
  layers.back().first.uniform_(-last_bound, last_bound);
  layers.back().second.uniform_(-last_bound, last_bound);
}

std::vector<std::pair<torch::Tensor, torch::Tensor>> EnsembleMlpImpl::linear_layers() const {
  std::vector<std::pair<torch::Tensor, torch::Tensor>> out;
  for (const auto& layer : layers_) out.emplace_back(layer->weight.detach(), layer->bias.detach());
  return out;
}

std::vector<std::pair<torch::Tensor, torch::Tensor>> EnsembleMlpImpl::norm_layers() const {
  std::vector<std::pair<torch::Tensor, torch::Tensor>> out;
  for (size_t i = 0; i < norm_scale_.size(); ++i)
    out.emplace_back(norm_scale_[i].detach(), norm_shift_[i].detach());
  return out;
}

torch::Tensor EnsembleMlpImpl::forward_member(torch::Tensor x, int64_t k) {
  STITCH_CHECK(k >= 0 && k < ensemble_, "ensemble member {} of {}", k, ensemble_);
  for (size_t i = 0; i < layers_.size(); ++i) {
    x = torch::addmm(layers_[i]->bias[k], x,
                     layers_[i]->weight[k]);  // [B, in] x [in, out] + [1, out]
    if (i + 1 < layers_.size()) {
      x = norm_scale_.empty()
              ? hidden_block(x, {}, {}, ln_eps_, activation_)
              : hidden_block(x, norm_scale_[i][k], norm_shift_[i][k], ln_eps_, activation_);
    }
  }
  return x;
}

DeterministicPolicyImpl::DeterministicPolicyImpl(int64_t obs_dim, int64_t act_dim,
                                                 const MlpOptions& options, double max_action)
    : net_(register_module("net", Mlp(obs_dim, act_dim, options))), max_action_(max_action) {}

torch::Tensor DeterministicPolicyImpl::forward(const torch::Tensor& obs) {
  return max_action_ * torch::tanh(net_->forward(obs));
}

torch::Tensor gaussian_log_prob(const torch::Tensor& x, const torch::Tensor& mean,
                                const torch::Tensor& log_std) {
  const double log_sqrt_2pi = 0.5 * std::log(2.0 * M_PI);
  const auto z = (x - mean) * torch::exp(-log_std);
  return (-0.5 * z * z - log_std - log_sqrt_2pi).sum(-1);
}

torch::Tensor tanh_log_det_jacobian(const torch::Tensor& u) {
  return 2.0 * (std::log(2.0) - u - torch::nn::functional::softplus(-2.0 * u));
}

TanhGaussianPolicyImpl::TanhGaussianPolicyImpl(int64_t obs_dim, int64_t act_dim,
                                               const MlpOptions& options, double max_action,
                                               double log_std_min, double log_std_max,
                                               bool log_std_affine)
    : max_action_(max_action), log_std_min_(log_std_min), log_std_max_(log_std_max) {
  MlpOptions trunk = options;
  const int64_t width = trunk.hidden.back();
  trunk.hidden.pop_back();
  trunk_ = register_module("trunk", Mlp(obs_dim, width, trunk));
  mean_ = register_module("mean", torch::nn::Linear(width, act_dim));
  log_std_ = register_module("log_std", torch::nn::Linear(width, act_dim));
  if (log_std_affine) {
    log_std_scale_ = register_parameter("log_std_scale", torch::ones({1}));
    log_std_offset_ = register_parameter("log_std_offset", torch::full({1}, -1.0));
  }
}

void TanhGaussianPolicyImpl::init_heads_xavier(double gain) {
  torch::NoGradGuard no_grad;
  const auto width = static_cast<double>(mean_->weight.size(1));
  const auto out = static_cast<double>(2 * mean_->weight.size(0));
  const double bound = gain * std::sqrt(6.0 / (width + out));
  for (auto* head : {&mean_, &log_std_}) {
    (*head)->weight.uniform_(-bound, bound);
    (*head)->bias.zero_();
  }
}

void TanhGaussianPolicyImpl::init_edac(double hidden_bias, double head_bound) {
  torch::NoGradGuard no_grad;
  for (auto& [w, b] : trunk_->relu_linear_layers()) b.fill_(hidden_bias);  // views: in place
  for (auto* head : {&mean_, &log_std_}) {
    (*head)->weight.uniform_(-head_bound, head_bound);
    (*head)->bias.uniform_(-head_bound, head_bound);
  }
}

std::pair<torch::Tensor, torch::Tensor> TanhGaussianPolicyImpl::mean_log_std(
    const torch::Tensor& obs) {
  const auto h = torch::relu(trunk_->forward(obs));
  auto log_std = log_std_->forward(h);
  if (log_std_scale_.defined()) log_std = log_std_scale_ * log_std + log_std_offset_;
  return {mean_->forward(h), log_std.clamp(log_std_min_, log_std_max_)};
}

std::pair<torch::Tensor, torch::Tensor> TanhGaussianPolicyImpl::sample(
    const torch::Tensor& obs, bool deterministic, torch::Generator* generator) {
  auto [mean, log_std] = mean_log_std(obs);
  torch::Tensor u = mean;
  if (!deterministic) {
    const auto eps = generator != nullptr ? torch::randn(mean.sizes(), *generator, mean.options())
                                          : torch::randn_like(mean);
    u = mean + eps * torch::exp(log_std);
  }
  const auto log_prob = gaussian_log_prob(u, mean, log_std) - tanh_log_det_jacobian(u).sum(-1) -
                        static_cast<double>(mean.size(-1)) * std::log(max_action_);
  return {max_action_ * torch::tanh(u), log_prob};
}

std::vector<std::pair<torch::Tensor, torch::Tensor>> TanhGaussianPolicyImpl::action_layers() const {
  auto layers = trunk_->relu_linear_layers();
  layers.emplace_back(mean_->weight.detach(), mean_->bias.detach());
  return layers;
}

torch::Tensor TanhGaussianPolicyImpl::log_prob(const torch::Tensor& obs,
                                               const torch::Tensor& action) {
  auto [mean, log_std] = mean_log_std(obs);
  const auto y = (action / max_action_).clamp(-1.0 + 1e-6, 1.0 - 1e-6);
  const auto u = torch::atanh(y);
  return gaussian_log_prob(u, mean, log_std) - tanh_log_det_jacobian(u).sum(-1) -
         static_cast<double>(mean.size(-1)) * std::log(max_action_);
}

GaussianPolicyImpl::GaussianPolicyImpl(int64_t obs_dim, int64_t act_dim, const MlpOptions& options,
                                       double max_action, double log_std_min, double log_std_max)
    : net_(register_module("net", Mlp(obs_dim, act_dim, options))),
      max_action_(max_action),
      log_std_min_(log_std_min),
      log_std_max_(log_std_max) {
  log_std_ = register_parameter("log_std", torch::zeros({act_dim}));
}

torch::Tensor GaussianPolicyImpl::mean(const torch::Tensor& obs) {
  return max_action_ * torch::tanh(net_->forward(obs));
}

torch::Tensor GaussianPolicyImpl::log_prob(const torch::Tensor& obs, const torch::Tensor& action) {
  const auto m = mean(obs);
  return gaussian_log_prob(action, m, log_std_.clamp(log_std_min_, log_std_max_).expand_as(m));
}

torch::Tensor GaussianPolicyImpl::sample(const torch::Tensor& obs, torch::Generator* generator) {
  const auto m = mean(obs);
  const auto eps = generator != nullptr ? torch::randn(m.sizes(), *generator, m.options())
                                        : torch::randn_like(m);
  return m + eps * torch::exp(log_std_.clamp(log_std_min_, log_std_max_));
}

void soft_update(torch::nn::Module& target, const torch::nn::Module& source, double tau) {
  torch::NoGradGuard no_grad;
  auto t = target.parameters();
  const auto s = source.parameters();
  STITCH_CHECK(t.size() == s.size(), "soft_update: {} vs {} parameters", t.size(), s.size());
  for (size_t i = 0; i < t.size(); ++i) t[i].mul_(1.0 - tau).add_(s[i], tau);
}

void hard_update(torch::nn::Module& target, const torch::nn::Module& source) {
  soft_update(target, source, 1.0);
}

bool all_finite(const torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (const auto& p : module.parameters()) {
    if (!torch::isfinite(p).all().item<bool>()) return false;
  }
  return true;
}

FrozenParameters::FrozenParameters(torch::nn::Module& module) {
  for (auto& p : module.parameters()) {
    params_.emplace_back(p, p.requires_grad());
    p.set_requires_grad(false);
  }
}

FrozenParameters::~FrozenParameters() {
  for (auto& [p, requires_grad] : params_) p.set_requires_grad(requires_grad);
}

FlatParameters::FlatParameters(torch::nn::Module& module) : module_(&module) {
  torch::NoGradGuard no_grad;
  int64_t total = 0;
  for (const auto& p : module.parameters()) {
    STITCH_CHECK(p.scalar_type() == torch::kFloat32 && p.device().is_cpu(),
                 "FlatParameters: float32 CPU parameters only");
    offsets_.push_back(total);
    total += p.numel();
  }
  flat_ = torch::zeros({total});
  grad_ = torch::zeros({total});
  rebind();
}

void FlatParameters::rebind() {
  torch::NoGradGuard no_grad;
  auto params = module_->parameters();
  STITCH_CHECK(params.size() == offsets_.size(), "FlatParameters: the module's parameters changed");
  for (size_t i = 0; i < params.size(); ++i) {
    auto& p = params[i];
    const auto view = flat_.narrow(0, offsets_[i], p.numel()).view(p.sizes());
    if (p.data_ptr<float>() == view.data_ptr<float>()) continue;
    view.copy_(p);
    p.set_data(view);
  }
}

float* FlatParameters::slot_of(const torch::Tensor& p, float* buffer) {
  const auto offset = p.data_ptr<float>() - data();
  STITCH_CHECK(offset >= 0 && offset + p.numel() <= size(),
               "FlatParameters: not a parameter of this buffer");
  return buffer + offset;
}

FlatAdamImpl::FlatAdamImpl(int64_t size, const fused::AdamOptions& o) : options(o) {
  exp_avg_ = register_buffer("exp_avg", torch::zeros({size}));
  exp_avg_sq_ = register_buffer("exp_avg_sq", torch::zeros({size}));
  step_ = register_buffer("step", torch::zeros({}, torch::kInt64));
}

void FlatAdamImpl::advance() { step_.data_ptr<int64_t>()[0] += 1; }

void FlatAdamImpl::step(FlatParameters& params, int64_t begin, int64_t end) {
  STITCH_CHECK(
      exp_avg_.numel() == params.size() && exp_avg_.is_contiguous() && exp_avg_sq_.is_contiguous(),
      "FlatAdam: state of {} values for {} parameters", exp_avg_.numel(), params.size());
  STITCH_CHECK(0 <= begin && begin <= end && end <= params.size(), "FlatAdam: bad range");
  fused::adam_step(params.data() + begin, params.grad() + begin, exp_avg_.data_ptr<float>() + begin,
                   exp_avg_sq_.data_ptr<float>() + begin, end - begin, step_.data_ptr<int64_t>()[0],
                   options);
}

namespace {

// One fused layer over weight w ([out, in] or [in, out] by `layout`) and bias b, which must live
// in `params`; its gradient slots in `grads` when that is not null.
fused::Layer fused_layer(const torch::Tensor& w, const torch::Tensor& b, fused::Layout layout,
                         FlatParameters& params, float* grads) {
  fused::Layer l;
  const bool out_in = layout == fused::Layout::OutIn;
  l.out = w.size(out_in ? 0 : 1);
  l.in = w.size(out_in ? 1 : 0);
  l.layout = layout;
  l.w = w.data_ptr<float>();
  l.b = b.data_ptr<float>();
  (void)params.grad_of(w);  // checks that the layer lives in `params`
  if (grads != nullptr) {
    l.gw = params.slot_of(w, grads);
    l.gb = params.slot_of(b, grads);
  }
  return l;
}

}  // namespace

fused::Mlp fused_mlp(const std::vector<std::pair<torch::Tensor, torch::Tensor>>& linear_layers,
                     FlatParameters& params, float* grads) {
  fused::Mlp net;
  for (const auto& [w, b] : linear_layers)
    net.push_back(fused_layer(w, b, fused::Layout::OutIn, params, grads));
  if (!net.empty()) net.back().relu = false;
  return net;
}

fused::Mlp fused_member(const EnsembleMlpImpl& ensemble, int64_t k, FlatParameters& params,
                        float* grads) {
  STITCH_CHECK(k >= 0 && k < ensemble.ensemble_size(), "ensemble member {} of {}", k,
               ensemble.ensemble_size());
  fused::Mlp net;
  for (const auto& [w, b] : ensemble.linear_layers()) {
    // Member k's slices, [in, out] and [1, out]: contiguous views.
    net.push_back(fused_layer(w[k], b[k], fused::Layout::InOut, params, grads));
  }
  if (ensemble.activation() == Activation::kSilu) {
    for (auto& layer : net) layer.relu = false, layer.silu = true;
  }
  if (!net.empty()) net.back().relu = net.back().silu = false;
  const auto norms = ensemble.norm_layers();
  for (size_t l = 0; l < norms.size(); ++l) {
    const auto& [scale, shift] = norms[l];
    fused::Layer& layer = net[l];
    layer.ln_scale = params.slot_of(scale[k], params.data());
    layer.ln_shift = params.slot_of(shift[k], params.data());
    if (grads != nullptr) {
      layer.g_ln_scale = params.slot_of(scale[k], grads);
      layer.g_ln_shift = params.slot_of(shift[k], grads);
    }
    layer.ln_eps = static_cast<float>(ensemble.ln_eps());
  }
  return net;
}

FusedTanhGaussian::FusedTanhGaussian(const TanhGaussianPolicyImpl& policy, FlatParameters& params,
                                     float* grads)
    : trunk_(fused_mlp(policy.trunk_layers(), params, grads)),
      mean_(fused_mlp({policy.mean_head()}, params, grads)),
      log_std_(fused_mlp({policy.log_std_head()}, params, grads)),
      act_(policy.mean_head().first.size(0)),
      max_a_(static_cast<float>(policy.max_action())),
      lo_(static_cast<float>(policy.log_std_min())),
      hi_(static_cast<float>(policy.log_std_max())) {
  trunk_.back().relu = true;  // the heads read relu(trunk(obs))
  if (policy.log_std_scale().defined()) {
    scale_ = params.slot_of(policy.log_std_scale(), params.data());
    offset_ = params.slot_of(policy.log_std_offset(), params.data());
    if (grads != nullptr) {
      dscale_ = params.slot_of(policy.log_std_scale(), grads);
      doffset_ = params.slot_of(policy.log_std_offset(), grads);
    }
  }
}

void FusedTanhGaussian::sample(const float* obs, int64_t rows, const float* eps, float* action,
                               float* log_prob) {
  fused::forward(trunk_, obs, rows, trunk_tape_);
  fused::forward(mean_, trunk_tape_.output(), rows, mean_tape_);
  fused::forward(log_std_, trunk_tape_.output(), rows, log_std_tape_);
  rows_ = rows;
  eps_ = eps;
  u_.resize(static_cast<size_t>(rows * act_));
  ls_.resize(static_cast<size_t>(rows * act_));
  const float* mean = mean_tape_.output();
  const float* raw = log_std_tape_.output();
  constexpr double kLogSqrt2Pi = 0.91893853320467274178, kLog2 = 0.69314718055994530942;
  const double log_max = std::log(static_cast<double>(max_a_));
  const float scale = scale_ != nullptr ? *scale_ : 1.0f;
  const float offset = offset_ != nullptr ? *offset_ : 0.0f;
  for (int64_t i = 0; i < rows; ++i) {
    double lp = 0;
    for (int64_t j = 0; j < act_; ++j) {
      const int64_t e = i * act_ + j;
      const float ls = std::clamp(scale_ != nullptr ? scale * raw[e] + offset : raw[e], lo_, hi_);
      const float u = mean[e] + eps[e] * std::exp(ls);
      u_[e] = u;
      ls_[e] = ls;
      const float z = (u - mean[e]) * std::exp(-ls);
      const float x = -2.0f * u;
      const float softplus = x > 20.0f ? x : std::log1p(std::exp(x));  // torch's threshold 20
      lp += -0.5 * static_cast<double>(z) * z - ls - kLogSqrt2Pi;
      lp -= 2.0 * (kLog2 - u - softplus);  // log(1 - tanh(u)^2)
      action[e] = max_a_ * std::tanh(u);
    }
    log_prob[i] = static_cast<float>(lp - static_cast<double>(act_) * log_max);
  }
}

void FusedTanhGaussian::backward(const float* d_action, const float* d_log_prob,
                                 const float* d_mean, const float* d_log_std, float* d_obs) {
  const int64_t n = rows_ * act_;
  dmean_.resize(static_cast<size_t>(n));
  dlog_std_.resize(static_cast<size_t>(n));
  const float* mean = mean_tape_.output();
  const float* raw = log_std_tape_.output();
  const float scale = scale_ != nullptr ? *scale_ : 1.0f;
  const float offset = offset_ != nullptr ? *offset_ : 0.0f;
  double dscale = 0, doffset = 0;
  for (int64_t i = 0; i < rows_; ++i) {
    const float gl = d_log_prob != nullptr ? d_log_prob[i] : 0.0f;
    for (int64_t j = 0; j < act_; ++j) {
      const int64_t e = i * act_ + j;
      const float pre = scale_ != nullptr ? scale * raw[e] + offset : raw[e];
      const float ls = std::clamp(pre, lo_, hi_);
      const float std = std::exp(ls), inv_std = std::exp(-ls);
      const float u = u_[e], t = std::tanh(u);
      const float z = (u - mean[e]) * inv_std;
      // log_prob = sum(-z^2/2 - ls) - sum log(1 - tanh(u)^2) + const, z = (u - mean) / std:
      // d/du = -z/std + 2 tanh(u); d/dmean (direct) = z/std; d/dls (direct) = z^2 - 1.
      float du = gl * (-z * inv_std + 2.0f * t);
      if (d_action != nullptr) du += d_action[e] * max_a_ * (1.0f - t * t);
      dmean_[e] =
          du + gl * z * inv_std + (d_mean != nullptr ? d_mean[e] : 0.0f);  // u = mean + eps std
      const float dls = (pre >= lo_ && pre <= hi_)  // the clamp's gradient; du/dls = eps std
                            ? du * eps_[e] * std + gl * (z * z - 1.0f) +
                                  (d_log_std != nullptr ? d_log_std[e] : 0.0f)
                            : 0.0f;
      dlog_std_[e] = dls * scale;  // pre = scale * raw + offset
      dscale += static_cast<double>(dls) * raw[e];
      doffset += dls;
    }
  }
  if (dscale_ != nullptr) {
    *dscale_ = static_cast<float>(dscale);
    *doffset_ = static_cast<float>(doffset);
  }
  const int64_t width = mean_.front().in;
  dh_.resize(static_cast<size_t>(rows_ * width));
  dh2_.resize(static_cast<size_t>(rows_ * width));
  fused::backward(mean_, mean_tape_, dmean_.data(), dh_.data());
  fused::backward(log_std_, log_std_tape_, dlog_std_.data(), dh2_.data());
  fused::axpy_range(dh_.data(), dh2_.data(), 0, rows_ * width);
  fused::backward(trunk_, trunk_tape_, dh_.data(), d_obs);
}

}  // namespace stitch::nn
