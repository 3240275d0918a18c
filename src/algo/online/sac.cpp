// SAC: Haarnoja et al. 2018, "Soft Actor-Critic Algorithms and Applications" (arXiv:1812.05905),
// with automatic entropy tuning (Sec. 5) and twin Q networks with clipped double-Q targets.
// Defaults: the paper's Table 1: Adam lr 3e-4 for every network and the temperature, two hidden
// layers of 256, batch 256, tau 0.005, target entropy -act_dim, one gradient step per env step.
// The twin critics are one EnsembleMlp (one batched matmul for both).
//
//   y = r + gamma * (1 - terminated) * (min_i Q'_i(s', a') - alpha * log pi(a'|s')),  a' ~ pi(s')
//   critic: sum_i mean (Q_i(s, a) - y)^2
//   actor:  mean (alpha * log pi(a~|s) - min_i Q_i(s, a~)),  a~ ~ pi(s) (reparameterised)
//   alpha:  -mean log_alpha * (log pi(a~|s) + target_entropy)
#include "algo/algorithm.h"
#include "algo/losses.h"
#include "core/error.h"
#include "nn/nn.h"

namespace stitch {
namespace {

struct SacConfig : AlgoConfig {
  double actor_lr = 3e-4;
  double critic_lr = 3e-4;
  double alpha_lr = 3e-4;
  double tau = 0.005;
  double initial_alpha = 1.0;
  double target_entropy = 0.0;  // 0: -act_dim (the paper's heuristic)
  int64_t hidden = 256;
  int layers = 2;
  void describe(ConfigFields& f) override {
    f.add("actor_lr", actor_lr, "policy learning rate");
    f.add("critic_lr", critic_lr, "Q learning rate");
    f.add("alpha_lr", alpha_lr, "entropy temperature learning rate");
    f.add("tau", tau, "target Q update rate");
    f.add("initial_alpha", initial_alpha, "initial entropy temperature");
    f.add("target_entropy", target_entropy, "target entropy (0: -act_dim)");
    f.add("hidden", hidden, "hidden width");
    f.add("layers", layers, "hidden layers");
  }
  void validate() const override {
    if (layers < 1) fail("sac.layers must be >= 1, got {}", layers);
    if (tau <= 0 || tau > 1) fail("sac.tau must be in (0, 1], got {}", tau);
    if (initial_alpha <= 0) fail("sac.initial_alpha must be > 0, got {}", initial_alpha);
  }
  std::vector<int64_t> widths() const { return std::vector<int64_t>(layers, hidden); }
};

class Sac : public Algorithm {
 public:
  Sac(const SacConfig& c, const AlgoDims& d, uint64_t seed)
      : Algorithm(seed),
        config_(c),
        dims_(d),
        target_entropy_(c.target_entropy != 0.0 ? c.target_entropy : -static_cast<double>(d.act_dim)),
        actor_(d.obs_dim, d.act_dim, nn::MlpOptions{.hidden = c.widths()}, d.max_action),
        q_(2, d.obs_dim + d.act_dim, 1, c.widths()),
        q_target_(2, d.obs_dim + d.act_dim, 1, c.widths()),
        log_alpha_(torch::full({}, std::log(c.initial_alpha), torch::requires_grad())),
        actor_optim_(actor_->parameters(), torch::optim::AdamOptions(c.actor_lr)),
        q_optim_(q_->parameters(), torch::optim::AdamOptions(c.critic_lr)),
        alpha_optim_(std::vector<torch::Tensor>{log_alpha_}, torch::optim::AdamOptions(c.alpha_lr)) {
    nn::hard_update(*q_target_, *q_);
    scalars_->register_parameter("log_alpha", log_alpha_);
  }

  std::string name() const override { return "sac"; }

  torch::Tensor q_values(nn::EnsembleMlp& q, const torch::Tensor& obs, const torch::Tensor& a) {
    return q->forward(torch::cat({obs, a}, 1)).squeeze(-1);  // [2, B]
  }

  Metrics update(const TensorBatch& b) override {
    Metrics m;
    const auto alpha = log_alpha_.exp().detach();
    torch::Tensor target;
    {
      torch::NoGradGuard no_grad;
      auto [next_action, next_log_pi] = actor_->sample(b.next_observations, false, &generator_);
      const auto next_q = std::get<0>(q_values(q_target_, b.next_observations, next_action).min(0));
      target = losses::td_target(b.rewards, b.discounts, b.terminals, next_q - alpha * next_log_pi);
    }
    const auto q = q_values(q_, b.observations, b.actions);
    const auto q_loss = (q - target.unsqueeze(0)).pow(2).mean(1).sum();
    q_optim_.zero_grad();
    q_loss.backward();
    q_optim_.step();

    auto [pi_action, log_pi] = actor_->sample(b.observations, false, &generator_);
    {
      const nn::FrozenParameters frozen(*q_);  // the actor's loss needs no gradient for Q's weights
      const auto q_pi = std::get<0>(q_values(q_, b.observations, pi_action).min(0));
      const auto actor_loss = (alpha * log_pi - q_pi).mean();
      actor_optim_.zero_grad();
      actor_loss.backward();
      actor_optim_.step();
      m["actor_loss"] = actor_loss.item<double>();
    }

    const auto alpha_loss = -(log_alpha_ * (log_pi.detach() + target_entropy_)).mean();
    alpha_optim_.zero_grad();
    alpha_loss.backward();
    alpha_optim_.step();

    nn::soft_update(*q_target_, *q_, config_.tau);
    ++steps_;
    m["q_loss"] = q_loss.item<double>();
    m["alpha"] = alpha.item<double>();
    m["entropy"] = -log_pi.mean().item<double>();
    m["q_mean"] = q.mean().item<double>();
    return m;
  }

  torch::Tensor act(const torch::Tensor& obs, bool deterministic) override {
    torch::NoGradGuard no_grad;
    return actor_->sample(obs, deterministic, &generator_).first;
  }

  std::vector<std::pair<std::string, torch::nn::Module*>> modules() override {
    return {{"actor", actor_.get()}, {"q", q_.get()}, {"q_target", q_target_.get()}, {"scalars", scalars_.get()}};
  }
  std::vector<std::pair<torch::Tensor, torch::Tensor>> policy_layers() override { return actor_->action_layers(); }
  std::vector<std::pair<std::string, torch::optim::Optimizer*>> optimizers() override {
    return {{"actor", &actor_optim_}, {"q", &q_optim_}, {"alpha", &alpha_optim_}};
  }

 private:
  SacConfig config_;
  AlgoDims dims_;
  double target_entropy_;
  nn::TanhGaussianPolicy actor_;
  nn::EnsembleMlp q_, q_target_;
  torch::Tensor log_alpha_;
  std::shared_ptr<torch::nn::Module> scalars_ = std::make_shared<torch::nn::Module>();
  torch::optim::Adam actor_optim_, q_optim_, alpha_optim_;
};

}  // namespace

STITCH_REGISTER_ALGORITHM(
    sac, {.name = "sac",
          .summary = "SAC (Haarnoja et al. 2018): soft actor-critic with automatic entropy tuning; online",
          .online = true,
          .make_config = [] { return std::make_unique<SacConfig>(); },
          .make = [](const AlgoConfig& c, const AlgoDims& d, uint64_t seed) -> std::unique_ptr<Algorithm> {
            return std::make_unique<Sac>(dynamic_cast<const SacConfig&>(c), d, seed);
          }});

}  // namespace stitch
