// IQL: Kostrikov, Nair & Levine 2021, "Offline Reinforcement Learning with Implicit
// Q-Learning". Expectile regression of V on target Q, TD learning of Q on V, and
// advantage-weighted regression for the policy. Defaults: the paper's D4RL locomotion settings
// (App. B: expectile 0.7, temperature 3.0, lr 3e-4, tau 0.005, 2x256 networks, cosine actor
// schedule, advantage weights clipped at 100 as in the authors' code; rewards scaled by
// 1000 / (max - min episode return), applied by the trainer).
//
// Order within a step: CORL's (V(s') for the Q target and the advantage for V and the actor all
// from V before its step). The authors' JAX code computes the Q target and the actor's
// advantage with the updated V; the difference is one step of V (lr 3e-4), and CORL's order
// makes the three losses independent, which the fused update below exploits.
//
// RIQL (`riql`): Yang, Zhang, Chen, Wang & Zhang 2024, "Towards Robust Offline Reinforcement
// Learning under Diverse Data Corruption" (ICLR 2024), as the authors' RIQL.py changes CORL's
// IQL: K = 5 Q networks (EDAC's initialisation) instead of 2; V regresses onto the alpha = 0.25
// quantile of the K target Qs instead of their min; the Q networks' TD loss is the Huber loss
// (delta 1.0 on clean data; RIQL_config.py's per-corruption values in docs/algorithms.md) on a
// target clamped to [-100, 1000], averaged over members and rows; observations normalised, no
// reward scaling. Differences, named: the actor stays IQL's Gaussian (the authors' code switched
// to a deterministic actor in 2024, after the paper), and the observation statistics come from
// the observations alone (the authors' add the next observations).
#include <algorithm>
#include <cmath>
#include <memory>
#include <numbers>

#include "algo/algorithm.h"
#include "algo/fused_steps.h"
#include "algo/losses.h"
#include "core/error.h"
#include "core/runtime.h"
#include "core/thread_pool.h"
#include "nn/nn.h"

