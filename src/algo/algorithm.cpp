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
  if (!b.returns_to_go.empty()) {
    t.returns_to_go = torch::from_blob(b.returns_to_go.data(), {b.size}, opts);
  }
  if (!b.next_actions.empty()) {
    t.next_actions = torch::from_blob(b.next_actions.data(), {b.size, b.act_dim}, opts);
    t.next_action_valid = torch::from_blob(b.next_action_valid.data(), {b.size}, opts);
  }
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

namespace {

std::string shape_text(const torch::Tensor& t) {
  return fmt::format("{} [{}]", c10::toString(t.scalar_type()), fmt::join(t.sizes(), ", "));
}

}  // namespace

// Why (check_stored_shapes, algorithm.h): the fused kernels and the flat Adam buffers read the
// loaded storage through raw pointers sized by the config, so a stored shape that differs would
// be read out of bounds (or, for a shape like [2^40, 1], copied into an allocation of
// terabytes).
void check_stored_shapes(torch::nn::Module& module, torch::serialize::InputArchive& archive,
                         const std::string& where) {
  auto check = [&](const std::string& key, const torch::Tensor& expected, bool is_buffer) {
    torch::Tensor stored;
    if (!archive.try_read(key, stored, is_buffer)) fail("checkpoint has no '{}/{}'", where, key);
    if (stored.scalar_type() != expected.scalar_type() || stored.sizes() != expected.sizes() ||
        !stored.is_contiguous()) {
      fail("checkpoint entry '{}/{}' is {}{}, the config builds {}", where, key, shape_text(stored),
           stored.is_contiguous() ? "" : " (not contiguous)", shape_text(expected));
    }
  };
  for (const auto& p : module.named_parameters(/*recurse=*/false)) check(p.key(), p.value(), false);
  for (const auto& b : module.named_buffers(/*recurse=*/false)) check(b.key(), b.value(), true);
  for (const auto& child : module.named_children()) {
    torch::serialize::InputArchive sub;
    if (!archive.try_read(child.key(), sub)) {
      fail("checkpoint has no '{}/{}'", where, child.key());
    }
    check_stored_shapes(*child.value(), sub, where + "/" + child.key());
  }
}

namespace {

// A torch optimiser's loaded state must match its parameters (Adam's moments are updated in
// place with the gradients on the next step).
void check_optimizer_state(torch::optim::Optimizer& optimizer, const std::string& where) {
  for (const auto& group : optimizer.param_groups()) {
    for (const auto& p : group.params()) {
      const auto it = optimizer.state().find(c10::guts::to_string(p.unsafeGetTensorImpl()));
      if (it == optimizer.state().end()) continue;
      const auto* adam = dynamic_cast<const torch::optim::AdamParamState*>(it->second.get());
      if (adam == nullptr) continue;
      for (const torch::Tensor& moment : {adam->exp_avg(), adam->exp_avg_sq()}) {
        if (moment.defined() && (moment.scalar_type() != p.scalar_type() ||
                                 moment.sizes() != p.sizes() || !moment.is_contiguous())) {
          fail("checkpoint entry '{}': an Adam moment is {}, its parameter {}", where,
               shape_text(moment), shape_text(p));
        }
      }
    }
  }
}

}  // namespace

void Algorithm::load(torch::serialize::InputArchive& archive) {
  c10::IValue stored;
  if (!archive.try_read("algorithm", stored) || !stored.isString()) {
    fail("checkpoint has no 'algorithm' name");
  }
  if (stored.toStringRef() != name() && !adopting_) {
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
    check_stored_shapes(*module, sub, "module/" + name);
    module->load(sub);
  }
  for (const auto& [name, optimizer] : optimizers()) {
    torch::serialize::InputArchive sub;
    read("optimizer/" + name, sub);
    optimizer->load(sub);
    check_optimizer_state(*optimizer, "optimizer/" + name);
  }
  torch::Tensor steps, generator_state;
  archive.read("steps", steps);
  archive.read("generator", generator_state);
  if (steps.numel() != 1 || steps.scalar_type() != torch::kInt64 || steps.item<int64_t>() < 0) {
    fail("checkpoint entry 'steps' is not one non-negative int64");
  }
  steps_ = steps.item<int64_t>();
  generator_.set_state(generator_state);
}

void Algorithm::adopt(torch::serialize::InputArchive& archive) {
  adopting_ = true;
  try {
    load(archive);
  } catch (...) {
    adopting_ = false;
    throw;
  }
  adopting_ = false;
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
