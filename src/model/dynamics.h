// A probabilistic dynamics ensemble (the world model of MBPO-style offline RL: Janner et al.
// 2019; MOPO, Yu et al. 2020; as OfflineRL-Kit builds it, facts in
// docs/reference-implementations.md, "Model-based offline RL"). N members (7 by default), each
// an MLP of 4x200 with SiLU (Swish) predicting a diagonal Gaussian over [next state - state,
// reward]: a mean and a log-variance per output, the log-variance softly bounded by learned
// max/min vectors shared by the members (x = max - softplus(max - x), then min + softplus(x -
// min)). Inputs [state, action] are standardised with the training split's mean and std;
// targets are not. Trained on the fused path (nn/fused_mlp.h: one sgemm per member and layer,
// the members as tasks) with each member's Gaussian NLL on its own bootstrap minibatch,
// per-layer weight decay on the weights and 0.01 (sum max - sum min), by Adam.
//
// src/model holds world models (what predicts the env); the algorithms that train on their
// rollouts go in src/algo/model_based.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace torch::nn {
class Module;
}  // namespace torch::nn

namespace stitch {

struct Dataset;
class Rng;

struct DynamicsOptions {
  int members = 7;
  std::vector<int64_t> hidden = {200, 200, 200, 200};
  // Per linear layer (the hidden ones and the output), on the weights only: 0.5 wd |W|^2.
  std::vector<double> weight_decay = {2.5e-5, 5e-5, 7.5e-5, 7.5e-5, 1e-4};
  double lr = 1e-3;
  double logvar_loss_coef = 0.01;
};

// Fitting on a dataset, as OfflineRL-Kit does: a random holdout split of min(ratio N, cap)
// rows, the input standardisation fit on the rest, each member on its own bootstrap resample
// (reshuffled every epoch) in minibatches; after each epoch each member's holdout MSE, a member
// improving by more than `improvement` (relative; any first epoch counts) keeps a snapshot of its
// weights; training stops
// after `patience` epochs in which no member improved (or at max_epochs, 0: none); then every
// member returns to its snapshot and the `elites` with the smallest holdout MSE are chosen.
struct DynamicsFitOptions {
  int64_t batch = 256;
  double holdout_ratio = 0.2;
  int64_t max_holdout = 1000;
  double improvement = 0.01;
  int patience = 5;
  int max_epochs = 0;
  int elites = 5;
  // Called after every epoch with its number (from 1) and each member's holdout MSE then.
  std::function<void(int epoch, const std::vector<double>& holdout_mse)> on_epoch;
};

struct DynamicsFit {
  std::vector<double> holdout_mse;  // per member, at its snapshot
  std::vector<int> elites;          // the best members, smallest holdout MSE first
  int epochs = 0;
};

class DynamicsEnsemble {
 public:
  DynamicsEnsemble(int64_t obs_dim, int64_t act_dim, const DynamicsOptions& options, uint64_t seed);
  ~DynamicsEnsemble();
  DynamicsEnsemble(const DynamicsEnsemble&) = delete;
  DynamicsEnsemble& operator=(const DynamicsEnsemble&) = delete;

  int64_t input_dim() const;   // obs + act
  int64_t output_dim() const;  // obs + 1 (the state change, then the reward)

  // Fits the model to the dataset's transitions with a successor (rows without one are left
  // out): inputs [obs, action], targets [next_obs - obs, reward]. Throws Error when fewer than 2
  // such rows, or dimensions other than the model's.
  DynamicsFit fit(const Dataset& data, const DynamicsFitOptions& options, uint64_t seed);
  // x [rows, input_dim] from obs [rows, obs] and actions [rows, act], standardised as the fit's
  // training split (before any fit: as they are).
  void standardise(const float* obs, const float* actions, int64_t rows, float* x) const;

  // One step of the model for `rows` states and actions (as the env gives them): for each row a
  // member drawn uniformly from `members` (the elites) and a sample of its Gaussian, so
  // next_obs [rows, obs] = obs + the sampled change and rewards [rows] the sampled reward (as
  // OfflineRL-Kit's step). Draws from `rng` (the members, then the noise row by row).
  // With `u` (rows), also MOPO's uncertainty of each row, as uncertainty() computes it, from the
  // same forward pass: every member then runs on every row (otherwise each drawn member only on
  // the rows it serves).
  void sample(const float* obs, const float* actions, int64_t rows, const std::vector<int>& members,
              Rng& rng, float* next_obs, float* rewards, float* u = nullptr);

  // MOBILE's next-state samples (OfflineRL-Kit's sample_next_obss): for the states and actions
  // (obs, actions) [rows] (as the env gives them), member `members[m]`'s sample j is obs + its
  // predicted change + exp(logvar / 2) eps, eps [samples, members, rows, obs] (standard normal,
  // the caller's), into out [samples, members, rows, obs] in the same order.
  void sample_next_states(const float* obs, const float* actions, int64_t rows,
                          const std::vector<int>& members, int64_t samples, const float* eps,
                          float* out);

  // MOPO's uncertainty (Yu et al. 2020, as OfflineRL-Kit computes it): per row of states and
  // actions (as the env gives them), the largest over all members of the Euclidean norm of the
  // predicted standard deviation over every output (the state change and the reward), into u
  // [rows].
  void uncertainty(const float* obs, const float* actions, int64_t rows, float* u);

  // One Adam step: member k on its own rows x[k] [rows, input_dim] (standardised) and targets
  // y[k] [rows, output_dim]. Returns the loss: sum over members of their NLL, plus the weight
  // decay and log-variance bound terms.
  double train_step(const std::vector<const float*>& x, const std::vector<const float*>& y,
                    int64_t rows);
  // Per member, the mean over rows and outputs of (mean - y)^2 at x [rows, input_dim]
  // (standardised).
  std::vector<double> mse(const float* x, const float* y, int64_t rows);
  // Member k's predicted mean and log-variance (bounded) at x [rows, input_dim] (standardised):
  // out [rows, 2 output_dim], the means then the log-variances.
  void predict(int k, const float* x, int64_t rows, float* out);

  // The parameters: submodule "net" (an nn::EnsembleMlp with SiLU) and the bounds "max_logvar"
  // and "min_logvar" [output_dim], and the buffers "input_mean" and "input_std"; their values are
  // the fused path's. After loading values into it (a checkpoint gives the parameters new
  // storage), call rebind(). Adam's state is not part of it: a fit starts Adam anew.
  torch::nn::Module& module();
  void rebind();

 private:
  // MOPO's uncertainty of standardised rows x, and the picked members' predictions (dynamics.cpp).
  void all_members(const float* x, int64_t rows, const int* pick, float* pred, float* u);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stitch
