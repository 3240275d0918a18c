#include "algo/td3.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <tuple>

#include "algo/algorithm.h"
#include "algo/fused_steps.h"
#include "algo/losses.h"
#include "core/config.h"
#include "core/error.h"
#include "core/runtime.h"
#include "core/thread_pool.h"
#include "nn/nn.h"

namespace stitch {
namespace {

// Flax's LayerNorm epsilon (CORL's ReBRAC is JAX); torch's default is 1e-5.
constexpr double kFlaxLayerNormEps = 1e-6;

std::vector<int64_t> widths(const Td3Config& c) {
  return std::vector<int64_t>(static_cast<size_t>(c.hidden_layers), c.hidden);
}

nn::EnsembleMlp make_critic(const Td3Config& c, const AlgoDims& d) {
  return nn::EnsembleMlp(2, d.obs_dim + d.act_dim, 1, widths(c), c.rebrac() && c.critic_layer_norm,
                         kFlaxLayerNormEps);
}

class Td3 : public Algorithm {
 public:
  Td3(const Td3Config& c, const AlgoDims& d, uint64_t seed)
      : Algorithm(seed),
        config_(c),
        dims_(d),
        actor_(d.obs_dim, d.act_dim, nn::MlpOptions{.hidden = widths(c)}, d.max_action),
        actor_target_(d.obs_dim, d.act_dim, nn::MlpOptions{.hidden = widths(c)}, d.max_action),
        critic_(make_critic(c, d)),
        critic_target_(make_critic(c, d)),
        actor_flat_(*actor_),
        actor_target_flat_(*actor_target_),
        critic_flat_(*critic_),
        critic_target_flat_(*critic_target_),
        actor_adam_(fused_steps::flat_adam(actor_flat_, c.actor_lr)),
        critic_adam_(fused_steps::flat_adam(critic_flat_, c.critic_lr)) {
    if (c.rebrac()) {
      // CORL's ReBRAC: hidden biases 0.1, the last layers' weights and biases U(-1e-3, 1e-3)
      // (actor) and U(-3e-3, 3e-3) (critics); hidden weights as torch's default (its pytorch_init).
      nn::edac_init(*critic_, 0.1, 3e-3);
      nn::edac_init(actor_->action_layers(), 0.1, 1e-3);  // views of the parameters
    }
    nn::hard_update(*actor_target_, *actor_);
    nn::hard_update(*critic_target_, *critic_);
    actor_grad_half_ = torch::zeros({actor_flat_.size()});
    for (int h = 0; h < 2; ++h) {
      // Half h of the batch writes its actor gradient into its own buffer; the two are summed.
      actor_net_[h] =
          nn::fused_mlp(actor_->action_layers(), actor_flat_,
                        h == 0 ? actor_flat_.grad() : actor_grad_half_.data_ptr<float>());
      actor_target_net_[h] =
          nn::fused_mlp(actor_target_->action_layers(), actor_target_flat_, nullptr);
    }
    for (int k = 0; k < 2; ++k) {
      critic_net_[k] = nn::fused_member(*critic_, k, critic_flat_, critic_flat_.grad());
      critic_target_net_[k] = nn::fused_member(*critic_target_, k, critic_target_flat_, nullptr);
    }
    for (int k = 0; k < 2; ++k) q_frozen_[k] = nn::fused_member(*critic_, k, critic_flat_, nullptr);
  }

  std::string name() const override {
    return config_.rebrac() ? "rebrac" : config_.bc() ? "td3_bc" : "td3";
  }

