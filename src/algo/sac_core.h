// The SAC core that SAC (src/algo/online/sac.cpp) and CQL (src/algo/offline/cql.cpp) are built
// on: Haarnoja et al. 2018, "Soft Actor-Critic Algorithms and Applications" (arXiv:1812.05905),
// with automatic entropy tuning (Sec. 5) and twin Q networks with clipped double-Q targets.
// It owns a tanh-Gaussian actor, the critics (one EnsembleMlp of N members, 2 by default) and
// their target copies, the temperature alpha = exp(log_alpha) with its Adam, all trained on the
// fused path (nn/fused_mlp.h), and the steps an update is made of:
//
//   td_target    y = r + discount (1 - terminal) (min_k Q'_k(s', a') [- alpha log pi(a'|s')]),
//                a' ~ pi(s'), the min over all N members
//   critic_step  each critic's loss (the caller's: its value and dL/dQ), Adam, Polyak of the
//                targets
//   policy_step  actor: mean (alpha log pi(a~|s) - min_k Q_k(s, a~)), a~ ~ pi(s)
//                reparameterised, the critics' weights fixed; then temperature: -mean log_alpha
//                (log pi(a~|s) + target_entropy) on the same sample
//
// The losses' arithmetic is in algo/losses.h. A subclass writes update() from these steps in its
// paper's order: Sac as they are, Cql with its conservative term in its critic loss and a
// backup without the entropy term, SacN with N members and the temperature stepped first (its
// own sample). Every random draw comes from generator_ when a step is called, so an update's
// draws are in the order of its calls. The critic members run as tasks on the compute threads,
// single-threaded BLAS each (call update() under SingleThreadedBlas), and every sum over members
// runs in member order afterwards, so 1 and 2 threads give the same numbers.
//
// Checkpoints: modules actor, q, q_target, scalars (log_alpha, then what a subclass registers),
// actor_adam, q_adam; optimiser alpha (a subclass may add its own).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "algo/algorithm.h"
#include "algo/fused_steps.h"
#include "core/thread_pool.h"
#include "nn/nn.h"

