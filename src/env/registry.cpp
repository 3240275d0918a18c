#include "env/registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <regex>

#include "core/error.h"
#include "env/wrappers.h"

namespace stitch {

EnvRegistry& EnvRegistry::global() {
  static EnvRegistry registry;
  return registry;
}

void EnvRegistry::add(EnvSpec spec) {
  static const std::regex pattern("[a-z0-9_]+(-[a-z0-9_]+)*-v[0-9]+");
  if (!std::regex_match(spec.id, pattern)) {
    fail("env id '{}' is not of the form <name>-v<N> in lower case", spec.id);
  }
  if (contains(spec.id)) fail("env id '{}' is registered twice", spec.id);
  STITCH_CHECK(static_cast<bool>(spec.make), "env '{}' registered without a factory", spec.id);
  specs_.push_back(std::move(spec));
}

bool EnvRegistry::contains(const std::string& id) const {
  return std::any_of(specs_.begin(), specs_.end(), [&](const EnvSpec& s) { return s.id == id; });
}

const EnvSpec& EnvRegistry::spec(const std::string& id) const {
  for (const auto& s : specs_) {
    if (s.id == id) return s;
  }
  fail("unknown env id '{}' (known: {})", id, fmt::join(ids(), ", "));
}

std::vector<std::string> EnvRegistry::ids() const {
  std::vector<std::string> out;
  for (const auto& s : specs_) out.push_back(s.id);
  std::sort(out.begin(), out.end());
  return out;
}

std::unique_ptr<Env> make_env(const std::string& id, const MakeEnvOptions& options) {
  const EnvSpec& spec = EnvRegistry::global().spec(id);
  std::unique_ptr<Env> env = spec.make();
  const int64_t limit =
      options.max_episode_steps > 0 ? options.max_episode_steps : spec.max_episode_steps;
  if (options.time_limit && limit > 0) env = std::make_unique<TimeLimit>(std::move(env), limit);
  if (options.rescale_actions) env = std::make_unique<RescaleAction>(std::move(env));
  if (options.clip_actions) env = std::make_unique<ClipAction>(std::move(env));
  if (options.normalize_observations) {
    env = std::make_unique<NormalizeObservation>(std::move(env));
  }
  return env;
}

std::unique_ptr<Policy> make_scripted_policy(const std::string& id) {
  const EnvSpec& spec = EnvRegistry::global().spec(id);
  if (!spec.scripted_policy) {
    std::vector<std::string> with;
    for (const auto& other : EnvRegistry::global().ids()) {
      if (EnvRegistry::global().spec(other).scripted_policy) with.push_back(other);
    }
    fail("env '{}' has no scripted policy (envs with one: {})", id, fmt::join(with, ", "));
  }
  return spec.scripted_policy();
}

}  // namespace stitch