  // One step on the fused path (nn/fused_mlp.h), as two tasks per phase on the compute threads:
  //   target (rows split in halves): pi'(s') + noise, both target critics, the TD target;
  //   critics (one member each): forward, backward; then Adam on half of the buffer each;
  //   actor, every policy_freq steps (rows split): pi(s) and Q1; then the backward passes;
  //   then the two halves' gradients summed, Adam and Polyak. (The critics' Polyak update joins
  //   their Adam step on those steps: the actor's step reads the critics, never their targets.)
  // The split is the same whatever the thread count and each task runs single-threaded BLAS,
  // so 1 and 2 threads give the same numbers.
  Metrics update(const TensorBatch& b) override {
    const fused_steps::RawBatch raw(b);
    const int64_t n = raw.rows, obs = dims_.obs_dim, act = dims_.act_dim, cols = obs + act;
    const float *s = raw.s, *a = raw.a, *s2 = raw.s2, *r = raw.r, *term = raw.terminal,
                *disc = raw.discount;
    const float max_a = static_cast<float>(dims_.max_action);
    const SingleThreadedBlas single_blas;
    fused_steps::task_pool(pool_);
    auto in_halves = [&](auto&& fn) {
      pool_->parallel_for(2, [&](int64_t h) { fn(static_cast<int>(h)); });
    };
    const int64_t split = n / 2;
    auto begin_of = [&](int h) { return h == 0 ? int64_t{0} : split; };
    auto rows_of = [&](int h) { return h == 0 ? split : n - split; };
    sa_.resize(static_cast<size_t>(n * cols));
    sa_next_.resize(static_cast<size_t>(n * cols));
    next_action_.resize(static_cast<size_t>(n * act));
    target_.resize(static_cast<size_t>(n));

    // Target: r + discount * min_k Q'_k(s', a') with a' = clip(pi'(s') + clip(noise)); ReBRAC
    // subtracts critic_bc_coef ||a' - a'_data||^2 from the min, a'_data the dataset's next
    // action (none where the episode ends: terminal rows do not bootstrap, and at a truncation
    // the penalty is left out; CORL drops those rows).
    STITCH_CHECK(!config_.rebrac() || raw.next_a != nullptr,
                 "rebrac: the batch has no next actions (SamplerOptions::next_actions)");
    const float critic_bc = static_cast<float>(config_.critic_bc_coef);
    const auto noise = (torch::randn({n, act}, generator_) * (config_.policy_noise * max_a))
                           .clamp(-config_.noise_clip * max_a, config_.noise_clip * max_a);
    const float* eps = noise.data_ptr<float>();
    in_halves([&](int h) {
      const int64_t r0 = begin_of(h), m = rows_of(h);
      nn::fused::forward(actor_target_net_[h], s2 + r0 * obs, m, tape_actor_[h]);
      const float* pre = tape_actor_[h].output();
      float* na = next_action_.data() + r0 * act;
      for (int64_t i = 0; i < m * act; ++i)
        na[i] = std::clamp(max_a * std::tanh(pre[i]) + eps[r0 * act + i], -max_a, max_a);
      float* x = sa_next_.data() + r0 * cols;
      nn::fused::concat_columns(s2 + r0 * obs, obs, na, act, m, x);
      nn::fused::forward(critic_target_net_[0], x, m, tape_target_[h][0]);
      nn::fused::forward(critic_target_net_[1], x, m, tape_target_[h][1]);
      const float *t1 = tape_target_[h][0].output(), *t2 = tape_target_[h][1].output();
      float* target = target_.data() + r0;
      for (int64_t i = 0; i < m; ++i) target[i] = std::min(t1[i], t2[i]);
      if (config_.rebrac()) {
        for (int64_t i = r0; i < r0 + m; ++i) {
          if (raw.next_a_valid[i] == 0.0f) continue;
          float sq = 0.0f;
          for (int64_t j = 0; j < act; ++j) {
            const float d = next_action_[i * act + j] - raw.next_a[i * act + j];
            sq += d * d;
          }
          target[i - r0] -= critic_bc * sq;
        }
      }
      losses::td_target(r + r0, disc + r0, term + r0, target, m, target);
    });

    // Critics: sum_k mean_b (Q_k(s, a) - target)^2, one member per task.
    nn::fused::concat_columns(s, obs, a, act, n, sa_.data());
    double loss[2] = {0, 0}, q_sum[2] = {0, 0};
    in_halves([&](int k) {
      std::tie(loss[k], q_sum[k]) = fused_steps::td_member_step(
          critic_net_[k], tape_critic_[k], sa_.data(), target_.data(), n, n, dq_[k]);
    });
    // Adam; on actor steps also the critics' Polyak update (nothing below reads the targets).
    // Updates 2, 4, 6, ... (policy_freq 2) move the actor and the targets: the authors count
    // updates from 1 and check after counting (sfujim/TD3, TD3.py; the same in TD3_BC and CORL).
    // ReBRAC's (CORL's rebrac.py: i % policy_freq == 0 counting from 0) are updates 1, 3, 5, ...
    const bool actor_step_now = (steps_ + (config_.rebrac() ? 0 : 1)) % config_.policy_freq == 0;
    const float tau = static_cast<float>(config_.tau);
    critic_adam_->advance();
    in_halves([&](int h) {
      fused_steps::adam_half(h, critic_adam_, critic_flat_, nullptr,
                             actor_step_now ? &critic_target_flat_ : nullptr, tau);
    });
    Metrics m{{"critic_loss", loss[0] + loss[1]},
              {"q_mean", (q_sum[0] + q_sum[1]) / static_cast<double>(2 * n)}};

    if (actor_step_now) last_actor_loss_ = actor_step(s, a, n, in_halves, begin_of, rows_of);
    m["actor_loss"] = last_actor_loss_;
    ++steps_;
    return m;
  }

