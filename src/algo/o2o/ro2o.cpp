// RO2O: Wen, Yu, Yang, Bai & Wang 2023, "Towards Robust Offline-to-Online Reinforcement Learning
// via Uncertainty and Smoothness" (arXiv:2309.16973). SAC-N (src/algo/offline/sac_n.cpp) with
// RORL's three terms (Yang et al. 2022, "RORL: Robust Offline Reinforcement Learning via
// Conservative Smoothing"), offline and online:
//   - Q smoothness: for each row, n states s + d_j (d_j uniform in the L-inf ball of radius
//     q_smooth_eps, the same n for every row of the batch), the member-averaged asymmetric
//     squared difference of Q_k(s + d_j, a) - Q_k(s, a) (the positive side weighted
//     1 - q_smooth_tau, the negative side q_smooth_tau; Q(s, a) not detached), its max over j,
//     the mean over rows, weight q_smooth_weight;
//   - an OOD penalty: at n perturbed states (ood_eps) and actions sampled there from the actor,
//     each critic regressed towards Q - ood_alpha std_k Q (the unbiased std over the current
//     members, detached), the mean over members and samples, weight ood_weight; ood_alpha
//     decays linearly per update from ood_alpha to ood_alpha_min;
//   - policy smoothness: the symmetric KL between the actor's Gaussians before the tanh at s and
//     at s + d_j (policy_smooth_eps; neither side detached), its max over j, the mean over rows,
//     weight policy_smooth_weight, added to the actor's loss.
// The update order is CORL's SAC-N's, as the authors' code has it (algorithms/offline/
// ro2o_mujoco.py of github.com/BattleWen/RO2O): the temperature on its own sample, the actor
// (with the policy term), then the critics with the TD target and the OOD actions from the
// updated actor, their Polyak update. Defaults from that file's config (read, not copied): 10
// critics of 3x256, lr 3e-4 everywhere, states normalised, n 20, every eps 0.01, weights 1e-4
// (Q), 1.0 (policy), 0.1 (OOD), ood_alpha 1.0 -> 0.1 at 5e-7 per update; the EDAC paper's
// initialisation and log-std clamp [-5, 2], the entropy term in the TD target. RORL's per-task
// table differs on some tasks (e.g. hopper-medium: eps 0.005, policy weight 0.1, OOD weight 0.5;
// halfcheetah-medium: n 10, eps 0.001, no OOD term): --set ro2o.<key>=...
// Fine-tuning (`stitch finetune --algo ro2o --from RUN/checkpoints/latest.pt`): as the authors'
// fine-tuning script, no offline data, 2,500 env steps with the pre-trained policy before the
// first update, one update per env step. Difference kept (named): the authors' current script
// leaves the three terms out online (plain SAC-N); the paper's method and their earlier commit
// (a8ce433) keep them, and so does stitch, with ood_alpha at its floor (0.1) online, as the
// authors' README says; `--set ro2o.q_smooth_weight=0 ro2o.ood_weight=0
// ro2o.policy_smooth_weight=0` gives the plain SAC-N of the current script. Their replay buffer
// holds 250,000 transitions (stitch's buffer_size default is larger; the same for runs up to
// that many env steps).
#include <algorithm>
#include <cmath>
#include <memory>
#include <tuple>
#include <vector>

#include "algo/algorithm.h"
#include "algo/losses.h"
#include "algo/sac_core.h"
#include "core/runtime.h"

