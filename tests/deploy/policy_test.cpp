// The deployable inference path against libtorch: same actions from an exported checkpoint.
#include "deploy/policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "algo/trainer.h"
#include "core/error.h"
#include "core/rng.h"
#include "data/collect.h"
#include "data/io.h"
#include "deploy/gaussian_from_torch.h"
#include "env/registry.h"
#include "testing/errors.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;

TEST(DeployedPolicy, MatchesTheTrainedPolicyAfterExport) {
  const fs::path dir =
      fs::path(::testing::TempDir()) / ("stitch_deploy_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto env = make_env("pendulum-v1");
  auto scripted = make_scripted_policy("pendulum-v1");
  save_dataset(collect(*env, *scripted, {.transitions = 1000, .seed = 1, .gaussian_noise = 0.5}),
               (dir / "d.hdf5").string(), {});
  for (const std::string algo : {"td3_bc", "iql", "cql", "bc"}) {
    TrainConfig c;
    const std::string json =
        resolve_train_config(c, "",
                             {"algo=" + algo, "dataset=" + (dir / "d.hdf5").string(),
                              "env=pendulum-v1", "steps=50", "eval_episodes=1", "eval_every=0",
                              algo + ".hidden=64", "run_dir=" + (dir / algo).string()});
    const TrainResult r = train(json, false);
    const DeployedPolicy exported = export_checkpoint_policy(r.checkpoint);
    exported.save((dir / (algo + ".policy")).string());
    const DeployedPolicy policy = DeployedPolicy::load((dir / (algo + ".policy")).string());
    EXPECT_EQ(policy.obs_dim(), 3);
    EXPECT_EQ(policy.act_dim(), 1);
    // The evaluation through libtorch and through the deployed policy give the same returns
    // when the deployed policy drives the env: compare actions directly on many observations.
    const EvalResult torch_eval = evaluate_checkpoint(r.checkpoint, "pendulum-v1", 2, 7);
    double deployed_total = 0;
    for (int e = 0; e < 2; ++e) {
      auto env2 = make_env("pendulum-v1", {.clip_actions = true});
      std::vector<float> obs = env2->reset(7 + e), action(1);
      while (true) {
        policy.act(obs, action);
        StepResult s = env2->step(action);
        deployed_total += s.reward;
        if (s.terminated || s.truncated) break;
        obs = s.obs;
      }
    }
    EXPECT_NEAR(deployed_total / 2, torch_eval.mean, 1e-3 * std::abs(torch_eval.mean)) << algo;
  }
}

TEST(DeployedPolicy, ActionsEqualLibtorchWithin1e6) {
  // A random 17-256-256-6 ReLU MLP with tanh output, through libtorch and the deployed path.
  torch::manual_seed(0);
  std::vector<torch::Tensor> w = {torch::randn({256, 17}) * 0.2, torch::randn({256, 256}) * 0.06,
                                  torch::randn({6, 256}) * 0.06};
  std::vector<torch::Tensor> b = {torch::randn({256}) * 0.1, torch::randn({256}) * 0.1,
                                  torch::randn({6}) * 0.1};
  std::vector<DeployedPolicy::Layer> layers;
  for (int k = 0; k < 3; ++k) {
    const auto wt = w[k].t().contiguous();
    layers.push_back(
        {.in = w[k].size(1),
         .out = w[k].size(0),
         .weight = std::vector<float>(wt.data_ptr<float>(), wt.data_ptr<float>() + wt.numel()),
         .bias =
             std::vector<float>(b[k].data_ptr<float>(), b[k].data_ptr<float>() + b[k].numel())});
  }
  const DeployedPolicy policy(layers, 1.0f);
  float max_diff = 0;
  for (int t = 0; t < 200; ++t) {
    const auto obs = torch::randn({1, 17});
    auto h = torch::relu(torch::addmm(b[0], obs, w[0].t()));
    h = torch::relu(torch::addmm(b[1], h, w[1].t()));
    const auto expected = torch::tanh(torch::addmm(b[2], h, w[2].t()));
    std::vector<float> action(6);
    policy.act(std::span<const float>(obs.data_ptr<float>(), 17), action);
    for (int j = 0; j < 6; ++j)
      max_diff = std::max(max_diff, std::abs(action[j] - expected[0][j].item<float>()));
  }
  EXPECT_LE(max_diff, 1e-6f);
}

TEST(GaussianPolicy, SamplesAsTheTorchActorWithTheSameNoise) {
  // SAC's actor (17-64-64, 6 actions, max_action 2) through libtorch and the torch-free path; the
  // log-std head's bias pushed past both ends of the clamp in some dimensions.
  torch::manual_seed(3);
  nn::TanhGaussianPolicy actor(17, 6, nn::MlpOptions{.hidden = {64, 64}}, 2.0);
  {
    torch::NoGradGuard no_grad;
    auto bias = actor->log_std_head().second;
    bias.copy_(torch::tensor({30.0f, -40.0f, 0.5f, -1.0f, 0.0f, 1.0f}));
  }
  std::vector<float> params;
  append_gaussian_parameters(*actor, params);
  GaussianPolicy policy(gaussian_shape(*actor, 17, 6));
  policy.set_parameters(params.data(), static_cast<int64_t>(params.size()));
  EXPECT_EQ(policy.parameter_count(), static_cast<int64_t>(params.size()));

  const int64_t rows = 5;
  const torch::Tensor obs = torch::randn({rows, 17});
  const auto [mean, log_std] = actor->mean_log_std(obs);  // log_std clamped to [-20, 2]
  std::vector<float> det(rows * 6), sampled(rows * 6);
  Rng unused(0), rng(7), same(7);
  const std::span<const float> x(obs.data_ptr<float>(), rows * 17);
  policy.act(x, rows, unused, det, /*deterministic=*/true);
  policy.act(x, rows, rng, sampled);
  float max_diff = 0;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < 6; ++j) {
      const float m = mean[r][j].item<float>(), s = log_std[r][j].item<float>();
      const float eps = static_cast<float>(same.normal());
      max_diff = std::max(max_diff, std::abs(det[r * 6 + j] - 2.0f * std::tanh(m)));
      max_diff = std::max(max_diff,
                          std::abs(sampled[r * 6 + j] - 2.0f * std::tanh(m + std::exp(s) * eps)));
    }
  }
  EXPECT_LE(max_diff, 1e-5f);
  EXPECT_THAT(testing::error_of([&] { policy.set_parameters(params.data(), 10); }),
              ::testing::HasSubstr("10 parameter values for a policy of"));
}

TEST(DeployedPolicy, BadFilesAreErrors) {
  const std::string path = ::testing::TempDir() + "/bad_" + std::to_string(getpid()) + ".policy";
  std::ofstream(path)
      << "{\"format\":\"stitch-policy-v1\",\"layers\":[[3,4],[4,1]],\"max_action\":2}\n";
  EXPECT_THAT(
      [&] {
        try {
          DeployedPolicy::load(path);
        } catch (const Error& e) {
          return std::string(e.what());
        }
        return std::string();
      }(),
      ::testing::HasSubstr("truncated"));
  std::ofstream(path) << "garbage\n";
  EXPECT_THROW(DeployedPolicy::load(path), Error);
  const DeployedPolicy p({{.in = 2, .out = 1, .weight = {1, 1}, .bias = {0}}}, 1.0f);
  std::vector<float> a(1);
  EXPECT_THROW(p.act(std::vector<float>{1, 2, 3}, a), Error);
}

}  // namespace
}  // namespace stitch
