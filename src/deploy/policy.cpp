#include "deploy/policy.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "env/policy.h"
#include "nn/dense.h"
#include "track/durable.h"

namespace stitch {
namespace {

constexpr const char* kFormat = "stitch-policy-v1";

}  // namespace

DeployedPolicy::DeployedPolicy(std::vector<Layer> layers, float max_action,
                               std::vector<float> obs_mean, std::vector<float> obs_std)
    : layers_(std::move(layers)),
      max_action_(max_action),
      obs_mean_(std::move(obs_mean)),
      obs_std_(std::move(obs_std)) {
  if (layers_.empty()) fail("deployed policy: no layers");
  int64_t widest = 0;
  for (size_t k = 0; k < layers_.size(); ++k) {
    const Layer& l = layers_[k];
    if (static_cast<int64_t>(l.weight.size()) != l.in * l.out ||
        static_cast<int64_t>(l.bias.size()) != l.out) {
      fail("deployed policy: layer {} has {} weights and {} biases for {}x{}", k, l.weight.size(),
           l.bias.size(), l.in, l.out);
    }
    if (k > 0 && l.in != layers_[k - 1].out) {
      fail("deployed policy: layer {} takes {} inputs but layer {} gives {}", k, l.in, k - 1,
           layers_[k - 1].out);
    }
    widest = std::max({widest, l.in, l.out});
  }
  if (obs_mean_.size() != obs_std_.size() ||
      (!obs_mean_.empty() && static_cast<int64_t>(obs_mean_.size()) != obs_dim())) {
    fail("deployed policy: normaliser sizes {}/{} do not match obs_dim {}", obs_mean_.size(),
         obs_std_.size(), obs_dim());
  }
  a_.resize(widest);
  b_.resize(widest);
}

void DeployedPolicy::act(std::span<const float> obs, std::span<float> action) const {
  if (static_cast<int64_t>(obs.size()) != obs_dim() ||
      static_cast<int64_t>(action.size()) != act_dim()) {
    fail("deployed policy: got obs[{}] and action[{}], expects obs[{}] and action[{}]", obs.size(),
         action.size(), obs_dim(), act_dim());
  }
  float* x = a_.data();
  float* y = b_.data();
  for (int64_t i = 0; i < obs_dim(); ++i) {
    x[i] = obs_mean_.empty() ? obs[i] : (obs[i] - obs_mean_[i]) / obs_std_[i];
  }
  for (size_t k = 0; k < layers_.size(); ++k) {
    const Layer& l = layers_[k];
    nn::dense_forward(x, l.in, l.weight.data(), l.bias.data(), l.out, y);
    if (k + 1 < layers_.size()) {
      for (int64_t j = 0; j < l.out; ++j) y[j] = y[j] > 0.0f ? y[j] : 0.0f;
    }
    std::swap(x, y);
  }
  for (int64_t j = 0; j < act_dim(); ++j) action[j] = max_action_ * std::tanh(x[j]);
}

void DeployedPolicy::save(const std::string& path) const {
  nlohmann::json header;
  header["format"] = kFormat;
  header["max_action"] = max_action_;
  header["normalize"] = !obs_mean_.empty();
  std::vector<std::vector<int64_t>> shapes;
  for (const Layer& l : layers_) shapes.push_back({l.in, l.out});
  header["layers"] = shapes;
  std::string bytes = header.dump() + "\n";
  auto append = [&](const std::vector<float>& v) {
    bytes.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
  };
  append(obs_mean_);
  append(obs_std_);
  for (const Layer& l : layers_) {
    append(l.weight);
    append(l.bias);
  }
  write_file_atomic(path, bytes);
}

DeployedPolicy DeployedPolicy::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open", path);
  std::string line;
  std::getline(in, line);
  const auto header = nlohmann::json::parse(line, nullptr, false);
  if (header.is_discarded() || !header.is_object() || header.value("format", "") != kFormat) {
    fail("{}: not a {} file", path, kFormat);
  }
  auto read = [&](int64_t n, const char* what) {
    std::vector<float> v(static_cast<size_t>(n));
    in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(n * sizeof(float)));
    if (!in) fail("{}: file ends inside {} (truncated)", path, what);
    return v;
  };
  std::vector<Layer> layers;
  try {
    for (const auto& shape : header.at("layers")) {
      layers.push_back({.in = shape.at(0).get<int64_t>(), .out = shape.at(1).get<int64_t>()});
    }
  } catch (const nlohmann::json::exception&) {
    fail("{}: malformed header field 'layers'", path);
  }
  if (layers.empty()) fail("{}: no layers", path);
  std::vector<float> mean, std;
  if (header.value("normalize", false)) {
    mean = read(layers.front().in, "obs_mean");
    std = read(layers.front().in, "obs_std");
  }
  for (Layer& l : layers) {
    if (l.in < 1 || l.out < 1 || l.in * l.out > (int64_t{1} << 28))
      fail("{}: bad layer shape {}x{}", path, l.in, l.out);
    l.weight = read(l.in * l.out, "a weight");
    l.bias = read(l.out, "a bias");
  }
  return DeployedPolicy(std::move(layers), header.value("max_action", 1.0f), std::move(mean),
                        std::move(std));
}

namespace {

class DeployedEnvPolicy : public Policy {
 public:
  explicit DeployedEnvPolicy(DeployedPolicy policy) : policy_(std::move(policy)) {}
  void act(std::span<const float> obs, Rng&, std::span<float> action) override {
    policy_.act(obs, action);
  }

 private:
  DeployedPolicy policy_;
};

}  // namespace

std::unique_ptr<Policy> as_env_policy(DeployedPolicy policy) {
  return std::make_unique<DeployedEnvPolicy>(std::move(policy));
}

}  // namespace stitch