  void load(torch::serialize::InputArchive& archive) override {
    Algorithm::load(archive);
    for (auto* f : {&actor_flat_, &actor_target_flat_, &critic_flat_, &critic_target_flat_})
      f->rebind();
  }

  torch::Tensor act(const torch::Tensor& obs, bool deterministic) override {
    torch::NoGradGuard no_grad;
    const auto a = actor_->forward(obs);
    // Exploration: TD3's Gaussian noise, also for TD3+BC fine-tuned online (stitch finetune).
    if (deterministic) return a;
    const double max_a = dims_.max_action;
    return (a + torch::randn(a.sizes(), generator_) * (config_.exploration_noise * max_a))
        .clamp(-max_a, max_a);
  }

  std::vector<std::pair<std::string, torch::nn::Module*>> modules() override {
    return {{"actor", actor_.get()},           {"actor_target", actor_target_.get()},
            {"critic", critic_.get()},         {"critic_target", critic_target_.get()},
            {"actor_adam", actor_adam_.get()}, {"critic_adam", critic_adam_.get()}};
  }
  std::vector<std::pair<torch::Tensor, torch::Tensor>> policy_layers() override {
    return actor_->action_layers();
  }
  torch::Tensor q_values(const torch::Tensor& obs, const torch::Tensor& actions) override {
    return critic_->forward(torch::cat({obs, actions}, 1)).squeeze(-1);
  }
  std::vector<std::pair<std::string, torch::optim::Optimizer*>> optimizers() override {
    return {};  // Adam's state lives in the *_adam modules
  }

 private:
  Td3Config config_;
  AlgoDims dims_;
  nn::DeterministicPolicy actor_, actor_target_;
  nn::EnsembleMlp critic_, critic_target_;
  nn::FlatParameters actor_flat_, actor_target_flat_, critic_flat_, critic_target_flat_;
  nn::FlatAdam actor_adam_, critic_adam_;
  double last_actor_loss_ = 0.0;

