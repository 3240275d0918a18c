#include "nn/nn.h"

#include <gtest/gtest.h>

#include <cmath>

#include "nn/fused_mlp.h"

namespace stitch {
namespace {

TEST(Nn, MlpShapesAndLayerNorm) {
  torch::manual_seed(0);
  nn::Mlp mlp(5, 3, nn::MlpOptions{.hidden = {16, 16}, .activation = "tanh", .layer_norm = true});
  EXPECT_EQ(mlp->forward(torch::randn({7, 5})).sizes(), (std::vector<int64_t>{7, 3}));
  EXPECT_THROW(nn::Mlp(5, 3, nn::MlpOptions{.activation = "swish"}), std::exception);
}

TEST(Nn, EnsembleMembersAreIndependentLinearStacks) {
  torch::manual_seed(0);
  nn::EnsembleMlp ens(3, 4, 2, std::vector<int64_t>{8});
  const auto x = torch::randn({5, 4});
  const auto y = ens->forward(x);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{3, 5, 2}));
  // Member 1 by hand: relu(x W0 + b0) W1 + b1.
  auto params = ens->named_parameters();
  const auto w0 = params["linear0.weight"][1], b0 = params["linear0.bias"][1];
  const auto w1 = params["linear1.weight"][1], b1 = params["linear1.bias"][1];
  const auto expected = torch::relu(x.matmul(w0) + b0).matmul(w1) + b1;
  EXPECT_TRUE(torch::allclose(y[1], expected, 1e-5, 1e-6));
  // Default init bound 1/sqrt(fan_in).
  EXPECT_LE(params["linear0.weight"].abs().max().item<float>(), 0.5f);
}

TEST(Nn, SoftUpdateIsPolyakAveraging) {
  nn::Mlp a(2, 1, nn::MlpOptions{.hidden = {4}}), b(2, 1, nn::MlpOptions{.hidden = {4}});
  const auto before = a->parameters()[0].clone();
  nn::soft_update(*a, *b, 0.25);
  EXPECT_TRUE(torch::allclose(a->parameters()[0], 0.75 * before + 0.25 * b->parameters()[0]));
  nn::hard_update(*a, *b);
  EXPECT_TRUE(torch::equal(a->parameters()[0], b->parameters()[0]));
  EXPECT_TRUE(nn::all_finite(*a));
}

TEST(Nn, TanhGaussianSampleAndLogProbAgree) {
  torch::manual_seed(0);
  nn::TanhGaussianPolicy pi(3, 2, nn::MlpOptions{.hidden = {16, 16}}, 2.0);
  const auto obs = torch::randn({6, 3});
  auto gen = at::detail::createCPUGenerator(1);
  const auto [action, log_prob] = pi->sample(obs, false, &gen);
  EXPECT_LE(action.abs().max().item<float>(), 2.0f);
  EXPECT_TRUE(torch::allclose(pi->log_prob(obs, action), log_prob, 1e-3, 1e-3));
  const auto [mode, unused] = pi->sample(obs, true);
  EXPECT_EQ(mode.sizes(), (std::vector<int64_t>{6, 2}));
}

TEST(Nn, GaussianPolicyLogProbIsTheNormalDensity) {
  nn::GaussianPolicy pi(2, 1, nn::MlpOptions{.hidden = {8}}, 1.0);
  const auto obs = torch::zeros({1, 2});
  const auto mean = pi->mean(obs);
  // log_std starts at 0: log N(mean + 1; mean, 1) = -0.5 - 0.5 log(2 pi).
  EXPECT_NEAR(pi->log_prob(obs, mean + 1.0).item<double>(), -0.5 - 0.5 * std::log(2 * M_PI), 1e-5);
}

// The SiLU kernels' exp: within 1 ulp (2 allowed, for FMA contraction in the AVX2 clone) of the
// true value at 20 million evenly spaced points of [-87, 88]; outside, finite and saturating;
// NaN stays NaN.
TEST(Nn, VectorisableExpIsWithinAnUlp) {
  using nn::fused::exp_vectorisable;
  double worst = 0;
  constexpr int64_t kPoints = 20'000'000;
  for (int64_t i = 0; i <= kPoints; ++i) {
    const auto x = static_cast<float>(-87.0 + 175.0 * static_cast<double>(i) / kPoints);
    const double ref = std::exp(static_cast<double>(x));
    const float f = static_cast<float>(ref);
    const double ulp = std::nextafter(f, 3e38f) - f;
    worst = std::max(worst, std::abs(exp_vectorisable(x) - ref) / ulp);
  }
  EXPECT_LE(worst, 2.0);
  EXPECT_EQ(exp_vectorisable(0.0f), 1.0f);
  for (const float x : {-200.0f, -1e10f, -1e30f}) {
    EXPECT_GE(exp_vectorisable(x), 0.0f) << x;
    EXPECT_LT(exp_vectorisable(x), 1e-37f) << x;
  }
  for (const float x : {100.0f, 1e10f, 1e30f}) {
    EXPECT_TRUE(std::isfinite(exp_vectorisable(x))) << x;
    EXPECT_GT(exp_vectorisable(x), 1e38f) << x;
  }
  EXPECT_TRUE(std::isnan(exp_vectorisable(std::nanf(""))));
}

}  // namespace

}  // namespace stitch