namespace stitch {
namespace {

struct IqlConfig : AlgoConfig {
  double actor_lr = 3e-4;
  double critic_lr = 3e-4;  // Q networks
  double value_lr = 3e-4;
  double tau = 0.005;           // target Q update rate
  double expectile = 0.7;       // tau of the expectile loss (locomotion)
  double temperature = 3.0;     // beta of the advantage weights (locomotion)
  double max_weight = 100.0;    // clip of exp(beta * advantage)
  bool cosine_schedule = true;  // actor lr cosine-decayed to 0 over the run
  int64_t hidden = 256;
  // RIQL (not a key: fixed by the registered name) and its keys.
  bool robust = false;
  int64_t num_critics = 2;   // RIQL: 5
  double quantile = 0.25;    // RIQL: V's target is this quantile of the K target Qs
  double huber_delta = 1.0;  // RIQL: the Huber loss's threshold (1 / sigma^2 in RIQL.py)
  void describe(ConfigFields& f) override {
    f.add("actor_lr", actor_lr, "actor learning rate", kRateRange);
    f.add("critic_lr", critic_lr, "Q learning rate", kRateRange);
    f.add("value_lr", value_lr, "V learning rate", kRateRange);
    f.add("tau", tau, "target Q update rate", kRateRange);
    f.add("expectile", expectile, "expectile of the V regression",
          {.min = 0, .max = 1, .min_open = true, .max_open = true});
    f.add("temperature", temperature, "inverse temperature of the advantage weights",
          {.min = 0, .max = 1000});
    f.add("max_weight", max_weight, "clip of the advantage weights",
          {.min = 0, .max = 1e6, .min_open = true});
    f.add("cosine_schedule", cosine_schedule, "cosine-decay the actor lr over the run");
    f.add("hidden", hidden, "hidden width (two layers)", {.min = 1, .max = 65536});
    if (robust) {
      f.add("num_critics", num_critics, "Q networks (K)", {.min = 2, .max = 500});
      f.add("quantile", quantile, "quantile of the target Qs for V's target", {.min = 0, .max = 1});
      f.add("huber_delta", huber_delta, "threshold of the Q networks' Huber loss",
            {.min = 0, .max = 1e6, .min_open = true});
    }
  }
};

// RIQL's clamp of the Q networks' target (RIQL.py).
constexpr float kRiqlTargetMin = -100.0f, kRiqlTargetMax = 1000.0f;

class Iql : public Algorithm {
 public:
  Iql(const IqlConfig& c, const AlgoDims& d, uint64_t seed)
      : Algorithm(seed),
        config_(c),
        dims_(d),
        actor_(d.obs_dim, d.act_dim, nn::MlpOptions{.hidden = {c.hidden, c.hidden}}, d.max_action),
        q_(c.num_critics, d.obs_dim + d.act_dim, 1, std::vector<int64_t>{c.hidden, c.hidden}),
        q_target_(c.num_critics, d.obs_dim + d.act_dim, 1,
                  std::vector<int64_t>{c.hidden, c.hidden}),
        value_(d.obs_dim, 1, nn::MlpOptions{.hidden = {c.hidden, c.hidden}}),
        actor_flat_(*actor_),
        q_flat_(*q_),
        q_target_flat_(*q_target_),
        value_flat_(*value_),
        actor_adam_(fused_steps::flat_adam(actor_flat_, c.actor_lr)),
        q_adam_(fused_steps::flat_adam(q_flat_, c.critic_lr)),
        value_adam_(fused_steps::flat_adam(value_flat_, c.value_lr)) {
    // RIQL.py's VectorizedQ: EDAC's initialisation (hidden biases 0.1, last layer U(+-3e-3)).
    if (c.robust) nn::edac_init(*q_, 0.1, 3e-3);
    nn::hard_update(*q_target_, *q_);
    const auto members = static_cast<size_t>(c.num_critics);
    // Half h of the batch writes its gradients into buffer h (h = 0: the FlatParameters' own).
    actor_grad1_ = torch::zeros({actor_flat_.size()});
    q_grad1_ = torch::zeros({q_flat_.size()});
    value_grad1_ = torch::zeros({value_flat_.size()});
    for (int h = 0; h < 2; ++h) {
      Half& half = halves_[h];
      half.actor_grad = h == 0 ? actor_flat_.grad() : actor_grad1_.data_ptr<float>();
      float* q_grad = h == 0 ? q_flat_.grad() : q_grad1_.data_ptr<float>();
      half.actor = nn::fused_mlp(actor_->action_layers(), actor_flat_, half.actor_grad);
      half.value = nn::fused_mlp(value_->relu_linear_layers(), value_flat_,
                                 h == 0 ? value_flat_.grad() : value_grad1_.data_ptr<float>());
      half.q.resize(members);
      half.q_target.resize(members);
      half.tape_q.resize(members);
      half.tape_target.resize(members);
      half.dq.resize(members);
      for (size_t k = 0; k < members; ++k) {
        half.q[k] = nn::fused_member(*q_, static_cast<int64_t>(k), q_flat_, q_grad);
        half.q_target[k] =
            nn::fused_member(*q_target_, static_cast<int64_t>(k), q_target_flat_, nullptr);
      }
    }
  }

  std::string name() const override { return config_.robust ? "riql" : "iql"; }
  void set_total_steps(int64_t total) { total_steps_ = total; }

