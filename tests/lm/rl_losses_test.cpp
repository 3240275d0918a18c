// The losses of `stitch lm rl` (lm/rl_losses.h) against values computed by hand on tiny inputs.
#include "lm/rl_losses.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace stitch::lm {
namespace {

torch::Tensor t(std::vector<float> v) { return torch::tensor(v); }
torch::Tensor t(std::vector<float> v, int64_t rows) { return torch::tensor(v).view({rows, -1}); }
void expect_values(const torch::Tensor& got, const std::vector<double>& want) {
  ASSERT_EQ(got.numel(), static_cast<int64_t>(want.size()));
  const auto flat = got.to(torch::kFloat64).contiguous().view({-1});
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(flat[static_cast<int64_t>(i)].item<double>(), want[i], 1e-5) << "element " << i;
}

TEST(RlLosses, GroupAdvantages) {
  const auto r = t({1, 0, 0, 1});
  // mean 0.5, std with Bessel's correction sqrt(1/3) = 0.577350
  const double a = 0.5 / (std::sqrt(1.0 / 3.0) + 1e-4);
  expect_values(group_advantages("grpo", r), {a, -a, -a, a});
  expect_values(group_advantages("dr_grpo", r), {0.5, -0.5, -0.5, 0.5});
  // r_i less the mean of the other three: 1 - 1/3, 0 - 2/3
  expect_values(group_advantages("rloo", r), {2.0 / 3, -2.0 / 3, -2.0 / 3, 2.0 / 3});
}

TEST(RlLosses, GrpoClipsTheRatioAndAddsTheK3Kl) {
  const auto lp = t({-0.5, -1.0, -0.2, 0.0}, 2), old_lp = t({-0.5, -1.5, -0.2, 0.0}, 2);
  const auto mask = t({1, 1, 1, 0}, 2), adv = t({1, -1});
  // ratios 1, e^0.5 = 1.6487 (clipped to 1.2 for A = 1), 1; terms -1, -1.2 and +1; row means
  // -1.1 and 1.
  EXPECT_NEAR(grpo_loss("grpo", lp, old_lp, {}, mask, adv, 0.2, 0.04, 4).item<double>(), -0.05,
              1e-6);
  // dr_grpo: (-1 - 1.2 + 1) / (4 new tokens x 2)
  EXPECT_NEAR(grpo_loss("dr_grpo", lp, old_lp, {}, mask, adv, 0.2, 0.04, 4).item<double>(), -0.15,
              1e-6);
  // k3 with ref - lp = 0.5 on row 1's first token: e^0.5 - 0.5 - 1 = 0.148721, x beta 0.1
  const auto ref = t({-0.5, -1.0, 0.3, 0.0}, 2);
  EXPECT_NEAR(grpo_loss("grpo", lp, old_lp, ref, mask, adv, 0.2, 0.1, 4).item<double>(),
              (-1.1 + 1.0 + 0.1 * (std::exp(0.5) - 1.5)) / 2, 1e-6);
  EXPECT_NEAR(grpo_loss("grpo", lp, old_lp, ref, mask, adv, 0.2, 0.0, 4).item<double>(), -0.05,
              1e-6);
}

TEST(RlLosses, RlooAndDpo) {
  const auto lp = t({-0.5, -1.0, -0.2, 0.0}, 2), mask = t({1, 1, 1, 0}, 2);
  // -(1 x -1.5 + -0.5 x -0.2) / 2
  EXPECT_NEAR(rloo_loss(lp, mask, t({1, -0.5})).item<double>(), 0.7, 1e-6);
  // -log sigmoid(0.1 x (1 - -1)) = log(1 + e^-0.2)
  EXPECT_NEAR(dpo_loss(torch::tensor(1.0), torch::tensor(-1.0), 0.1).item<double>(),
              std::log(1.0 + std::exp(-0.2)), 1e-6);
}

TEST(RlLosses, PpoRewardsAndGae) {
  const auto lp = t({-0.5, -1.0, 0.0, -0.2, 0.0, 0.0}, 2);
  const auto ref = t({-0.7, -1.0, 0.0, -0.2, 0.0, 0.0}, 2);
  // -0.5 x (lp - ref) on each token, the reward on the last masked-in one
  expect_values(ppo_rewards(lp, ref, t({1, 1, 0, 1, 0, 0}, 2), t({1, 0.1}), 0.5),
                {-0.1, 1.0, 0.0, 0.1, 0.0, 0.0});

  const auto rewards = t({0, 0, 1, 0, 1, 0}, 2), values = t({0.5, 0.6, 0.7, 0.2, 0.4, 9.0}, 2);
  const auto mask = t({1, 1, 1, 1, 1, 0}, 2);
  // Row 0: deltas 0.1, 0.1, 0.3 -> A = 0.225, 0.25, 0.3 with gamma 1, lambda 0.5. Row 1 ends
  // after two tokens (its third value, 9, must not leak in): deltas 0.2, 0.6 -> 0.5, 0.6, 0.
  expect_values(gae(rewards, values, mask, 1.0, 0.5), {0.225, 0.25, 0.3, 0.5, 0.6, 0.0});
  // gamma 0.5, lambda 1, row 0: deltas -0.2, -0.25, 0.3 -> -0.25, -0.1, 0.3
  expect_values(gae(rewards, values, mask, 0.5, 1.0).select(0, 0), {-0.25, -0.1, 0.3});
}

TEST(RlLosses, PpoClipsTheRatioAndTheValue) {
  const auto lp = t({-0.5, -1.0, 0.0}, 1), old_lp = t({-0.5, -1.5, 0.0}, 1);
  const auto mask = t({1, 1, 0}, 1), adv = t({-1, 2, 5}, 1);
  const auto values = t({0.5, 1.0, 7.0}, 1), old_values = t({0.2, 0.2, 0.0}, 1);
  const auto returns = t({0.0, 1.0, 3.0}, 1);
  const PpoLoss l = ppo_loss(lp, old_lp, values, old_values, adv, returns, mask, 0.2, 0.2, 0.1);
  // Policy: max(1, 1) = 1 and max(-2 x 1.6487, -2 x 1.2) = -2.4, mean -0.7.
  EXPECT_NEAR(l.policy.item<double>(), -0.7, 1e-6);
  // Value: max(0.25, 0.4^2) = 0.25 and max(0, (0.4 - 1)^2) = 0.36; 0.5 x mean = 0.1525.
  EXPECT_NEAR(l.value.item<double>(), 0.1525, 1e-6);
  EXPECT_NEAR(l.total.item<double>(), -0.7 + 0.1 * 0.1525, 1e-6);
}

}  // namespace
}  // namespace stitch::lm
