#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "core/config.h"
#include "core/error.h"
#include "data/collect.h"
#include "data/io.h"
#include "env/registry.h"

namespace stitch::cli {
namespace {

struct CollectConfig {
  std::string env = "pendulum-v1";
  std::string policy = "scripted";  // random | scripted (checkpoints come with the trainers)
  std::string noise = "none";       // none | gaussian:<std> | epsilon:<p>
  int64_t transitions = 10000;
  uint64_t seed = 0;
  std::string out;
  std::string layout = "d4rl";
  int gzip = 0;
  bool force = false;

  void describe(ConfigFields& f) {
    f.add("env", env, "registered env id");
    f.add("policy", policy, "random or scripted");
    f.add("noise", noise, "none, gaussian:<std as a fraction of half the action range>, epsilon:<p>");
    f.add("transitions", transitions, "rows to collect");
    f.add("seed", seed, "seed of the first episode; episode i uses seed + i");
    f.add("out", out, "output path");
    f.add("layout", layout, "d4rl or minari");
    f.add("gzip", gzip, "gzip level 0-9");
    f.add("force", force, "replace an existing output");
  }
  void validate() const {
    if (policy != "random" && policy != "scripted") {
      fail("config key 'policy': expected random or scripted, got '{}'", policy);
    }
    if (out.empty()) fail("config key 'out': an output path is required (--out FILE)");
    if (transitions < 1) fail("config key 'transitions': must be >= 1, got {}", transitions);
    parse_layout(layout);
  }
};

}  // namespace

void add_collect_command(CLI::App& app) {
  struct Args {
    std::vector<std::string> shorthands, sets;
    std::string config_file;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("collect", "roll out a policy and write a dataset");
  auto shorthand = [args](const std::string& key) {
    return [args, key](const std::string& v) { args->shorthands.push_back(key + "=" + v); };
  };
  for (const char* key : {"env", "policy", "noise", "transitions", "seed", "out", "layout"}) {
    cmd->add_option_function<std::string>(std::string("--") + key, shorthand(key),
                                          fmt::format("config key {}", key));
  }
  cmd->add_flag_callback("--force", [args] { args->shorthands.push_back("force=true"); },
                         "replace an existing output");
  cmd->add_option("--set", args->sets, "override a config key: --set key=value");
  cmd->add_option("--config", args->config_file, "JSON file of config keys")->check(CLI::ExistingFile);
  cmd->callback([args] {
    setup_runtime(false);
    CollectConfig config;
    std::vector<std::string> overrides = args->shorthands;
    overrides.insert(overrides.end(), args->sets.begin(), args->sets.end());
    resolve_config(config, args->config_file, overrides);
    spdlog::info("config: {}", config_to_string(config, -1));
    CollectOptions options{.transitions = config.transitions, .seed = config.seed};
    parse_noise(config.noise, options);
    auto env = make_env(config.env);
    auto policy = config.policy == "scripted" ? make_scripted_policy(config.env)
                                              : make_random_policy(env->action_space());
    Dataset d = collect(*env, *policy, options);
    d.set_metadata_string("policy", config.policy);
    d.set_metadata_string("noise", config.noise);
    save_dataset(d, config.out,
                 {.layout = parse_layout(config.layout), .gzip_level = config.gzip, .force = config.force});
    double sum = 0;
    int64_t complete = 0;
    for (const Episode& ep : d.episodes) {
      if (ep.terminated || ep.length == env->max_episode_steps()) {
        sum += ep.total_return;
        ++complete;
      }
    }
    fmt::print("wrote {}: {} transitions, {} episodes, mean return {:.3f} over {} complete episodes\n",
               config.out, d.size(), d.episodes.size(), complete > 0 ? sum / complete : 0.0, complete);
  });
}

}  // namespace stitch::cli
