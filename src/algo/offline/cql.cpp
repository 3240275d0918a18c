// CQL: Kumar, Zhou, Tucker & Levine 2020, "Conservative Q-Learning for Offline Reinforcement
// Learning", the SAC-based CQL(H) with importance-sampled logsumexp (the paper's App. F), as
// CORL runs it on locomotion (algorithms/offline/cql.py and configs/offline/cql/*/*_v2.yaml;
// docs/reference-implementations.md):
//   - conservative weight (CORL's cql_alpha) 10, with or without the Lagrange variant;
//   - policy lr 3e-5 and Q lr 3e-4; the entropy temperature's lr is the policy's, the Lagrange
//     multiplier's the Q's; log alpha starts at 0, log alpha' at 1;
//   - 3x256 networks; critics initialised orthogonally (gain sqrt(2), last layer 1e-2, biases
//     0), the actor's last layer xavier-uniform with gain 1e-2, the actor's log_std through a
//     learned scale and offset (starting at 1 and -1), clamped to [-20, 2];
//   - 10 sampled actions per kind (uniform, pi(s), pi(s') scored at s), target entropy
//     -act_dim, Polyak 5e-3, no entropy term in the TD backup;
//   - every loss from the parameters before the step: the TD target and the 3 N sampled
//     actions come from the not-yet-updated actor, the actor's loss from the not-yet-updated
//     critics and temperature; then the steps (CORL's order: alpha', alpha, actor, critics);
//   - CQL-Lagrange (--set cql.lagrange=true): alpha' = clamp(exp(log alpha'), 0, 1e6) tunes the
//     conservative term alpha' w (gap - target_gap) of each critic; its loss is the mean over
//     the two critics, -0.5 sum_k alpha' w (gap_k - target_gap).
// Reward scaling is off by default: CORL normalises rewards on hopper-medium only (one of its
// 18 locomotion configs); --set reward_scaling=locomotion does the same here.
// The paper's own settings differ (policy lr 1e-4, weight 5 without the Lagrange variant):
// set them with --set cql.actor_lr=1e-4 cql.conservative_weight=5.
// The actor, critics and temperature are the SAC core's (algo/sac_core.h); this file adds the
// conservative term, its Lagrange multiplier and the order of the steps.
// Ensembles (WSRL's pre-training, Zhou et al. 2024: `--use_redq`, 10 LayerNorm critics and the
// target's min over 2 drawn of them): --set cql.critics=10 cql.layer_norm=true
// cql.target_subsample=2. The conservative term then applies to every member (WSRL's code to the
// same 2 drawn members), and the Lagrange multiplier's loss is the mean over the members.
//
// Cal-QL (registered as "calql", algo/o2o/calql.cpp): Nakamoto et al. 2023, "Cal-QL: Calibrated
// Offline RL Pre-Training for Efficient Online Fine-Tuning", Eq. 5: in the logsumexp, the Q
// values at the policy's actions (the pi(s) and pi(s') blocks, not the uniform one) count as
// max(Q, G), G the state's Monte-Carlo discounted return-to-go in the batch (the sampler's for the
// dataset, algo/o2o/finetune.h's for online episodes), so that the pushed-down values stay above
// the behaviour policy's. Kept on online, as the authors' code does (CORL's cal_ql.py switches it
// off when online training starts).
//
// FamO2O (registered as "famo2o", algo/o2o/famo2o.{h,cpp}, which hold its defaults and the
// differences from the authors' code): the actor is a universal policy of [s, code(k)]. Each step
// first draws the balance model's k(s) and k(s') and the actor's training k (uniform offline, k(s)
// online); the TD target's and the pi(s') block's actions read k(s'), the pi(s) block's and the
// actor's the training k, the actor loss's Q term is scaled by it; then, before the actor's step
// (every loss from the parameters before the step), the balance model's step on
// -mean min_j Q_j(s, pi(s, code(k(s)))) through the fixed actor and critics.
#include "algo/offline/cql.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>

#include "algo/algorithm.h"
#include "algo/losses.h"
#include "algo/o2o/famo2o.h"
#include "algo/sac_core.h"
#include "core/error.h"
#include "core/runtime.h"
#include "nn/nn.h"