namespace stitch {

// The keys every algorithm on the SAC core has (SAC, CQL, SAC-N, EDAC); each sets its own
// defaults in its constructor and adds its other keys after describe_shared's.
struct SacFamilyConfig : AlgoConfig {
  double actor_lr = 3e-4;
  double critic_lr = 3e-4;
  double alpha_lr = 3e-4;  // the entropy temperature's
  double tau = 0.005;
  int64_t hidden = 256;
  int layers = 2;
  void describe_shared(ConfigFields& f) {
    f.add("actor_lr", actor_lr, "policy learning rate", kRateRange);
    f.add("critic_lr", critic_lr, "Q learning rate", kRateRange);
    f.add("alpha_lr", alpha_lr, "entropy temperature learning rate", kRateRange);
    f.add("tau", tau, "target Q update rate", kRateRange);
    f.add("hidden", hidden, "hidden width", {.min = 1, .max = 65536});
    f.add("layers", layers, "hidden layers", {.min = 1, .max = 64});
  }
  std::vector<int64_t> widths() const { return std::vector<int64_t>(layers, hidden); }
};

struct SacCoreOptions;

// The critic-ensemble keys of the algorithms that take them (CQL and Cal-QL, WSRL); each sets its
// defaults.
struct CriticEnsembleKeys {
  int critics = 2;
  bool layer_norm = false;
  int target_subsample = 0;
  void describe(ConfigFields& f);
  void apply(SacCoreOptions& o) const;
};

struct SacCoreOptions {
  double actor_lr;
  double critic_lr;
  double alpha_lr;              // the temperature's Adam
  double tau;                   // Polyak rate of the target critics
  double initial_alpha;         // the temperature at the start
  double target_entropy;        // of the temperature's loss
  std::vector<int64_t> hidden;  // hidden widths of the actor and of each critic
  int critics = 2;              // members of the critic ensemble (SAC-N, EDAC: N)
  // LayerNorm after each hidden ReLU of every critic member (nn::EnsembleMlp's layer_norm; WSRL's
  // ensembles, as REDQ-style critics need to stay calibrated online).
  bool layer_norm = false;
  // The TD target's min over this many members drawn with replacement from generator_ at each
  // step (REDQ, Chen et al. 2021; WSRL: 2 of 10); 0: the min over all members.
  int target_subsample = 0;
  // Inputs the actor reads after the state (FamO2O's universal policy: the balance code); the
  // steps then take its input rows through ActorInput.
  int64_t actor_extra_inputs = 0;
  // The actor's log_std clamp (SAC and CQL: [-20, 2]; the EDAC paper's SAC-N: [-5, 2]).
  double log_std_min = -20.0, log_std_max = 2.0;
  // The EDAC paper's initialisation (CORL's SAC-N and EDAC): every hidden layer's bias 0.1, the
  // critics' last layer uniform in [-3e-3, 3e-3] (weights and bias), the actor's heads uniform
  // in [-1e-3, 1e-3]; the other weights at libtorch's default.
  bool edac_init = false;
  // CORL's CQL networks: the critics initialised orthogonally (gain sqrt(2), last layer 1e-2,
  // biases 0: nn::orthogonal_init), the actor's heads xavier-uniform with gain 1e-2 and biases
  // 0, and the actor's log_std through learned scale and offset (nn::TanhGaussianPolicy's
  // log_std_affine). Off: libtorch's default initialisation and a plain log_std head (SAC).
  bool corl_networks = false;
};

// The options from an algorithm config with SAC's keys.
inline SacCoreOptions sac_core_options(const SacFamilyConfig& c, double initial_alpha,
                                       double target_entropy) {
  return {.actor_lr = c.actor_lr,
          .critic_lr = c.critic_lr,
          .alpha_lr = c.alpha_lr,
          .tau = c.tau,
          .initial_alpha = initial_alpha,
          .target_entropy = target_entropy,
          .hidden = c.widths()};
}

// For an actor that reads more than the state (SacCoreOptions::actor_extra_inputs; FamO2O): its
// input rows [rows, obs_dim + extra] (null: the states), and per-row multipliers of the actor
// loss's Q term (null: 1): L = mean_i (alpha log pi(a~_i|x_i) - q_scale_i min_k Q_k(s_i, a~_i)).
struct ActorInput {
  const float* x = nullptr;
  const float* q_scale = nullptr;
};

// SAC-N's options as the EDAC paper's code and CORL run it (SAC-N, EDAC, RO2O): N critics, the
// log-std clamp [-5, 2] and the EDAC paper's initialisation.
inline SacCoreOptions sac_n_core_options(const SacFamilyConfig& c, const AlgoDims& d, int critics) {
  SacCoreOptions o = sac_core_options(c, /*initial_alpha=*/1.0, -static_cast<double>(d.act_dim));
  o.critics = critics;
  o.log_std_min = -5.0;
  o.log_std_max = 2.0;
  o.edac_init = true;
  return o;
}

class SacCore : public Algorithm {
 public:
  void load(torch::serialize::InputArchive& archive) override;
  // a ~ pi(obs) (deterministic: max_action tanh(mean)); draws from generator_.
  torch::Tensor act(const torch::Tensor& obs, bool deterministic) override;
  std::vector<std::pair<std::string, torch::nn::Module*>> modules() override;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> policy_layers() override;
  std::vector<std::pair<std::string, torch::optim::Optimizer*>> optimizers() override;
  torch::Tensor q_values(const torch::Tensor& obs, const torch::Tensor& actions) override {
    return q_->forward(torch::cat({obs, actions}, 1)).squeeze(-1);
  }

