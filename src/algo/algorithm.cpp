#include "algo/algorithm.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "core/error.h"

namespace stitch {

TensorBatch as_tensors(Batch& b) {
  const auto opts = torch::TensorOptions().dtype(torch::kFloat32);
  TensorBatch t;
  t.observations = torch::from_blob(b.observations.data(), {b.size, b.obs_dim}, opts);
  t.actions = torch::from_blob(b.actions.data(), {b.size, b.act_dim}, opts);
  t.rewards = torch::from_blob(b.rewards.data(), {b.size}, opts);
  t.next_observations = torch::from_blob(b.next_observations.data(), {b.size, b.obs_dim}, opts);
  t.terminals = torch::from_blob(b.terminals.data(), {b.size}, opts);
  t.discounts = torch::from_blob(b.discounts.data(), {b.size}, opts);
  return t;
}

Algorithm::Algorithm(uint64_t seed) : generator_(at::detail::createCPUGenerator(seed)) {}

void Algorithm::save(torch::serialize::OutputArchive& archive) const {
  auto* self = const_cast<Algorithm*>(this);  // modules()/optimizers() only hand out pointers
  for (const auto& [name, module] : self->modules()) {
    torch::serialize::OutputArchive sub;
    module->save(sub);
    archive.write("module/" + name, sub);
  }
  for (const auto& [name, optimizer] : self->optimizers()) {
    torch::serialize::OutputArchive sub;
    optimizer->save(sub);
    archive.write("optimizer/" + name, sub);
  }
  archive.write("steps", torch::tensor(steps_, torch::kInt64));
  archive.write("generator", generator_.get_state());
  archive.write("algorithm", c10::IValue(name()));
}

void Algorithm::load(torch::serialize::InputArchive& archive) {
  c10::IValue stored;
  archive.read("algorithm", stored);
  if (stored.toStringRef() != name()) {
    fail("checkpoint holds algorithm '{}', not '{}'", stored.toStringRef(), name());
  }
  // A missing part means another layout: since the fused training path, IQL, TD3+BC, TD3, CQL
  // and SAC keep Adam's state in "*_adam" modules instead of torch optimisers.
  auto read = [&](const std::string& key, torch::serialize::InputArchive& sub) {
    if (!archive.try_read(key, sub)) {
      fail("checkpoint has no '{}' for algorithm '{}': it was written by another version of stitch",
           key, name());
    }
  };
  for (const auto& [name, module] : modules()) {
    torch::serialize::InputArchive sub;
    read("module/" + name, sub);
    module->load(sub);
  }
  for (const auto& [name, optimizer] : optimizers()) {
    torch::serialize::InputArchive sub;
    read("optimizer/" + name, sub);
    optimizer->load(sub);
  }
  torch::Tensor steps, generator_state;
  archive.read("steps", steps);
  archive.read("generator", generator_state);
  steps_ = steps.item<int64_t>();
  generator_.set_state(generator_state);
}

DeployedPolicy to_deployed_policy(Algorithm& algo, float max_action, std::vector<float> obs_mean,
                                  std::vector<float> obs_std) {
  std::vector<DeployedPolicy::Layer> layers;
  for (const auto& [weight, bias] : algo.policy_layers()) {
    DeployedPolicy::Layer l;
    l.in = weight.size(1);
    l.out = weight.size(0);
    const auto wt = weight.t().contiguous();  // [in, out]
    l.weight.assign(wt.data_ptr<float>(), wt.data_ptr<float>() + wt.numel());
    const auto b = bias.contiguous();
    l.bias.assign(b.data_ptr<float>(), b.data_ptr<float>() + b.numel());
    layers.push_back(std::move(l));
  }
  return DeployedPolicy(std::move(layers), max_action, std::move(obs_mean), std::move(obs_std));
}

}  // namespace stitch
