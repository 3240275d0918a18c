// FamO2O (algo/o2o/famo2o.h): the balance model and the code; the update is CQL's (cql.cpp,
// family mode), which describes the order of the steps. Defaults from the authors' locomotion
// code (github.com/LeapLabTHU/FamO2O: jax_cql/JaxCQL/family_conservative_sac.py,
// hierarchical_policy.py, cql_finetune/family_utils.py, finetune_configs/family.py; read, not
// copied):
//   - CQL with conservative weight 1.0, 10 sampled actions, no Lagrange, lr 3e-4 for the policy,
//     the critics and the temperature, 2x256 networks, LayerNorm critics, no entropy term in the
//     TD backup, raw rewards and states (no normalisation), tau 5e-3, batch 256;
//   - the universal policy reads [s, code(k)], k in [0.5, 1.5]; offline k ~ U[0.5, 1.5] per row,
//     online the balance model's k(s) (`random_coefficients`); its loss
//     mean(alpha log pi(a~|s, code(k)) - k min_j Q_j(s, a~)); the temperature on the same sample;
//   - the balance model: a tanh-Gaussian over k of the state (the actor's widths, learned log-std
//     scale and offset), Adam lr 3e-4, loss -mean min_j Q_j(s, pi(s, code(k(s)))) through the
//     (fixed) universal policy and the code into k's reparameterised sample, no entropy term;
//     every step, offline and online;
//   - every loss from the parameters before the step (the authors' one jitted step; CQL's order
//     here); acting and evaluation: k the balance model's deterministic choice, the universal
//     policy stochastic when acting;
//   - fine-tuning: the offline data kept (the authors keep it in one replay buffer; here 50/50
//     mixing), the conservative term on, one update per env step, no warm-up.
// Differences kept (named):
//   - k = min + (a + 1) / 2 (max - min) for the model's a in (-1, 1), as the authors' IQL
//     version maps it; their CQL version maps k = a (max - min) + min, which reaches below the
//     range the universal policy is trained on (to -0.5 for [0.5, 1.5]);
//   - the TD target's and the conservative term's actions at s' read k(s') (the policy's choice
//     there); the authors' code reuses k(s);
//   - stitch's LayerNorm follows each hidden ReLU (the authors': Dense, LayerNorm, ReLU);
//     the networks start from CQL's CORL initialisation (flax's defaults in theirs, with the
//     policy heads at variance scaling 1e-2);
//   - 50/50 mixing online instead of one buffer holding the dataset and the online data.
// The deployed-policy format holds one MLP; FamO2O's policy is two networks, so `stitch export`
// refuses it with one line (evaluation and acting use the checkpoint).
#include "algo/o2o/famo2o.h"

#include <cmath>

#include "algo/fused_steps.h"
#include "algo/offline/cql.h"
#include "core/error.h"
#include "core/runtime.h"

