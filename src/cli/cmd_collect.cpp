#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>

#include "algo/trainer.h"
#include "cli/commands.h"
#include "core/config.h"
#include "core/error.h"
#include "core/hash.h"
#include "data/collect.h"
#include "data/io.h"
#include "deploy/policy.h"
#include "env/registry.h"

namespace stitch::cli {
namespace {

struct CollectConfig {
  std::string env = "pendulum-v1";
  std::string policy = "scripted";  // random | scripted | checkpoint (with `checkpoint`)
  std::string checkpoint;           // a trained policy (checkpoints/latest.pt of a run)
  std::string noise = "none";       // none | gaussian:<std> | epsilon:<p>
  int64_t transitions = 10000;
  uint64_t seed = 0;
  std::string out;
  std::string layout = "d4rl";
  int gzip = 0;
  bool force = false;

  void describe(ConfigFields& f) {
    f.add("env", env, "registered env id");
    f.add("policy", policy,
          "random, scripted, checkpoint (set by --checkpoint), or a policy file from `stitch "
          "export`");
    f.add("checkpoint", checkpoint, "a run's checkpoint: collect with its deterministic policy");
    f.add("noise", noise,
          "none, gaussian:<std as a fraction of half the action range>, epsilon:<p>");
    f.add("transitions", transitions, "rows to collect (at most 1e9)",
          {.min = 1, .max = 1'000'000'000});
    f.add("seed", seed, "seed of the first episode; episode i uses seed + i", {.min = 0});
    f.add("out", out, "output path");
    f.add("layout", layout, "d4rl or minari");
    f.add("gzip", gzip, "gzip level 0-9", {.min = 0, .max = 9});
    f.add("force", force, "replace an existing output");
  }
  void validate() const {
    if (policy != "random" && policy != "scripted" && policy != "checkpoint" &&
        !std::filesystem::is_regular_file(policy)) {
      fail(
          "config key 'policy': expected random, scripted, checkpoint or a policy file written by "
          "`stitch export`, got '{}' (no such file)",
          policy);
    }
    if ((policy == "checkpoint") != !checkpoint.empty()) {
      fail("a checkpoint policy needs --checkpoint FILE (and --checkpoint sets the policy)");
    }
    if (out.empty()) fail("config key 'out': an output path is required (--out FILE)");
    parse_layout(layout);
  }
};

}  // namespace

void add_collect_command(CLI::App& app) {
  auto args = std::make_shared<ConfigArgs>();
  auto* cmd = app.add_subcommand("collect", "roll out a policy and write a dataset");
  add_config_options(cmd, args, {"env", "policy", "noise", "transitions", "seed", "out", "layout"},
                     "override a config key: --set key=value");
  cmd->add_option_function<std::string>(
      "--checkpoint",
      [args](const std::string& v) {
        args->shorthands.push_back("policy=checkpoint");
        args->shorthands.push_back("checkpoint=" + v);
      },
      "collect with a trained policy: a run's checkpoints/latest.pt (its deterministic action, "
      "plus --noise)");
  cmd->add_flag_callback(
      "--force", [args] { args->shorthands.push_back("force=true"); },
      "replace an existing output");
  cmd->callback([args] {
    setup_runtime(false);
    CollectConfig config;
    resolve_config(config, args->config_file, args->overrides());
    spdlog::info("config: {}", config_to_string(config, -1));
    CollectOptions options{.transitions = config.transitions, .seed = config.seed};
    parse_noise(config.noise, options);
    auto env = make_env(config.env);
    std::unique_ptr<Policy> policy;
    if (config.policy == "checkpoint") {
      policy = as_env_policy(export_checkpoint_policy(config.checkpoint));
    } else if (config.policy != "scripted" && config.policy != "random") {
      DeployedPolicy file = DeployedPolicy::load(config.policy);  // stitch-policy-v1
      if (file.obs_dim() != env->observation_space().flat_dim() ||
          file.act_dim() != env->action_space().flat_dim()) {
        fail("{}: a policy for observation/action dimensions {}/{}, but {} has {}/{}",
             config.policy, file.obs_dim(), file.act_dim(), config.env,
             env->observation_space().flat_dim(), env->action_space().flat_dim());
      }
      policy = as_env_policy(std::move(file));
    } else if (config.policy == "scripted") {
      policy = make_scripted_policy(config.env);
    } else {
      policy = make_random_policy(env->action_space());
    }
    Dataset d = collect(*env, *policy, options);
    d.set_metadata_string("policy", config.policy);
    if (config.policy == "checkpoint") {
      d.set_metadata_string("policy_checkpoint", config.checkpoint);
      d.set_metadata_string("policy_checkpoint_sha256", sha256_file(config.checkpoint));
    } else if (config.policy != "scripted" && config.policy != "random") {
      d.set_metadata_string("policy_file_sha256", sha256_file(config.policy));
    }
    d.set_metadata_string("noise", config.noise);
    save_dataset(
        d, config.out,
        {.layout = parse_layout(config.layout), .gzip_level = config.gzip, .force = config.force});
    double sum = 0;
    int64_t complete = 0;
    for (const Episode& ep : d.episodes) {
      if (ep.complete()) {
        sum += ep.total_return;
        ++complete;
      }
    }
    fmt::print(
        "wrote {}: {} transitions, {} episodes, mean return {:.3f} over {} complete episodes\n",
        config.out, d.size(), d.episodes.size(), complete > 0 ? sum / complete : 0.0, complete);
  });
}

}  // namespace stitch::cli
