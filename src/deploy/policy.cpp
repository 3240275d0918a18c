#include "deploy/policy.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_read.h"
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
  in.seekg(0, std::ios::end);
  const int64_t file_bytes = static_cast<int64_t>(in.tellg());
  in.seekg(0);
  std::string line;
  std::getline(in, line);
  const nlohmann::json header = parse_json(line, path);
  if (header.is_discarded() || !header.is_object() || !header.contains("format") ||
      header["format"] != kFormat) {
    fail("{}: not a {} file", path, kFormat);
  }
  // Every size comes from the header: check them all, and that the file holds exactly the
  // float32 values they add up to, before anything is allocated.
  const int64_t data_bytes = in.eof() ? 0 : file_bytes - static_cast<int64_t>(line.size()) - 1;
  const nlohmann::json shapes = header.value("layers", nlohmann::json());
  if (!shapes.is_array() || shapes.empty()) {
    fail("{}: header field 'layers' must be a non-empty list of [in, out]", path);
  }
  constexpr int64_t kMaxWidth = int64_t{1} << 20;
  std::vector<Layer> layers;
  int64_t floats = 0;  // float32 values the header promises after it
  for (size_t k = 0; k < shapes.size(); ++k) {
    const nlohmann::json& shape = shapes[k];
    if (!shape.is_array() || shape.size() != 2 || !shape[0].is_number_integer() ||
        !shape[1].is_number_integer()) {
      fail("{}: header field 'layers' entry {} is not [in, out] (two integers)", path, k);
    }
    const int64_t in_dim = shape[0].get<int64_t>(), out_dim = shape[1].get<int64_t>();
    if (in_dim < 1 || in_dim > kMaxWidth || out_dim < 1 || out_dim > kMaxWidth) {
      fail("{}: layer {} has shape {}x{} (each side must be in [1, {}])", path, k, in_dim, out_dim,
           kMaxWidth);
    }
    if (k > 0 && in_dim != layers.back().out) {
      fail("{}: layer {} takes {} inputs but layer {} gives {}", path, k, in_dim, k - 1,
           layers.back().out);
    }
    layers.push_back({.in = in_dim, .out = out_dim});
    floats += in_dim * out_dim + out_dim;  // at most 2^41 per layer: no overflow below the check
    if (floats > data_bytes / 4) break;
  }
  const nlohmann::json normalize = header.value("normalize", nlohmann::json(false));
  if (!normalize.is_boolean()) fail("{}: header field 'normalize' must be true or false", path);
  if (normalize.get<bool>()) floats += 2 * layers.front().in;
  if (floats * 4 != data_bytes) {
    fail(
        "{}: the header promises {} float32 values ({} bytes) after it, the file holds {} bytes "
        "({})",
        path, floats, floats * 4, data_bytes, floats * 4 > data_bytes ? "truncated" : "too long");
  }
  const nlohmann::json max_action = header.value("max_action", nlohmann::json(1.0));
  const double max_a = max_action.is_number() ? max_action.get<double>() : 0.0;
  if (!(max_a > 0) || max_a > std::numeric_limits<float>::max()) {
    fail("{}: header field 'max_action' must be a float32 number > 0, got {}", path,
         max_action.is_number() ? max_action.dump() : std::string("a ") + max_action.type_name());
  }
  auto read = [&](int64_t n, const char* what) {
    std::vector<float> v(static_cast<size_t>(n));
    in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(n * sizeof(float)));
    if (!in) fail("{}: file ends inside {} (truncated)", path, what);
    for (float x : v) {
      if (!std::isfinite(x)) fail("{}: {} holds {}", path, what, x);
    }
    return v;
  };
  std::vector<float> mean, std;
  if (normalize.get<bool>()) {
    mean = read(layers.front().in, "obs_mean");
    std = read(layers.front().in, "obs_std");
    for (float x : std) {
      if (!(x > 0)) fail("{}: obs_std holds {} (must be > 0)", path, x);
    }
  }
  for (size_t k = 0; k < layers.size(); ++k) {
    layers[k].weight = read(layers[k].in * layers[k].out, "a weight");
    layers[k].bias = read(layers[k].out, "a bias");
  }
  return DeployedPolicy(std::move(layers), static_cast<float>(max_a), std::move(mean),
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
