#include "algo/train_config.h"

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/error.h"
#include "core/json_read.h"
#include "track/run_files.h"

namespace stitch {
namespace {

using nlohmann::json;

// A fine-tuning config: an algorithm that fine-tunes, online keys, and the offline data where a
// share of each minibatch comes from it.
void check_finetune(const ResolvedTrainConfig& r) {
  const TrainConfig& t = r.train;
  if (r.entry->finetune.from.empty()) {
    std::string methods;
    for (const auto& name : AlgoRegistry::global().names()) {
      if (!AlgoRegistry::global().entry(name).finetune.from.empty()) {
        methods += (methods.empty() ? "" : ", ") + name;
      }
    }
    fail("config key 'algo': {} does not fine-tune a checkpoint online (methods: {})", t.algo,
         methods);
  }
  if (t.online) fail("config key 'online': fine-tuning (from) is online already; leave it out");
  if (t.offline_ratio > 1) {
    fail("config key 'offline_ratio': expected -1 (the method's default) or [0, 1], got {}",
         t.offline_ratio);
  }
  if (t.offline_ratio > 0 && t.dataset.empty()) {
    fail("config key 'offline_ratio': {} of each minibatch from offline data needs --dataset FILE",
         t.offline_ratio);
  }
}

ResolvedTrainConfig resolve(const json& file, const std::vector<std::string>& overrides,
                            TrainConfig base) {
  ResolvedTrainConfig r;
  r.train = std::move(base);
  {  // Phase 1: trainer keys only, to learn which algorithm the rest belongs to.
    ConfigFields f;
    r.train.describe(f);
    for (auto it = file.begin(); it != file.end(); ++it) {
      if (!it->is_object()) f.apply_json(json{{it.key(), *it}}, "config");
    }
    for (const auto& kv : overrides) {
      const auto eq = kv.find('=');
      if (kv.substr(0, eq).find('.') == std::string::npos) f.apply_override(kv);
    }
  }
  r.entry = &AlgoRegistry::global().entry(r.train.algo);
  r.algo = r.entry->make_config();
  ConfigFields f;  // Phase 2: everything, so that an unknown key is an error.
  r.train.describe(f);
  f.nest(r.train.algo, *r.algo);
  // Elsewhere model.* is unknown.
  if (r.entry->model_rollouts || r.entry->model_dataset) f.nest("model", r.model);
  if (!file.empty()) f.apply_json(file, "config");
  for (const auto& kv : overrides) f.apply_override(kv);
  r.train.validate();
  r.algo->validate();
  r.model.validate();
  const bool finetune = !r.train.from.empty();
  if (finetune) {
    check_finetune(r);
  } else {
    if (r.entry->online && !r.train.online) {
      fail("{} learns online from the env, one transition at a time: add --online", r.train.algo);
    }
    if (!r.entry->online && r.train.online) {
      std::string online;
      for (const auto& name : AlgoRegistry::global().names()) {
        if (AlgoRegistry::global().entry(name).online)
          online += (online.empty() ? "" : ", ") + name;
      }
      fail("{} learns from a dataset; --online works with {}", r.train.algo, online);
    }
    if (!r.train.online && r.train.dataset.empty()) {
      fail("config key 'dataset': {} learns from a dataset (--dataset FILE)", r.train.algo);
    }
    // Online minibatch learners may mix offline data into every minibatch (RLPD-style).
    if (r.train.offline_ratio >= 0 && !(r.train.online && r.entry->make)) {
      fail(
          "config key 'offline_ratio': for fine-tuning (from, `stitch finetune`) and online "
          "minibatch learners with --dataset");
    }
    if (r.train.offline_ratio > 0 && r.train.dataset.empty()) {
      fail(
          "config key 'offline_ratio': {} of each minibatch from offline data needs --dataset FILE",
          r.train.offline_ratio);
    }
  }
  // Defaults written back, so that config.json holds the values used.
  if (r.train.learning_starts < 0) {
    r.train.learning_starts =
        finetune ? r.entry->finetune.learning_starts : r.entry->learning_starts;
    f.apply_override("learning_starts=" + std::to_string(r.train.learning_starts));
  }
  if (r.train.utd_ratio == 0.0) {
    r.train.utd_ratio = finetune ? r.entry->finetune.utd_ratio : 1.0;
    f.apply_override(fmt::format("utd_ratio={}", r.train.utd_ratio));
  }
  if (finetune && r.train.offline_ratio < 0) {
    r.train.offline_ratio = r.train.dataset.empty() ? 0.0 : r.entry->finetune.offline_ratio;
    f.apply_override(fmt::format("offline_ratio={}", r.train.offline_ratio));
  }
  if (r.train.batch_size == 0) {  // the same
    r.train.batch_size = r.entry->batch_size;
    f.apply_override("batch_size=" + std::to_string(r.train.batch_size));
  }
  if (r.train.run_dir.empty()) {
    r.train.run_dir = fmt::format("runs/{}{}-{}-s{}", finetune ? "finetune-" : "", r.train.algo,
                                  r.train.env, r.train.seed);
    f.apply_override("run_dir=" + r.train.run_dir);
  }
  r.json_text = f.to_json().dump(2);
  return r;
}

}  // namespace

bool uses_bf16(const ResolvedTrainConfig& cfg, bool cpu_has_bf16_matmul) {
  return cfg.train.precision == "bf16" ||
         (cfg.train.precision == "auto" && cpu_has_bf16_matmul && cfg.entry->bf16_auto);
}

ResolvedTrainConfig resolve_train_config_text(const std::string& config_json) {
  const auto j = parse_json(config_json, "training config");
  if (j.is_discarded() || !j.is_object()) fail("training config: not a JSON object");
  return resolve(j, {}, TrainConfig{});
}

std::string resolve_train_config_text(const std::string& config_json,
                                      const std::vector<std::string>& overrides) {
  const auto j = parse_json(config_json, "training config");
  if (j.is_discarded() || !j.is_object()) fail("training config: not a JSON object");
  return resolve(j, overrides, TrainConfig{}).json_text;
}

void TrainConfig::describe(ConfigFields& f) {
  f.add("algo", algo, "algorithm (see `stitch train --help`)");
  f.add("dataset", dataset, "dataset: D4RL file or Minari dataset");
  f.add("online", online,
        "learn online from the env (online and streaming agents) instead of from a dataset");
  // Step counts are capped at 1e12, far beyond any run, so that a typo (or 2^63) is an error.
  constexpr int64_t kMaxSteps = 1'000'000'000'000;
  f.add("num_envs", num_envs, "online: envs stepped together", {.min = 1, .max = 1024});
  f.add("learning_starts", learning_starts,
        "online: env steps of random actions before updates (fine-tuning: of the pre-trained "
        "policy; -1: the algorithm's default)",
        {.min = -1, .max = kMaxSteps});
  f.add("utd_ratio", utd_ratio,
        "online: gradient steps per transition (0: the algorithm's default, 1; fine-tuning: the "
        "method's)",
        {.min = 0, .max = 1000});
  f.add("buffer_size", buffer_size,
        "online: replay buffer capacity, allocated up front at 4 * (2 obs_dim + act_dim + 2) "
        "bytes per transition (at most 1e8)",
        {.min = 1, .max = 100'000'000});
  f.add("snapshot_every", snapshot_every,
        "online: keep a copy of the checkpoint every N env steps (0: never)",
        {.min = 0, .max = kMaxSteps});
  f.add("env", env, "env id for evaluation and action bounds");
  f.add("steps", steps, "gradient steps", {.min = 1, .max = kMaxSteps});
  f.add("batch_size", batch_size, "minibatch size, at most 2^20 (0: the algorithm's default)",
        {.min = 0, .max = 1 << 20});
  f.add("discount", discount, "discount factor", {.min = 0, .max = 1});
  f.add("seed", seed, "seed of networks, sampling and evaluation", {.min = 0});  // any uint64
  f.add("eval_every", eval_every, "evaluate every N steps (0: at the end only)",
        {.min = 0, .max = kMaxSteps});
  f.add("eval_episodes", eval_episodes, "episodes per evaluation", {.min = 1, .max = 100000});
  f.add("checkpoint_every", checkpoint_every, "checkpoint every N steps",
        {.min = 1, .max = kMaxSteps});
  f.add("log_every", log_every, "log losses every N steps", {.min = 1, .max = kMaxSteps});
  f.add("normalize_observations", normalize_observations, "auto | true | false");
  f.add("reward_scaling", reward_scaling, "auto | none | locomotion");
  f.add("precision", precision,
        "matmuls of the fused updates: fp32 | bf16 | auto (bf16 on AMX or AVX-512 BF16 CPUs, "
        "except for IQL and RIQL: docs/results.md)");
  f.add("run_dir", run_dir, "run directory (default runs/<algo>-<env>-s<seed>)");
  f.add("from", from,
        "fine-tune this checkpoint online with algo (`stitch finetune`); steps count env steps");
  f.add("offline_ratio", offline_ratio,
        "fine-tuning and online learners: share of each minibatch from the offline dataset "
        "(-1: the fine-tuning method's default; online: none)",
        {.min = -1, .max = 1});
}

void TrainConfig::validate() const {
  // Each numeric key's range is checked as it is set (describe()); here the rest.
  if (env.empty()) fail("config key 'env': an env id is required (--env ID)");
  if (snapshot_every > 0 && snapshot_every % checkpoint_every != 0) {
    fail("config key 'snapshot_every': must be 0 or a multiple of checkpoint_every ({}), got {}",
         checkpoint_every, snapshot_every);
  }
  if (normalize_observations != "auto" && normalize_observations != "true" &&
      normalize_observations != "false") {
    fail("config key 'normalize_observations': expected auto, true or false, got '{}'",
         normalize_observations);
  }
  if (precision != "fp32" && precision != "bf16" && precision != "auto") {
    fail("config key 'precision': expected fp32, bf16 or auto, got '{}'", precision);
  }
  if (reward_scaling != "auto" && reward_scaling != "none" && reward_scaling != "locomotion") {
    fail("config key 'reward_scaling': expected auto, none or locomotion, got '{}'",
         reward_scaling);
  }
}

std::string resolve_train_config(TrainConfig& config, const std::string& json_path,
                                 const std::vector<std::string>& overrides) {
  json file = json::object();
  if (!json_path.empty()) {
    file = parse_json(read_file_text(json_path), json_path);
    if (file.is_discarded() || !file.is_object()) fail("{}: not a JSON object", json_path);
  }
  ResolvedTrainConfig r = resolve(file, overrides, config);
  config = r.train;
  return r.json_text;
}

}  // namespace stitch
