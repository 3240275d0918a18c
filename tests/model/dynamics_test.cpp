// The dynamics ensemble (model/dynamics.h) against the same loss written with torch ops and
// autograd and stepped with torch::optim::Adam: the Gaussian NLL through the soft log-variance
// bounds, each member on its own rows, weight decay on the weights, the bounds' own term.
#include "model/dynamics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "algo/model_based/mobile.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/runtime.h"
#include "data/dataset.h"
#include "model/rollout.h"
#include "nn/nn.h"

namespace stitch {
namespace {

constexpr int64_t kObs = 3, kAct = 2, kRows = 9, kMembers = 3;

TEST(Dynamics, TrainStepMatchesAutograd) {
  const DynamicsOptions o{.members = kMembers,
                          .hidden = {8, 6},
                          .weight_decay = {1e-2, 2e-2, 3e-2},
                          .lr = 1e-3,
                          .logvar_loss_coef = 0.01};
  DynamicsEnsemble model(kObs, kAct, o, 5);
  const int64_t in = kObs + kAct, d = kObs + 1;
  // The reference: the same parameters in torch modules.
  nn::EnsembleMlp net(kMembers, in, 2 * d, std::vector<int64_t>{8, 6}, false, 1e-5,
                      nn::Activation::kSilu);
  auto params = model.module().named_parameters();
  {
    torch::NoGradGuard no_grad;
    for (auto& item : net->named_parameters()) item.value().copy_(params["net." + item.key()]);
  }
  auto max_lv = params["max_logvar"].detach().clone().requires_grad_(true);
  auto min_lv = params["min_logvar"].detach().clone().requires_grad_(true);
  // Away from the starting bounds (0.5, -10), so that both soft clamps matter.
  {
    torch::NoGradGuard no_grad;
    max_lv.fill_(0.3);
    min_lv.fill_(-1.0);
    params["max_logvar"].fill_(0.3);
    params["min_logvar"].fill_(-1.0);
  }
  std::vector<torch::Tensor> all = net->parameters();
  all.push_back(max_lv);
  all.push_back(min_lv);
  torch::optim::Adam adam(all, torch::optim::AdamOptions(1e-3));
  torch::manual_seed(6);
  for (int step = 0; step < 3; ++step) {
    std::vector<torch::Tensor> xs, ys;
    std::vector<const float*> xp, yp;
    for (int k = 0; k < kMembers; ++k) {
      xs.push_back(torch::randn({kRows, in}));
      ys.push_back(torch::randn({kRows, d}) * 2.0);
      xp.push_back(xs.back().data_ptr<float>());
      yp.push_back(ys.back().data_ptr<float>());
    }
    const double loss = model.train_step(xp, yp, kRows);

    torch::Tensor total = torch::zeros({});
    for (int k = 0; k < kMembers; ++k) {
      const auto out = net->forward_member(xs[k], k);
      const auto mu = out.narrow(1, 0, d), raw = out.narrow(1, d, d);
      auto lv = max_lv - torch::softplus(max_lv - raw);
      lv = min_lv + torch::softplus(lv - min_lv);
      total = total + ((mu - ys[k]).pow(2) * torch::exp(-lv)).mean() + lv.mean();
    }
    auto named = net->named_parameters();  // linear_layers() are detached views
    for (size_t l = 0; l < o.weight_decay.size(); ++l) {
      total = total + 0.5 * o.weight_decay[l] *
                          named["linear" + std::to_string(l) + ".weight"].pow(2).sum();
    }
    total = total + 0.01 * (max_lv.sum() - min_lv.sum());
    adam.zero_grad();
    total.backward();
    adam.step();

    EXPECT_NEAR(loss, total.item<double>(), 1e-5 * (1 + std::abs(total.item<double>())));
    params = model.module().named_parameters();
    for (auto& item : net->named_parameters()) {
      const double err = (params["net." + item.key()] - item.value()).abs().max().item<double>();
      EXPECT_LE(err, 1e-5) << item.key() << " at step " << step;
    }
    EXPECT_LE((params["max_logvar"] - max_lv).abs().max().item<double>(), 1e-5);
    EXPECT_LE((params["min_logvar"] - min_lv).abs().max().item<double>(), 1e-5);
  }
}

// predict: the means and the bounded log-variances of one member; mse: each member's squared
// error of its means.
TEST(Dynamics, PredictAndMseReadTheMembers) {
  DynamicsEnsemble model(kObs, kAct, {.members = 2, .hidden = {8}, .weight_decay = {0, 0}}, 3);
  const int64_t in = kObs + kAct, d = kObs + 1;
  const auto x = torch::randn({kRows, in}), y = torch::randn({kRows, d});
  std::vector<float> out(static_cast<size_t>(kRows * 2 * d));
  const auto mse = model.mse(x.data_ptr<float>(), y.data_ptr<float>(), kRows);
  ASSERT_EQ(mse.size(), 2u);
  for (int k = 0; k < 2; ++k) {
    model.predict(k, x.data_ptr<float>(), kRows, out.data());
    const auto o = torch::from_blob(out.data(), {kRows, 2 * d}).clone();
    EXPECT_NEAR((o.narrow(1, 0, d) - y).pow(2).mean().item<double>(), mse[k], 1e-5);
    const auto lv = o.narrow(1, d, d);
    EXPECT_TRUE((lv <= 0.5).all().item<bool>() && (lv >= -10.0).all().item<bool>());
  }
}

// Linear dynamics with a little noise: s' = s + 0.1 A a + noise, r = w . s.
Dataset linear_dynamics(int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  Dataset d;
  d.obs_dim = kObs;
  d.act_dim = kAct;
  const auto s = torch::rand({n, kObs}) * 2 - 1, a = torch::rand({n, kAct}) * 2 - 1;
  const auto A = torch::tensor({{1.0f, 0.0f}, {0.5f, -1.0f}, {0.0f, 2.0f}});  // [obs, act]
  const auto s2 = s + 0.1 * torch::matmul(a, A.t()) + 0.01 * torch::randn({n, kObs});
  const auto r = torch::matmul(s, torch::tensor({1.0f, -2.0f, 0.5f}));
  auto put = [](const torch::Tensor& t, std::vector<float>& v) {
    const auto c = t.contiguous();
    v.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  };
  put(s, d.observations);
  put(a, d.actions);
  put(s2, d.next_observations);
  put(r, d.rewards);
  d.terminals.assign(static_cast<size_t>(n), 0);
  d.timeouts.assign(static_cast<size_t>(n), 0);
  d.has_next.assign(static_cast<size_t>(n), 1);
  d.has_next[7] = 0;  // a row without a successor is left out
  return d;
}

// Fitting: holdout MSE far below the targets' mean square (what predicting zero scores), the
// elites the best members in order, early stopping within the epoch cap, and the same fit from
// the same seed.
TEST(Dynamics, FitLearnsLinearDynamicsAndPicksElites) {
  const Dataset d = linear_dynamics(3000, 1);
  const DynamicsOptions model{.members = 4, .hidden = {32, 32}, .weight_decay = {0, 0, 0}};
  const DynamicsFitOptions fit{.batch = 128, .max_epochs = 40, .elites = 3};
  DynamicsEnsemble a(kObs, kAct, model, 2);
  const DynamicsFit r = a.fit(d, fit, 7);
  EXPECT_GE(r.epochs, 5);
  EXPECT_LE(r.epochs, 40);
  ASSERT_EQ(r.elites.size(), 3u);
  for (size_t i = 1; i < r.elites.size(); ++i)
    EXPECT_LE(r.holdout_mse[r.elites[i - 1]], r.holdout_mse[r.elites[i]]);
  double mean_square = 0;  // of [s' - s, r] over all rows
  for (int64_t i = 0; i < d.size(); ++i) {
    for (int64_t j = 0; j < kObs; ++j) {
      mean_square += std::pow(d.next_observations[i * kObs + j] - d.observations[i * kObs + j], 2);
    }
    mean_square += std::pow(d.rewards[i], 2);
  }
  mean_square /= static_cast<double>(d.size() * (kObs + 1));
  std::printf("holdout MSE of the best member %.5f, targets' mean square %.5f, %d epochs\n",
              r.holdout_mse[r.elites[0]], mean_square, r.epochs);
  EXPECT_LT(r.holdout_mse[r.elites[0]], 0.05 * mean_square);
  // The snapshot is what predicts: its MSE on the holdout is the one reported.
  DynamicsEnsemble b(kObs, kAct, model, 2);
  const DynamicsFit again = b.fit(d, fit, 7);
  EXPECT_EQ(again.holdout_mse, r.holdout_mse);
  EXPECT_EQ(again.epochs, r.epochs);
}

// Targets that are noise, independent of the inputs: nothing past their mean is learnable, and
// training stops once no member has improved by 1% for `patience` epochs.
TEST(Dynamics, FitStopsWhenNoMemberImproves) {
  Dataset d = linear_dynamics(2000, 3);
  const auto noise = torch::randn({d.size(), kObs + 1});
  for (int64_t i = 0; i < d.size(); ++i) {
    for (int64_t j = 0; j < kObs; ++j) {
      d.next_observations[i * kObs + j] = d.observations[i * kObs + j] + noise[i][j].item<float>();
    }
    d.rewards[i] = noise[i][kObs].item<float>();
  }
  DynamicsEnsemble model(kObs, kAct, {.members = 3, .hidden = {16, 16}, .weight_decay = {0, 0, 0}},
                         4);
  const DynamicsFit r =
      model.fit(d, {.batch = 128, .patience = 3, .max_epochs = 200, .elites = 2}, 5);
  std::printf("stopped after %d epochs; holdout MSE %.3f\n", r.epochs, r.holdout_mse[r.elites[0]]);
  EXPECT_LT(r.epochs, 200);
  EXPECT_GT(r.holdout_mse[r.elites[0]], 0.8);  // the noise's variance is 1
}

// Sampling: from a fitted model, next states close to the true dynamics' (the noise the model
// learnt is the data's, 0.01); with one member, the standardised residuals against that member's
// prediction are N(0, 1); the same rng seed gives the same samples.
TEST(Dynamics, SampleDrawsFromTheChosenMembersGaussians) {
  const Dataset d = linear_dynamics(3000, 1);
  DynamicsEnsemble model(kObs, kAct, {.members = 3, .hidden = {32, 32}, .weight_decay = {0, 0, 0}},
                         2);
  const DynamicsFit fit = model.fit(d, {.batch = 128, .max_epochs = 40, .elites = 2}, 7);
  const int64_t rows = 2000;
  std::vector<float> next(rows * kObs), rewards(rows), again(rows * kObs), again_r(rows);
  Rng rng(9), same(9);
  model.sample(d.observations.data(), d.actions.data(), rows, fit.elites, rng, next.data(),
               rewards.data());
  model.sample(d.observations.data(), d.actions.data(), rows, fit.elites, same, again.data(),
               again_r.data());
  EXPECT_EQ(next, again);
  EXPECT_EQ(rewards, again_r);
  double err = 0;  // against the true next state (its own noise is 0.01 per dimension)
  for (int64_t i = 0; i < rows * kObs; ++i) err += std::pow(next[i] - d.next_observations[i], 2);
  err /= static_cast<double>(rows * kObs);
  EXPECT_LT(err, 5e-4);  // two noises of 0.01: about 2e-4
  // One member: residuals against its prediction, standardised, are N(0, 1).
  const int k = fit.elites[0];
  Rng one(3);
  model.sample(d.observations.data(), d.actions.data(), rows, {k}, one, next.data(),
               rewards.data());
  std::vector<float> x(rows * (kObs + kAct)), pred(rows * 2 * (kObs + 1));
  model.standardise(d.observations.data(), d.actions.data(), rows, x.data());
  model.predict(k, x.data(), rows, pred.data());
  double sum = 0, sq = 0;
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j <= kObs; ++j) {
      const float* p = pred.data() + i * 2 * (kObs + 1);
      const double v = j < kObs ? next[i * kObs + j] - d.observations[i * kObs + j] : rewards[i];
      const double z = (v - p[j]) / std::exp(0.5 * p[kObs + 1 + j]);
      sum += z;
      sq += z * z;
    }
  }
  const double n = static_cast<double>(rows * (kObs + 1));
  EXPECT_NEAR(sum / n, 0.0, 0.05);
  EXPECT_NEAR(sq / n, 1.0, 0.05);
}