namespace stitch {
namespace {

struct CqlConfig : SacFamilyConfig {
  explicit CqlConfig(bool calibrated = false, bool family = false)
      : calibrated(calibrated), family(family) {
    actor_lr = 3e-5;
    alpha_lr = 3e-5;  // the entropy temperature's (CORL: the policy lr)
    layers = 3;
    if (family) {  // FamO2O's locomotion settings (algo/o2o/famo2o.cpp)
      actor_lr = 3e-4;
      alpha_lr = 3e-4;
      layers = 2;
      conservative_weight = 1.0;
      ensemble.layer_norm = true;
    }
  }
  double alpha_prime_lr = 3e-4;  // the Lagrange multiplier's (CORL: the Q lr)
  double conservative_weight = 10.0;
  int num_actions = 10;  // sampled actions per state for the logsumexp
  bool lagrange = false;
  double target_action_gap = 10.0;
  CriticEnsembleKeys ensemble;
  bool calibrated;  // Cal-QL (not a key: the algorithm's name)
  bool family;      // FamO2O (not a key: the algorithm's name)
  FamilyKeys family_keys;
  void describe(ConfigFields& f) override {
    describe_shared(f);
    ensemble.describe(f);
    if (family) family_keys.describe(f);
    f.add("alpha_prime_lr", alpha_prime_lr, "Lagrange multiplier learning rate", kRateRange);
    f.add("conservative_weight", conservative_weight, "weight of the CQL term",
          {.min = 0, .max = 1e6});
    f.add("num_actions", num_actions, "sampled actions per state", {.min = 1, .max = 1000});
    f.add("lagrange", lagrange, "tune the conservative weight (CQL-Lagrange)");
    f.add("target_action_gap", target_action_gap, "Lagrange target for the CQL gap",
          {.min = 0, .max = 1e6});
  }
};

class Cql : public SacCore {
 public:
  Cql(const CqlConfig& c, const AlgoDims& d, uint64_t seed)
      : SacCore(core_options(c, d), d, seed),
        config_(c),
        log_alpha_prime_(torch::ones({}, torch::requires_grad())),
        sampler_(*actor_, actor_flat_, nullptr),
        alpha_prime_optim_(std::vector<torch::Tensor>{log_alpha_prime_},
                           torch::optim::AdamOptions(c.alpha_prime_lr)),
        lse_scratch_(static_cast<size_t>(c.ensemble.critics)) {
    scalars_->register_parameter("log_alpha_prime", log_alpha_prime_);
    if (c.family) balance_ = std::make_unique<BalanceModel>(c.family_keys, d, c.widths());
  }

  std::string name() const override {
    return config_.family ? "famo2o" : config_.calibrated ? "calql" : "cql";
  }

  // One step, every loss from the parameters before it (CORL's update): the TD target from
  // the target Qs at a' ~ pi(s') without the entropy term, and the 3 N sampled actions per
  // state (random, pi(s), pi(s') at s), both from the actor before its step; then the actor
  // through the smaller Q and the temperature (two independent steps on one sample of pi(s),
  // with the critics and the temperature before their steps); then one pass of each Q member
  // over the data rows and the sampled actions for the TD and conservative terms together;
  // then the Lagrange multiplier. Draws: eps for pi(s'), the uniform actions, eps for the two
  // sampled blocks, eps for the actor's pi(s).
  Metrics update(const TensorBatch& b) override {
    const fused_steps::RawBatch raw(b);
    const int64_t batch = raw.rows, n = config_.num_actions, rep = batch * n;
    const SingleThreadedBlas single_blas;
    Metrics m;

    const double alpha = temperature();
    if (balance_) balance_->draw(raw.s, raw.s2, batch, generator_);
    const float* target = td_target(raw, std::nullopt, balance_ ? balance_->next_input() : nullptr);
    const int64_t rows = critic_input(raw);
    ActorInput input;
    if (balance_) {
      m["balance_q"] = balance_step(raw.s, batch);
      m["coefficient"] = balance_->mean_coefficient();
      input = {.x = balance_->input(), .q_scale = balance_->train_coefficients()};
    }
    const double actor_loss = policy_step(raw.s, batch, alpha, input).actor_loss;

    // L = sum_k [mean (Q_k(s, a) - target)^2 + c mean_s (logsumexp_j v_kj(s) - Q_k(s, a))], the
    // v_kj being Q_k at the 3 N sampled actions minus their log-density (importance sampling).
    const double log_uniform =
        -static_cast<double>(dims_.act_dim) * std::log(2.0 * dims_.max_action);
    const double alpha_prime = std::clamp(std::exp(log_alpha_prime_.item<double>()), 0.0, 1e6);
    const double c =
        config_.lagrange ? alpha_prime * config_.conservative_weight : config_.conservative_weight;
    const int members = critics();
    std::vector<double> td(members), gap(members), q_sum(members);
    const float* bound = raw.returns_to_go;
    STITCH_CHECK(!config_.calibrated || bound != nullptr,
                 "calql: the minibatch has no returns-to-go");
    critic_step(x_q_.data(), rows, [&](int k, const float* q, float* dq) {
      for (int64_t i = 0; i < batch; ++i) {
        const double d = static_cast<double>(q[i]) - target[i];
        td[k] += d * d;
        q_sum[k] += q[i];
        const int64_t at = batch + i * n;  // state i's first row in the first sampled block
        const double lse = losses::cql_logsumexp(
            {q + at, q + at + rep, q + at + 2 * rep},
            {log_pi_rep_.data() + i * n, log_pi_next_rep_.data() + i * n}, log_uniform, n, c, batch,
            {dq + at, dq + at + rep, dq + at + 2 * rep}, lse_scratch_[k],
            config_.calibrated ? bound[i] : -std::numeric_limits<float>::infinity());
        gap[k] += lse - q[i];
        dq[i] = static_cast<float>((2.0 * d - c) / static_cast<double>(batch));
      }
      td[k] /= static_cast<double>(batch);
      gap[k] /= static_cast<double>(batch);
    });
    double gap_sum = 0, td_sum = 0, q_total = 0;
    for (int k = 0; k < members; ++k) {  // in member order: the same sums on 1 and 2 threads
      gap_sum += gap[k];
      td_sum += td[k];
      q_total += q_sum[k];
    }
    if (config_.lagrange) {  // L' = -(1/N) alpha' w sum_k (gap_k - target_gap)
      scalar_adam_step(log_alpha_prime_, alpha_prime_optim_,
                       losses::cql_lagrange_gradient(log_alpha_prime_.item<double>(),
                                                     config_.conservative_weight / members, gap_sum,
                                                     members * config_.target_action_gap));
      m["alpha_prime"] = alpha_prime;
    }
    ++steps_;
    m["actor_loss"] = actor_loss;
    m["alpha"] = alpha;
    m["td_loss"] = td_sum;
    m["cql_gap"] = gap_sum / members;
    m["q_mean"] = q_total / static_cast<double>(members * batch);
    return m;
  }

