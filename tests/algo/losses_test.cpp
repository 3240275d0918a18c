// Each loss against a value computed by hand on a tiny fixed input.
#include "algo/losses.h"

#include <gtest/gtest.h>

#include <cmath>

#include "nn/nn.h"

namespace stitch {
namespace {

TEST(Losses, ExpectileLossByHand) {
  // u = [1, -2, 0.5], tau = 0.7: weights [0.7, 0.3, 0.7]; mean(0.7*1 + 0.3*4 + 0.7*0.25).
  const auto u = torch::tensor({1.0f, -2.0f, 0.5f});
  EXPECT_NEAR(losses::expectile_loss(u, 0.7).item<double>(), (0.7 + 1.2 + 0.175) / 3.0, 1e-6);
  // tau = 0.5 is half the mean squared error.
  EXPECT_NEAR(losses::expectile_loss(u, 0.5).item<double>(), 0.5 * (1 + 4 + 0.25) / 3.0, 1e-6);
}

TEST(Losses, AwrWeightsAreClipped) {
  const auto w = losses::awr_weights(torch::tensor({0.0f, 1.0f, 10.0f}), 3.0, 100.0);
  EXPECT_NEAR(w[0].item<double>(), 1.0, 1e-6);
  EXPECT_NEAR(w[1].item<double>(), std::exp(3.0), 1e-4);
  EXPECT_NEAR(w[2].item<double>(), 100.0, 1e-6);
}

TEST(Losses, Td3BcActorLossNormalisesQ) {
  // q = [2, -4]: lambda = 2.5 / mean|q| = 2.5 / 3; -lambda * mean(q) = -(2.5/3) * (-1) = 0.8333.
  // BC term: mean((pi - a)^2) over [[0.5, 0], [0, 0]] vs zeros = 0.25 / 4 = 0.0625.
  const auto q = torch::tensor({2.0f, -4.0f});
  const auto pi = torch::tensor({{0.5f, 0.0f}, {0.0f, 0.0f}});
  const auto a = torch::zeros({2, 2});
  EXPECT_NEAR(losses::td3_bc_actor_loss(q, pi, a, 2.5).item<double>(), 2.5 / 3.0 + 0.0625, 1e-6);
  // lambda is not differentiated: d/dq = -lambda / B for each element.
  const auto qg = q.clone().requires_grad_(true);
  losses::td3_bc_actor_loss(qg, pi, a, 2.5).backward();
  EXPECT_NEAR(qg.grad()[0].item<double>(), -(2.5 / 3.0) / 2.0, 1e-6);
}

TEST(Losses, TdTargetMasksTerminals) {
  const auto y = losses::td_target(torch::tensor({1.0f, 1.0f}), torch::tensor({0.99f, 0.99f}),
                                   torch::tensor({0.0f, 1.0f}), torch::tensor({10.0f, 10.0f}));
  EXPECT_NEAR(y[0].item<double>(), 1.0 + 0.99 * 10.0, 1e-5);
  EXPECT_NEAR(y[1].item<double>(), 1.0, 1e-6);
}

TEST(Losses, CqlConservativeTermByHand) {
  // One state, N = 1, act_dim 1, max_action 1 (log U = -log 2):
  // logsumexp([1 + log 2, 2 - (-1), 0 - 0.5]) - 0.5.
  const auto t = [](float x) { return torch::tensor({{x}}); };
  const double expected =
      std::log(std::exp(1.0 + std::log(2.0)) + std::exp(3.0) + std::exp(-0.5)) - 0.5;
  const auto term = losses::cql_conservative_term(t(1.0f), t(2.0f), t(-1.0f), t(0.0f), t(0.5f),
                                                  torch::tensor({0.5f}), 1, 1.0);
  EXPECT_NEAR(term.item<double>(), expected, 1e-5);
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