// MOBILE's next-state samples: sample j of member members[m] at row i is the state plus that
// member's predicted change plus its std times eps[j][m][i], in that order.
TEST(Dynamics, NextStateSamplesAreEachMembersGaussianInOrder) {
  const Dataset d = linear_dynamics(64, 1);
  DynamicsEnsemble model(kObs, kAct, {.members = 3, .hidden = {16}, .weight_decay = {0, 0}}, 4);
  model.fit(d, {.batch = 32, .max_epochs = 2, .elites = 2}, 5);
  const std::vector<int> members = {2, 0};
  const int64_t rows = 5, samples = 3, n = 2;
  std::vector<float> eps(samples * n * rows * kObs), out(eps.size());
  Rng rng(8);
  for (float& e : eps) e = static_cast<float>(rng.normal());
  model.sample_next_states(d.observations.data(), d.actions.data(), rows, members, samples,
                           eps.data(), out.data());
  std::vector<float> x(rows * (kObs + kAct)), pred(rows * 2 * (kObs + 1));
  model.standardise(d.observations.data(), d.actions.data(), rows, x.data());
  for (int64_t m = 0; m < n; ++m) {
    model.predict(members[m], x.data(), rows, pred.data());
    for (int64_t j = 0; j < samples; ++j) {
      for (int64_t i = 0; i < rows; ++i) {
        for (int64_t c = 0; c < kObs; ++c) {
          const float* p = pred.data() + i * 2 * (kObs + 1);
          const int64_t at = ((j * n + m) * rows + i) * kObs + c;
          const double want =
              d.observations[i * kObs + c] + p[c] + std::exp(0.5 * p[kObs + 1 + c]) * eps[at];
          EXPECT_NEAR(out[at], want, 1e-5) << "sample " << j << " member " << m << " row " << i;
        }
      }
    }
  }
}