namespace stitch {

namespace {
// n^(2i / d) for i = 0, 1, 2 with n = 10000, d = 6.
constexpr double kCodeScale[3] = {1.0, 21.544346900318832, 464.15888336127773};
}  // namespace

void FamilyKeys::describe(ConfigFields& f) {
  f.add("coefficient_min", coefficient_min, "the balance coefficient's lower end",
        {.min = -1e6, .max = 1e6});
  f.add("coefficient_max", coefficient_max, "the balance coefficient's upper end",
        {.min = -1e6, .max = 1e6});
  f.add("random_coefficients", random_coefficients,
        "the universal policy trains on uniform coefficients (offline); off: the balance model's");
  f.add("balance_lr", balance_lr, "the balance model's learning rate", kRateRange);
}

void balance_code(double k, float* out) {
  for (int i = 0; i < 3; ++i) {
    out[2 * i] = static_cast<float>(std::sin(k / kCodeScale[i]));
    out[2 * i + 1] = static_cast<float>(std::cos(k / kCodeScale[i]));
  }
}

void balance_code_derivative(double k, double* out) {
  for (int i = 0; i < 3; ++i) {
    out[2 * i] = std::cos(k / kCodeScale[i]) / kCodeScale[i];
    out[2 * i + 1] = -std::sin(k / kCodeScale[i]) / kCodeScale[i];
  }
}

BalanceModel::BalanceModel(const FamilyKeys& keys, const AlgoDims& dims,
                           const std::vector<int64_t>& hidden)
    : keys_(keys),
      obs_(dims.obs_dim),
      net_(dims.obs_dim, 1, nn::MlpOptions{.hidden = hidden}, /*max_action=*/1.0, -20.0, 2.0,
           /*log_std_affine=*/true),
      flat_(*net_),
      fused_(*net_, flat_, flat_.grad()),
      fused_next_(*net_, flat_, nullptr),
      adam_(fused_steps::flat_adam(flat_, keys.balance_lr)) {
  STITCH_CHECK(keys.coefficient_max > keys.coefficient_min,
               "famo2o: coefficient_max ({}) must be above coefficient_min ({})",
               keys.coefficient_max, keys.coefficient_min);
  net_->init_heads_xavier(1e-2);  // in place: CQL's actor initialisation
}

double BalanceModel::to_coefficient(float a) const {
  return keys_.coefficient_min +
         (static_cast<double>(a) + 1.0) / 2.0 * (keys_.coefficient_max - keys_.coefficient_min);
}

void BalanceModel::rows_with_code(const float* s, const float* k, int64_t rows,
                                  std::vector<float>& x) const {
  const int64_t cols = obs_ + kBalanceCodeDims;
  x.resize(static_cast<size_t>(rows * cols));
  for (int64_t i = 0; i < rows; ++i) {
    std::copy_n(s + i * obs_, obs_, x.data() + i * cols);
    balance_code(k[i], x.data() + i * cols + obs_);
  }
}

void BalanceModel::draw(const float* s, const float* s2, int64_t rows, torch::Generator& gen) {
  const auto n = static_cast<size_t>(rows);
  eps_ = torch::randn({rows, 1}, gen);  // read by step's backward
  const auto eps_next = torch::randn({rows, 1}, gen);
  a_.resize(n);
  a_next_.resize(n);
  log_prob_.resize(n);
  k_.resize(n);
  k_next_.resize(n);
  fused_.sample(s, rows, eps_.data_ptr<float>(), a_.data(), log_prob_.data());
  fused_next_.sample(s2, rows, eps_next.data_ptr<float>(), a_next_.data(), log_prob_.data());
  for (size_t i = 0; i < n; ++i) {
    k_[i] = static_cast<float>(to_coefficient(a_[i]));
    k_next_[i] = static_cast<float>(to_coefficient(a_next_[i]));
  }
  if (keys_.random_coefficients) {
    const auto u = torch::rand({rows}, gen);
    const float* p = u.data_ptr<float>();
    k_train_.resize(n);
    const auto lo = static_cast<float>(keys_.coefficient_min);
    const auto span = static_cast<float>(keys_.coefficient_max - keys_.coefficient_min);
    for (size_t i = 0; i < n; ++i) k_train_[i] = lo + span * p[i];
  } else {
    k_train_ = k_;
  }
  rows_with_code(s, k_train_.data(), rows, input_);
  rows_with_code(s2, k_next_.data(), rows, next_input_);
  rows_with_code(s, k_.data(), rows, balance_input_);
}

double BalanceModel::mean_coefficient() const {
  double sum = 0;
  for (const float k : k_) sum += k;
  return k_.empty() ? 0.0 : sum / static_cast<double>(k_.size());
}

void BalanceModel::step(const float* d_input) {
  const int64_t rows = static_cast<int64_t>(k_.size()), cols = obs_ + kBalanceCodeDims;
  const double dk_da = (keys_.coefficient_max - keys_.coefficient_min) / 2.0;
  da_.resize(k_.size());
  double code[kBalanceCodeDims];
  for (int64_t i = 0; i < rows; ++i) {
    balance_code_derivative(k_[i], code);
    double dk = 0;
    for (int64_t c = 0; c < kBalanceCodeDims; ++c) dk += d_input[i * cols + obs_ + c] * code[c];
    da_[i] = static_cast<float>(dk * dk_da);
  }
  fused_.backward(da_.data(), nullptr);
  adam_->step(flat_);
}

torch::Tensor BalanceModel::act_input(const torch::Tensor& obs) {
  torch::NoGradGuard no_grad;
  const auto a = net_->sample(obs, /*deterministic=*/true).first;  // [B, 1], in (-1, 1)
  const auto k =
      keys_.coefficient_min + (a + 1.0) / 2.0 * (keys_.coefficient_max - keys_.coefficient_min);
  std::vector<torch::Tensor> parts = {obs};
  for (int i = 0; i < 3; ++i) {
    parts.push_back((k / kCodeScale[i]).sin());
    parts.push_back((k / kCodeScale[i]).cos());
  }
  return torch::cat(parts, 1);
}

std::vector<std::pair<std::string, torch::nn::Module*>> BalanceModel::modules() {
  return {{"balance", net_.get()}, {"balance_adam", adam_.get()}};
}

STITCH_REGISTER_ALGORITHM(
    famo2o,
    {.name = "famo2o",
     .summary = "FamO2O (Wang et al. 2023): CQL with a universal policy over balance coefficients "
                "and a balance model that picks one per state; offline, fine-tunes",
     .normalize_observations = false,
     .locomotion_reward_scaling = false,
     .finetune = {.from = {"famo2o"}, .set = {"random_coefficients=false"}},
     .make_config = [] { return make_famo2o_config(); },
     .make = make_cql});

}  // namespace stitch