  // One step on the fused path (nn/fused_mlp.h). As in CORL's IQL, V(s') and the advantage come
  // from V before its own step, so every loss of the step is a sum over rows of terms that
  // depend only on the parameters at the start of the step. The batch is cut in two halves,
  // one task each (both on the calling thread with 1 compute thread): target Qs, V(s), V(s'),
  // the three losses and all backward passes, each half into its own gradient buffers. A second
  // pair of tasks sums the halves' gradients and runs Adam and the Polyak update, half of each
  // buffer each. The cut is the same whatever the thread count and each task runs
  // single-threaded BLAS, so 1 and 2 threads give the same numbers.
  Metrics update(const TensorBatch& b) override {
    const fused_steps::RawBatch raw(b);
    const int64_t n = raw.rows, obs = dims_.obs_dim, act = dims_.act_dim, cols = obs + act;
    const float *s = raw.s, *a = raw.a, *s2 = raw.s2, *r = raw.r, *term = raw.terminal,
                *disc = raw.discount;
    sa_.resize(static_cast<size_t>(n * cols));
    for (auto* v : {&advantage_, &target_, &dv_}) v->resize(static_cast<size_t>(n));
    dmean_.resize(static_cast<size_t>(n * act));
    const SingleThreadedBlas single_blas;
    fused_steps::task_pool(pool_);
    const int64_t split = n / 2;
    const float expectile = static_cast<float>(config_.expectile);
    const int members = static_cast<int>(config_.num_critics);
    const float alpha = static_cast<float>(config_.quantile);
    const float huber = config_.robust ? static_cast<float>(config_.huber_delta) : 0.0f;
    // IQL: each member's mean squared error, summed over the two; RIQL: the Huber loss averaged
    // over members and rows.
    const int64_t q_batch = config_.robust ? n * members : n;

    pool_->parallel_for(2, [&](int64_t hi) {
      Half& h = halves_[hi];
      h.stats = {};
      const int64_t r0 = hi == 0 ? 0 : split, m = hi == 0 ? split : n - split;
      float* sa = sa_.data() + r0 * cols;
      nn::fused::concat_columns(s + r0 * obs, obs, a + r0 * act, act, m, sa);
      for (int k = 0; k < members; ++k) nn::fused::forward(h.q_target[k], sa, m, h.tape_target[k]);
      nn::fused::forward(h.value, s + r0 * obs, m, h.tape_v);
      nn::fused::forward(h.value, s2 + r0 * obs, m, h.tape_v_next);
      const float *v = h.tape_v.output(), *vn = h.tape_v_next.output();
      float* advantage = advantage_.data() + r0;
      h.member_q.resize(static_cast<size_t>(members));
      for (int64_t i = 0; i < m; ++i) {
        // V's target: the min of the target Qs (IQL), or their alpha-quantile (RIQL).
        float target_q = h.tape_target[0].output()[i];
        if (config_.robust) {
          for (int k = 0; k < members; ++k) h.member_q[k] = h.tape_target[k].output()[i];
          target_q = losses::quantile(h.member_q.data(), members, alpha);
        } else {
          for (int k = 1; k < members; ++k)
            target_q = std::min(target_q, h.tape_target[k].output()[i]);
        }
        advantage[i] = target_q - v[i];
        h.stats.advantage += advantage[i];
      }
      float* q_target = target_.data() + r0;
      losses::td_target(r + r0, disc + r0, term + r0, vn, m, q_target);  // for Q
      if (config_.robust) {
        for (int64_t i = 0; i < m; ++i)
          q_target[i] = std::clamp(q_target[i], kRiqlTargetMin, kRiqlTargetMax);
      }
      // V: expectile regression towards the target Q, u = the advantage.
      h.stats.value_loss = losses::expectile_loss(advantage, m, expectile, n, dv_.data() + r0);
      nn::fused::backward(h.value, h.tape_v, dv_.data() + r0, nullptr);
      for (int k = 0; k < members; ++k) {  // Q: sum_k mean (Q_k(s, a) - target)^2, or Huber
        const auto [loss, q_sum] = fused_steps::td_member_step(
            h.q[k], h.tape_q[k], sa, target_.data() + r0, m, q_batch, h.dq[k], huber);
        h.stats.q_loss += loss;
        h.stats.q_sum += q_sum;
      }
      h.stats.actor_loss = actor_backward(h, s + r0 * obs, a + r0 * act, r0, m, n);
    });

    if (config_.cosine_schedule && total_steps_ > 0) {
      const double progress =
          std::min(1.0, static_cast<double>(steps_) / static_cast<double>(total_steps_));
      actor_adam_->options.lr = static_cast<float>(config_.actor_lr * 0.5 *
                                                   (1.0 + std::cos(std::numbers::pi * progress)));
    }
    for (auto* adam : {&actor_adam_, &q_adam_, &value_adam_}) (*adam)->advance();
    const float tau = static_cast<float>(config_.tau);
    pool_->parallel_for(2, [&](int64_t hi) {  // sum the halves' gradients, Adam, Polyak
      const int h = static_cast<int>(hi);
      fused_steps::adam_half(h, value_adam_, value_flat_, value_grad1_.data_ptr<float>());
      fused_steps::adam_half(h, actor_adam_, actor_flat_, actor_grad1_.data_ptr<float>());
      fused_steps::adam_half(h, q_adam_, q_flat_, q_grad1_.data_ptr<float>(), &q_target_flat_, tau);
    });

    ++steps_;
    const Stats& h0 = halves_[0].stats;
    const Stats& h1 = halves_[1].stats;
    const double nd = static_cast<double>(n);
    return {{"value_loss", (h0.value_loss + h1.value_loss) / nd},
            {"q_loss", h0.q_loss + h1.q_loss},
            {"actor_loss", h0.actor_loss + h1.actor_loss},
            {"q_mean", (h0.q_sum + h1.q_sum) / (static_cast<double>(members) * nd)},
            {"advantage_mean", (h0.advantage + h1.advantage) / nd}};
  }

