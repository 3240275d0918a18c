// Each loss of the fused updates (algo/losses.h) against values and gradients computed by hand
// on tiny fixed inputs.
#include "algo/losses.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "nn/nn.h"

namespace stitch {
namespace {

TEST(Losses, TdTargetMasksTerminals) {
  const float r[] = {1, 1}, discount[] = {0.99f, 0.99f}, terminal[] = {0, 1};
  float y[] = {10, 10};  // the next values, overwritten by the target
  losses::td_target(r, discount, terminal, y, 2, y);
  EXPECT_NEAR(y[0], 1.0 + 0.99 * 10.0, 1e-5);
  EXPECT_EQ(y[1], 1.0f);
}

TEST(Losses, SquaredTdErrorByHand) {
  // q = [1, 3], y = [2, 0]: errors [-1, 3]; over a batch of 4 (these are two of its rows):
  // L part (1 + 9) / 4, dL/dq = 2 d / 4.
  const float q[] = {1, 3}, y[] = {2, 0};
  float dq[2];
  const auto [loss, q_sum] = losses::squared_td_error(q, y, 2, 4, dq);
  EXPECT_DOUBLE_EQ(loss, 2.5);
  EXPECT_DOUBLE_EQ(q_sum, 4.0);
  EXPECT_FLOAT_EQ(dq[0], -0.5f);
  EXPECT_FLOAT_EQ(dq[1], 1.5f);
}

TEST(Losses, HuberTdErrorByHand) {
  // delta 1: q - y = [-0.5, 3]: l = [0.125, 2.5]; over a batch of 4: L part 2.625 / 4, dL/dq
  // = [-0.5, 1] / 4.
  const float q[] = {1.5f, 3}, y[] = {2, 0};
  float dq[2];
  const auto [loss, q_sum] = losses::huber_td_error(q, y, 2, 4, 1.0f, dq);
  EXPECT_DOUBLE_EQ(loss, 2.625 / 4);
  EXPECT_DOUBLE_EQ(q_sum, 4.5);
  EXPECT_FLOAT_EQ(dq[0], -0.125f);
  EXPECT_FLOAT_EQ(dq[1], 0.25f);
  // delta 0.25 (RIQL's sigma 2): inside, d^2 / (2 delta) and d / delta.
  const float q2[] = {0.1f}, y2[] = {0};
  const auto [l2, s2] = losses::huber_td_error(q2, y2, 1, 1, 0.25f, dq);
  EXPECT_NEAR(l2, 0.01 / 0.5, 1e-7);
  EXPECT_FLOAT_EQ(dq[0], 0.4f);
  (void)s2;
}

TEST(Losses, QuantileInterpolatesLikeTorch) {
  float v[] = {5, 1, 4, 2, 3};
  EXPECT_FLOAT_EQ(losses::quantile(v, 5, 0.25f), 2.0f);  // position 1: the 2nd smallest
  float w[] = {4, 1, 3, 2};
  EXPECT_FLOAT_EQ(losses::quantile(w, 4, 0.25f), 1.75f);  // position 0.75
  float x[] = {4, 1, 3, 2};
  EXPECT_FLOAT_EQ(losses::quantile(x, 4, 0.0f), 1.0f);
  float y[] = {4, 1, 3, 2};
  EXPECT_FLOAT_EQ(losses::quantile(y, 4, 1.0f), 4.0f);
}

TEST(Losses, ExpectileLossByHand) {
  // u = [1, -2, 0.5], tau = 0.7: weights [0.7, 0.3, 0.7]; sum 0.7*1 + 0.3*4 + 0.7*0.25, and
  // dL/dprediction = -2 w u / 3.
  const float u[] = {1.0f, -2.0f, 0.5f};
  float d[3];
  EXPECT_NEAR(losses::expectile_loss(u, 3, 0.7f, 3, d) / 3.0, (0.7 + 1.2 + 0.175) / 3.0, 1e-6);
  EXPECT_NEAR(d[0], -2 * 0.7 * 1.0 / 3.0, 1e-6);
  EXPECT_NEAR(d[1], -2 * 0.3 * -2.0 / 3.0, 1e-6);
  EXPECT_NEAR(d[2], -2 * 0.7 * 0.5 / 3.0, 1e-6);
  // tau = 0.5 is half the mean squared error; rows of a larger batch divide by the batch.
  EXPECT_NEAR(losses::expectile_loss(u, 3, 0.5f, 3, d) / 3.0, 0.5 * (1 + 4 + 0.25) / 3.0, 1e-6);
  losses::expectile_loss(u, 1, 0.5f, 10, d);
  EXPECT_NEAR(d[0], -2 * 0.5 * 1.0 / 10.0, 1e-7);
}

TEST(Losses, AwrWeightsAreClipped) {
  EXPECT_FLOAT_EQ(losses::awr_weight(0.0f, 3.0f, 100.0f), 1.0f);
  EXPECT_NEAR(losses::awr_weight(1.0f, 3.0f, 100.0f), std::exp(3.0), 1e-4);
  EXPECT_FLOAT_EQ(losses::awr_weight(10.0f, 3.0f, 100.0f), 100.0f);
}

TEST(Losses, Td3BcActorLossNormalisesQ) {
  // q = [2, -4]: lambda = 2.5 / mean|q| = 2.5 / 3; -lambda * mean(q) = -(2.5/3) * (-1).
  const double lambda = losses::td3_bc_lambda(2.5, 6.0, 2);
  EXPECT_DOUBLE_EQ(lambda, 2.5 / 3.0);
  // BC term over pi [[0.5, 0], [0, 0]] against zeros (4 entries): sum 0.25, mean 0.0625, its
  // gradient 2 (pi - a) / 4 added to what is there.
  const float pi[] = {0.5f, 0, 0, 0}, a[] = {0, 0, 0, 0};
  float d_pi[] = {1, 1, 1, 1};
  const double bc_sum = losses::behaviour_cloning(pi, a, 4, 4, d_pi);
  EXPECT_DOUBLE_EQ(bc_sum, 0.25);
  EXPECT_FLOAT_EQ(d_pi[0], 1.25f);
  EXPECT_FLOAT_EQ(d_pi[1], 1.0f);
  EXPECT_NEAR(losses::td3_bc_actor_loss(lambda, -1.0, true, bc_sum, 4), 2.5 / 3.0 + 0.0625, 1e-12);
  EXPECT_DOUBLE_EQ(losses::td3_bc_actor_loss(1.0, 3.0, false, bc_sum, 4), -3.0);  // TD3
}

TEST(Losses, MinQActorLossByHand) {
  // Rows: qa = [1, 5, 2], qb = [2, 4, 2], log pi = [-1, 0, 1], alpha 0.5:
  // mean(0.5 * log pi - min) = ((-0.5 - 1) + (0 - 4) + (0.5 - 2)) / 3 = -7 / 3; the gradient goes
  // to the smaller member (the first of equal ones).
  const float qa[] = {1, 5, 2}, qb[] = {2, 4, 2}, log_pi[] = {-1, 0, 1};
  float dqa[3], dqb[3], dlog_pi[3];
  const float* q[] = {qa, qb};
  float* dq[] = {dqa, dqb};
  EXPECT_NEAR(losses::min_q_actor_loss(q, 2, log_pi, 3, 0.5, dq, dlog_pi), -7.0 / 3.0, 1e-12);
  const float third = 1.0f / 3.0f;
  EXPECT_EQ(std::vector<float>(dqa, dqa + 3), (std::vector<float>{-third, 0, -third}));
  EXPECT_EQ(std::vector<float>(dqb, dqb + 3), (std::vector<float>{0, -third, 0}));
  EXPECT_FLOAT_EQ(dlog_pi[2], 0.5f / 3.0f);
  // Three members: qc = [0, 9, 2] is the smallest on row 0 only (row 2: a tie, the first wins).
  const float qc[] = {0, 9, 2};
  float dqc[3];
  const float* q3[] = {qa, qb, qc};
  float* dq3[] = {dqa, dqb, dqc};
  // ((-0.5 - 0) + (0 - 4) + (0.5 - 2)) / 3 = -2.
  EXPECT_NEAR(losses::min_q_actor_loss(q3, 3, log_pi, 3, 0.5, dq3, dlog_pi), -2.0, 1e-12);
  EXPECT_EQ(std::vector<float>(dqa, dqa + 3), (std::vector<float>{0, 0, -third}));
  EXPECT_EQ(std::vector<float>(dqb, dqb + 3), (std::vector<float>{0, -third, 0}));
  EXPECT_EQ(std::vector<float>(dqc, dqc + 3), (std::vector<float>{-third, 0, 0}));
}

TEST(Losses, SacTemperatureGradientByHand) {
  // d/dlog_alpha of -mean log_alpha (log pi + H) = -(mean log pi + H); mean log pi = -1.
  const float log_pi[] = {-2, 0, -1};
  const auto t = losses::sac_temperature_loss(log_pi, 3, -2.0);
  EXPECT_DOUBLE_EQ(t.log_pi_mean, -1.0);
  EXPECT_DOUBLE_EQ(t.d_log_alpha, 3.0);  // entropy 1 below the target 2: alpha grows
}

TEST(Losses, CqlLogsumexpByHand) {
  // One state, N = 1, act_dim 1, max_action 1 (log U = -log 2):
  // lse = logsumexp([1 + log 2, 2 - (-1), 0 - 0.5]); dq = weight * softmax / batch.
  const float q0 = 1, q1 = 2, q2 = 0, log_pi = -1, log_pi_next = 0.5f;
  float d0 = 0, d1 = 0, d2 = 0;
  std::vector<double> scratch;
  const double v[] = {1 + std::log(2.0), 3.0, -0.5};
  const double sum = std::exp(v[0]) + std::exp(v[1]) + std::exp(v[2]);
  const double lse = losses::cql_logsumexp({&q0, &q1, &q2}, {&log_pi, &log_pi_next}, -std::log(2.0),
                                           1, 5.0, 4, {&d0, &d1, &d2}, scratch);
  EXPECT_NEAR(lse, std::log(sum), 1e-12);
  EXPECT_NEAR(d0, 5.0 * std::exp(v[0]) / sum / 4, 1e-7);
  EXPECT_NEAR(d1, 5.0 * std::exp(v[1]) / sum / 4, 1e-7);
  EXPECT_NEAR(d2, 5.0 * std::exp(v[2]) / sum / 4, 1e-7);
  // Stable for values far beyond exp's range: the largest dominates.
  const float big = 1000;
  EXPECT_NEAR(losses::cql_logsumexp({&big, &q1, &q2}, {&log_pi, &log_pi_next}, 0.0, 1, 1.0, 1,
                                    {&d0, &d1, &d2}, scratch),
              1000.0, 1e-9);
  EXPECT_FLOAT_EQ(d0, 1.0f);
}

TEST(Losses, CalQlBoundsThePolicyBlocksOnly) {
  // Cal-QL: with the bound G = 1.5, the policy blocks count max(q, G): q1 = 2 stays, q2 = 0
  // becomes 1.5 with no gradient; the uniform block's q0 = 1 < G is not bounded.
  const float q0 = 1, q1 = 2, q2 = 0, log_pi = -1, log_pi_next = 0.5f;
  float d0 = 0, d1 = 0, d2 = 0;
  std::vector<double> scratch;
  const double v[] = {1 + std::log(2.0), 3.0, 1.5 - 0.5};
  const double sum = std::exp(v[0]) + std::exp(v[1]) + std::exp(v[2]);
  const double lse = losses::cql_logsumexp({&q0, &q1, &q2}, {&log_pi, &log_pi_next}, -std::log(2.0),
                                           1, 5.0, 4, {&d0, &d1, &d2}, scratch, 1.5f);
  EXPECT_NEAR(lse, std::log(sum), 1e-12);
  EXPECT_NEAR(d0, 5.0 * std::exp(v[0]) / sum / 4, 1e-7);
  EXPECT_NEAR(d1, 5.0 * std::exp(v[1]) / sum / 4, 1e-7);
  EXPECT_EQ(d2, 0.0f);
}

TEST(Losses, CqlLagrangeGradientByHand) {
  // d/dlog_alpha' of -exp(log_alpha') w (gap - target) = -exp(log_alpha') w (gap - target).
  EXPECT_NEAR(losses::cql_lagrange_gradient(std::log(2.0), 5.0, 12.0, 20.0), 80.0, 1e-12);
  // Beyond the clamp at 1e6 no gradient passes.
  EXPECT_EQ(losses::cql_lagrange_gradient(std::log(2e6), 5.0, 12.0, 20.0), 0.0);
}

TEST(Losses, TanhGaussianLogProbWithCorrection) {
  // 1-D, u = 0.5, mean 0, log_std 0: log N(0.5; 0, 1) - log(1 - tanh(0.5)^2).
  const auto u = torch::tensor({{0.5f}});
  const double expected =
      -0.5 * 0.25 - 0.5 * std::log(2 * M_PI) - std::log(1.0 - std::pow(std::tanh(0.5), 2));
  const auto log_prob = nn::gaussian_log_prob(u, torch::zeros({1, 1}), torch::zeros({1, 1})) -
                        nn::tanh_log_det_jacobian(u).sum(-1);
  EXPECT_NEAR(log_prob.item<double>(), expected, 1e-5);
  // Stable for large |u| where 1 - tanh(u)^2 underflows in float32.
  EXPECT_TRUE(std::isfinite(nn::tanh_log_det_jacobian(torch::tensor({30.0f})).item<float>()));
}

}  // namespace
}  // namespace stitch