// MOBILE's u(s, a): the std over members (unbiased) of each member's mean over samples.
TEST(Dynamics, MobileDisagreementIsTheStdOverMembersOfTheMeanOverSamples) {
  // [samples 2][members 3][rows 2]: row 0's member means are 2, 4 and 0 (std 2); row 1 is flat.
  const std::array<float, 12> values = {1, 5, 4, 5, 0, 5, 3, 5, 4, 5, 0, 5};
  std::array<float, 2> u{};
  EXPECT_DOUBLE_EQ(bellman_disagreement(values.data(), 2, 3, 2, u.data()), 1.0);
  EXPECT_FLOAT_EQ(u[0], 2.0f);
  EXPECT_FLOAT_EQ(u[1], 0.0f);
  EXPECT_THROW(bellman_disagreement(values.data(), 2, 1, 6, u.data()), Error);
}

// Building a model leaves torch's default generator where it was.
TEST(Dynamics, BuildingAModelDoesNotMoveTorchsGenerator) {
  torch::manual_seed(12);
  const auto expected = torch::rand({4});
  torch::manual_seed(12);
  DynamicsEnsemble model(kObs, kAct, {.members = 2, .hidden = {8}, .weight_decay = {0, 0}}, 1);
  EXPECT_TRUE(torch::equal(torch::rand({4}), expected));
}