  std::vector<std::pair<std::string, torch::optim::Optimizer*>> optimizers() override {
    auto optimizers = SacCore::optimizers();
    optimizers.emplace_back("alpha_prime", &alpha_prime_optim_);
    return optimizers;
  }

  // FamO2O: the universal policy at [obs, code(k)], k the balance model's deterministic choice.
  torch::Tensor act(const torch::Tensor& obs, bool deterministic) override {
    if (!balance_) return SacCore::act(obs, deterministic);
    torch::NoGradGuard no_grad;
    return actor_->sample(balance_->act_input(obs), deterministic, &generator_).first;
  }
  std::vector<std::pair<std::string, torch::nn::Module*>> modules() override {
    auto modules = SacCore::modules();
    if (balance_) {
      for (const auto& m : balance_->modules()) modules.push_back(m);
    }
    return modules;
  }
  void load(torch::serialize::InputArchive& archive) override {
    SacCore::load(archive);
    if (balance_) balance_->rebind();
  }
  std::vector<std::pair<torch::Tensor, torch::Tensor>> policy_layers() override {
    if (balance_) {
      fail(
          "famo2o: its policy is two networks (the balance model and the universal policy); the "
          "deployed-policy format holds one");
    }
    return SacCore::policy_layers();
  }

 private:
  // FamO2O's balance model step (before the actor's): a = pi(s, code(k(s))) from the actor
  // before its step (its own noise, no actor gradient), L = -mean_i min_j Q_j(s_i, a_i) through
  // the fixed critics, back through the actor to its input's code, then the balance model's step.
  // Returns -L (the mean min Q).
  double balance_step(const float* s, int64_t batch) {
    const int64_t act = dims_.act_dim, cols = dims_.obs_dim + kBalanceCodeDims;
    const auto eps = torch::randn({batch, act}, generator_);
    balance_action_.resize(static_cast<size_t>(batch * act));
    balance_log_pi_.resize(static_cast<size_t>(batch));
    sampler_.sample(balance_->balance_input(), batch, eps.data_ptr<float>(), balance_action_.data(),
                    balance_log_pi_.data());
    double min_q = 0;
    const float* da = frozen_q_action_gradient(
        s, balance_action_.data(), batch, [&](const float* const* q, float* const* dq) {
          // -mean min Q: min_q_actor_loss with alpha 0 (its log-density gradient unused).
          balance_dlog_pi_.resize(static_cast<size_t>(batch));
          min_q = -losses::min_q_actor_loss(q, critics(), balance_log_pi_.data(), batch, 0.0, dq,
                                            balance_dlog_pi_.data());
        });
    balance_dx_.resize(static_cast<size_t>(batch * cols));
    sampler_.backward(da, nullptr, nullptr, nullptr, balance_dx_.data());
    balance_->step(balance_dx_.data());
    return min_q;
  }

