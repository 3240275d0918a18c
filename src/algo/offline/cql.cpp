// CQL: Kumar, Zhou, Tucker & Levine 2020, "Conservative Q-Learning for Offline Reinforcement
// Learning", the SAC-based CQL(H) with importance-sampled logsumexp (the paper's App. F).
// Defaults: the paper's D4RL gym settings (App. F): 3x256 networks, policy lr 1e-4, Q lr 3e-4,
// conservative weight 5.0 without the Lagrange variant (10.0 with it, target action gap 10),
// 10 sampled actions, automatic entropy tuning with target entropy -act_dim, tau 0.005.
// The TD backup has no entropy term (CORL's default). --set cql.lagrange=true turns on the
// Lagrange variant, which tunes the conservative weight so that the gap stays near the target.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include "algo/algorithm.h"
#include "algo/fused_steps.h"
#include "core/error.h"
#include "core/runtime.h"
#include "core/thread_pool.h"
#include "nn/nn.h"

namespace stitch {
namespace {

struct CqlConfig : AlgoConfig {
  double actor_lr = 1e-4;
  double critic_lr = 3e-4;
  double alpha_lr = 3e-4;  // entropy and Lagrange multipliers
  double tau = 0.005;
  double conservative_weight = 5.0;
  int num_actions = 10;  // sampled actions per state for the logsumexp
  bool lagrange = false;
  double target_action_gap = 10.0;
  int64_t hidden = 256;
  int layers = 3;
  void describe(ConfigFields& f) override {
    const ConfigFields::Range<double> lr_range{.min = 0, .max = 1, .min_open = true};
    f.add("actor_lr", actor_lr, "policy learning rate", lr_range);
    f.add("critic_lr", critic_lr, "Q learning rate", lr_range);
    f.add("alpha_lr", alpha_lr, "entropy / Lagrange multiplier learning rate", lr_range);
    f.add("tau", tau, "target Q update rate", {.min = 0, .max = 1, .min_open = true});
    f.add("conservative_weight", conservative_weight, "weight of the CQL term",
          {.min = 0, .max = 1e6});
    f.add("num_actions", num_actions, "sampled actions per state", {.min = 1, .max = 1000});
    f.add("lagrange", lagrange, "tune the conservative weight (CQL-Lagrange)");
    f.add("target_action_gap", target_action_gap, "Lagrange target for the CQL gap",
          {.min = 0, .max = 1e6});
    f.add("hidden", hidden, "hidden width", {.min = 1, .max = 65536});
    f.add("layers", layers, "hidden layers", {.min = 1, .max = 64});
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
        actor_flat_(*actor_),
        q_flat_(*q_),
        q_target_flat_(*q_target_),
        actor_adam_(actor_flat_.size(),
                    nn::fused::AdamOptions{.lr = static_cast<float>(c.actor_lr)}),
        q_adam_(q_flat_.size(), nn::fused::AdamOptions{.lr = static_cast<float>(c.critic_lr)}),
        policy_(*actor_, actor_flat_, actor_flat_.grad()),
        sampler_(*actor_, actor_flat_, nullptr),
        alpha_optim_(std::vector<torch::Tensor>{log_alpha_}, torch::optim::AdamOptions(c.alpha_lr)),
        alpha_prime_optim_(std::vector<torch::Tensor>{log_alpha_prime_},
                           torch::optim::AdamOptions(c.alpha_lr)) {
    nn::hard_update(*q_target_, *q_);
    scalars_->register_parameter("log_alpha", log_alpha_);
    scalars_->register_parameter("log_alpha_prime", log_alpha_prime_);
    for (int k = 0; k < 2; ++k) {
      q_net_[k] = nn::fused_member(*q_, k, q_flat_, q_flat_.grad());
      q_frozen_[k] = nn::fused_member(*q_, k, q_flat_, nullptr);
      q_target_net_[k] = nn::fused_member(*q_target_, k, q_target_flat_, nullptr);
    }
  }

  std::string name() const override { return "cql"; }

  // One step on the fused path (nn/fused_mlp.h), in the order of the autograd version it
  // replaces (and the same draws from the generator): the entropy temperature; the actor through
  // the smaller Q; the TD target from pi(s') of the updated actor; then one pass of each Q member
  // over the data rows and the 3 N sampled actions per state (random, pi(s), pi(s') at s) for the
  // TD and conservative terms together. The two Q members are two tasks on the compute threads
  // (single-threaded BLAS each), so 1 and 2 threads give the same numbers.
  Metrics update(const TensorBatch& b) override {
    const fused_steps::RawBatch raw(b);
    const int64_t batch = raw.rows, n = config_.num_actions, obs = dims_.obs_dim,
                  act = dims_.act_dim;
    const int64_t cols = obs + act, rep = batch * n;
    const float *s = raw.s, *a = raw.a, *s2 = raw.s2, *r = raw.r, *term = raw.terminal,
                *disc = raw.discount;
    const double target_entropy = -static_cast<double>(act);
    const SingleThreadedBlas single_blas;
    fused_steps::task_pool(pool_);
    auto per_member = [&](auto&& fn) {
      pool_->parallel_for(2, [&](int64_t k) { fn(static_cast<int>(k)); });
    };
    auto resize = [](std::vector<float>& v, int64_t size) { v.resize(static_cast<size_t>(size)); };
    Metrics m;

    // Policy and entropy temperature (SAC).
    const auto eps_s = torch::randn({batch, act}, generator_);
    resize(pi_, batch * act);
    resize(logp_, batch);
    policy_.sample(s, batch, eps_s.data_ptr<float>(), pi_.data(), logp_.data());
    const double alpha = std::exp(log_alpha_.item<double>());
    double logp_mean = 0;
    for (int64_t i = 0; i < batch; ++i) logp_mean += logp_[i];
    logp_mean /= static_cast<double>(batch);
    fused_steps::scalar_adam_step(
        log_alpha_, alpha_optim_,
        -(logp_mean + target_entropy));  // d/dlog_alpha of -log_alpha (log_pi + H)

    // Actor: mean(alpha log_pi - min_k Q_k(s, pi(s))), Q's weights fixed.
    const double actor_loss = actor_loss_.backward(policy_, q_frozen_, *pool_, s, pi_.data(),
                                                   logp_.data(), batch, obs, act, alpha);
    actor_adam_->step(actor_flat_);

    // TD target from the target Qs at a' ~ pi(s') (the updated policy).
    const auto eps_next = torch::randn({batch, act}, generator_);
    resize(next_action_, batch * act);
    resize(scratch_logp_, batch);
    policy_.sample(s2, batch, eps_next.data_ptr<float>(), next_action_.data(),
                   scratch_logp_.data());
    resize(target_, batch);
    fused_steps::min_target_q(q_target_net_, *pool_, s2, next_action_.data(), batch, obs, act,
                              x_next_, tape_target_, target_.data());
    for (int64_t i = 0; i < batch; ++i) target_[i] = r[i] + disc[i] * (1.0f - term[i]) * target_[i];

    // The Q members' input: data rows, then per block (random, pi(s), pi(s')) N rows per state,
    // each with that state's observation (repeat_interleave).
    const auto random_actions =
        torch::rand({rep, act}, generator_) * (2.0 * dims_.max_action) - dims_.max_action;
    const auto eps_rep = torch::randn({rep, act}, generator_);
    const auto eps_next_rep = torch::randn({rep, act}, generator_);
    resize(obs_rep_, rep * obs);
    resize(next_rep_, rep * obs);
    for (int64_t i = 0; i < batch; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        std::copy(s + i * obs, s + (i + 1) * obs, obs_rep_.data() + (i * n + j) * obs);
        std::copy(s2 + i * obs, s2 + (i + 1) * obs, next_rep_.data() + (i * n + j) * obs);
      }
    }
    resize(pi_rep_, rep * act);
    resize(pi_next_rep_, rep * act);
    resize(logp_rep_, rep);
    resize(logp_next_rep_, rep);
    per_member([&](int k) {  // two samplers, two tasks (no gradient through these)
      if (k == 0) {
        policy_.sample(obs_rep_.data(), rep, eps_rep.data_ptr<float>(), pi_rep_.data(),
                       logp_rep_.data());
      } else {
        sampler_.sample(next_rep_.data(), rep, eps_next_rep.data_ptr<float>(), pi_next_rep_.data(),
                        logp_next_rep_.data());
      }
    });
    const int64_t rows = batch + 3 * rep;
    resize(x_q_, rows * cols);
    nn::fused::concat_columns(s, obs, a, act, batch, x_q_.data());
    const float* blocks[3] = {random_actions.data_ptr<float>(), pi_rep_.data(),
                              pi_next_rep_.data()};
    for (int blk = 0; blk < 3; ++blk) {
      nn::fused::concat_columns(obs_rep_.data(), obs, blocks[blk], act, rep,
                                x_q_.data() + (batch + blk * rep) * cols);
    }

    // L = sum_k [mean (Q_k(s, a) - target)^2 + c mean_s (logsumexp_j v_kj(s) - Q_k(s, a))], the
    // v_kj being Q_k at the 3 N sampled actions minus their log-density (importance sampling).
    const double log_uniform = -static_cast<double>(act) * std::log(2.0 * dims_.max_action);
    const double alpha_prime = std::clamp(std::exp(log_alpha_prime_.item<double>()), 0.0, 1e6);
    const double c =
        config_.lagrange ? alpha_prime * config_.conservative_weight : config_.conservative_weight;
    double td[2] = {0, 0}, gap[2] = {0, 0}, q_sum[2] = {0, 0};
    per_member([&](int k) {
      nn::fused::forward(q_net_[k], x_q_.data(), rows, tape_q_[k]);
      const float* q = tape_q_[k].output();
      auto& dq = dq_[k];
      resize(dq, rows);
      std::vector<double>& v = lse_scratch_[k];
      v.resize(static_cast<size_t>(3 * n));
      const float* logps[3] = {nullptr, logp_rep_.data(), logp_next_rep_.data()};
      for (int64_t i = 0; i < batch; ++i) {
        const double d = static_cast<double>(q[i]) - target_[i];
        td[k] += d * d;
        q_sum[k] += q[i];
        double top = -std::numeric_limits<double>::infinity();
        for (int blk = 0; blk < 3; ++blk) {
          for (int64_t j = 0; j < n; ++j) {
            const int64_t row = batch + blk * rep + i * n + j;
            const double value =
                static_cast<double>(q[row]) - (blk == 0 ? log_uniform : logps[blk][i * n + j]);
            v[blk * n + j] = value;
            top = std::max(top, value);
          }
        }
        double sum = 0;
        for (auto& value : v) sum += (value = std::exp(value - top));
        const double lse = top + std::log(sum);
        gap[k] += lse - q[i];
        for (int blk = 0; blk < 3; ++blk) {
          for (int64_t j = 0; j < n; ++j) {
            dq[batch + blk * rep + i * n + j] =
                static_cast<float>(c * v[blk * n + j] / sum / static_cast<double>(batch));
          }
        }
        dq[i] = static_cast<float>((2.0 * d - c) / static_cast<double>(batch));
      }
      td[k] /= static_cast<double>(batch);
      gap[k] /= static_cast<double>(batch);
      nn::fused::backward(q_net_[k], tape_q_[k], dq.data(), nullptr);
    });
    const double gap_sum = gap[0] + gap[1];
    if (config_.lagrange) {
      // L' = -exp(log_alpha') w (gap - 2 target_gap), the clamp at [0, 1e6] passing its gradient
      // inside.
      const double e = std::exp(log_alpha_prime_.item<double>());
      const double inside = (e >= 0.0 && e <= 1e6) ? 1.0 : 0.0;
      fused_steps::scalar_adam_step(
          log_alpha_prime_, alpha_prime_optim_,
          -e * inside * config_.conservative_weight * (gap_sum - 2.0 * config_.target_action_gap));
      m["alpha_prime"] = alpha_prime;
    }
    q_adam_->advance();
    const float tau = static_cast<float>(config_.tau);
    per_member(
        [&](int h) { fused_steps::adam_half(h, q_adam_, q_flat_, nullptr, &q_target_flat_, tau); });
    ++steps_;
    m["actor_loss"] = actor_loss;
    m["alpha"] = alpha;
    m["td_loss"] = td[0] + td[1];
    m["cql_gap"] = gap_sum / 2.0;
    m["q_mean"] = (q_sum[0] + q_sum[1]) / static_cast<double>(2 * batch);
    return m;
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
    return {{"alpha", &alpha_optim_}, {"alpha_prime", &alpha_prime_optim_}};
  }