namespace stitch {
namespace {

struct Ro2oConfig : SacFamilyConfig {
  Ro2oConfig() { layers = 3; }
  int critics = 10;
  int samples = 20;  // n: perturbations per row, drawn anew for each term
  double q_smooth_eps = 0.01, policy_smooth_eps = 0.01, ood_eps = 0.01;
  double q_smooth_weight = 1e-4;
  double q_smooth_tau = 0.2;
  double policy_smooth_weight = 1.0;
  double ood_weight = 0.1;
  double ood_alpha = 1.0, ood_alpha_min = 0.1, ood_alpha_decay = 5e-7;
  void describe(ConfigFields& f) override {
    describe_shared(f);
    f.add("critics", critics, "critics in the ensemble (N)", {.min = 2, .max = 1000});
    f.add("samples", samples, "perturbed states per row for each smoothness and OOD term",
          {.min = 1, .max = 1000});
    f.add("q_smooth_eps", q_smooth_eps, "Q smoothness: radius of the state perturbation",
          {.min = 0, .max = 1e3});
    f.add("policy_smooth_eps", policy_smooth_eps,
          "policy smoothness: radius of the state perturbation", {.min = 0, .max = 1e3});
    f.add("ood_eps", ood_eps, "OOD penalty: radius of the state perturbation",
          {.min = 0, .max = 1e3});
    f.add("q_smooth_weight", q_smooth_weight, "weight of the Q smoothness term (0: off)",
          {.min = 0, .max = 1e6});
    f.add("q_smooth_tau", q_smooth_tau,
          "Q smoothness: weight of a perturbed Q below the clean one (1 - it: above)",
          {.min = 0, .max = 1});
    f.add("policy_smooth_weight", policy_smooth_weight,
          "weight of the policy smoothness term (0: off)", {.min = 0, .max = 1e6});
    f.add("ood_weight", ood_weight, "weight of the OOD uncertainty penalty (0: off)",
          {.min = 0, .max = 1e6});
    f.add("ood_alpha", ood_alpha, "OOD penalty: std multiple at the first update",
          {.min = 0, .max = 1e6});
    f.add("ood_alpha_min", ood_alpha_min, "OOD penalty: the std multiple's floor",
          {.min = 0, .max = 1e6});
    f.add("ood_alpha_decay", ood_alpha_decay, "OOD penalty: the std multiple's decrease per update",
          {.min = 0, .max = 1e6});
  }
};

class Ro2o : public SacCore {
 public:
  Ro2o(const Ro2oConfig& c, const AlgoDims& d, uint64_t seed)
      : SacCore(sac_n_core_options(c, d, c.critics), d, seed), config_(c) {}

  std::string name() const override { return "ro2o"; }

