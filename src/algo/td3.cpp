#include "algo/td3.h"

#include "algo/algorithm.h"
#include "algo/losses.h"
#include "core/config.h"
#include "core/error.h"
#include "nn/nn.h"

namespace stitch {
namespace {

class Td3 : public Algorithm {
 public:
  Td3(const Td3Config& c, const AlgoDims& d, uint64_t seed)
      : Algorithm(seed),
        config_(c),
        dims_(d),
        actor_(d.obs_dim, d.act_dim, nn::MlpOptions{.hidden = {c.hidden, c.hidden}}, d.max_action),
        actor_target_(d.obs_dim, d.act_dim, nn::MlpOptions{.hidden = {c.hidden, c.hidden}}, d.max_action),
        critic_(2, d.obs_dim + d.act_dim, 1, std::vector<int64_t>{c.hidden, c.hidden}),
        critic_target_(2, d.obs_dim + d.act_dim, 1, std::vector<int64_t>{c.hidden, c.hidden}),
        actor_optim_(actor_->parameters(), torch::optim::AdamOptions(c.actor_lr)),
        critic_optim_(critic_->parameters(), torch::optim::AdamOptions(c.critic_lr)) {
    nn::hard_update(*actor_target_, *actor_);
    nn::hard_update(*critic_target_, *critic_);
  }

  std::string name() const override { return config_.bc ? "td3_bc" : "td3"; }

  Metrics update(const TensorBatch& b) override {
    Metrics m;
    torch::Tensor target;
    {
      torch::NoGradGuard no_grad;
      const double max_a = dims_.max_action;
      const auto noise = (torch::randn(b.actions.sizes(), generator_) * config_.policy_noise * max_a)
                             .clamp(-config_.noise_clip * max_a, config_.noise_clip * max_a);
      const auto next_action = (actor_target_->forward(b.next_observations) + noise).clamp(-max_a, max_a);
      const auto next_q = critic_target_->forward(torch::cat({b.next_observations, next_action}, 1));
      target = losses::td_target(b.rewards, b.discounts, b.terminals, std::get<0>(next_q.min(0)).squeeze(-1));
    }
    const auto q = critic_->forward(torch::cat({b.observations, b.actions}, 1)).squeeze(-1);  // [2, B]
    const auto critic_loss = (q - target.unsqueeze(0)).pow(2).mean(1).sum();
    critic_optim_.zero_grad();
    critic_loss.backward();
    critic_optim_.step();
    m["critic_loss"] = critic_loss.item<double>();
    m["q_mean"] = q.mean().item<double>();

    if (steps_ % config_.policy_freq == 0) {
      // Q1 alone, and no gradient for the critic's weights: the actor's loss needs neither.
      const nn::FrozenParameters frozen(*critic_);
      const auto pi = actor_->forward(b.observations);
      const auto q_pi = critic_->forward_member(torch::cat({b.observations, pi}, 1), 0).squeeze(-1);
      const auto actor_loss =
          config_.bc ? losses::td3_bc_actor_loss(q_pi, pi, b.actions, config_.alpha) : -q_pi.mean();
      actor_optim_.zero_grad();
      actor_loss.backward();
      actor_optim_.step();
      nn::soft_update(*actor_target_, *actor_, config_.tau);
      nn::soft_update(*critic_target_, *critic_, config_.tau);
      last_actor_loss_ = actor_loss.item<double>();
    }
    m["actor_loss"] = last_actor_loss_;
    ++steps_;
    return m;
  }

  torch::Tensor act(const torch::Tensor& obs, bool deterministic) override {
    torch::NoGradGuard no_grad;
    const auto a = actor_->forward(obs);
    if (deterministic || config_.bc) return a;
    const double max_a = dims_.max_action;
    return (a + torch::randn(a.sizes(), generator_) * (config_.exploration_noise * max_a)).clamp(-max_a, max_a);
  }

  std::vector<std::pair<std::string, torch::nn::Module*>> modules() override {
    return {{"actor", actor_.get()}, {"actor_target", actor_target_.get()},
            {"critic", critic_.get()}, {"critic_target", critic_target_.get()}};
  }
  std::vector<std::pair<torch::Tensor, torch::Tensor>> policy_layers() override {
    return actor_->action_layers();
  }
  std::vector<std::pair<std::string, torch::optim::Optimizer*>> optimizers() override {
    return {{"actor", &actor_optim_}, {"critic", &critic_optim_}};
  }

 private:
  Td3Config config_;
  AlgoDims dims_;
  nn::DeterministicPolicy actor_, actor_target_;
  nn::EnsembleMlp critic_, critic_target_;
  torch::optim::Adam actor_optim_, critic_optim_;
  double last_actor_loss_ = 0.0;
};

}  // namespace

void Td3Config::describe(ConfigFields& f) {
  f.add("actor_lr", actor_lr, "actor learning rate");
  f.add("critic_lr", critic_lr, "critic learning rate");
  f.add("tau", tau, "target network update rate");
  f.add("policy_noise", policy_noise, "target smoothing noise std (times max_action)");
  f.add("noise_clip", noise_clip, "target smoothing noise clip (times max_action)");
  f.add("policy_freq", policy_freq, "critic updates per actor update");
  if (bc) {
    f.add("alpha", alpha, "BC weight: lambda = alpha / mean|Q|");
  } else {
    f.add("exploration_noise", exploration_noise, "acting noise std (times max_action)");
  }
  f.add("hidden", hidden, "hidden width (two layers)");
}

void Td3Config::validate() const {
  if (policy_freq < 1) fail("policy_freq must be >= 1, got {}", policy_freq);
  if (tau <= 0 || tau > 1) fail("tau must be in (0, 1], got {}", tau);
  if (exploration_noise < 0) fail("exploration_noise must be >= 0, got {}", exploration_noise);
}

std::unique_ptr<Algorithm> make_td3(const Td3Config& config, const AlgoDims& dims, uint64_t seed) {
  return std::make_unique<Td3>(config, dims, seed);
}

}  // namespace stitch