// A deterministic policy of the linear task's states, for the rollout tests.
void clamped_policy(const float* obs, int64_t rows, float* actions) {
  for (int64_t i = 0; i < rows; ++i) {
    actions[i * kAct] = std::clamp(obs[i * kObs], -1.0f, 1.0f);
    actions[i * kAct + 1] = std::clamp(-obs[i * kObs + 1], -1.0f, 1.0f);
  }
}

// Rollouts from a fitted model: without a termination rule every row runs `horizon` steps; with
// one, a row stops at the step the rule ends (that transition flagged), and the transitions
// follow the true dynamics.
TEST(Dynamics, RolloutsRunTheHorizonOrStopAtTheTerminationRule) {
  const Dataset d = linear_dynamics(3000, 1);
  DynamicsEnsemble model(kObs, kAct, {.members = 3, .hidden = {32, 32}, .weight_decay = {0, 0, 0}},
                         2);
  const DynamicsFit fit = model.fit(d, {.batch = 128, .max_epochs = 40, .elites = 2}, 7);
  const RolloutPolicy policy = clamped_policy;
  const int64_t rows = 500;
  const int horizon = 5;
  Rng rng(4);
  ReplayBuffer free_run(rows * horizon, kObs, kAct);
  const RolloutStats all = model_rollout(model, fit.elites, d.observations.data(), rows, horizon,
                                         policy, nullptr, rng, free_run);
  EXPECT_EQ(all.transitions, rows * horizon);
  EXPECT_EQ(all.terminated, 0);
  EXPECT_EQ(free_run.size(), rows * horizon);

  const TerminalRule rule = [](std::span<const float> o) { return o[0] > 0.5f; };
  ReplayBuffer buffer(rows * horizon, kObs, kAct);
  const RolloutStats stats = model_rollout(model, fit.elites, d.observations.data(), rows, horizon,
                                           policy, rule, rng, buffer);
  ASSERT_EQ(buffer.size(), stats.transitions);
  EXPECT_GT(stats.terminated, 0);
  // A running row adds `horizon` transitions, an ended one between 1 and `horizon`.
  const int64_t ended = stats.transitions - (rows - stats.terminated) * horizon;
  EXPECT_GE(ended, stats.terminated);
  EXPECT_LE(ended, stats.terminated * horizon);
  const Dataset out = buffer.to_dataset();
  const auto A =
      std::array<std::array<float, kAct>, kObs>{{{1.0f, 0.0f}, {0.5f, -1.0f}, {0.0f, 2.0f}}};
  double err = 0;
  for (int64_t i = 0; i < out.size(); ++i) {
    const float* s = out.observations.data() + i * kObs;
    const float* s2 = out.next_observations.data() + i * kObs;
    const float* a = out.actions.data() + i * kAct;
    EXPECT_EQ(out.terminals[i] != 0, s2[0] > 0.5f) << i;
    for (int64_t j = 0; j < kObs; ++j) {
      const double truth = s[j] + 0.1 * (A[j][0] * a[0] + A[j][1] * a[1]);
      err += std::pow(s2[j] - truth, 2);
    }
  }
  err /= static_cast<double>(out.size() * kObs);
  EXPECT_LT(err, 5e-4);  // the model's own noise, 0.01 per dimension: about 1e-4

  // MOPO's penalty: the same draws give the same transitions, each reward lowered by exactly
  // penalty * u(s, a). The same up to rounding: with the penalty every member runs on every row,
  // without it each member on its own rows, and a GEMM's rounding may depend on its row count
  // (OpenBLAS's Haswell kernels do).
  Rng plain_rng(9), penalised_rng(9);
  ReplayBuffer plain(rows * horizon, kObs, kAct), penalised(rows * horizon, kObs, kAct);
  model_rollout(model, fit.elites, d.observations.data(), rows, horizon, policy, nullptr, plain_rng,
                plain);
  const RolloutStats p = model_rollout(model, fit.elites, d.observations.data(), rows, horizon,
                                       policy, nullptr, penalised_rng, penalised, 2.5);
  const Dataset a = plain.to_dataset(), b = penalised.to_dataset();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.next_observations.size(); ++i)
    EXPECT_NEAR(a.next_observations[i], b.next_observations[i], 1e-5) << i;
  std::vector<float> u(static_cast<size_t>(a.size()));
  model.uncertainty(a.observations.data(), a.actions.data(), a.size(), u.data());
  double penalty_sum = 0;
  for (int64_t i = 0; i < a.size(); ++i) {
    EXPECT_NEAR(b.rewards[i], a.rewards[i] - 2.5 * u[i], 1e-5) << i;
    penalty_sum += 2.5 * u[i];
  }
  EXPECT_NEAR(p.mean_penalty, penalty_sum / static_cast<double>(a.size()), 1e-5);
  EXPECT_GT(p.mean_penalty, 0.0);
}

