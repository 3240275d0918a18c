// Stream TD(lambda) (Elsayed, Vasan & Mahmood 2024, Algorithm 2): prediction. Learns the state
// value of a fixed behaviour policy (the env's scripted controller, or uniform random) with a
// StreamMlp trained by ObGD, one transition at a time.
//
//   delta = r + gamma * (1 - terminated) * V(s') - V(s);  trace accumulates grad V(s).
// At the end of each episode it reports how well its predictions V(s_t), made before each
// update, matched the episode's discounted returns G_t (the scaled rewards it learned from,
// bootstrapped from V at a time-out): value_rmse beside return_std, the spread of the G_t.
#include <cmath>
#include <memory>

#include "algo/streaming/agent.h"
#include "core/config.h"
#include "core/error.h"
#include "env/policy.h"
#include "env/registry.h"

namespace stitch {
namespace {

struct StreamTdConfig : StreamConfig {
  std::string policy = "scripted";

  void describe(ConfigFields& f) override {
    StreamConfig::describe(f);
    f.add("policy", policy, "behaviour policy whose value is learned: scripted | random");
  }
  void validate() const override {
    StreamConfig::validate();
    if (policy != "scripted" && policy != "random") {
      fail("config key 'policy': expected scripted or random, got '{}'", policy);
    }
  }
};

class StreamTd final : public StreamAgent {
 public:
  StreamTd(const StreamTdConfig& c, const AlgoDims& dims, uint64_t seed) : config_(c), rng_(seed) {
    if (c.policy == "scripted") {
      policy_ = make_scripted_policy(dims.env);
    } else {
      policy_ = make_random_policy(make_env(dims.env)->action_space());
    }
    v_ = StreamNetwork(dims.obs_dim, c.hidden_sizes(dims.obs_dim), 1, c.obgd(c.kappa), c.sparsity,
                       rng_);
  }

  void act(std::span<const float>, std::span<const float> raw_obs, bool,
           std::span<float> action) override {
    policy_->act(raw_obs, rng_, action);
  }

  StreamUpdateInfo update(const StreamTransition& t) override {
    v_.net.forward(t.next_obs, v_.scratch);
    const double v_next = v_.scratch.output[0];
    v_.net.forward(t.obs, v_.tape);
    const double v = v_.tape.output[0];
    const double delta = t.reward + (t.terminated ? 0.0 : config_.gamma * v_next) - v;
    predictions_.push_back(v);
    rewards_.push_back(t.reward);
    bootstrap_ = t.terminated ? 0.0 : v_next;
    const float one = 1.0f;
    StreamUpdateInfo info;
    info.delta = delta;
    info.step_size = v_.learn(std::span<const float>(&one, 1), delta, t.terminated || t.truncated);
    return info;
  }

  std::map<std::string, double> end_episode() override {
    policy_->reset();
    const size_t n = predictions_.size();
    std::map<std::string, double> out;
    if (n > 0) {
      std::vector<double> g(n);
      double next = bootstrap_;
      for (size_t i = n; i-- > 0;) g[i] = next = rewards_[i] + config_.gamma * next;
      double sq = 0.0, mean = 0.0, var = 0.0;
      for (size_t i = 0; i < n; ++i) {
        sq += (predictions_[i] - g[i]) * (predictions_[i] - g[i]);
        mean += g[i];
      }
      mean /= static_cast<double>(n);
      for (double x : g) var += (x - mean) * (x - mean);
      out["value_rmse"] = std::sqrt(sq / static_cast<double>(n));
      out["return_std"] = std::sqrt(var / static_cast<double>(n));
    }
    predictions_.clear();
    rewards_.clear();
    return out;
  }

  nlohmann::json state() const override { return {{"v", v_.state()}, {"rng", rng_to_json(rng_)}}; }
  void set_state(const nlohmann::json& j) override {
    v_.set_state(j.at("v"), "v");
    rng_from_json(j.at("rng"), rng_);
  }
  std::vector<std::pair<std::string, std::span<const float>>> parameters() const override {
    return {{"v", v_.net.params()}};
  }

 private:
  StreamTdConfig config_;
  Rng rng_;
  std::unique_ptr<Policy> policy_;
  StreamNetwork v_;
  std::vector<double> predictions_, rewards_;  // this episode's, for end_episode()
  double bootstrap_ = 0.0;
};

}  // namespace

STITCH_REGISTER_ALGORITHM(stream_td,
                          {
                              .name = "stream-td",
                              .summary = "stream TD(lambda): streaming value prediction of a fixed "
                                         "policy with ObGD (Elsayed et al. 2024)",
                              .online = true,
                              .make_config = [] { return std::make_unique<StreamTdConfig>(); },
                              .make_stream = [](const AlgoConfig& c, const AlgoDims& d,
                                                uint64_t seed) -> std::unique_ptr<StreamAgent> {
                                return std::make_unique<StreamTd>(
                                    static_cast<const StreamTdConfig&>(c), d, seed);
                              },
                          });

}  // namespace stitch