  Metrics update(const TensorBatch& b) override {
    const fused_steps::RawBatch raw(b);
    const int64_t rows = raw.rows, n = config_.samples;
    const SingleThreadedBlas single_blas;
    const double log_pi_mean = temperature_step(raw.s, rows);
    const double alpha = temperature();

    // The actor, with the policy smoothness term at n perturbed states per row.
    PolicyStepResult actor{};
    if (config_.policy_smooth_weight > 0) {
      perturb(raw.s, rows, config_.policy_smooth_eps, policy_states_);
      GaussianTerm term{
          .states = policy_states_.data(),
          .rows = rows * n,
          .loss = [&](const float* mean, const float* log_std, int64_t, float* dm, float* dl) {
            return policy_smoothness(mean, log_std, rows, dm, dl);
          }};
      actor = actor_step(raw.s, rows, alpha, &term);
    } else {
      actor = actor_step(raw.s, rows, alpha);
    }

    // The critics on [data rows; Q smoothness rows; OOD rows].
    const float* target = td_target(raw, alpha);
    const int64_t obs = dims_.obs_dim, act = dims_.act_dim, cols = obs + act;
    const int64_t smooth_rows = config_.q_smooth_weight > 0 ? rows * n : 0;
    const int64_t ood_rows = config_.ood_weight > 0 ? rows * n : 0;
    const int64_t total = rows + smooth_rows + ood_rows;
    critic_x_.resize(static_cast<size_t>(total * cols));
    nn::fused::concat_columns(raw.s, obs, raw.a, act, rows, critic_x_.data());
    if (smooth_rows > 0) {
      perturb(raw.s, rows, config_.q_smooth_eps, states_);
      repeated_.resize(static_cast<size_t>(smooth_rows * act));
      for (int64_t i = 0; i < rows; ++i) {
        for (int64_t j = 0; j < n; ++j) {
          std::copy_n(raw.a + i * act, act, repeated_.data() + (i * n + j) * act);
        }
      }
      nn::fused::concat_columns(states_.data(), obs, repeated_.data(), act, smooth_rows,
                                critic_x_.data() + rows * cols);
    }
    if (ood_rows > 0) {
      perturb(raw.s, rows, config_.ood_eps, states_);
      const auto eps = torch::randn({ood_rows, act}, generator_);
      repeated_.resize(static_cast<size_t>(ood_rows * act));
      ood_log_pi_.resize(static_cast<size_t>(ood_rows));
      policy_.sample(states_.data(), ood_rows, eps.data_ptr<float>(), repeated_.data(),
                     ood_log_pi_.data());
      nn::fused::concat_columns(states_.data(), obs, repeated_.data(), act, ood_rows,
                                critic_x_.data() + (rows + smooth_rows) * cols);
    }
    const int members = critics();
    const double ood_alpha =
        std::max(config_.ood_alpha - config_.ood_alpha_decay * static_cast<double>(steps_),
                 config_.ood_alpha_min);
    double smooth_loss = 0, ood_loss = 0;
    std::vector<double> td_loss(members), td_sum(members);
    critic_step(
        critic_x_.data(), total,
        [&](int k, const float* q, float* dq) {
          std::tie(td_loss[k], td_sum[k]) = losses::squared_td_error(q, target, rows, rows, dq);
          std::fill(dq + rows, dq + total, 0.0f);
          if (smooth_rows > 0) {
            // d/dQ_k of weight / (rows N) sum_i l(Q_k(s + d_j*, a) - Q_k(s, a)) at each row's
            // worst j*.
            const double scale = config_.q_smooth_weight / static_cast<double>(rows * members);
            for (int64_t i = 0; i < rows; ++i) {
              const int64_t r = rows + i * n + worst_[i];
              const double diff = static_cast<double>(q[r]) - q[i];
              const double g = scale * 2.0 * diff *
                               (diff > 0 ? 1.0 - config_.q_smooth_tau : config_.q_smooth_tau);
              dq[r] += static_cast<float>(g);
              dq[i] -= static_cast<float>(g);
            }
          }
          if (ood_rows > 0) {
            // (Q - (Q - alpha std))^2 averaged over members and rows: d/dQ_k = 2 alpha std / (N R).
            const double scale =
                config_.ood_weight * 2.0 * ood_alpha / static_cast<double>(members * ood_rows);
            float* d = dq + rows + smooth_rows;
            for (int64_t r = 0; r < ood_rows; ++r) d[r] = static_cast<float>(scale * std_[r]);
          }
        },
        nullptr,
        [&] {
          if (smooth_rows > 0) smooth_loss = worst_perturbations(rows, members);
          if (ood_rows > 0) ood_loss = ood_spread(rows + smooth_rows, ood_rows, members, ood_alpha);
        });
    ++steps_;
    double q_loss = 0, q_mean = 0;
    for (int k = 0; k < members; ++k) q_loss += td_loss[k], q_mean += td_sum[k];
    Metrics m{{"actor_loss", actor.actor_loss},
              {"q_loss", q_loss},
              {"alpha", alpha},
              {"entropy", -log_pi_mean},
              {"q_mean", q_mean / static_cast<double>(members * rows)},
              {"ood_alpha", ood_alpha}};
    if (config_.policy_smooth_weight > 0) m["policy_smooth_kl"] = actor.term_loss;
    if (smooth_rows > 0) m["q_smooth_loss"] = smooth_loss;
    if (ood_rows > 0) m["ood_loss"] = ood_loss;
    return m;
  }

 private:
  // out [rows n, obs]: row i n + j is s_i + d_j, the n offsets d_j uniform in [-eps, eps]^obs
  // (drawn now, the same for every row).
  void perturb(const float* s, int64_t rows, double eps, std::vector<float>& out) {
    const int64_t n = config_.samples, obs = dims_.obs_dim;
    const auto u = torch::rand({n, obs}, generator_);
    const float* d = u.data_ptr<float>();
    const auto scale = static_cast<float>(2.0 * eps);
    out.resize(static_cast<size_t>(rows * n * obs));
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        float* o = out.data() + (i * n + j) * obs;
        for (int64_t c = 0; c < obs; ++c) o[c] = s[i * obs + c] + scale * (d[j * obs + c] - 0.5f);
      }
    }
  }

