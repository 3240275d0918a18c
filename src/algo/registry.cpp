#include "algo/registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "core/config.h"
#include "core/error.h"

namespace stitch {

AlgoRegistry& AlgoRegistry::global() {
  static AlgoRegistry registry;
  return registry;
}

void AlgoRegistry::add(AlgoEntry entry) {
  for (const auto& e : entries_) {
    if (e.name == entry.name) fail("algorithm '{}' is registered twice", entry.name);
  }
  if (static_cast<bool>(entry.make) == static_cast<bool>(entry.make_stream)) {
    fail("algorithm '{}' must register exactly one of make and make_stream", entry.name);
  }
  entries_.push_back(std::move(entry));
}

const AlgoEntry& AlgoRegistry::entry(const std::string& name) const {
  for (const auto& e : entries_) {
    if (e.name == name) return e;
  }
  fail("unknown algorithm '{}' (known: {})", name, fmt::join(names(), ", "));
}

std::vector<std::string> AlgoRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) out.push_back(e.name);
  std::sort(out.begin(), out.end());
  return out;
}

void check_model_rollouts(const ModelRollouts& r, const std::string& algo) {
  const double rows = static_cast<double>(r.rollout_batch) * r.horizon * r.retain;
  if (rows > 1e8) {
    fail(
        "config keys '{0}.rollout_batch' x '{0}.horizon' x '{0}.retain': a model buffer of {1:.3g} "
        "transitions; at most 100 million",
        algo, rows);
  }
}

void describe_model_rollouts(ConfigFields& f, ModelRollouts& r, bool with_penalty) {
  f.add("horizon", r.horizon, "model rollout length (steps)", {.min = 1, .max = 1000});
  if (with_penalty) {
    f.add("penalty", r.penalty, "lambda: reward - lambda * uncertainty", {.min = 0, .max = 1e6});
  }
  f.add("rollout_batch", r.rollout_batch, "rollouts started from dataset states each time",
        {.min = 1, .max = 1 << 24});
  f.add("rollout_every", r.rollout_every, "gradient steps between rollouts",
        {.min = 1, .max = 1 << 30});
  f.add("retain", r.retain, "the model buffer holds this many rollout batches",
        {.min = 1, .max = 1000});
  f.add("real_ratio", r.real_ratio, "share of each minibatch from the dataset",
        {.min = 0, .max = 1});
}

}  // namespace stitch
