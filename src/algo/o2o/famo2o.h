// FamO2O: Wang, Lyu, Song, Ma, Huang, Wang, Jiang & Shi 2023, "Train Once, Get a Family:
// State-Adaptive Balances for Offline-to-Online Reinforcement Learning" (NeurIPS). On CQL for
// locomotion, as the authors' code (github.com/LeapLabTHU/FamO2O, jax_cql/): a universal policy
// pi(a | s, code(k)) trained for a family of balances k between improvement and constraint (k
// multiplies the actor loss's Q term), and a balance model that picks k per state to maximise
// min_k Q(s, pi(s, code(k(s)))). The update is CQL's (src/algo/offline/cql.cpp: the universal
// policy is its actor, with 6 more inputs); this header is what FamO2O adds to it: the code, the
// balance model and its step. The algorithm is registered as "famo2o" in famo2o.cpp, which holds
// its defaults and the differences from the authors' code.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "algo/algorithm.h"
#include "nn/nn.h"

namespace stitch {

// FamO2O's keys (the config of "famo2o": CQL's keys and these).
struct FamilyKeys {
  double coefficient_min = 0.5;  // the balance coefficient's range (locomotion: [0.5, 1.5])
  double coefficient_max = 1.5;
  bool random_coefficients = true;  // the universal policy trains on k ~ U[min, max] (offline);
                                    // off: on the balance model's k (online)
  double balance_lr = 3e-4;
  void describe(ConfigFields& f);
};

// The balance coefficient's sinusoidal code (the authors' n = 10000, d = 6):
// [sin k, cos k, sin(k / n^(1/3)), cos(k / n^(1/3)), sin(k / n^(2/3)), cos(k / n^(2/3))].
inline constexpr int64_t kBalanceCodeDims = 6;
void balance_code(double k, float* out);
// d code / dk at k.
void balance_code_derivative(double k, double* out);

// The balance model: a tanh-Gaussian over one dimension a, k = min + (a + 1) / 2 (max - min), of
// the state (the actor's widths), with its Adam; and the universal policy's input rows of a
// minibatch. Checkpoint modules: balance, balance_adam.
class BalanceModel {
 public:
  BalanceModel(const FamilyKeys& keys, const AlgoDims& dims, const std::vector<int64_t>& hidden);

  // For a minibatch (s, s') of `rows`: k(s) and k(s') sampled from the model (noise from `gen`,
  // in that order), the universal policy's training k (uniform from `gen` after them, or k(s)),
  // and the actor's input rows built from them.
  void draw(const float* s, const float* s2, int64_t rows, torch::Generator& gen);
  const float* input() const { return input_.data(); }                  // [s, code(k_train)]
  const float* next_input() const { return next_input_.data(); }        // [s', code(k(s'))]
  const float* balance_input() const { return balance_input_.data(); }  // [s, code(k(s))]
  const float* train_coefficients() const { return k_train_.data(); }   // k_train [rows]
  double mean_coefficient() const;                                      // mean k(s)
  // The model's Adam step from dL/d balance_input() [rows, obs + 6] (the code's columns are read):
  // through the code and k(s)'s reparameterised sample.
  void step(const float* d_input);
  // [obs, code(k)] with k the model's deterministic choice at obs [B, obs] (acting, evaluation).
  torch::Tensor act_input(const torch::Tensor& obs);
  std::vector<std::pair<std::string, torch::nn::Module*>> modules();
  void rebind() { flat_.rebind(); }

 private:
  // Fills `x` [rows, obs + 6] with [s, code(k)].
  void rows_with_code(const float* s, const float* k, int64_t rows, std::vector<float>& x) const;
  double to_coefficient(float a) const;

  FamilyKeys keys_;
  int64_t obs_;
  nn::TanhGaussianPolicy net_;
  nn::FlatParameters flat_;
  nn::FusedTanhGaussian fused_, fused_next_;  // at s (writes gradients), at s' (none)
  nn::FlatAdam adam_;
  torch::Tensor eps_;  // k(s)'s noise, kept for step
  std::vector<float> a_, a_next_, log_prob_, k_, k_next_, k_train_, input_, next_input_,
      balance_input_, da_;
};

}  // namespace stitch
