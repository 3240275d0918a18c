// The losses of the fused updates (nn/fused_mlp.h), in one place: the float-array arithmetic that
// IQL, TD3 / TD3+BC, CQL and SAC run, each function checked against values computed by hand in
// tests/algo/losses_test.cpp. A loss takes the networks' outputs, returns its value (or the sums
// it is made of) and writes its gradient with respect to those outputs; the networks' forward
// and backward passes stay with the callers. Torch-free.
//
// A loss over a minibatch of `batch` rows may be evaluated on `rows` of them (rows <= batch), so
// that two tasks share a batch: the gradients are those of the whole batch's loss, the sums are
// the rows' parts. Arrays hold `rows` entries unless noted. float32 throughout, double where a
// sum runs over a batch; the operation order is part of the contract (1 and 2 threads, and the
// autograd references in tests/algo/fused_test.cpp, agree to the bit or to float rounding).
#pragma once

#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace stitch::losses {

// ---- TD learning --------------------------------------------------------------------------

// The TD target y = r + discount * (1 - terminal) * next_value, row by row (the discount
// column holds gamma^n of an n-step return). `out` may be `next_value`.
void td_target(const float* reward, const float* discount, const float* terminal,
               const float* next_value, int64_t rows, float* out);

// The TD regression of one critic, L = sum_i (q_i - y_i)^2 / batch: returns the rows' part of L
// and their sum of q; writes dL/dq_i = 2 (q_i - y_i) / batch into dq.
std::pair<double, double> squared_td_error(const float* q, const float* target, int64_t rows,
                                           int64_t batch, float* dq);

// The same with the Huber loss (RIQL, Yang et al. 2024: robust to corrupted targets), as
// torch's smooth_l1_loss with beta = delta: l(d) = d^2 / (2 delta) for |d| < delta, |d| - delta / 2
// beyond; L = sum_i l(q_i - y_i) / batch. Returns the rows' part of L and their sum of q; writes
// dL/dq_i (d / delta inside, sign(d) beyond, over batch) into dq.
std::pair<double, double> huber_td_error(const float* q, const float* target, int64_t rows,
                                         int64_t batch, float delta, float* dq);

// The alpha-quantile of n values as torch.quantile computes it (linear interpolation between
// the order statistics at position alpha (n - 1)); sorts `values` in place. alpha in [0, 1].
float quantile(float* values, int n, float alpha);

// ---- IQL (Kostrikov, Nair & Levine 2021) --------------------------------------------------

// Expectile regression (Eq. 5): L = sum_i |tau - 1(u_i < 0)| u_i^2 / batch, u = target -
// prediction. Returns the rows' sum of |tau - 1(u < 0)| u^2 (batch * their part of L); writes
// dL/dprediction_i = -2 |tau - 1(u_i < 0)| u_i / batch into d_prediction.
double expectile_loss(const float* u, int64_t rows, float tau, int64_t batch, float* d_prediction);

// The advantage weight of advantage-weighted regression (Eq. 7): min(exp(temperature *
// advantage), max_weight) (the clip at 100 is the authors' code's).
float awr_weight(float advantage, float temperature, float max_weight);

// ---- TD3+BC (Fujimoto & Gu 2021) ----------------------------------------------------------

// The actor loss (Eq. 3): L = -lambda mean_i Q(s_i, pi(s_i)) + mean_ij (pi(s_i)_j - a_ij)^2, with
// lambda = alpha / mean_i |Q(s_i, pi(s_i))| held fixed (no gradient through it). TD3's actor
// loss is the case lambda = 1 without the BC term.

// lambda from the sum of |Q| over the batch's `batch` rows.
double td3_bc_lambda(double alpha, double q_abs_sum, int64_t batch);
// The BC term on `count` of the batch's action entries, weight * sum (pi - a)^2 / total: returns
// the entries' sum of (pi - a)^2 and adds the term's gradient 2 weight (pi - a) / total into d_pi
// (TD3+BC: total = rows * act_dim, weight 1; ReBRAC: total = rows, weight beta_actor).
double behaviour_cloning(const float* pi, const float* a, int64_t count, int64_t total, float* d_pi,
                         float weight = 1.0f);
// L from the batch's mean Q and its sum of squared BC errors over `total` entries (bc_sum and
// total ignored without BC).
double td3_bc_actor_loss(double lambda, double q_mean, bool bc, double bc_sum, int64_t total);

// ---- SAC (Haarnoja et al. 2018, arXiv:1812.05905) -----------------------------------------

// The actor loss through an ensemble of critics: L = mean_i (alpha log pi_i - min_k q[k]_i), the
// critics and alpha held fixed (q: `members` pointers to [rows]). Returns L; writes dL/dq[k]
// (-1 / rows for the smallest member, the first of equal values as torch's min, 0 for the
// others) and dL/dlog_pi = alpha / rows.
double min_q_actor_loss(const float* const* q, int members, const float* log_pi, int64_t rows,
                        double alpha, float* const* dq, float* dlog_pi);

// The temperature loss (Sec. 5, Eq. 18): L = -mean_i log_alpha (log pi_i + target_entropy),
// log pi held fixed. Its gradient with respect to log_alpha and the mean log pi (-entropy).
struct TemperatureGradient {
  double log_pi_mean;
  double d_log_alpha;  // -(mean log pi + target_entropy)
};
TemperatureGradient sac_temperature_loss(const float* log_pi, int64_t rows, double target_entropy);

// ---- CQL (Kumar, Zhou, Tucker & Levine 2020) ----------------------------------------------

// CQL(H)'s logsumexp at one state with importance sampling (App. F): over three blocks of n
// sampled actions, uniform, pi(.|s) and pi(.|s') (all at s),
//   lse = log sum_{b,j} exp(q[b][j] - log_density[b][j]),
// the log-density of block 0 the constant log_uniform = -act_dim * log(2 max_action), that of
// blocks 1 and 2 log_pi[0][j] and log_pi[1][j]. Returns lse; writes weight * d lse / d q[b][j] /
// batch (the softmax, times the conservative weight over the batch size) into dq[b][j].
// scratch: 3 n doubles, reused. Cal-QL (Nakamoto et al. 2023, Eq. 5): with lower_bound finite,
// the policy blocks' q (1 and 2, not the uniform one) count as max(q, lower_bound), so their
// dq is 0 where q < lower_bound.
double cql_logsumexp(const float* const (&q)[3], const float* const (&log_pi)[2],
                     double log_uniform, int64_t n, double weight, int64_t batch,
                     float* const (&dq)[3], std::vector<double>& scratch,
                     float lower_bound = -std::numeric_limits<float>::infinity());

// CQL-Lagrange's multiplier loss -clamp(exp(log_alpha'), 0, 1e6) * weight * (gap - target_gap),
// the gap held fixed: its gradient with respect to log_alpha' (the clamp passing it inside).
double cql_lagrange_gradient(double log_alpha_prime, double weight, double gap, double target_gap);

}  // namespace stitch::losses