// MBRCSL's whole episodes (model_episodes): the same draws as model_rollout's branched
// rollouts, each step stored in its own row and column; a row's return sums its rewards; a row
// ends at the termination rule's step and leaves zeros after it.
TEST(Dynamics, ModelEpisodesKeepEachRowsStepsInPlace) {
  const Dataset d = linear_dynamics(3000, 1);
  DynamicsEnsemble model(kObs, kAct, {.members = 3, .hidden = {32, 32}, .weight_decay = {0, 0, 0}},
                         2);
  const DynamicsFit fit = model.fit(d, {.batch = 128, .max_epochs = 10, .elites = 2}, 7);
  const RolloutPolicy policy = clamped_policy;
  const TerminalRule rule = [](std::span<const float> o) { return o[0] > 0.5f; };
  const int64_t rows = 200, horizon = 6;
  Rng episodes_rng(11), rollout_rng(11);
  const ModelEpisodes e = model_episodes(model, fit.elites, d.observations.data(), rows, horizon,
                                         policy, rule, episodes_rng);
  ReplayBuffer buffer(rows * horizon, kObs, kAct);
  model_rollout(model, fit.elites, d.observations.data(), rows, static_cast<int>(horizon), policy,
                rule, rollout_rng, buffer);
  const Dataset flat = buffer.to_dataset();  // step-major: every running row's step t, then t + 1
  int64_t i = 0, ended = 0;
  for (int64_t t = 0; t < horizon; ++t) {
    for (int64_t r = 0; r < rows; ++r) {
      if (t >= e.lengths[r]) continue;
      const int64_t cell = r * horizon + t;
      for (int64_t j = 0; j < kObs; ++j) {
        EXPECT_EQ(e.observations[cell * kObs + j], flat.observations[i * kObs + j])
            << r << " " << t;
        EXPECT_EQ(e.next_observations[cell * kObs + j], flat.next_observations[i * kObs + j]);
      }
      EXPECT_EQ(e.actions[cell * kAct], flat.actions[i * kAct]);
      EXPECT_EQ(e.rewards[cell], flat.rewards[i]);
      EXPECT_EQ(flat.terminals[i] != 0, e.terminated[r] && t + 1 == e.lengths[r]);
      ++i;
    }
  }
  EXPECT_EQ(i, flat.size());
  for (int64_t r = 0; r < rows; ++r) {
    double g = 0;
    for (int64_t t = 0; t < horizon; ++t) {
      const int64_t cell = r * horizon + t;
      if (t < e.lengths[r]) {
        g += e.rewards[cell];
      } else {
        EXPECT_EQ(e.rewards[cell], 0.0f);
        EXPECT_EQ(e.observations[cell * kObs], 0.0f);
      }
    }
    EXPECT_NEAR(e.returns[r], g, 1e-9);
    if (!e.terminated[r]) {
      EXPECT_EQ(e.lengths[r], horizon) << r;
    }
    ended += e.terminated[r];
  }
  EXPECT_GT(ended, 0);
  EXPECT_LT(ended, rows);
}

