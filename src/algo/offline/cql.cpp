// CQL: Kumar, Zhou, Tucker & Levine 2020, "Conservative Q-Learning for Offline Reinforcement
// Learning", the SAC-based CQL(H) with importance-sampled logsumexp (the paper's App. F).
// Defaults: the paper's D4RL gym settings (App. F): 3x256 networks, policy lr 1e-4, Q lr 3e-4,
// conservative weight 5.0 without the Lagrange variant (10.0 with it, target action gap 10),
// 10 sampled actions, automatic entropy tuning with target entropy -act_dim, tau 0.005.
// The TD backup has no entropy term (CORL's default). --set cql.lagrange=true turns on the
// Lagrange variant, which tunes the conservative weight so that the gap stays near the target.
#include "algo/algorithm.h"
#include "algo/losses.h"
#include "core/error.h"
#include "nn/nn.h"

namespace stitch {
namespace {

struct CqlConfig : AlgoConfig {
  double actor_lr = 1e-4;
  double critic_lr = 3e-4;
  double alpha_lr = 3e-4;         // entropy and Lagrange multipliers
  double tau = 0.005;
  double conservative_weight = 5.0;
  int num_actions = 10;           // sampled actions per state for the logsumexp
  bool lagrange = false;
  double target_action_gap = 10.0;
  int64_t hidden = 256;
  int layers = 3;
  void describe(ConfigFields& f) override {
    f.add("actor_lr", actor_lr, "policy learning rate");
    f.add("critic_lr", critic_lr, "Q learning rate");
    f.add("alpha_lr", alpha_lr, "entropy / Lagrange multiplier learning rate");
    f.add("tau", tau, "target Q update rate");
    f.add("conservative_weight", conservative_weight, "weight of the CQL term");
    f.add("num_actions", num_actions, "sampled actions per state");
    f.add("lagrange", lagrange, "tune the conservative weight (CQL-Lagrange)");
    f.add("target_action_gap", target_action_gap, "Lagrange target for the CQL gap");
    f.add("hidden", hidden, "hidden width");
    f.add("layers", layers, "hidden layers");
  }
  void validate() const override {
    if (num_actions < 1) fail("cql.num_actions must be >= 1, got {}", num_actions);
    if (layers < 1) fail("cql.layers must be >= 1, got {}", layers);
  }
  std::vector<int64_t> widths() const { return std::vector<int64_t>(layers, hidden); }
};

class Cql : public Algorithm {
 public:
  Cql(const CqlConfig& c, const AlgoDims& d, uint64_t seed)
      : Algorithm(seed),
        config_(c),
        dims_(d),
        actor_(d.obs_dim, d.act_dim, nn::MlpOptions{.hidden = c.widths()}, d.max_action),
        q_(2, d.obs_dim + d.act_dim, 1, c.widths()),
        q_target_(2, d.obs_dim + d.act_dim, 1, c.widths()),
        log_alpha_(register_scalar()),
        log_alpha_prime_(register_scalar()),
        actor_optim_(actor_->parameters(), torch::optim::AdamOptions(c.actor_lr)),
        q_optim_(q_->parameters(), torch::optim::AdamOptions(c.critic_lr)),
        alpha_optim_(std::vector<torch::Tensor>{log_alpha_}, torch::optim::AdamOptions(c.alpha_lr)),
        alpha_prime_optim_(std::vector<torch::Tensor>{log_alpha_prime_}, torch::optim::AdamOptions(c.alpha_lr)) {
    nn::hard_update(*q_target_, *q_);
    scalars_->register_parameter("log_alpha", log_alpha_);
    scalars_->register_parameter("log_alpha_prime", log_alpha_prime_);
  }

  std::string name() const override { return "cql"; }

  // Q of every ensemble member at (obs [M, o], actions [M, a]) -> [2, M].
  torch::Tensor q_values(nn::EnsembleMlp& q, const torch::Tensor& obs, const torch::Tensor& a) {
    return q->forward(torch::cat({obs, a}, 1)).squeeze(-1);
  }

