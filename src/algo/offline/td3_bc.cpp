// TD3+BC: Fujimoto & Gu 2021, "A Minimalist Approach to Offline Reinforcement Learning".
// TD3 (Fujimoto et al. 2018) with a behaviour-cloning term in the actor loss and normalised
// states. Defaults: the paper's D4RL locomotion settings (Sec. 5 and App. C).
#include "algo/algorithm.h"
#include "algo/losses.h"
#include "core/error.h"
#include "nn/nn.h"

namespace stitch {
namespace {

struct Td3BcConfig : AlgoConfig {
  double actor_lr = 3e-4;      // Adam, both networks (paper App. C)
  double critic_lr = 3e-4;
  double tau = 0.005;          // target update rate
  double policy_noise = 0.2;   // target policy smoothing noise, times max_action
  double noise_clip = 0.5;     // clip of that noise, times max_action
  int policy_freq = 2;         // actor and target updates every 2 critic updates
  double alpha = 2.5;          // BC trade-off: lambda = alpha / mean|Q|
  int64_t hidden = 256;        // two hidden layers of 256 for actor and critics
  void describe(ConfigFields& f) override {
    f.add("actor_lr", actor_lr, "actor learning rate");
    f.add("critic_lr", critic_lr, "critic learning rate");
    f.add("tau", tau, "target network update rate");
    f.add("policy_noise", policy_noise, "target smoothing noise std (times max_action)");
    f.add("noise_clip", noise_clip, "target smoothing noise clip (times max_action)");
    f.add("policy_freq", policy_freq, "critic updates per actor update");
    f.add("alpha", alpha, "BC weight: lambda = alpha / mean|Q|");
    f.add("hidden", hidden, "hidden width (two layers)");
  }
  void validate() const override {
    if (policy_freq < 1) fail("td3_bc.policy_freq must be >= 1, got {}", policy_freq);
    if (tau <= 0 || tau > 1) fail("td3_bc.tau must be in (0, 1], got {}", tau);
  }
};

class Td3Bc : public Algorithm {
 public:
  Td3Bc(const Td3BcConfig& c, const AlgoDims& d, uint64_t seed)
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

  std::string name() const override { return "td3_bc"; }

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
      const auto pi = actor_->forward(b.observations);
      const auto q_pi = critic_->forward(torch::cat({b.observations, pi}, 1))[0].squeeze(-1);
      const auto actor_loss = losses::td3_bc_actor_loss(q_pi, pi, b.actions, config_.alpha);
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

  torch::Tensor act(const torch::Tensor& obs, bool) override {
    torch::NoGradGuard no_grad;
    return actor_->forward(obs);
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
  Td3BcConfig config_;
  AlgoDims dims_;
  nn::DeterministicPolicy actor_, actor_target_;
  nn::EnsembleMlp critic_, critic_target_;
  torch::optim::Adam actor_optim_, critic_optim_;
  double last_actor_loss_ = 0.0;
};

}  // namespace

STITCH_REGISTER_ALGORITHM(
    td3_bc, {.name = "td3_bc",
             .summary = "TD3+BC (Fujimoto & Gu 2021): TD3 with a BC term, normalised states",
             .normalize_observations = true,
             .locomotion_reward_scaling = false,
             .make_config = [] { return std::make_unique<Td3BcConfig>(); },
             .make = [](const AlgoConfig& c, const AlgoDims& d, uint64_t seed) -> std::unique_ptr<Algorithm> {
               return std::make_unique<Td3Bc>(dynamic_cast<const Td3BcConfig&>(c), d, seed);
             }});

}  // namespace stitch