 private:
  static torch::Tensor register_scalar() { return torch::zeros({}, torch::requires_grad()); }

  CqlConfig config_;
  AlgoDims dims_;
  nn::TanhGaussianPolicy actor_;
  nn::EnsembleMlp q_, q_target_;
  torch::Tensor log_alpha_, log_alpha_prime_;
  std::shared_ptr<torch::nn::Module> scalars_ = std::make_shared<torch::nn::Module>();
  nn::FlatParameters actor_flat_, q_flat_, q_target_flat_;
  nn::FlatAdam actor_adam_, q_adam_;
  nn::FusedTanhGaussian policy_, sampler_;  // sampler_: a second set of tapes, no gradients
  torch::optim::Adam alpha_optim_, alpha_prime_optim_;  // one scalar each: torch's Adam is fine

  nn::fused::Mlp q_net_[2], q_frozen_[2], q_target_net_[2];
  nn::fused::Tape tape_target_[2], tape_q_[2];
  fused_steps::MinQActorLoss actor_loss_;
  std::vector<float> pi_, logp_, next_action_, scratch_logp_, x_next_, target_, obs_rep_, next_rep_,
      pi_rep_, pi_next_rep_, logp_rep_, logp_next_rep_, x_q_, dq_[2];
  std::vector<double> lse_scratch_[2];
  std::unique_ptr<ThreadPool> pool_;
};

}  // namespace

STITCH_REGISTER_ALGORITHM(cql,
                          {.name = "cql",
                           .summary = "CQL (Kumar et al. 2020): SAC with a conservative Q penalty",
                           .normalize_observations = true,
                           .locomotion_reward_scaling = false,
                           .make_config = [] { return std::make_unique<CqlConfig>(); },
                           .make = [](const AlgoConfig& c, const AlgoDims& d,
                                      uint64_t seed) -> std::unique_ptr<Algorithm> {
                             return std::make_unique<Cql>(dynamic_cast<const CqlConfig&>(c), d,
                                                          seed);
                           }});

}  // namespace stitch
