#include "algo/streaming/agent.h"

#include <cmath>
#include <cstring>

#include "core/config.h"
#include "core/error.h"

namespace stitch {
namespace {

constexpr double kNormEps = 1e-8;  // the public code's epsilon of both normalisers

nlohmann::json stats_to_json(const RunningMeanVar& s) {
  return {{"count", s.count()}, {"mean", s.mean()}, {"m2", s.m2()}};
}

// Restores `s` from its saved state, which must have s's dimension and hold finite values
// (count >= 0, m2 >= 0): the features index mean()[i] for every observation dimension.
void stats_from_json(const nlohmann::json& j, RunningMeanVar& s, const char* what) {
  const int64_t count = j.at("count").get<int64_t>();
  auto mean = j.at("mean").get<std::vector<double>>();
  auto m2 = j.at("m2").get<std::vector<double>>();
  if (mean.size() != s.mean().size() || m2.size() != s.mean().size()) {
    fail("checkpoint field '{}': statistics of {}/{} values, expected {}", what, mean.size(),
         m2.size(), s.mean().size());
  }
  bool finite = count >= 0;
  for (size_t i = 0; i < mean.size(); ++i) {
    finite = finite && std::isfinite(mean[i]) && std::isfinite(m2[i]) && m2[i] >= 0;
  }
  if (!finite) fail("checkpoint field '{}': count < 0 or a non-finite value", what);
  s.restore(count, std::move(mean), std::move(m2));
}

}  // namespace

void StreamConfig::describe(ConfigFields& f) {
  f.add("hidden", hidden, "hidden width (0: 32 for at most 8 observation dims, else 128)",
        {.min = 0, .max = 65536});
  f.add("hidden_layers", hidden_layers, "hidden layers", {.min = 1, .max = 64});
  f.add("lr", lr, "ObGD step size alpha", {.min = 0, .max = 100, .min_open = true});
  f.add("gamma", gamma, "discount", {.min = 0, .max = 1});
  f.add("lambda", lambda, "eligibility trace decay lambda", {.min = 0, .max = 1});
  f.add("kappa", kappa, "ObGD kappa of the value (or Q) network",
        {.min = 0, .max = 1000, .min_open = true});
  f.add("sparsity", sparsity, "fraction of each unit's fan-in zeroed at initialisation",
        {.min = 0, .max = 1, .max_open = true});
  f.add("normalize_observations", normalize_observations, "running observation normalisation");
  f.add("scale_rewards", scale_rewards, "scale rewards by the std of a discounted return trace");
  f.add("time_feature", time_feature, "append the elapsed fraction of the episode to observations");
}

int64_t StreamConfig::width(int64_t obs_dim) const {
  if (hidden > 0) return hidden;
  return obs_dim <= 8 ? 32 : 128;  // the paper: 32 units on classic control, 128 on MuJoCo
}

std::vector<int64_t> StreamConfig::hidden_sizes(int64_t obs_dim) const {
  return std::vector<int64_t>(static_cast<size_t>(hidden_layers), width(obs_dim));
}

StreamFeatures::StreamFeatures(int64_t obs_dim, const StreamConfig& config, int64_t time_limit)
    : obs_dim_(obs_dim),
      normalize_(config.normalize_observations),
      scale_(config.scale_rewards),
      time_feature_(config.time_feature),
      gamma_(config.gamma),
      time_limit_(time_limit),
      obs_stats_(static_cast<size_t>(obs_dim)),
      return_stats_(1) {
  if (time_feature_ && time_limit_ < 1) {
    fail("stream agents: the time feature needs an env with a time limit (set time_feature=false)");
  }
}

void StreamFeatures::observe(std::span<const float> obs, int64_t t, bool update,
                             std::vector<float>& out) {
  STITCH_CHECK(static_cast<int64_t>(obs.size()) == obs_dim_,
               "stream features: observation has {} values, expected {}", obs.size(), obs_dim_);
  out.resize(static_cast<size_t>(feature_dim()));
  if (normalize_ && update) obs_stats_.update(obs);
  for (int64_t i = 0; i < obs_dim_; ++i) {
    out[i] = normalize_ ? static_cast<float>((obs[i] - obs_stats_.mean()[i]) /
                                             std::sqrt(obs_stats_.sample_variance(i) + kNormEps))
                        : obs[i];
  }
  if (time_feature_) {
    out[obs_dim_] =
        static_cast<float>(-0.5 + static_cast<double>(t) / static_cast<double>(time_limit_));
  }
}

double StreamFeatures::scale_reward(double reward, bool done) {
  if (!scale_) return reward;
  return_trace_ = return_trace_ * gamma_ * (done ? 0.0 : 1.0) + reward;
  return_stats_.update(return_trace_);
  return reward / std::sqrt(return_stats_.sample_variance(0) + kNormEps);
}

nlohmann::json StreamFeatures::state() const {
  return {{"obs", stats_to_json(obs_stats_)},
          {"return", stats_to_json(return_stats_)},
          {"return_trace", return_trace_}};
}

void StreamFeatures::set_state(const nlohmann::json& j) {
  stats_from_json(j.at("obs"), obs_stats_, "features.obs");
  stats_from_json(j.at("return"), return_stats_, "features.return");
  return_trace_ = j.at("return_trace").get<double>();
  if (!std::isfinite(return_trace_)) fail("checkpoint field 'features.return_trace' is not finite");
}

StreamNetwork::StreamNetwork(int64_t in, std::vector<int64_t> hidden, int64_t out,
                             nn::ObGDConfig obgd, double sparsity, Rng& rng)
    : net(in, std::move(hidden), out), optimizer(net.num_params(), obgd) {
  net.sparse_init(rng, sparsity);
}

double StreamNetwork::learn(std::span<const float> grad_out, double delta, bool reset) {
  const double l1 = net.backward(tape, grad_out, optimizer.trace(), optimizer.decay());
  return optimizer.apply(net.params(), delta, l1, reset);
}

nlohmann::json StreamNetwork::state() const {
  return {{"params", floats_to_json(net.params())}, {"trace", floats_to_json(optimizer.trace())}};
}

void StreamNetwork::set_state(const nlohmann::json& j, const char* name) {
  const std::string what(name);
  floats_from_json(j.at("params"), net.params(), (what + ".params").c_str());
  floats_from_json(j.at("trace"), optimizer.trace(), (what + ".trace").c_str());
}

nlohmann::json floats_to_json(std::span<const float> values) {
  std::vector<uint8_t> bytes(values.size() * sizeof(float));
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return nlohmann::json::binary(std::move(bytes));
}

void floats_from_json(const nlohmann::json& j, std::span<float> out, const char* what) {
  if (!j.is_binary() || j.get_binary().size() != out.size() * sizeof(float)) {
    fail("checkpoint field '{}': expected {} float32 values", what, out.size());
  }
  std::memcpy(out.data(), j.get_binary().data(), j.get_binary().size());
}

nlohmann::json rng_to_json(const Rng& rng) {
  const Rng::State s = rng.state();
  return {
      {"s", s.s}, {"has_cached_normal", s.has_cached_normal}, {"cached_normal", s.cached_normal}};
}

void rng_from_json(const nlohmann::json& j, Rng& rng) {
  Rng::State s;
  s.s = j.at("s").get<std::array<uint64_t, 4>>();
  s.has_cached_normal = j.at("has_cached_normal").get<bool>();
  s.cached_normal = j.at("cached_normal").get<double>();
  if ((s.s[0] | s.s[1] | s.s[2] | s.s[3]) == 0) {
    fail("checkpoint field 'rng': all zero (not a valid generator state)");
  }
  rng.set_state(s);
}

}  // namespace stitch
