#include "deploy/gaussian_policy.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "nn/dense.h"

namespace stitch {

GaussianPolicy::GaussianPolicy(Shape shape) : shape_(std::move(shape)) {
  if (shape_.obs_dim < 1 || shape_.act_dim < 1 || shape_.hidden.empty())
    fail("GaussianPolicy: needs obs_dim, act_dim >= 1 and at least one hidden layer");
  int64_t in = shape_.obs_dim, widest = shape_.obs_dim;
  for (const int64_t width : shape_.hidden) {
    if (width < 1) fail("GaussianPolicy: hidden widths must be >= 1, got {}", width);
    trunk_.push_back({.in = in, .out = width});
    in = width;
    widest = std::max(widest, width);
  }
  mean_ = {.in = in, .out = shape_.act_dim};
  log_std_ = {.in = in, .out = shape_.act_dim};
  for (Layer* l : {&mean_, &log_std_}) {
    l->weight.resize(static_cast<size_t>(l->in * l->out));
    l->bias.resize(static_cast<size_t>(l->out));
  }
  for (Layer& l : trunk_) {
    l.weight.resize(static_cast<size_t>(l.in * l.out));
    l.bias.resize(static_cast<size_t>(l.out));
  }
  a_.resize(static_cast<size_t>(widest));
  b_.resize(static_cast<size_t>(widest));
  mean_out_.resize(static_cast<size_t>(shape_.act_dim));
  log_std_out_.resize(static_cast<size_t>(shape_.act_dim));
}

int64_t GaussianPolicy::parameter_count() const {
  int64_t n = 0;
  for (const Layer& l : trunk_) n += l.in * l.out + l.out;
  return n + 2 * (mean_.in * mean_.out + mean_.out);
}

void GaussianPolicy::set_parameters(const float* values, int64_t n) {
  if (n != parameter_count()) {
    fail("GaussianPolicy: {} parameter values for a policy of {}", n, parameter_count());
  }
  auto take = [&values](Layer& l) {
    for (int64_t o = 0; o < l.out; ++o) {  // torch's [out, in] into [in, out]
      for (int64_t i = 0; i < l.in; ++i) l.weight[static_cast<size_t>(i * l.out + o)] = values[i];
      values += l.in;
    }
    std::copy_n(values, l.out, l.bias.begin());
    values += l.out;
  };
  for (Layer& l : trunk_) take(l);
  take(mean_);
  take(log_std_);
}

void GaussianPolicy::act(std::span<const float> obs, int64_t rows, Rng& rng,
                         std::span<float> actions, bool deterministic) const {
  const int64_t od = shape_.obs_dim, ad = shape_.act_dim;
  if (static_cast<int64_t>(obs.size()) != rows * od ||
      static_cast<int64_t>(actions.size()) != rows * ad) {
    fail("GaussianPolicy: {} observation and {} action values for {} rows of {} and {}", obs.size(),
         actions.size(), rows, od, ad);
  }
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = obs.data() + r * od;
    float* in = a_.data();
    float* out = b_.data();
    std::copy_n(x, od, in);
    for (const Layer& l : trunk_) {
      nn::dense_forward(in, l.in, l.weight.data(), l.bias.data(), l.out, out);
      for (int64_t j = 0; j < l.out; ++j) out[j] = std::max(out[j], 0.0f);
      std::swap(in, out);
    }
    nn::dense_forward(in, mean_.in, mean_.weight.data(), mean_.bias.data(), ad, mean_out_.data());
    if (!deterministic) {
      nn::dense_forward(in, log_std_.in, log_std_.weight.data(), log_std_.bias.data(), ad,
                        log_std_out_.data());
    }
    for (int64_t j = 0; j < ad; ++j) {
      float u = mean_out_[static_cast<size_t>(j)];
      if (!deterministic) {
        const float log_std = std::clamp(log_std_out_[static_cast<size_t>(j)], shape_.log_std_min,
                                         shape_.log_std_max);
        u += std::exp(log_std) * static_cast<float>(rng.normal());
      }
      actions[static_cast<size_t>(r * ad + j)] = shape_.max_action * std::tanh(u);
    }
  }
}

}  // namespace stitch