  Metrics update(const TensorBatch& b) override {
    Metrics m;
    const int64_t batch = b.observations.size(0), n = config_.num_actions, act = dims_.act_dim;
    const double target_entropy = -static_cast<double>(act);

    // Policy and entropy temperature (SAC).
    auto [pi_action, log_pi] = actor_->sample(b.observations, false, &generator_);
    const auto alpha = log_alpha_.exp();
    const auto alpha_loss = -(log_alpha_ * (log_pi + target_entropy).detach()).mean();
    alpha_optim_.zero_grad();
    alpha_loss.backward();
    alpha_optim_.step();
    torch::Tensor actor_loss;
    {
      const nn::FrozenParameters frozen(*q_);  // the actor's loss needs no gradient for Q's weights
      const auto q_pi = std::get<0>(q_values(q_, b.observations, pi_action).min(0));
      actor_loss = (alpha.detach() * log_pi - q_pi).mean();
      actor_optim_.zero_grad();
      actor_loss.backward();
      actor_optim_.step();
    }

    // TD target from the target Qs at a' ~ pi(s').
    torch::Tensor target;
    {
      torch::NoGradGuard no_grad;
      auto [next_action, unused] = actor_->sample(b.next_observations, false, &generator_);
      const auto next_q = std::get<0>(q_values(q_target_, b.next_observations, next_action).min(0));
      target = losses::td_target(b.rewards, b.discounts, b.terminals, next_q);
    }
    const auto q_data = q_values(q_, b.observations, b.actions);  // [2, B]
    const auto td_loss = (q_data - target.unsqueeze(0)).pow(2).mean(1).sum();

    // Conservative term: sampled actions at s (random, pi(s)) and pi(s'), N per state.
    const auto obs_rep = b.observations.repeat_interleave(n, 0);        // [B*N, o]
    const auto next_rep = b.next_observations.repeat_interleave(n, 0);  // [B*N, o]
    const auto random_actions =
        torch::rand({batch * n, act}, generator_) * (2.0 * dims_.max_action) - dims_.max_action;
    torch::Tensor pi_s, logp_s, pi_next, logp_next;
    {
      torch::NoGradGuard no_grad;  // the policy is not trained through the CQL term
      std::tie(pi_s, logp_s) = actor_->sample(obs_rep, false, &generator_);
      std::tie(pi_next, logp_next) = actor_->sample(next_rep, false, &generator_);
    }
    const auto q_rand = q_values(q_, obs_rep, random_actions).view({2, batch, n});
    const auto q_pi_s = q_values(q_, obs_rep, pi_s).view({2, batch, n});
    const auto q_pi_next = q_values(q_, obs_rep, pi_next).view({2, batch, n});
    torch::Tensor gap = torch::zeros({}, b.observations.options());
    for (int64_t i = 0; i < 2; ++i) {
      gap = gap + losses::cql_conservative_term(q_rand[i], q_pi_s[i], logp_s.view({batch, n}),
                                                q_pi_next[i], logp_next.view({batch, n}), q_data[i],
                                                act, dims_.max_action);
    }
    torch::Tensor conservative = config_.conservative_weight * gap;
    if (config_.lagrange) {
      const auto alpha_prime = log_alpha_prime_.exp().clamp(0.0, 1e6);
      conservative = alpha_prime.detach() * config_.conservative_weight * (gap - 2.0 * config_.target_action_gap);
      const auto alpha_prime_loss =
          -(log_alpha_prime_.exp().clamp(0.0, 1e6) * config_.conservative_weight *
            (gap.detach() - 2.0 * config_.target_action_gap));
      alpha_prime_optim_.zero_grad();
      alpha_prime_loss.backward();
      alpha_prime_optim_.step();
      m["alpha_prime"] = alpha_prime.item<double>();
    }
    const auto q_loss = td_loss + conservative;
    q_optim_.zero_grad();
    q_loss.backward();
    q_optim_.step();
    nn::soft_update(*q_target_, *q_, config_.tau);
    ++steps_;
    m["actor_loss"] = actor_loss.item<double>();
    m["alpha"] = alpha.item<double>();
    m["td_loss"] = td_loss.item<double>();
    m["cql_gap"] = gap.item<double>() / 2.0;
    m["q_mean"] = q_data.mean().item<double>();
    return m;
  }

  torch::Tensor act(const torch::Tensor& obs, bool deterministic) override {
    torch::NoGradGuard no_grad;
    return actor_->sample(obs, deterministic, &generator_).first;
  }

  std::vector<std::pair<std::string, torch::nn::Module*>> modules() override {
    return {{"actor", actor_.get()}, {"q", q_.get()}, {"q_target", q_target_.get()},
            {"scalars", scalars_.get()}};
  }
  std::vector<std::pair<torch::Tensor, torch::Tensor>> policy_layers() override {
    return actor_->action_layers();
  }
  std::vector<std::pair<std::string, torch::optim::Optimizer*>> optimizers() override {
    return {{"actor", &actor_optim_}, {"q", &q_optim_}, {"alpha", &alpha_optim_},
            {"alpha_prime", &alpha_prime_optim_}};
  }

 private:
  static torch::Tensor register_scalar() { return torch::zeros({}, torch::requires_grad()); }

  CqlConfig config_;
  AlgoDims dims_;
  nn::TanhGaussianPolicy actor_;
  nn::EnsembleMlp q_, q_target_;
  torch::Tensor log_alpha_, log_alpha_prime_;
  std::shared_ptr<torch::nn::Module> scalars_ = std::make_shared<torch::nn::Module>();
  torch::optim::Adam actor_optim_, q_optim_, alpha_optim_, alpha_prime_optim_;
};

}  // namespace

STITCH_REGISTER_ALGORITHM(
    cql, {.name = "cql",
          .summary = "CQL (Kumar et al. 2020): SAC with a conservative Q penalty",
          .normalize_observations = true,
          .locomotion_reward_scaling = false,
          .make_config = [] { return std::make_unique<CqlConfig>(); },
          .make = [](const AlgoConfig& c, const AlgoDims& d, uint64_t seed) -> std::unique_ptr<Algorithm> {
            return std::make_unique<Cql>(dynamic_cast<const CqlConfig&>(c), d, seed);
          }});

}  // namespace stitch