  // Data-parallel learners (`train --dist --learners L`, dist/dist_train.cpp): just before each
  // optimiser step, `flat` is called with that step's whole gradient (the critics', the actor's)
  // and `scalar` with a scalar one (the temperature's, CQL's multiplier's); each replaces it by
  // the mean over the learners, so every learner takes the same step. Unset: no call.
  struct GradientHook {
    std::function<void(float* grad, int64_t n)> flat;
    std::function<double(double grad)> scalar;
  };
  void set_gradient_hook(GradientHook hook) { hook_ = std::move(hook); }
  // Reseeds the generator of the update's draws (each data-parallel learner its own stream).
  void reseed(uint64_t seed) { generator_.set_current_seed(seed); }

 protected:
  SacCore(const SacCoreOptions& options, const AlgoDims& dims, uint64_t seed);

  // The temperature alpha = exp(log_alpha) now.
  double temperature() const;
  // SAC's whole update (algo/online/sac.cpp's order): the target from a' ~ pi(s'), the critics
  // with their Polyak update, the actor through the updated critics, the temperature. For SAC
  // and the algorithms that train plain SAC on other data (MOPO's model rollouts).
  Metrics sac_update(const TensorBatch& b);
  // The pool of the two critic tasks.
  ThreadPool& tasks() { return fused_steps::task_pool(pool_); }

  // The TD target of the batch's rows from a' ~ pi(s') (noise [rows, act_dim] drawn now):
  // y = r + discount (1 - terminal) (min_k Q'_k(s', a') - entropy_alpha log pi(a'|s')), without
  // the entropy term when entropy_alpha is empty; the min over target_subsample members drawn
  // after the noise when that option is set. Returns y [rows], valid until the next call.
  // next_input: the actor's input rows at s' when it reads more than the state (ActorInput).
  const float* td_target(const fused_steps::RawBatch& b, std::optional<double> entropy_alpha,
                         const float* next_input = nullptr);
  // For each of `rows` states s [rows, obs_dim]: a' ~ pi(s) (noise [rows, act_dim] drawn now)
  // and min over all members of Q'_k(s, a'), into out [rows] (MOBILE's Bellman-target samples).
  void target_min_q(const float* s, int64_t rows, float* out);

  // The critics' TD step on the batch's (s, a): L = sum_k mean (Q_k(s, a) - y_i)^2 with y
  // `target` [rows], through critic_step (with `extra`), the sums over members in member order.
  struct TdStep {
    double loss;    // L
    double q_mean;  // mean Q over members and rows
  };
  TdStep td_critic_step(const fused_steps::RawBatch& b, const float* target,
                        const std::function<void()>& extra = nullptr);

  // Critic k's loss on its outputs q [rows]: writes dL/dq into dq [rows] (its own task).
  using CriticLoss = std::function<void(int k, const float* q, float* dq)>;
  // One step of every critic on x [rows, obs_dim + act_dim]: every member's forward,
  // `after_forward` (null: none; it may read every member's critic_output), then each member's
  // `loss` and backward (the members as tasks), `extra` (null: none; it may add to the gradients,
  // e.g. add_diversity_gradient), then Adam and the Polyak update of the target critics.
  void critic_step(const float* x, int64_t rows, const CriticLoss& loss,
                   const std::function<void()>& extra = nullptr,
                   const std::function<void()>& after_forward = nullptr);
  // Member k's outputs [rows] of critic_step's forward, from its after_forward to its end.
  const float* critic_output(int k) const { return tape_q_[k].output(); }
  // EDAC's ensemble-diversity term at the rows critic_step's forward ran on (call it from
  // critic_step's `extra`): with g_k = dQ_k(s, a)/da and u_k = g_k / (||g_k|| + 1e-10),
  // L = (1 / (N - 1)) mean_rows sum_{i != j} <u_i, u_j>; adds eta dL/dtheta to the critics'
  // gradients (through nn::fused::forward_masked: the second derivative of a ReLU net) and
  // returns L.
  double add_diversity_gradient(double eta, int64_t rows);
  int critics() const { return options_.critics; }

