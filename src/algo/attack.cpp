#include "algo/attack.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "algo/algorithm.h"
#include "algo/training_loop.h"
#include "core/error.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;

constexpr int kSteps = 100;           // attack.py's iterations
constexpr double kLrPerScale = 0.01;  // its Adam lr, times epsilon
constexpr int64_t kChunk = 1024;      // rows per batch of the attack

// a = max_action tanh(MLP(obs)) through the policy's ReLU layers, differentiable in obs.
torch::Tensor policy_action(Algorithm& algo, const torch::Tensor& obs, double max_action) {
  auto x = obs;
  const auto layers = algo.policy_layers();
  for (size_t l = 0; l < layers.size(); ++l) {
    x = torch::addmm(layers[l].second, x, layers[l].first.t());
    if (l + 1 < layers.size()) x = torch::relu(x);
  }
  return max_action * torch::tanh(x);
}

}  // namespace

AdversarialAttack q_attack(const std::string& checkpoint) {
  fs::path path = checkpoint;
  if (fs::is_directory(path)) path = path / "checkpoints" / "latest.pt";
  auto agent = std::make_shared<LoadedAlgorithm>(load_algorithm_checkpoint(path.string()));
  const std::string name = path.string();
  const int64_t obs_dim = agent->contents.obs_dim, act_dim = agent->contents.act_dim;
  if (!agent->algo->q_values(torch::zeros({1, obs_dim}), torch::zeros({1, act_dim})).defined()) {
    fail("{}: {} has no critics to attack (train one that has, e.g. --algo edac)", name,
         agent->algo->name());
  }
  return [agent, name, obs_dim, act_dim](
             const Dataset& d, CorruptTarget target, const std::vector<int64_t>& rows,
             const std::vector<double>& std, double scale, std::vector<float>& column, Rng& rng) {
    if (d.obs_dim != obs_dim || d.act_dim != act_dim) {
      fail("{}: the agent acts on {} observation and {} action dimensions, the data has {} and {}",
           name, obs_dim, act_dim, d.obs_dim, d.act_dim);
    }
    const Normalizers& norm = agent->contents.normalizers;
    const auto opts = torch::TensorOptions().dtype(torch::kFloat32);
    torch::Tensor mean, inv_std;
    if (norm.observations) {
      mean = torch::tensor(norm.obs.mean, opts);
      inv_std = 1.0 / torch::tensor(norm.obs.std, opts);
    }
    auto seen = [&](const torch::Tensor& obs) {
      return norm.observations ? (obs - mean) * inv_std : obs;
    };
    const int64_t width = target == CorruptTarget::kActions ? act_dim : obs_dim;
    std::vector<float> std_f(std.begin(), std.end());
    const auto std_t = torch::tensor(std_f, opts);
    const double lr = kLrPerScale * scale;
    Algorithm& algo = *agent->algo;
    const double max_action = agent->contents.max_action;
    for (size_t c0 = 0; c0 < rows.size(); c0 += kChunk) {
      const auto m = static_cast<int64_t>(std::min<size_t>(kChunk, rows.size() - c0));
      auto base = torch::empty({m, width}, opts);
      auto obs = torch::empty({m, obs_dim}, opts);
      auto act = torch::empty({m, act_dim}, opts);
      auto p = torch::empty({m, width}, opts);
      float *b = base.data_ptr<float>(), *o = obs.data_ptr<float>(), *a = act.data_ptr<float>(),
            *pp = p.data_ptr<float>();
      for (int64_t r = 0; r < m; ++r) {
        const int64_t i = rows[c0 + r];
        std::copy_n(&column[i * width], width, b + r * width);
        std::copy_n(&d.observations[i * obs_dim], obs_dim, o + r * obs_dim);
        std::copy_n(&d.actions[i * act_dim], act_dim, a + r * act_dim);
        for (int64_t j = 0; j < width; ++j)
          pp[r * width + j] = static_cast<float>(rng.uniform(-scale, scale));
      }
      for (int step = 0; step < kSteps; ++step) {
        p.requires_grad_(true);
        const auto x = base + p * std_t;
        torch::Tensor q;
        switch (target) {
          case CorruptTarget::kObservations:
            q = algo.q_values(seen(x), act);
            break;
          case CorruptTarget::kActions:
            q = algo.q_values(seen(obs), x);
            break;
          default:  // dynamics: the next state and the agent's action there
            q = algo.q_values(seen(x), policy_action(algo, seen(x), max_action));
            break;
        }
        const auto g = torch::autograd::grad({q.mean()}, {p})[0];
        torch::NoGradGuard no_grad;
        p = (p.detach() - lr * g / (g.abs() + 1e-8)).clamp(-scale, scale);
      }
      const auto out = (base + p * std_t).contiguous();
      const float* v = out.data_ptr<float>();
      for (int64_t r = 0; r < m; ++r)
        std::copy_n(v + r * width, width, &column[rows[c0 + r] * width]);
    }
  };
}

}  // namespace stitch