  // The actor's step through the critics (their weights fixed; no gradient through lambda):
  //   TD3:    L = -mean Q1(s, pi(s));
  //   TD3+BC: L = -lambda mean Q1(s, pi(s)) + mean((pi(s) - a)^2), lambda = alpha / mean|Q1|;
  //   ReBRAC: L = mean_b(actor_bc_coef ||pi(s) - a||^2 - lambda min_k Q_k(s, pi(s))), lambda =
  //           1 / mean|min_k Q_k| with normalize_q, else 1 (the min's gradient goes to the
  //           smaller member, the first of equal values).
  // Returns L; runs the actor's Adam and Polyak update (ReBRAC's target actor mixes in the
  // parameters from before this step, as CORL's rebrac.py does).
  template <typename Halves, typename Begin, typename Rows>
  double actor_step(const float* s, const float* a, int64_t n, Halves& in_halves, Begin& begin_of,
                    Rows& rows_of) {
    const int64_t obs = dims_.obs_dim, act = dims_.act_dim, cols = obs + act;
    const float max_a = static_cast<float>(dims_.max_action);
    const int members = config_.rebrac() ? 2 : 1;
    pi_.resize(static_cast<size_t>(n * act));
    dsa_[0].resize(static_cast<size_t>(n * cols));
    dsa_[1].resize(static_cast<size_t>(n * cols));
    dpre_.resize(static_cast<size_t>(n * act));
    argmin_.resize(static_cast<size_t>(n));
    for (auto& d : dq_) d.resize(static_cast<size_t>(n));
    double q_sum[2] = {0, 0}, q_abs[2] = {0, 0}, mse[2] = {0, 0};
    in_halves([&](int h) {  // pi(s) and Q(s, pi(s))
      const int64_t r0 = begin_of(h), m = rows_of(h);
      nn::fused::forward(actor_net_[h], s + r0 * obs, m, tape_actor_[h]);
      const float* pre = tape_actor_[h].output();
      float* pi = pi_.data() + r0 * act;
      for (int64_t i = 0; i < m * act; ++i) pi[i] = max_a * std::tanh(pre[i]);
      nn::fused::concat_columns(s + r0 * obs, obs, pi, act, m, sa_.data() + r0 * cols);
      for (int k = 0; k < members; ++k)
        nn::fused::forward(q_frozen_[k], sa_.data() + r0 * cols, m, tape_q_[h][k]);
      const float* q1 = tape_q_[h][0].output();
      const float* q2 = members > 1 ? tape_q_[h][1].output() : q1;
      for (int64_t i = 0; i < m; ++i) {
        const bool second = q2[i] < q1[i];
        const float q = second ? q2[i] : q1[i];
        argmin_[r0 + i] = second ? 1 : 0;
        q_sum[h] += q;
        q_abs[h] += std::abs(q);
      }
    });
    const double q_mean = (q_sum[0] + q_sum[1]) / static_cast<double>(n);
    double lambda = 1.0;
    if (config_.rebrac()) {
      if (config_.normalize_q) lambda = losses::td3_bc_lambda(1.0, q_abs[0] + q_abs[1], n);
    } else if (config_.bc()) {
      lambda = losses::td3_bc_lambda(config_.alpha, q_abs[0] + q_abs[1], n);
    }
    const float dq = static_cast<float>(-lambda / static_cast<double>(n));  // dL/dQ
    const float actor_bc = static_cast<float>(config_.actor_bc_coef);
    in_halves([&](int h) {  // back through the critics to the action, then through the actor
      const int64_t r0 = begin_of(h), m = rows_of(h);
      for (int k = 0; k < members; ++k) {
        for (int64_t i = r0; i < r0 + m; ++i) dq_[k][i] = argmin_[i] == k ? dq : 0.0f;
        nn::fused::backward(q_frozen_[k], tape_q_[h][k], dq_[k].data() + r0,
                            dsa_[k].data() + r0 * cols);
      }
      const float* dsa0 = dsa_[0].data() + r0 * cols;
      const float* dsa1 = dsa_[1].data() + r0 * cols;
      float* dpi = dpre_.data() + r0 * act;  // dL/dpi, then dL/dpre in place
      const float* pi = pi_.data() + r0 * act;
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < act; ++j) {
          const int64_t c = i * cols + obs + j;
          dpi[i * act + j] = members > 1 ? dsa0[c] + dsa1[c] : dsa0[c];
        }
      }
      if (config_.rebrac()) {
        mse[h] = losses::behaviour_cloning(pi, a + r0 * act, m * act, n, dpi, actor_bc);
      } else if (config_.bc()) {
        mse[h] = losses::behaviour_cloning(pi, a + r0 * act, m * act, n * act, dpi);
      }
      for (int64_t e = 0; e < m * act; ++e) {
        const float t = pi[e] / max_a;
        dpi[e] = dpi[e] * max_a * (1.0f - t * t);
      }
      nn::fused::backward(actor_net_[h], tape_actor_[h], dpi, nullptr);
    });
    actor_adam_->advance();
    const float tau = static_cast<float>(config_.tau);
    in_halves([&](int h) {  // gradient = first half's + second half's; Adam and Polyak on half the
                            // buffer each
      fused_steps::adam_half(h, actor_adam_, actor_flat_, actor_grad_half_.data_ptr<float>(),
                             &actor_target_flat_, tau, /*target_first=*/config_.rebrac());
    });
    if (config_.rebrac()) {
      return config_.actor_bc_coef * (mse[0] + mse[1]) / static_cast<double>(n) - lambda * q_mean;
    }
    return losses::td3_bc_actor_loss(lambda, q_mean, config_.bc(), mse[0] + mse[1], n * act);
  }

