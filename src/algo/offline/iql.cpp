// IQL: Kostrikov, Nair & Levine 2021, "Offline Reinforcement Learning with Implicit
// Q-Learning". Expectile regression of V on target Q, TD learning of Q on V, and
// advantage-weighted regression for the policy. Defaults: the paper's D4RL locomotion settings
// (App. B: expectile 0.7, temperature 3.0, lr 3e-4, tau 0.005, 2x256 networks, cosine actor
// schedule, advantage weights clipped at 100 as in the authors' code; rewards scaled by
// 1000 / (max - min episode return), applied by the trainer).
#include <cmath>
#include <numbers>

#include "algo/algorithm.h"
#include "algo/losses.h"
#include "core/error.h"
#include "nn/nn.h"

namespace stitch {
namespace {

struct IqlConfig : AlgoConfig {
  double actor_lr = 3e-4;
  double critic_lr = 3e-4;  // Q networks
  double value_lr = 3e-4;
  double tau = 0.005;         // target Q update rate
  double expectile = 0.7;     // tau of the expectile loss (locomotion)
  double temperature = 3.0;   // beta of the advantage weights (locomotion)
  double max_weight = 100.0;  // clip of exp(beta * advantage)
  bool cosine_schedule = true;  // actor lr cosine-decayed to 0 over the run
  int64_t hidden = 256;
  void describe(ConfigFields& f) override {
    f.add("actor_lr", actor_lr, "actor learning rate");
    f.add("critic_lr", critic_lr, "Q learning rate");
    f.add("value_lr", value_lr, "V learning rate");
    f.add("tau", tau, "target Q update rate");
    f.add("expectile", expectile, "expectile of the V regression");
    f.add("temperature", temperature, "inverse temperature of the advantage weights");
    f.add("max_weight", max_weight, "clip of the advantage weights");
    f.add("cosine_schedule", cosine_schedule, "cosine-decay the actor lr over the run");
    f.add("hidden", hidden, "hidden width (two layers)");
  }
  void validate() const override {
    if (expectile <= 0 || expectile >= 1) fail("iql.expectile must be in (0, 1), got {}", expectile);
    if (temperature < 0) fail("iql.temperature must be >= 0, got {}", temperature);
  }
};

class Iql : public Algorithm {
 public:
  Iql(const IqlConfig& c, const AlgoDims& d, uint64_t seed)
      : Algorithm(seed),
        config_(c),
        dims_(d),
        actor_(d.obs_dim, d.act_dim, nn::MlpOptions{.hidden = {c.hidden, c.hidden}}, d.max_action),
        q_(2, d.obs_dim + d.act_dim, 1, std::vector<int64_t>{c.hidden, c.hidden}),
        q_target_(2, d.obs_dim + d.act_dim, 1, std::vector<int64_t>{c.hidden, c.hidden}),
        value_(d.obs_dim, 1, nn::MlpOptions{.hidden = {c.hidden, c.hidden}}),
        actor_optim_(actor_->parameters(), torch::optim::AdamOptions(c.actor_lr)),
        q_optim_(q_->parameters(), torch::optim::AdamOptions(c.critic_lr)),
        value_optim_(value_->parameters(), torch::optim::AdamOptions(c.value_lr)) {
    nn::hard_update(*q_target_, *q_);
  }

  std::string name() const override { return "iql"; }
  void set_total_steps(int64_t total) { total_steps_ = total; }

  Metrics update(const TensorBatch& b) override {
    Metrics m;
    const auto sa = torch::cat({b.observations, b.actions}, 1);
    torch::Tensor target_q;  // min of the target Qs at (s, a), shared by the V and actor losses
    {
      torch::NoGradGuard no_grad;
      target_q = std::get<0>(q_target_->forward(sa).min(0)).squeeze(-1);
    }
    // V: expectile regression towards the target Q.
    const auto v = value_->forward(b.observations).squeeze(-1);
    const auto advantage = target_q - v;
    const auto value_loss = losses::expectile_loss(advantage, config_.expectile);
    value_optim_.zero_grad();
    value_loss.backward();
    value_optim_.step();

    // Q: TD towards r + discount * V(s').
    torch::Tensor target;
    {
      torch::NoGradGuard no_grad;
      target = losses::td_target(b.rewards, b.discounts, b.terminals,
                                 value_->forward(b.next_observations).squeeze(-1));
    }
    const auto q = q_->forward(sa).squeeze(-1);  // [2, B]
    const auto q_loss = (q - target.unsqueeze(0)).pow(2).mean(1).sum();
    q_optim_.zero_grad();
    q_loss.backward();
    q_optim_.step();

    // Actor: advantage-weighted regression with the advantage from before the V step.
    const auto weights = losses::awr_weights(advantage.detach(), config_.temperature, config_.max_weight);
    const auto actor_loss = -(weights * actor_->log_prob(b.observations, b.actions)).mean();
    if (config_.cosine_schedule && total_steps_ > 0) {
      const double progress = std::min(1.0, static_cast<double>(steps_) / static_cast<double>(total_steps_));
      const double lr = config_.actor_lr * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
      for (auto& group : actor_optim_.param_groups()) {
        static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
      }
    }
    actor_optim_.zero_grad();
    actor_loss.backward();
    actor_optim_.step();

    nn::soft_update(*q_target_, *q_, config_.tau);
    ++steps_;
    m["value_loss"] = value_loss.item<double>();
    m["q_loss"] = q_loss.item<double>();
    m["actor_loss"] = actor_loss.item<double>();
    m["q_mean"] = q.mean().item<double>();
    m["advantage_mean"] = advantage.mean().item<double>();
    return m;
  }

  torch::Tensor act(const torch::Tensor& obs, bool deterministic) override {
    torch::NoGradGuard no_grad;
    if (deterministic) return actor_->mean(obs);
    return actor_->sample(obs, &generator_).clamp(-dims_.max_action, dims_.max_action);
  }

  std::vector<std::pair<std::string, torch::nn::Module*>> modules() override {
    return {{"actor", actor_.get()}, {"q", q_.get()}, {"q_target", q_target_.get()},
            {"value", value_.get()}};
  }
  std::vector<std::pair<torch::Tensor, torch::Tensor>> policy_layers() override {
    return actor_->action_layers();
  }
  std::vector<std::pair<std::string, torch::optim::Optimizer*>> optimizers() override {
    return {{"actor", &actor_optim_}, {"q", &q_optim_}, {"value", &value_optim_}};
  }

 private:
  IqlConfig config_;
  AlgoDims dims_;
  nn::GaussianPolicy actor_;
  nn::EnsembleMlp q_, q_target_;
  nn::Mlp value_;
  torch::optim::Adam actor_optim_, q_optim_, value_optim_;
  int64_t total_steps_ = 0;
};

}  // namespace

STITCH_REGISTER_ALGORITHM(
    iql, {.name = "iql",
          .summary = "IQL (Kostrikov et al. 2021): expectile V, TD Q, advantage-weighted actor",
          .normalize_observations = true,
          .locomotion_reward_scaling = true,
          .make_config = [] { return std::make_unique<IqlConfig>(); },
          .make = [](const AlgoConfig& c, const AlgoDims& d, uint64_t seed) -> std::unique_ptr<Algorithm> {
            auto algo = std::make_unique<Iql>(dynamic_cast<const IqlConfig&>(c), d, seed);
            algo->set_total_steps(d.total_steps);
            return algo;
          }});

}  // namespace stitch