  // The Q members' input x_q_: the data rows [s, a], then per block (random, pi(s), pi(s')) N rows
  // per state, each with that state's observation (repeat_interleave); the log-densities of the
  // policy's blocks into log_pi_rep_ and log_pi_next_rep_. Draws the random actions and both
  // blocks' noise. Returns the number of rows.
  int64_t critic_input(const fused_steps::RawBatch& raw) {
    const int64_t batch = raw.rows, n = config_.num_actions, rep = batch * n;
    const int64_t obs = dims_.obs_dim, act = dims_.act_dim, cols = obs + act;
    auto resize = [](std::vector<float>& v, int64_t size) { v.resize(static_cast<size_t>(size)); };
    const auto random_actions =
        torch::rand({rep, act}, generator_) * (2.0 * dims_.max_action) - dims_.max_action;
    const auto eps_rep = torch::randn({rep, act}, generator_);
    const auto eps_next_rep = torch::randn({rep, act}, generator_);
    repeat_rows(raw.s, obs, batch, n, obs_rep_);
    // The actor's input: the states, or FamO2O's [s, code(k)] rows.
    const int64_t in = obs + (balance_ ? kBalanceCodeDims : 0);
    if (balance_) repeat_rows(balance_->input(), in, batch, n, actor_rep_);
    repeat_rows(balance_ ? balance_->next_input() : raw.s2, in, batch, n, next_rep_);
    resize(pi_rep_, rep * act);
    resize(pi_next_rep_, rep * act);
    resize(log_pi_rep_, rep);
    resize(log_pi_next_rep_, rep);
    tasks().parallel_for(2, [&](int64_t k) {  // two samplers, two tasks (no gradient through them)
      if (k == 0) {
        policy_.sample(balance_ ? actor_rep_.data() : obs_rep_.data(), rep,
                       eps_rep.data_ptr<float>(), pi_rep_.data(), log_pi_rep_.data());
      } else {
        sampler_.sample(next_rep_.data(), rep, eps_next_rep.data_ptr<float>(), pi_next_rep_.data(),
                        log_pi_next_rep_.data());
      }
    });
    const int64_t rows = batch + 3 * rep;
    resize(x_q_, rows * cols);
    nn::fused::concat_columns(raw.s, obs, raw.a, act, batch, x_q_.data());
    const float* blocks[3] = {random_actions.data_ptr<float>(), pi_rep_.data(),
                              pi_next_rep_.data()};
    for (int blk = 0; blk < 3; ++blk) {
      nn::fused::concat_columns(obs_rep_.data(), obs, blocks[blk], act, rep,
                                x_q_.data() + (batch + blk * rep) * cols);
    }
    return rows;
  }

  // out [rows n, cols]: each of the `rows` rows of x repeated n times (repeat_interleave).
  static void repeat_rows(const float* x, int64_t cols, int64_t rows, int64_t n,
                          std::vector<float>& out) {
    out.resize(static_cast<size_t>(rows * n * cols));
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        std::copy(x + i * cols, x + (i + 1) * cols, out.data() + (i * n + j) * cols);
      }
    }
  }

  static SacCoreOptions core_options(const CqlConfig& c, const AlgoDims& d) {
    SacCoreOptions o = sac_core_options(c, /*initial_alpha=*/1.0, -static_cast<double>(d.act_dim));
    o.corl_networks = true;
    c.ensemble.apply(o);
    if (c.family) o.actor_extra_inputs = kBalanceCodeDims;
    return o;
  }

  CqlConfig config_;
  torch::Tensor log_alpha_prime_;
  nn::FusedTanhGaussian sampler_;         // the actor's second set of tapes, no gradients
  torch::optim::Adam alpha_prime_optim_;  // one scalar: torch's Adam is fine
  std::vector<float> obs_rep_, actor_rep_, next_rep_, pi_rep_, pi_next_rep_, log_pi_rep_,
      log_pi_next_rep_, x_q_;
  std::unique_ptr<BalanceModel> balance_;  // FamO2O's
  std::vector<float> balance_action_, balance_log_pi_, balance_dlog_pi_, balance_dx_;
  std::vector<std::vector<double>> lse_scratch_;  // per member
};

}  // namespace

std::unique_ptr<AlgoConfig> make_cql_config(bool calibrated) {
  return std::make_unique<CqlConfig>(calibrated);
}

std::unique_ptr<AlgoConfig> make_famo2o_config() {
  return std::make_unique<CqlConfig>(false, /*family=*/true);
}

std::unique_ptr<Algorithm> make_cql(const AlgoConfig& c, const AlgoDims& d, uint64_t seed) {
  return std::make_unique<Cql>(dynamic_cast<const CqlConfig&>(c), d, seed);
}

STITCH_REGISTER_ALGORITHM(cql,
                          {.name = "cql",
                           .summary = "CQL (Kumar et al. 2020): SAC with a conservative Q penalty",
                           .normalize_observations = true,
                           .locomotion_reward_scaling = false,
                           .finetune = {.from = {"cql"}},
                           .make_config = [] { return make_cql_config(false); },
                           .make = make_cql});

}  // namespace stitch