  nn::fused::Mlp actor_net_[2], actor_target_net_[2], critic_net_[2], critic_target_net_[2],
      q_frozen_[2];
  nn::fused::Tape tape_actor_[2], tape_q_[2][2], tape_critic_[2], tape_target_[2][2];
  std::vector<float> sa_, sa_next_, next_action_, target_, dq_[2], pi_, dsa_[2], dpre_;
  std::vector<uint8_t> argmin_;    // per row: the critic with the smaller Q(s, pi(s))
  torch::Tensor actor_grad_half_;  // the second half-batch's actor gradient
  std::unique_ptr<ThreadPool> pool_;
};

}  // namespace

Td3Config::Td3Config(Td3Variant v) : variant(v) {
  if (rebrac()) {
    actor_lr = critic_lr = 1e-3;
    hidden_layers = 3;
  }
}

void Td3Config::describe(ConfigFields& f) {
  f.add("actor_lr", actor_lr, "actor learning rate", kRateRange);
  f.add("critic_lr", critic_lr, "critic learning rate", kRateRange);
  f.add("tau", tau, "target network update rate", kRateRange);
  // Noise is in units of max_action; actions are clipped to +-max_action, so 10 is plenty.
  f.add("policy_noise", policy_noise, "target smoothing noise std (times max_action)",
        {.min = 0, .max = 10});
  f.add("noise_clip", noise_clip, "target smoothing noise clip (times max_action)",
        {.min = 0, .max = 10});
  f.add("policy_freq", policy_freq, "critic updates per actor update", {.min = 1, .max = 1000});
  if (rebrac()) {
    f.add("actor_bc_coef", actor_bc_coef, "weight of the actor's BC term ||pi(s) - a||^2",
          {.min = 0, .max = 1e6});
    f.add("critic_bc_coef", critic_bc_coef,
          "weight of the target's penalty ||a' - a'_data||^2 (0: none)", {.min = 0, .max = 1e6});
    f.add("normalize_q", normalize_q, "divide the actor's Q term by mean|min Q|");
    f.add("critic_layer_norm", critic_layer_norm,
          "LayerNorm after each hidden ReLU of the critics");
  } else if (bc()) {
    f.add("alpha", alpha, "BC weight: lambda = alpha / mean|Q|",
          {.min = 0, .max = 1e6, .min_open = true});
  } else {
    f.add("exploration_noise", exploration_noise, "acting noise std (times max_action)",
          {.min = 0, .max = 10});
  }
  f.add("hidden", hidden, "hidden width", {.min = 1, .max = 65536});
  f.add("hidden_layers", hidden_layers, "hidden layers of the actor and the critics",
        {.min = 1, .max = 16});
}

std::unique_ptr<Algorithm> make_td3(const Td3Config& config, const AlgoDims& dims, uint64_t seed) {
  return std::make_unique<Td3>(config, dims, seed);
}

}  // namespace stitch