  // Policy smoothness over the actor's rows [rows clean; rows n perturbed]: per row the largest
  // symmetric KL between N(m, e^l) at s and at s + d_j (summed over action dimensions); writes
  // the weighted mean's gradient and returns the mean KL.
  double policy_smoothness(const float* mean, const float* log_std, int64_t rows, float* dm,
                           float* dl) const {
    const int64_t n = config_.samples, act = dims_.act_dim;
    auto kl = [&](int64_t a, int64_t b) {
      double sum = 0;
      for (int64_t c = 0; c < act; ++c) {
        const double d = static_cast<double>(mean[a * act + c]) - mean[b * act + c];
        const double la = log_std[a * act + c], lb = log_std[b * act + c];
        sum += 0.5 * (std::exp(2 * (la - lb)) + std::exp(2 * (lb - la))) +
               0.5 * d * d * (std::exp(-2 * la) + std::exp(-2 * lb)) - 1.0;
      }
      return sum;
    };
    const double scale = config_.policy_smooth_weight / static_cast<double>(rows);
    double total = 0;
    for (int64_t i = 0; i < rows; ++i) {
      int64_t worst = rows + i * n;
      double best = kl(i, worst);
      for (int64_t j = 1; j < n; ++j) {
        const double v = kl(i, rows + i * n + j);
        if (v > best) best = v, worst = rows + i * n + j;
      }
      total += best;
      for (int64_t c = 0; c < act; ++c) {
        const int64_t a = i * act + c, p = worst * act + c;
        const double d = static_cast<double>(mean[a]) - mean[p];
        const double la = log_std[a], lb = log_std[p];
        const double ia = std::exp(-2 * la), ib = std::exp(-2 * lb);
        const double up = std::exp(2 * (la - lb)), down = std::exp(2 * (lb - la));
        dm[a] += static_cast<float>(scale * d * (ia + ib));
        dm[p] -= static_cast<float>(scale * d * (ia + ib));
        dl[a] += static_cast<float>(scale * (up - down - d * d * ia));
        dl[p] += static_cast<float>(scale * (down - up - d * d * ib));
      }
    }
    return total / static_cast<double>(rows);
  }

  // After the critics' forward: per row the perturbation j* with the largest member-averaged
  // asymmetric loss (into worst_); returns the mean over rows of that loss.
  double worst_perturbations(int64_t rows, int members) {
    const int64_t n = config_.samples;
    worst_.assign(static_cast<size_t>(rows), 0);
    double total = 0;
    for (int64_t i = 0; i < rows; ++i) {
      double best = -1;
      for (int64_t j = 0; j < n; ++j) {
        double l = 0;
        for (int k = 0; k < members; ++k) {
          const float* q = critic_output(k);
          const double diff = static_cast<double>(q[rows + i * n + j]) - q[i];
          l += diff * diff * (diff > 0 ? 1.0 - config_.q_smooth_tau : config_.q_smooth_tau);
        }
        if (l > best) best = l, worst_[i] = j;
      }
      total += best / members;
    }
    return total / static_cast<double>(rows);
  }

  // After the critics' forward: the unbiased std over members at each OOD row (into std_);
  // returns the OOD loss, mean (alpha std)^2.
  double ood_spread(int64_t first, int64_t count, int members, double alpha) {
    std_.resize(static_cast<size_t>(count));
    double total = 0;
    for (int64_t r = 0; r < count; ++r) {
      double mean = 0;
      for (int k = 0; k < members; ++k) mean += critic_output(k)[first + r];
      mean /= members;
      double var = 0;
      for (int k = 0; k < members; ++k) {
        const double d = critic_output(k)[first + r] - mean;
        var += d * d;
      }
      std_[r] = std::sqrt(var / (members - 1));
      total += alpha * alpha * var / (members - 1);
    }
    return total / static_cast<double>(count);
  }

  Ro2oConfig config_;
  std::vector<float> policy_states_, states_, repeated_, critic_x_, ood_log_pi_;
  std::vector<int64_t> worst_;
  std::vector<double> std_;
};

}  // namespace

STITCH_REGISTER_ALGORITHM(
    ro2o, {.name = "ro2o",
           .summary = "RO2O (Wen et al. 2023): SAC-N with Q and policy smoothness and an OOD "
                      "uncertainty penalty; offline, fine-tunes",
           .normalize_observations = true,
           .locomotion_reward_scaling = false,
           .finetune = {.from = {"ro2o"},
                        .learning_starts = 2500,
                        .offline_ratio = 0.0,
                        .utd_ratio = 1.0,
                        .set = {"ood_alpha=0.1"}},
           .make_config = [] { return std::make_unique<Ro2oConfig>(); },
           .make = [](const AlgoConfig& c, const AlgoDims& d,
                      uint64_t seed) -> std::unique_ptr<Algorithm> {
             return std::make_unique<Ro2o>(dynamic_cast<const Ro2oConfig&>(c), d, seed);
           }});

}  // namespace stitch
