#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>

#include "cli/commands.h"
#include "core/config.h"
#include "core/error.h"
#include "env/registry.h"
#include "env/rollout.h"

namespace stitch::cli {
namespace {

// `stitch env run`: every setting is a config key (flags are shorthands for --set).
struct EnvRunConfig {
  std::string env = "pendulum-v1";  // registered env id
  std::string policy = "random";    // random | scripted | constant:<v1>,<v2>,...
  int episodes = 10;                // episodes to run (seeds seed, seed+1, ...)
  uint64_t seed = 0;                // first episode's seed
  int64_t max_episode_steps = 0;    // > 0 overrides the env's time limit
  bool normalize_observations = false;

  void describe(ConfigFields& f) {
    f.add("env", env, "registered env id (see `stitch env list`)");
    f.add("policy", policy, "random, scripted, or constant:<v1>,<v2>,... (a fixed action)");
    f.add("episodes", episodes, "number of episodes", {.min = 1, .max = 1'000'000});
    f.add("seed", seed, "seed of the first episode; episode i uses seed + i", {.min = 0});
    f.add("max_episode_steps", max_episode_steps, "> 0 overrides the env's time limit",
          {.min = 0, .max = 1'000'000'000});
    f.add("normalize_observations", normalize_observations, "wrap the env in NormalizeObservation");
  }
  void validate() const {
    if (policy != "random" && policy != "scripted" && !policy.starts_with("constant:")) {
      fail("config key 'policy': expected random, scripted or constant:<values>, got '{}'", policy);
    }
  }
};

// Always plays the same action; for probing envs by hand (and testing their checks).
class ConstantPolicy : public Policy {
 public:
  explicit ConstantPolicy(std::vector<float> action) : action_(std::move(action)) {}
  void act(std::span<const float>, Rng&, std::span<float> action) override {
    STITCH_CHECK(action.size() == action_.size(), "constant action size checked in make_policy");
    std::copy(action_.begin(), action_.end(), action.begin());
  }

 private:
  std::vector<float> action_;
};

std::vector<float> parse_constant_action(const std::string& spec) {
  std::vector<float> values;
  std::string_view rest = std::string_view(spec).substr(std::string_view("constant:").size());
  while (true) {
    const size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    float v = 0;
    const auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc() || ptr != item.data() + item.size()) {
      fail("config key 'policy': '{}' is not a number in '{}'", item, spec);
    }
    values.push_back(v);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return values;
}

std::unique_ptr<Policy> make_policy(const EnvRunConfig& config, const Env& env) {
  if (config.policy == "scripted") return make_scripted_policy(config.env);
  if (config.policy == "random") return make_random_policy(env.action_space());
  std::vector<float> action = parse_constant_action(config.policy);
  check_action(env.id(), env.action_space(), action);  // the env's own message for a bad action
  return std::make_unique<ConstantPolicy>(std::move(action));
}

void run_env(const ConfigArgs& args) {
  setup_runtime(/*warn_about_blas=*/false);
  EnvRunConfig config;
  resolve_config(config, args.config_file, args.overrides());
  spdlog::info("config: {}", config_to_string(config, -1));

  MakeEnvOptions options;
  options.max_episode_steps = config.max_episode_steps;
  options.normalize_observations = config.normalize_observations;
  auto env = make_env(config.env, options);
  auto policy = make_policy(config, *env);
  const auto episodes = run_episodes(*env, *policy, config.episodes, config.seed);

  fmt::print("env {}  policy {}  episodes {}  seed {}\n", config.env, config.policy,
             config.episodes, config.seed);
  std::vector<double> returns;
  for (size_t i = 0; i < episodes.size(); ++i) {
    const auto& e = episodes[i];
    fmt::print("episode {:>4}  seed {:>6}  return {:>10.3f}  length {:>5}  {}\n", i,
               config.seed + i, e.total_return, e.length,
               e.terminated ? "terminated" : "truncated");
    returns.push_back(e.total_return);
  }
  const double n = static_cast<double>(returns.size());
  const double mean = std::accumulate(returns.begin(), returns.end(), 0.0) / n;
  double var = 0.0;
  for (double r : returns) var += (r - mean) * (r - mean);
  const double std = returns.size() > 1 ? std::sqrt(var / (n - 1)) : 0.0;
  const auto [lo, hi] = std::minmax_element(returns.begin(), returns.end());
  fmt::print("mean return {:.3f}  std {:.3f}  min {:.3f}  max {:.3f}  over {} episodes\n", mean,
             std, *lo, *hi, returns.size());
}

}  // namespace

void add_env_commands(CLI::App& app) {
  auto* env = app.add_subcommand("env", "list environments and run policies on them");
  env->require_subcommand(1);

  auto* list = env->add_subcommand("list", "list the registered environments");
  list->callback([] {
    const auto& registry = EnvRegistry::global();
    fmt::print("{:<26} {:>5} {:>5} {:>10} {:>9}  {}\n", "id", "obs", "act", "time limit",
               "scripted", "summary");
    for (const auto& id : registry.ids()) {
      const EnvSpec& spec = registry.spec(id);
      const auto env = spec.make();
      const Space& a = env->action_space();
      fmt::print("{:<26} {:>5} {:>5} {:>10} {:>9}  {}\n", id, env->observation_space().flat_dim(),
                 a.is_discrete() ? fmt::format("d{}", a.n()) : std::to_string(a.flat_dim()),
                 spec.max_episode_steps, spec.scripted_policy ? "yes" : "no", spec.summary);
    }
  });

  auto args = std::make_shared<ConfigArgs>();
  auto* run =
      env->add_subcommand("run", "run a random, scripted or constant policy and print returns");
  add_config_options(run, args, {"env", "policy", "episodes", "seed"},
                     "override a config key: --set key=value (repeatable)");
  run->callback([args] { run_env(*args); });
}

}  // namespace stitch::cli