  void load(torch::serialize::InputArchive& archive) override {
    Algorithm::load(archive);
    for (auto* f : {&actor_flat_, &q_flat_, &q_target_flat_, &value_flat_}) f->rebind();
  }

  torch::Tensor act(const torch::Tensor& obs, bool deterministic) override {
    torch::NoGradGuard no_grad;
    if (deterministic) return actor_->mean(obs);
    return actor_->sample(obs, &generator_).clamp(-dims_.max_action, dims_.max_action);
  }

  std::vector<std::pair<std::string, torch::nn::Module*>> modules() override {
    return {{"actor", actor_.get()},           {"q", q_.get()},
            {"q_target", q_target_.get()},     {"value", value_.get()},
            {"actor_adam", actor_adam_.get()}, {"q_adam", q_adam_.get()},
            {"value_adam", value_adam_.get()}};
  }
  std::vector<std::pair<torch::Tensor, torch::Tensor>> policy_layers() override {
    return actor_->action_layers();
  }
  torch::Tensor q_values(const torch::Tensor& obs, const torch::Tensor& actions) override {
    return q_->forward(torch::cat({obs, actions}, 1)).squeeze(-1);
  }
  std::vector<std::pair<std::string, torch::optim::Optimizer*>> optimizers() override {
    return {};  // Adam's state lives in the *_adam modules
  }

 private:
  IqlConfig config_;
  AlgoDims dims_;
  nn::GaussianPolicy actor_;
  nn::EnsembleMlp q_, q_target_;
  nn::Mlp value_;
  nn::FlatParameters actor_flat_, q_flat_, q_target_flat_, value_flat_;
  nn::FlatAdam actor_adam_, q_adam_, value_adam_;
  int64_t total_steps_ = 0;

  struct Stats {
    double value_loss = 0, q_loss = 0, q_sum = 0, advantage = 0, actor_loss = 0;
  };
  struct Half {  // one half of the batch: its views, tapes and partial sums
    nn::fused::Mlp actor, value;
    std::vector<nn::fused::Mlp> q, q_target;  // one per member
    nn::fused::Tape tape_actor, tape_v, tape_v_next;
    std::vector<nn::fused::Tape> tape_q, tape_target;
    std::vector<std::vector<float>> dq;
    std::vector<float> member_q;  // one row's target Qs (RIQL's quantile)
    float* actor_grad = nullptr;  // for log_std's slot
    Stats stats;
  };