// MOPO's uncertainty: the largest over the members of |std| over every output, against the
// members' own predictions.
TEST(Dynamics, UncertaintyIsTheLargestMembersStdNorm) {
  DynamicsEnsemble model(kObs, kAct, {.members = 3, .hidden = {8}, .weight_decay = {0, 0}}, 5);
  {
    torch::NoGradGuard no_grad;  // members with different variances
    for (auto& p : model.module().parameters()) p.add_(torch::randn(p.sizes()) * 0.3);
  }
  const auto obs = torch::randn({kRows, kObs}), act = torch::randn({kRows, kAct});
  std::vector<float> u(kRows), x(kRows * (kObs + kAct)), pred(kRows * 2 * (kObs + 1));
  model.uncertainty(obs.data_ptr<float>(), act.data_ptr<float>(), kRows, u.data());
  model.standardise(obs.data_ptr<float>(), act.data_ptr<float>(), kRows, x.data());
  std::vector<double> expected(kRows, 0.0);
  for (int k = 0; k < 3; ++k) {
    model.predict(k, x.data(), kRows, pred.data());
    const auto lv =
        torch::from_blob(pred.data(), {kRows, 2 * (kObs + 1)}).narrow(1, kObs + 1, kObs + 1);
    const auto norm = lv.exp().sum(1).sqrt();
    for (int64_t i = 0; i < kRows; ++i) expected[i] = std::max(expected[i], norm[i].item<double>());
  }
  for (int64_t i = 0; i < kRows; ++i) EXPECT_NEAR(u[i], expected[i], 1e-5 * (1 + expected[i])) << i;
}

TEST(Dynamics, FitRejectsOtherDimensions) {
  DynamicsEnsemble model(kObs + 1, kAct, {.members = 2, .hidden = {8}, .weight_decay = {0, 0}}, 1);
  try {
    model.fit(linear_dynamics(50, 1), {}, 1);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("observation/action dimensions 3/2, the model 4/2"),
              std::string::npos);
  }
}

}  // namespace
}  // namespace stitch
