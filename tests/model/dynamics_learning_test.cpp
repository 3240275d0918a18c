// Learning test of the dynamics ensemble (slow tier): fitted on the suite's Pendulum medium data
// (all but its last 10 episodes), its best member predicts the held-out last 10 episodes'
// [s' - s, r] with a far smaller error than a linear least-squares fit on the same rows
// (Pendulum's dynamics and reward are not linear in the observation and action).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "data/io.h"
#include "data/transform.h"
#include "model/dynamics.h"
#include "nn/nn.h"
#include "testing/suite_data.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;

// [obs, action] rows and [s' - s, r] targets of the rows with a successor.
std::pair<torch::Tensor, torch::Tensor> inputs_and_targets(const Dataset& d) {
  std::vector<float> x, y;
  for (int64_t i = 0; i < d.size(); ++i) {
    if (d.has_next[static_cast<size_t>(i)] == 0) continue;
    for (int64_t j = 0; j < d.obs_dim; ++j) x.push_back(d.observations[i * d.obs_dim + j]);
    for (int64_t j = 0; j < d.act_dim; ++j) x.push_back(d.actions[i * d.act_dim + j]);
    for (int64_t j = 0; j < d.obs_dim; ++j) {
      y.push_back(d.next_observations[i * d.obs_dim + j] - d.observations[i * d.obs_dim + j]);
    }
    y.push_back(d.rewards[static_cast<size_t>(i)]);
  }
  const int64_t n = static_cast<int64_t>(y.size()) / (d.obs_dim + 1);
  return {torch::tensor(x).view({n, d.obs_dim + d.act_dim}), torch::tensor(y).view({n, -1})};
}

// Measured on 2026-12-03 (2-core Xeon, alongside a sweep; 5.3 min, the 200-epoch cap reached):
// held-out MSE 0.00058 for the ensemble's best member, 0.49261 for the linear fit (a ratio of
// 0.0012). The bound asks for under 0.01 of the linear fit's error (about 8x the measured ratio).
TEST(DynamicsLearning, FitsPendulumFarBetterThanALinearModel) {
  const fs::path dir =
      fs::path(::testing::TempDir()) / ("stitch_dynamics_learn_" + std::to_string(getpid()));
  const Dataset all = load_dataset(testing::pendulum_suite_data(dir / "suite", "medium"));
  const auto episodes = static_cast<int64_t>(all.episodes.size());
  const Dataset train = slice_episodes(all, 0, episodes - 10);
  const Dataset test = slice_episodes(all, episodes - 10, episodes);
  DynamicsEnsemble model(all.obs_dim, all.act_dim, {}, 0);
  const DynamicsFit fit = model.fit(train, {.max_epochs = 200}, 1);
  const auto [x_test, y_test] = inputs_and_targets(test);
  const int64_t rows = x_test.size(0);
  std::vector<float> x(static_cast<size_t>(rows * model.input_dim()));
  const auto obs = x_test.narrow(1, 0, all.obs_dim).contiguous();
  const auto act = x_test.narrow(1, all.obs_dim, all.act_dim).contiguous();
  model.standardise(obs.data_ptr<float>(), act.data_ptr<float>(), rows, x.data());
  const auto y = y_test.contiguous();
  const double model_mse = model.mse(x.data(), y.data_ptr<float>(), rows)[fit.elites[0]];
  // Least squares on [obs, action, 1] over the training rows.
  const auto [x_train, y_train] = inputs_and_targets(train);
  auto with_bias = [](const torch::Tensor& t) {
    return torch::cat({t.to(torch::kFloat64), torch::ones({t.size(0), 1}, torch::kFloat64)}, 1);
  };
  const auto w =
      torch::matmul(torch::linalg::pinv(with_bias(x_train)), y_train.to(torch::kFloat64));
  const double linear_mse = (torch::matmul(with_bias(x_test), w) - y_test.to(torch::kFloat64))
                                .pow(2)
                                .mean()
                                .item<double>();
  std::printf(
      "held-out MSE of [s' - s, r]: dynamics ensemble %.5f (%d epochs, elite %d), linear "
      "%.5f\n",
      model_mse, fit.epochs, fit.elites[0], linear_mse);
  EXPECT_LT(model_mse, 0.01 * linear_mse);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace stitch