  struct PolicyStepResult {
    double actor_loss;
    double log_pi_mean;    // of the actor's sample (-entropy)
    double term_loss = 0;  // the GaussianTerm's
  };
  // A loss on the actor's Gaussian before the tanh, added to its step (RO2O's policy smoothness):
  // the step runs the actor on its `rows` states followed by `states` [rows, obs_dim] (their
  // samples feed nothing else); `loss` reads mean and log_std [all rows, act_dim], writes dL/dmean
  // and dL/dlog_std there (zeroed before) and returns L.
  struct GaussianTerm {
    const float* states = nullptr;
    int64_t rows = 0;
    std::function<double(const float* mean, const float* log_std, int64_t rows, float* d_mean,
                         float* d_log_std)>
        loss;
  };
  // The actor's step at a~ ~ pi(s) (noise [rows, act_dim] drawn now) through the critics (their
  // weights fixed; the min over members) with temperature `alpha`, then the temperature's step
  // on that log pi(a~|s).
  PolicyStepResult policy_step(const float* s, int64_t rows, double alpha,
                               const ActorInput& input = {});
  // The actor's step alone (as policy_step, without the temperature's), with `term` (null: none;
  // not with input.x).
  PolicyStepResult actor_step(const float* s, int64_t rows, double alpha,
                              const GaussianTerm* term = nullptr, const ActorInput& input = {});
  // Through the fixed critics at (s, a) [rows]: forward, then from `dq` (per member [rows]:
  // dL/dQ_k, written by `loss` given the members' outputs) back to dL/da [rows, act_dim], the
  // members summed in member order. Returns da, valid until the next step.
  using FrozenQLoss = std::function<void(const float* const* q, float* const* dq)>;
  const float* frozen_q_action_gradient(const float* s, const float* a, int64_t rows,
                                        const FrozenQLoss& loss);
  // The temperature's step on its own sample a ~ pi(s) (noise drawn now; no actor gradient).
  // Returns mean log pi(a|s).
  double temperature_step(const float* s, int64_t rows);

  // One Adam step of a scalar (a temperature or a Lagrange multiplier) whose gradient is g.
  void scalar_adam_step(torch::Tensor& p, torch::optim::Adam& optim, double g);

  AlgoDims dims_;
  nn::TanhGaussianPolicy actor_;
  nn::EnsembleMlp q_, q_target_;
  std::shared_ptr<torch::nn::Module> scalars_ = std::make_shared<torch::nn::Module>();
  nn::FlatParameters actor_flat_;
  nn::FusedTanhGaussian policy_;  // the actor's fused view; writes its gradients

 private:
  SacCoreOptions options_;
  torch::Tensor log_alpha_;
  nn::FlatParameters q_flat_, q_target_flat_;
  nn::FlatAdam actor_adam_, q_adam_;
  torch::optim::Adam alpha_optim_;  // one scalar: torch's Adam is fine

  // Per member: trained, fixed (the actor's step) and target views, their tapes and buffers.
  std::vector<nn::fused::Mlp> q_net_, q_frozen_, q_target_net_, q_diversity_;
  std::vector<nn::fused::Tape> tape_q_, tape_frozen_, tape_target_, tape_diversity_;
  std::vector<std::vector<float>> input_grad_, diversity_dx_;
  std::vector<float> diversity_grad_, ones_;  // the diversity term's gradient, q_flat_'s layout
  std::vector<std::vector<float>> dq_, dx_;
  std::vector<const float*> q_out_;
  std::vector<float*> dq_out_;
  std::vector<float> next_action_, next_log_pi_, target_, x_, pi_, log_pi_, dpi_, dlog_pi_, x_data_;
  std::vector<float> term_states_, term_eps_, d_mean_, d_log_std_, da_;
  std::vector<double> td_loss_, td_sum_;
  std::unique_ptr<ThreadPool> pool_;
  GradientHook hook_;

  // a' ~ pi(actor_in) with noise eps [rows, act_dim] (log pi into next_log_pi_), then the min
  // over `members` of Q'_k(s, a') into out [rows].
  void min_target_q(const float* actor_in, const float* s, int64_t rows, const float* eps,
                    const std::vector<int64_t>& members, float* out);
};

}  // namespace stitch
