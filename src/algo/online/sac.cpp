// SAC: Haarnoja et al. 2018, "Soft Actor-Critic Algorithms and Applications" (arXiv:1812.05905),
// with automatic entropy tuning (Sec. 5) and twin Q networks with clipped double-Q targets.
// Defaults: the paper's Table 1: Adam lr 3e-4 for every network and the temperature, two hidden
// layers of 256, batch 256, tau 0.005, target entropy -act_dim, one gradient step per env step.
// The twin critics are one EnsembleMlp; the update runs on the fused path (nn/fused_mlp.h).
//
//   y = r + gamma * (1 - terminated) * (min_i Q'_i(s', a') - alpha * log pi(a'|s')),  a' ~ pi(s')
//   critic: sum_i mean (Q_i(s, a) - y)^2
//   actor:  mean (alpha * log pi(a~|s) - min_i Q_i(s, a~)),  a~ ~ pi(s) (reparameterised)
//   alpha:  -mean log_alpha * (log pi(a~|s) + target_entropy)
#include <algorithm>
#include <cmath>
#include <memory>
#include <tuple>

#include "algo/algorithm.h"
#include "algo/fused_steps.h"
#include "core/error.h"
#include "core/runtime.h"
#include "core/thread_pool.h"
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
    const ConfigFields::Range<double> lr_range{.min = 0, .max = 1, .min_open = true};
    f.add("actor_lr", actor_lr, "policy learning rate", lr_range);
    f.add("critic_lr", critic_lr, "Q learning rate", lr_range);
    f.add("alpha_lr", alpha_lr, "entropy temperature learning rate", lr_range);
    f.add("tau", tau, "target Q update rate", {.min = 0, .max = 1, .min_open = true});
    f.add("initial_alpha", initial_alpha, "initial entropy temperature",
          {.min = 0, .max = 1e6, .min_open = true});
    f.add("target_entropy", target_entropy, "target entropy (0: -act_dim)",
          {.min = -1e6, .max = 1e6});
    f.add("hidden", hidden, "hidden width", {.min = 1, .max = 65536});
    f.add("layers", layers, "hidden layers", {.min = 1, .max = 64});
  }
  std::vector<int64_t> widths() const { return std::vector<int64_t>(layers, hidden); }
};

class Sac : public Algorithm {
 public:
  Sac(const SacConfig& c, const AlgoDims& d, uint64_t seed)
      : Algorithm(seed),
        config_(c),
        dims_(d),
        target_entropy_(c.target_entropy != 0.0 ? c.target_entropy
                                                : -static_cast<double>(d.act_dim)),
        actor_(d.obs_dim, d.act_dim, nn::MlpOptions{.hidden = c.widths()}, d.max_action),
        q_(2, d.obs_dim + d.act_dim, 1, c.widths()),
        q_target_(2, d.obs_dim + d.act_dim, 1, c.widths()),
        log_alpha_(torch::full({}, std::log(c.initial_alpha), torch::requires_grad())),
        actor_flat_(*actor_),
        q_flat_(*q_),
        q_target_flat_(*q_target_),
        actor_adam_(actor_flat_.size(),
                    nn::fused::AdamOptions{.lr = static_cast<float>(c.actor_lr)}),
        q_adam_(q_flat_.size(), nn::fused::AdamOptions{.lr = static_cast<float>(c.critic_lr)}),
        policy_(*actor_, actor_flat_, actor_flat_.grad()),
        alpha_optim_(std::vector<torch::Tensor>{log_alpha_},
                     torch::optim::AdamOptions(c.alpha_lr)) {
    nn::hard_update(*q_target_, *q_);
    scalars_->register_parameter("log_alpha", log_alpha_);
    for (int k = 0; k < 2; ++k) {
      q_net_[k] = nn::fused_member(*q_, k, q_flat_, q_flat_.grad());
      q_frozen_[k] = nn::fused_member(*q_, k, q_flat_, nullptr);
      q_target_net_[k] = nn::fused_member(*q_target_, k, q_target_flat_, nullptr);
    }
  }

  std::string name() const override { return "sac"; }