  // Advantage-weighted regression on rows [r0, r0 + m) of n, L = -mean(min(exp(beta A),
  // max_weight) log pi(a|s)) with pi = N(max_action tanh(mlp(s)), exp(clamp(log_std))): writes
  // this half's gradient (log_std included) and returns its part of L.
  double actor_backward(Half& h, const float* s, const float* a, int64_t r0, int64_t m, int64_t n) {
    const int64_t act = dims_.act_dim;
    nn::fused::forward(h.actor, s, m, h.tape_actor);
    const float* pre = h.tape_actor.output();
    const float max_a = static_cast<float>(dims_.max_action);
    const float* log_std_raw = actor_->log_std().data_ptr<float>();
    float* g_log_std = actor_flat_.slot_of(actor_->log_std(), h.actor_grad);
    const float lo = static_cast<float>(actor_->log_std_min()),
                hi = static_cast<float>(actor_->log_std_max());
    const float beta = static_cast<float>(config_.temperature),
                max_w = static_cast<float>(config_.max_weight);
    constexpr double kLogSqrt2Pi = 0.91893853320467274178;  // log(sqrt(2 pi))
    std::vector<float> inv_std(static_cast<size_t>(act));
    std::vector<double> g_ls(static_cast<size_t>(act), 0.0);
    double log_std_sum = 0;
    for (int64_t j = 0; j < act; ++j) {
      const float ls = std::clamp(log_std_raw[j], lo, hi);
      log_std_sum += ls;
      inv_std[j] = std::exp(-ls);
    }
    float* dmean = dmean_.data() + r0 * act;
    double loss = 0;
    for (int64_t i = 0; i < m; ++i) {
      const float w = losses::awr_weight(advantage_[r0 + i], beta, max_w);
      const float coef = -w / static_cast<float>(n);  // dL/dlog_prob
      double log_prob = -log_std_sum - static_cast<double>(act) * kLogSqrt2Pi;
      for (int64_t j = 0; j < act; ++j) {
        const float t = std::tanh(pre[i * act + j]);
        const float z = (a[i * act + j] - max_a * t) * inv_std[j];
        log_prob += -0.5 * static_cast<double>(z) * z;
        // d log_prob / d mean = z / std; d mean / d pre = max_a (1 - tanh^2)
        dmean[i * act + j] = coef * z * inv_std[j] * max_a * (1.0f - t * t);
        g_ls[j] += static_cast<double>(coef) *
                   (static_cast<double>(z) * z - 1.0);  // d log_prob / d ls = z^2 - 1
      }
      loss += static_cast<double>(coef) * log_prob;
    }
    for (int64_t j = 0; j < act; ++j) {  // clamp passes the gradient inside [lo, hi]
      g_log_std[j] =
          (log_std_raw[j] >= lo && log_std_raw[j] <= hi) ? static_cast<float>(g_ls[j]) : 0.0f;
    }
    nn::fused::backward(h.actor, h.tape_actor, dmean, nullptr);
    return loss;
  }

  Half halves_[2];
  torch::Tensor actor_grad1_, q_grad1_, value_grad1_;  // the second half's gradients
  std::vector<float> sa_, advantage_, target_, dv_, dmean_;
  std::unique_ptr<ThreadPool> pool_;
};

std::unique_ptr<Algorithm> make_iql(const AlgoConfig& c, const AlgoDims& d, uint64_t seed) {
  auto algo = std::make_unique<Iql>(dynamic_cast<const IqlConfig&>(c), d, seed);
  algo->set_total_steps(d.total_steps);
  return algo;
}

}  // namespace

STITCH_REGISTER_ALGORITHM(
    iql, {.name = "iql",
          .summary = "IQL (Kostrikov et al. 2021): expectile V, TD Q, advantage-weighted actor",
          .normalize_observations = true,
          .locomotion_reward_scaling = true,
          // bf16 scored 12 points below fp32 on walker2d-medium-replay over 6 paired seeds
          // (an interval reaching above 0): fp32 under auto, as a precaution (docs/results.md).
          .bf16_auto = false,
          // Continued online with its offline losses; the actor's cosine schedule, which ended
          // at lr 0 with pre-training, off (a constant lr, as online).
          .finetune = {.from = {"iql"}, .set = {"cosine_schedule=false"}},
          .make_config = [] { return std::make_unique<IqlConfig>(); },
          .make = make_iql});

STITCH_REGISTER_ALGORITHM(
    riql,
    {.name = "riql",
     .summary = "RIQL (Yang et al. 2024): IQL robust to corrupted data (K Qs, quantile, Huber)",
     .normalize_observations = true,
     .locomotion_reward_scaling = false,
     .bf16_auto = false,  // IQL's update: as IQL
     .make_config =
         [] {
           auto c = std::make_unique<IqlConfig>();
           c->robust = true;
           c->num_critics = 5;
           return c;
         },
     .make = make_iql});

}  // namespace stitch
