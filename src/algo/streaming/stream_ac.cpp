// Stream AC(lambda) (Elsayed, Vasan & Mahmood 2024, Algorithm 5): a Gaussian policy and a state
// value, each a StreamMlp trained by ObGD on its own eligibility trace, from one transition at a
// time. Continuous (Box) actions.
//
//   delta = r + gamma * (1 - terminated) * V(s') - V(s)
//   value trace accumulates grad V(s)                                      (kappa 2)
//   policy trace accumulates grad [log pi(a|s) + c * sign(delta) * H(pi(.|s))]  (kappa 3)
//   both networks step along delta * trace; traces reset at the end of an episode.
// pi(.|s) = Normal(mu(s), softplus(rho(s))) per action dimension, unsquashed; the env clips
// the sampled action (ClipAction) and the update uses the unclipped sample, as the paper's code.
// Entropy coefficient c = 0.01 (the paper's Table 3).
#include <algorithm>
#include <cmath>
#include <memory>

#include "algo/streaming/agent.h"
#include "core/config.h"
#include "core/error.h"

namespace stitch {
namespace {

struct StreamAcConfig : StreamConfig {
  double kappa_policy = 3.0;
  double entropy_coeff = 0.01;

  void describe(ConfigFields& f) override {
    StreamConfig::describe(f);
    f.add("kappa_policy", kappa_policy, "ObGD kappa of the policy network",
          {.min = 0, .max = 1000, .min_open = true});
    f.add("entropy_coeff", entropy_coeff, "entropy regularisation, applied with the sign of delta",
          {.min = 0, .max = 100});
  }
};

// torch.nn.functional.softplus with beta 1 and threshold 20.
double softplus(double x) { return x > 20.0 ? x : std::log1p(std::exp(x)); }
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

class StreamAc final : public StreamAgent {
 public:
  StreamAc(const StreamAcConfig& c, const AlgoDims& dims, uint64_t seed)
      : config_(c), act_dim_(dims.act_dim), rng_(seed) {
    if (dims.num_actions > 0)
      fail("stream-ac needs continuous (Box) actions; use stream-q for discrete ones");
    const auto hidden = c.hidden_sizes(dims.obs_dim);
    value_ = StreamNetwork(dims.obs_dim, hidden, 1, c.obgd(c.kappa), c.sparsity, rng_);
    // One output layer holds both heads: mu [act_dim], then rho [act_dim] (std = softplus(rho)).
    policy_ =
        StreamNetwork(dims.obs_dim, hidden, 2 * act_dim_, c.obgd(c.kappa_policy), c.sparsity, rng_);
    grad_out_.resize(static_cast<size_t>(2 * act_dim_));
  }

  void act(std::span<const float> features, std::span<const float>, bool deterministic,
           std::span<float> action) override {
    policy_.net.forward(features, policy_.scratch);
    // update() differentiates this same forward pass (same features, same parameters): keep it.
    acted_on_.assign(features.begin(), features.end());
    act_pass_valid_ = !deterministic;
    const auto& out = policy_.scratch.output;
    for (int64_t j = 0; j < act_dim_; ++j) {
      const double mu = out[j];
      action[j] =
          static_cast<float>(deterministic ? mu : mu + softplus(out[act_dim_ + j]) * rng_.normal());
    }
  }

  StreamUpdateInfo update(const StreamTransition& t) override {
    const bool done = t.terminated || t.truncated;
    value_.net.forward(t.next_obs, value_.scratch);
    const double v_next = value_.scratch.output[0];
    value_.net.forward(t.obs, value_.tape);
    const double delta =
        t.reward + (t.terminated ? 0.0 : config_.gamma * v_next) - value_.tape.output[0];

    // d/d(mu, rho) of log N(a; mu, std) + c * sign(delta) * H, H = sum(0.5 + 0.5 log(2 pi) + log
    // std).
    if (act_pass_valid_ &&
        std::equal(t.obs.begin(), t.obs.end(), acted_on_.begin(), acted_on_.end())) {
      std::swap(policy_.tape, policy_.scratch);
    } else {
      policy_.net.forward(t.obs, policy_.tape);
    }
    act_pass_valid_ = false;
    const auto& out = policy_.tape.output;
    const double entropy_weight =
        config_.entropy_coeff * static_cast<double>((delta > 0) - (delta < 0));
    for (int64_t j = 0; j < act_dim_; ++j) {
      const double mu = out[j], rho = out[act_dim_ + j];
      const double std = softplus(rho);
      const double z = (t.action[j] - mu) / std;
      grad_out_[j] = static_cast<float>(z / std);
      const double d_std = (z * z - 1.0) / std + entropy_weight / std;
      grad_out_[act_dim_ + j] = static_cast<float>(d_std * sigmoid(rho));
    }
    const float one = 1.0f;
    StreamUpdateInfo info;
    info.delta = delta;
    info.policy_step_size = policy_.learn(grad_out_, delta, done);
    info.step_size = value_.learn(std::span<const float>(&one, 1), delta, done);
    return info;
  }

  nlohmann::json state() const override {
    return {{"value", value_.state()}, {"policy", policy_.state()}, {"rng", rng_to_json(rng_)}};
  }
  void set_state(const nlohmann::json& j) override {
    value_.set_state(j.at("value"), "value");
    policy_.set_state(j.at("policy"), "policy");
    rng_from_json(j.at("rng"), rng_);
  }
  std::vector<std::pair<std::string, std::span<const float>>> parameters() const override {
    return {{"value", value_.net.params()}, {"policy", policy_.net.params()}};
  }

 private:
  StreamAcConfig config_;
  int64_t act_dim_;
  Rng rng_;
  StreamNetwork value_, policy_;
  std::vector<float> grad_out_;
  std::vector<float> acted_on_;  // the features of the last act()
  bool act_pass_valid_ = false;  // policy_.scratch holds act()'s forward pass of acted_on_
};

}  // namespace

STITCH_REGISTER_ALGORITHM(stream_ac,
                          {
                              .name = "stream-ac",
                              .summary = "stream AC(lambda): streaming actor-critic with ObGD, "
                                         "continuous actions (Elsayed et al. 2024)",
                              .online = true,
                              .make_config = [] { return std::make_unique<StreamAcConfig>(); },
                              .make_stream = [](const AlgoConfig& c, const AlgoDims& d,
                                                uint64_t seed) -> std::unique_ptr<StreamAgent> {
                                return std::make_unique<StreamAc>(
                                    static_cast<const StreamAcConfig&>(c), d, seed);
                              },
                          });

}  // namespace stitch