  // One step on the fused path (nn/fused_mlp.h), in the order and with the generator draws of
  // the autograd version it replaced: target from a' ~ pi(s'), the critics (one member per task
  // on the compute threads) with their Polyak update, the actor through the updated critics,
  // the temperature.
  // Each task runs single-threaded BLAS, so 1 and 2 threads give the same numbers.
  Metrics update(const TensorBatch& b) override {
    const fused_steps::RawBatch raw(b);
    const int64_t batch = raw.rows, obs = dims_.obs_dim, act = dims_.act_dim, cols = obs + act;
    const float *s = raw.s, *a = raw.a, *s2 = raw.s2, *r = raw.r, *term = raw.terminal,
                *disc = raw.discount;
    const SingleThreadedBlas single_blas;
    fused_steps::task_pool(pool_);
    auto resize = [](std::vector<float>& v, int64_t size) { v.resize(static_cast<size_t>(size)); };
    const double alpha = std::exp(log_alpha_.item<double>());

    // y = r + discount * (min_k Q'_k(s', a') - alpha log pi(a'|s')), a' ~ pi(s').
    const auto eps_next = torch::randn({batch, act}, generator_);
    resize(next_action_, batch * act);
    resize(next_logp_, batch);
    resize(target_, batch);
    policy_.sample(s2, batch, eps_next.data_ptr<float>(), next_action_.data(), next_logp_.data());
    fused_steps::min_target_q(q_target_net_, *pool_, s2, next_action_.data(), batch, obs, act,
                              x_next_, tape_target_, target_.data());
    for (int64_t i = 0; i < batch; ++i) {
      target_[i] = r[i] + disc[i] * (1.0f - term[i]) *
                              (target_[i] - static_cast<float>(alpha) * next_logp_[i]);
    }

    // Critics: sum_k mean (Q_k(s, a) - y)^2.
    resize(x_, batch * cols);
    nn::fused::concat_columns(s, obs, a, act, batch, x_.data());
    double q_loss[2] = {0, 0}, q_sum[2] = {0, 0};
    pool_->parallel_for(2, [&](int64_t k) {
      std::tie(q_loss[k], q_sum[k]) = fused_steps::td_member_step(
          q_net_[k], tape_q_[k], x_.data(), target_.data(), batch, batch, dq_[k]);
    });
    // Adam, and Polyak right away: nothing below reads the target critics.
    q_adam_->advance();
    const float tau = static_cast<float>(config_.tau);
    pool_->parallel_for(2, [&](int64_t h) {
      fused_steps::adam_half(static_cast<int>(h), q_adam_, q_flat_, nullptr, &q_target_flat_, tau);
    });

    // Actor: mean(alpha log pi(a~|s) - min_k Q_k(s, a~)) through the updated critics.
    const auto eps = torch::randn({batch, act}, generator_);
    resize(pi_, batch * act);
    resize(logp_, batch);
    policy_.sample(s, batch, eps.data_ptr<float>(), pi_.data(), logp_.data());
    const double actor_loss = actor_loss_.backward(policy_, q_frozen_, *pool_, s, pi_.data(),
                                                   logp_.data(), batch, obs, act, alpha);
    actor_adam_->step(actor_flat_);

    // Temperature: -mean log_alpha (log pi + target entropy).
    double logp_mean = 0;
    for (int64_t i = 0; i < batch; ++i) logp_mean += logp_[i];
    logp_mean /= static_cast<double>(batch);
    fused_steps::scalar_adam_step(log_alpha_, alpha_optim_, -(logp_mean + target_entropy_));
    ++steps_;
    return {{"actor_loss", actor_loss},
            {"q_loss", q_loss[0] + q_loss[1]},
            {"alpha", alpha},
            {"entropy", -logp_mean},
            {"q_mean", (q_sum[0] + q_sum[1]) / static_cast<double>(2 * batch)}};
  }

  void load(torch::serialize::InputArchive& archive) override {
    Algorithm::load(archive);
    for (auto* f : {&actor_flat_, &q_flat_, &q_target_flat_}) f->rebind();
  }

  torch::Tensor act(const torch::Tensor& obs, bool deterministic) override {
    torch::NoGradGuard no_grad;
    return actor_->sample(obs, deterministic, &generator_).first;
  }

  std::vector<std::pair<std::string, torch::nn::Module*>> modules() override {
    return {{"actor", actor_.get()},           {"q", q_.get()},
            {"q_target", q_target_.get()},     {"scalars", scalars_.get()},
            {"actor_adam", actor_adam_.get()}, {"q_adam", q_adam_.get()}};
  }
  std::vector<std::pair<torch::Tensor, torch::Tensor>> policy_layers() override {
    return actor_->action_layers();
  }
  std::vector<std::pair<std::string, torch::optim::Optimizer*>> optimizers() override {
    return {{"alpha", &alpha_optim_}};
  }

 private:
  SacConfig config_;
  AlgoDims dims_;
  double target_entropy_;
  nn::TanhGaussianPolicy actor_;
  nn::EnsembleMlp q_, q_target_;
  torch::Tensor log_alpha_;
  std::shared_ptr<torch::nn::Module> scalars_ = std::make_shared<torch::nn::Module>();
  nn::FlatParameters actor_flat_, q_flat_, q_target_flat_;
  nn::FlatAdam actor_adam_, q_adam_;
  nn::FusedTanhGaussian policy_;
  torch::optim::Adam alpha_optim_;  // one scalar: torch's Adam is fine

  nn::fused::Mlp q_net_[2], q_frozen_[2], q_target_net_[2];
  nn::fused::Tape tape_target_[2], tape_q_[2];
  fused_steps::MinQActorLoss actor_loss_;
  std::vector<float> next_action_, next_logp_, target_, x_next_, x_, dq_[2], pi_, logp_;
  std::unique_ptr<ThreadPool> pool_;
};

}  // namespace

STITCH_REGISTER_ALGORITHM(
    sac, {.name = "sac",
          .summary =
              "SAC (Haarnoja et al. 2018): soft actor-critic with automatic entropy tuning; online",
          .online = true,
          .make_config = [] { return std::make_unique<SacConfig>(); },
          .make = [](const AlgoConfig& c, const AlgoDims& d,
                     uint64_t seed) -> std::unique_ptr<Algorithm> {
            return std::make_unique<Sac>(dynamic_cast<const SacConfig&>(c), d, seed);
          }});

}  // namespace stitch
