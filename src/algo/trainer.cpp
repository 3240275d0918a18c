#include "algo/trainer.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>

#include "algo/algorithm.h"
#include "algo/run_files.h"
#include "algo/streaming/stream_trainer.h"
#include "core/config.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/runtime.h"
#include "core/timer.h"
#include "data/io.h"
#include "data/normalize.h"
#include "data/sampler.h"
#include "deploy/policy.h"
#include "env/registry.h"
#include "env/vector_env.h"
#include "nn/nn.h"
#include "track/meta.h"
#include "track/run_log.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

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
  if (!file.empty()) f.apply_json(file, "config");
  for (const auto& kv : overrides) f.apply_override(kv);
  r.train.validate();
  r.algo->validate();
  if (r.entry->online && !r.train.online) {
    fail("{} learns online from the env, one transition at a time: add --online", r.train.algo);
  }
  if (!r.entry->online && r.train.online) {
    std::string online;
    for (const auto& name : AlgoRegistry::global().names()) {
      if (AlgoRegistry::global().entry(name).online) online += (online.empty() ? "" : ", ") + name;
    }
    fail("{} learns from a dataset; --online works with {}", r.train.algo, online);
  }
  if (!r.train.online && r.train.dataset.empty()) {
    fail("config key 'dataset': {} learns from a dataset (--dataset FILE)", r.train.algo);
  }
  if (r.train.run_dir.empty()) {
    r.train.run_dir = fmt::format("runs/{}-{}-s{}", r.train.algo, r.train.env, r.train.seed);
    f.apply_override("run_dir=" + r.train.run_dir);
  }
  r.json_text = f.to_json().dump(2);
  return r;
}

}  // namespace

ResolvedTrainConfig resolve_train_config_text(const std::string& config_json) {
  const auto j = json::parse(config_json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) fail("training config: not a JSON object");
  return resolve(j, {}, TrainConfig{});
}

namespace {

torch::Tensor rng_state_tensor(const Rng& rng) {
  const Rng::State s = rng.state();
  std::vector<int64_t> words;
  for (uint64_t w : s.s) words.push_back(static_cast<int64_t>(w));
  int64_t cached;
  std::memcpy(&cached, &s.cached_normal, sizeof(cached));
  words.push_back(s.has_cached_normal ? 1 : 0);
  words.push_back(cached);
  return torch::tensor(words, torch::kInt64);
}

void set_rng_state(Rng& rng, const torch::Tensor& t) {
  STITCH_CHECK(t.numel() == 6, "sampler RNG state has {} words", t.numel());
  const auto* p = t.data_ptr<int64_t>();
  Rng::State s;
  for (int i = 0; i < 4; ++i) s.s[i] = static_cast<uint64_t>(p[i]);
  s.has_cached_normal = p[4] != 0;
  std::memcpy(&s.cached_normal, &p[5], sizeof(double));
  rng.set_state(s);
}

struct Normalizer {
  bool enabled = false;
  ObservationNormalizer obs;
  double reward_scale = 1.0;
};

torch::Tensor normalized_obs(const Normalizer& n, std::vector<float> obs) {
  if (n.enabled) n.obs.apply(obs);
  return torch::from_blob(obs.data(), {1, static_cast<int64_t>(obs.size())}, torch::kFloat32)
      .clone();
}

EvalResult evaluate(Algorithm& algo, const Normalizer& norm, const std::string& env_id,
                    int episodes, uint64_t seed) {
  auto env = make_env(env_id, {.clip_actions = true});
  EvalResult r;
  for (int e = 0; e < episodes; ++e) {
    std::vector<float> obs = env->reset(seed + static_cast<uint64_t>(e));
    double total = 0.0;
    while (true) {
      const auto action = algo.act(normalized_obs(norm, obs), /*deterministic=*/true).contiguous();
      const float* a = action.data_ptr<float>();
      StepResult s = env->step(std::span<const float>(a, static_cast<size_t>(action.numel())));
      total += s.reward;
      if (s.terminated || s.truncated) break;
      obs = std::move(s.obs);
    }
    r.returns.push_back(total);
  }
  double sum = 0;
  for (double x : r.returns) sum += x;
  r.mean = sum / static_cast<double>(episodes);
  return r;
}

AlgoDims dims_for(const Env& env, const std::string& env_id) {
  const Space& a = env.action_space();
  if (!a.is_box() || !a.bounded()) fail("{}: offline training needs bounded Box actions", env_id);
  const float hi = a.high()[0];
  for (size_t i = 0; i < a.low().size(); ++i) {
    if (a.low()[i] != -hi || a.high()[i] != hi) {
      fail("{}: action bounds must be symmetric and equal in every dimension, got {}", env_id,
           a.describe());
    }
  }
  return {.obs_dim = env.observation_space().flat_dim(), .act_dim = a.flat_dim(), .max_action = hi};
}

void save_checkpoint(const fs::path& path, const Algorithm& algo, const Rng& sampler_rng,
                     const Normalizer& norm, const std::string& config_json, const AlgoDims& dims,
                     const std::vector<std::pair<std::string, torch::Tensor>>& extra = {}) {
  torch::serialize::OutputArchive archive;
  for (const auto& [key, value] : extra) archive.write(key, value);
  algo.save(archive);
  archive.write("sampler_rng", rng_state_tensor(sampler_rng));
  archive.write("normalize", torch::tensor(norm.enabled ? 1 : 0));
  if (norm.enabled) {
    archive.write("obs_mean", torch::tensor(norm.obs.mean));
    archive.write("obs_std", torch::tensor(norm.obs.std));
  }
  archive.write("reward_scale", torch::tensor(norm.reward_scale, torch::kFloat64));
  archive.write("dims", torch::tensor({dims.obs_dim, dims.act_dim}, torch::kInt64));
  archive.write("max_action", torch::tensor(dims.max_action, torch::kFloat64));
  archive.write("config", c10::IValue(config_json));
  const fs::path tmp = path.string() + ".tmp";
  archive.save_to(tmp.string());
  fs::rename(tmp, path);
}

Normalizer read_normalizer(torch::serialize::InputArchive& archive) {
  Normalizer n;
  torch::Tensor flag, scale;
  archive.read("normalize", flag);
  n.enabled = flag.item<int64_t>() != 0;
  if (n.enabled) {
    torch::Tensor mean, std;
    archive.read("obs_mean", mean);
    archive.read("obs_std", std);
    n.obs.mean.assign(mean.data_ptr<float>(), mean.data_ptr<float>() + mean.numel());
    n.obs.std.assign(std.data_ptr<float>(), std.data_ptr<float>() + std.numel());
  }
  archive.read("reward_scale", scale);
  n.reward_scale = scale.item<double>();
  return n;
}

torch::serialize::InputArchive open_checkpoint(const std::string& path) {
  if (!fs::exists(path)) fail("{}: no such checkpoint", path);
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const c10::Error&) {
    fail("{}: not a stitch checkpoint (cannot be read by libtorch)", path);
  }
  return archive;
}

// Online training (SAC, TD3): a VectorEnv feeds a replay buffer; after learning_starts env steps
// of uniformly random actions, utd_ratio gradient steps per transition. Checkpoints at every
// checkpoint_every env steps: there, every running episode is cut (its last transition marked
// truncated, so it still bootstraps) and the envs restart from seeds derived from (seed, cut
// index). A checkpoint therefore needs no simulator state, and a resumed run continues exactly
// as an uninterrupted one, which cuts at the same steps.
TrainResult train_online(const ResolvedTrainConfig& cfg, bool resume, int64_t stop_after_steps) {
  const TrainConfig& c = cfg.train;
  const fs::path run_dir = c.run_dir;
  const fs::path checkpoint = run_dir / "checkpoints" / "latest.pt";
  warn_if_reference_blas();
  auto probe = make_env(c.env);
  AlgoDims dims = dims_for(*probe, c.env);
  dims.total_steps = c.steps;
  dims.env = c.env;
  const int64_t n = c.num_envs;
  VectorEnv venv = VectorEnv::make(c.env, static_cast<int>(n), 1, {.clip_actions = true});
  ReplayBuffer buffer(c.buffer_size, dims.obs_dim, dims.act_dim);
  Rng rng(c.seed);  // random warm-up actions and minibatch sampling
  Batch batch = buffer.make_batch(c.batch_size);
  std::fill(batch.discounts.begin(), batch.discounts.end(), static_cast<float>(c.discount));
  const TensorBatch tensors = as_tensors(batch);
  torch::manual_seed(c.seed);
  std::unique_ptr<Algorithm> algo = cfg.entry->make(*cfg.algo, dims, c.seed);
  const Normalizer norm;  // online agents see raw observations

  fs::create_directories(run_dir / "checkpoints");
  int64_t step = 0, cuts = 0;
  double credit = 0.0;  // gradient steps owed (utd_ratio per transition)
  if (resume) {
    auto archive = open_checkpoint(checkpoint.string());
    algo->load(archive);
    torch::Tensor t;
    archive.read("sampler_rng", t);
    set_rng_state(rng, t);
    archive.read("online_state", t);
    step = t[0].item<int64_t>();
    cuts = t[1].item<int64_t>();
    archive.read("online_credit", t);
    credit = t.item<double>();
    buffer.load((run_dir / "checkpoints" / fmt::format("replay-{}.h5", step)).string());
    for (const char* log : {"metrics.jsonl", "eval.jsonl", "episodes.jsonl"})
      truncate_json_lines(run_dir / log, step);
    spdlog::info("resuming {} at env step {}", run_dir.string(), step);
  } else {
    write_file_atomic(run_dir / "config.json", cfg.json_text + "\n");
    write_file_atomic(run_dir / "versions.txt", version_report());
    for (const char* log : {"metrics.jsonl", "eval.jsonl", "episodes.jsonl"})
      write_file_atomic(run_dir / log, "");
    spdlog::info("config: {}", json::parse(cfg.json_text).dump());
  }
  auto cut_seed = [&](int64_t k) {
    return Rng(c.seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(k)).next_u64();
  };
  venv.reset(cut_seed(cuts));

  TrainResult result;
  result.run_dir = run_dir.string();
  result.checkpoint = checkpoint.string();
  const uint64_t eval_seed = 1'000'000 + c.seed * 1000;
  const int64_t obs_dim = dims.obs_dim, act_dim = dims.act_dim;
  const float max_action = static_cast<float>(dims.max_action);
  std::vector<float> obs(venv.observations().begin(), venv.observations().end());
  std::vector<float> actions(static_cast<size_t>(n * act_dim));
  std::vector<double> returns(static_cast<size_t>(n), 0.0);
  std::vector<int64_t> lengths(static_cast<size_t>(n), 0);
  Metrics last;
  int64_t window_episodes = 0, window_updates = 0;
  double window_returns = 0.0;
  Stopwatch total, since_log;
  RunLog log(run_dir, step, c.steps, "env steps");
  auto crossed = [](int64_t before, int64_t after, int64_t every) {
    return every > 0 && after / every != before / every;
  };

  while (step < c.steps) {
    if (step < c.learning_starts) {
      for (float& a : actions) a = static_cast<float>(rng.uniform(-max_action, max_action));
    } else {
      const auto t = torch::from_blob(obs.data(), {n, obs_dim}, torch::kFloat32);
      const auto a = algo->act(t, /*deterministic=*/false).contiguous();
      std::memcpy(actions.data(), a.data_ptr<float>(), actions.size() * sizeof(float));
    }
    venv.step(actions);
    const int64_t before = step;
    step += n;
    log.progress(step);
    const bool cut = crossed(before, step, c.checkpoint_every) && step < c.steps;
    for (int64_t i = 0; i < n; ++i) {
      const bool terminated = venv.terminated()[i] != 0, truncated = venv.truncated()[i] != 0;
      const bool ended = terminated || truncated;
      const float* next =
          (ended ? venv.final_observations() : venv.observations()).data() + i * obs_dim;
      buffer.add(obs.data() + i * obs_dim, actions.data() + i * act_dim,
                 static_cast<float>(venv.rewards()[i]), next, terminated, truncated || cut);
      returns[i] += venv.rewards()[i];
      ++lengths[i];
      if (ended || cut) {
        json line{{"step", step}, {"return", returns[i]}, {"length", lengths[i]}};
        if (!ended) line["cut"] = true;  // cut at a checkpoint: a partial return
        append_json_line(run_dir / "episodes.jsonl", line);
        if (ended) {
          ++window_episodes;
          window_returns += returns[i];
        }
        returns[i] = 0.0;
        lengths[i] = 0;
      }
    }
    obs.assign(venv.observations().begin(), venv.observations().end());

    if (step >= c.learning_starts) {
      credit += c.utd_ratio * static_cast<double>(n);
      while (credit >= 1.0) {
        buffer.sample(batch, rng);
        last = algo->update(tensors);
        ++window_updates;
        credit -= 1.0;
        for (const auto& [name, value] : last) {
          if (!std::isfinite(value))
            fail("training diverged at env step {}: {} = {} ({} on {})", step, name, value, c.algo,
                 c.env);
        }
      }
    }
    if (crossed(before, step, c.log_every) || step >= c.steps) {
      for (const auto& [name, module] : algo->modules()) {
        if (!nn::all_finite(*module))
          fail("training diverged at env step {}: a parameter of '{}' is not finite", step, name);
      }
      const double secs = std::max(1e-9, since_log.seconds());
      json line{{"step", step},
                {"wall_s", total.seconds()},
                {"env_steps_per_s", static_cast<double>(c.log_every) / secs},
                {"updates_per_s", static_cast<double>(window_updates) / secs},
                {"gradient_steps", algo->steps()}};
      for (const auto& [name, value] : last) line[name] = value;
      std::string recent = "no episode ended";
      if (window_episodes > 0) {
        line["episode_return"] = window_returns / static_cast<double>(window_episodes);
        recent =
            fmt::format("episode return {:.2f} ({} episodes)",
                        window_returns / static_cast<double>(window_episodes), window_episodes);
      }
      log.metrics(step, line);
      spdlog::info("env step {}/{}  {}  {:.0f} env steps/s", step, c.steps, recent,
                   line["env_steps_per_s"].get<double>());
      window_episodes = window_updates = 0;
      window_returns = 0.0;
      since_log.restart();
    }
    if (crossed(before, step, c.eval_every) || step >= c.steps) {
      const EvalResult e = evaluate(*algo, norm, c.env, c.eval_episodes, eval_seed);
      log_evaluation(c.env, step, e, log);
      result.evaluations.emplace_back(step, e);
    }
    if (cut || step >= c.steps) {
      // The replay file first (named by step), then the checkpoint that points at it, then
      // older replay files: a kill at any moment leaves a consistent pair.
      buffer.save((run_dir / "checkpoints" / fmt::format("replay-{}.h5", step)).string());
      save_checkpoint(checkpoint, *algo, rng, norm, cfg.json_text, dims,
                      {{"online_state", torch::tensor({step, cuts + (cut ? 1 : 0)}, torch::kInt64)},
                       {"online_credit", torch::tensor(credit, torch::kFloat64)}});
      if (crossed(before, step, c.snapshot_every)) {
        // A policy snapshot (the suite's "medium" behaviour policies are snapshots of this kind).
        fs::create_directories(run_dir / "snapshots");
        const fs::path snapshot = run_dir / "snapshots" / fmt::format("step-{}.pt", step);
        fs::copy_file(checkpoint, snapshot.string() + ".tmp", fs::copy_options::overwrite_existing);
        fs::rename(snapshot.string() + ".tmp", snapshot);
      }
      for (const auto& entry : fs::directory_iterator(run_dir / "checkpoints")) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("replay-", 0) == 0 && name != fmt::format("replay-{}.h5", step))
          fs::remove(entry.path());
      }
      if (cut) {
        ++cuts;
        venv.reset(cut_seed(cuts));
        obs.assign(venv.observations().begin(), venv.observations().end());
        if (stop_after_steps > 0 && step >= stop_after_steps) break;
      }
    }
  }
  result.steps = step;
  return result;
}

}  // namespace

void TrainConfig::describe(ConfigFields& f) {
  f.add("algo", algo, "algorithm (see `stitch train --help`)");
  f.add("dataset", dataset, "dataset: D4RL file or Minari dataset");
  f.add("online", online,
        "learn online from the env (online and streaming agents) instead of from a dataset");
  // Step counts are capped at 1e12, far beyond any run, so that a typo (or 2^63) is an error.
  constexpr int64_t kMaxSteps = 1'000'000'000'000;
  f.add("num_envs", num_envs, "online: envs stepped together", {.min = 1, .max = 1024});
  f.add("learning_starts", learning_starts, "online: env steps of random actions before updates",
        {.min = 0, .max = kMaxSteps});
  f.add("utd_ratio", utd_ratio, "online: gradient steps per transition",
        {.min = 0, .max = 1000, .min_open = true});
  f.add("buffer_size", buffer_size,
        "online: replay buffer capacity, allocated up front at 4 * (2 obs_dim + act_dim + 2) "
        "bytes per transition (at most 1e8)",
        {.min = 1, .max = 100'000'000});
  f.add("snapshot_every", snapshot_every,
        "online: keep a copy of the checkpoint every N env steps (0: never)",
        {.min = 0, .max = kMaxSteps});
  f.add("env", env, "env id for evaluation and action bounds");
  f.add("steps", steps, "gradient steps", {.min = 1, .max = kMaxSteps});
  f.add("batch_size", batch_size, "minibatch size (at most 2^20)", {.min = 1, .max = 1 << 20});
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
  f.add("run_dir", run_dir, "run directory (default runs/<algo>-<env>-s<seed>)");
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
  if (reward_scaling != "auto" && reward_scaling != "none" && reward_scaling != "locomotion") {
    fail("config key 'reward_scaling': expected auto, none or locomotion, got '{}'",
         reward_scaling);
  }
}

std::string resolve_train_config(TrainConfig& config, const std::string& json_path,
                                 const std::vector<std::string>& overrides) {
  json file = json::object();
  if (!json_path.empty()) {
    file = json::parse(read_file_text(json_path), nullptr, false);
    if (file.is_discarded() || !file.is_object()) fail("{}: not a JSON object", json_path);
  }
  ResolvedTrainConfig r = resolve(file, overrides, config);
  config = r.train;
  return r.json_text;
}

namespace {
TrainResult train_offline(const ResolvedTrainConfig& cfg, bool resume, int64_t stop_after_steps);
}  // namespace

TrainResult train(const std::string& config_json_in, bool resume, int64_t stop_after_steps) {
  ResolvedTrainConfig cfg = resolve_train_config_text(config_json_in);
  const fs::path run_dir = cfg.train.run_dir;
  const fs::path checkpoint =
      run_dir / "checkpoints" / (cfg.entry->make_stream ? "latest.cbor" : "latest.pt");
  if (resume) {
    if (!fs::exists(checkpoint)) {
      fail("{}: nothing to resume (no checkpoints/{})", run_dir.string(),
           checkpoint.filename().string());
    }
    cfg = resolve_train_config_text(
        read_file_text(run_dir / "config.json"));  // the stored config wins
  } else if (fs::exists(checkpoint)) {
    fail("{}: already holds a run; resume it with --resume or choose another --run-dir",
         run_dir.string());
  }
  fs::create_directories(run_dir);
  const LogFileTee tee(run_dir / "stdout.log");  // the run's log lines, kept with the run
  nlohmann::json fields{{"algo", cfg.train.algo},
                        {"env", cfg.train.env},
                        {"seed", cfg.train.seed},
                        {"planned_steps", cfg.train.steps},
                        {"online", cfg.train.online}};
  if (!cfg.train.online) {
    fields["dataset"] = cfg.train.dataset;
    if (fs::is_regular_file(cfg.train.dataset))
      fields["dataset_sha256"] = sha256_file(cfg.train.dataset);
  }
  RunMeta meta(run_dir, fields, resume);
  try {
    TrainResult r;
    if (cfg.entry->make_stream) {
      r = train_stream(cfg.train, *cfg.entry, *cfg.algo, cfg.json_text, resume, stop_after_steps);
    } else if (cfg.entry->online) {
      r = train_online(cfg, resume, stop_after_steps);
    } else {
      r = train_offline(cfg, resume, stop_after_steps);
    }
    meta.finish(r.steps >= cfg.train.steps ? "finished" : "stopped");
    return r;
  } catch (const std::exception& e) {
    meta.fail(e.what());
    throw;
  }
}

namespace {

TrainResult train_offline(const ResolvedTrainConfig& cfg, bool resume, int64_t stop_after_steps) {
  const fs::path run_dir = cfg.train.run_dir;
  const fs::path checkpoint = run_dir / "checkpoints" / "latest.pt";
  const TrainConfig& c = cfg.train;
  warn_if_reference_blas();

  auto env = make_env(c.env);
  AlgoDims dims = dims_for(*env, c.env);
  dims.total_steps = c.steps;
  Dataset data = load_dataset(c.dataset);
  if (data.obs_dim != dims.obs_dim || data.act_dim != dims.act_dim) {
    fail("{}: observation/action dimensions {}/{} do not match {}'s {}/{}", c.dataset, data.obs_dim,
         data.act_dim, c.env, dims.obs_dim, dims.act_dim);
  }
  Normalizer norm;
  norm.enabled = c.normalize_observations == "true" ||
                 (c.normalize_observations == "auto" && cfg.entry->normalize_observations);
  if (norm.enabled) {
    norm.obs = fit_observation_normalizer(data);
    normalize_observations(data, norm.obs);
  }
  if (c.reward_scaling == "locomotion" ||
      (c.reward_scaling == "auto" && cfg.entry->locomotion_reward_scaling)) {
    norm.reward_scale = locomotion_reward_scale(data);
    scale_rewards(data, norm.reward_scale);
  }
  Sampler sampler(data, {.batch_size = c.batch_size, .discount = c.discount, .seed = c.seed});
  Batch batch = sampler.make_batch();
  const TensorBatch tensors = as_tensors(batch);
  torch::manual_seed(c.seed);  // network initialisation
  std::unique_ptr<Algorithm> algo = cfg.entry->make(*cfg.algo, dims, c.seed);

  fs::create_directories(run_dir / "checkpoints");
  int64_t start = 0;
  if (resume) {
    auto archive = open_checkpoint(checkpoint.string());
    algo->load(archive);
    torch::Tensor rng_state;
    archive.read("sampler_rng", rng_state);
    set_rng_state(sampler.rng(), rng_state);
    start = algo->steps();
    truncate_json_lines(run_dir / "metrics.jsonl", start);
    truncate_json_lines(run_dir / "eval.jsonl", start);
    spdlog::info("resuming {} at step {}", run_dir.string(), start);
  } else {
    write_file_atomic(run_dir / "config.json", cfg.json_text + "\n");
    write_file_atomic(run_dir / "versions.txt", version_report());
    write_file_atomic(run_dir / "metrics.jsonl", "");
    write_file_atomic(run_dir / "eval.jsonl", "");
    spdlog::info("config: {}", json::parse(cfg.json_text).dump());
  }

  TrainResult result;
  result.run_dir = run_dir.string();
  result.checkpoint = checkpoint.string();
  const uint64_t eval_seed = 1'000'000 + c.seed * 1000;  // distinct from collection seeds
  Stopwatch since_log;
  Stopwatch total;
  RunLog log(run_dir, start, c.steps, "steps");
  for (int64_t step = start; step < c.steps; ++step) {
    sampler.sample(batch);
    const Metrics m = algo->update(tensors);
    for (const auto& [name, value] : m) {
      if (!std::isfinite(value)) {
        fail("training diverged at step {}: {} = {} ({} on {})", step + 1, name, value, c.algo,
             c.dataset);
      }
    }
    const int64_t done = step + 1;
    log.progress(done);
    if (done % c.log_every == 0 || done == c.steps) {
      for (const auto& [name, module] : algo->modules()) {
        if (!nn::all_finite(*module))
          fail("training diverged at step {}: a parameter of '{}' is not finite", done, name);
      }
      json line{{"step", done},
                {"wall_s", total.seconds()},
                {"updates_per_s",
                 static_cast<double>(c.log_every) / std::max(1e-9, since_log.seconds())}};
      for (const auto& [name, value] : m) line[name] = value;
      log.metrics(done, line);
      std::string losses;
      for (const auto& [name, value] : m) losses += fmt::format("  {} {:.4g}", name, value);
      spdlog::info("step {}/{}{}  {:.0f} updates/s", done, c.steps, losses,
                   line["updates_per_s"].get<double>());
      since_log.restart();
    }
    const bool eval_now = (c.eval_every > 0 && done % c.eval_every == 0) || done == c.steps;
    if (eval_now) {
      const EvalResult e = evaluate(*algo, norm, c.env, c.eval_episodes, eval_seed);
      log_evaluation(c.env, done, e, log);
      result.evaluations.emplace_back(done, e);
    }
    if (done % c.checkpoint_every == 0 || done == c.steps || done == stop_after_steps) {
      save_checkpoint(checkpoint, *algo, sampler.rng(), norm, cfg.json_text, dims);
    }
    result.steps = done;
    if (done == stop_after_steps) break;
  }
  return result;
}

}  // namespace

TrainResult resume_training(const std::string& run_dir) {
  const fs::path config = fs::path(run_dir) / "config.json";
  if (!fs::exists(config)) fail("{}: not a run directory (no config.json)", run_dir);
  return train(read_file_text(config), /*resume=*/true);
}

namespace {

struct LoadedCheckpoint {
  std::unique_ptr<Algorithm> algo;
  AlgoDims dims;
  Normalizer norm;
};

LoadedCheckpoint load_checkpoint(const std::string& checkpoint) {
  auto archive = open_checkpoint(checkpoint);
  c10::IValue config;
  archive.read("config", config);
  ResolvedTrainConfig cfg = resolve_train_config_text(config.toStringRef());
  torch::Tensor dims_t, max_action;
  archive.read("dims", dims_t);
  archive.read("max_action", max_action);
  LoadedCheckpoint out;
  out.dims = {.obs_dim = dims_t[0].item<int64_t>(),
              .act_dim = dims_t[1].item<int64_t>(),
              .max_action = max_action.item<double>()};
  out.algo = cfg.entry->make(*cfg.algo, out.dims, cfg.train.seed);
  out.algo->load(archive);
  out.norm = read_normalizer(archive);
  return out;
}

}  // namespace

DeployedPolicy export_checkpoint_policy(const std::string& checkpoint) {
  if (is_stream_checkpoint(checkpoint)) {
    fail(
        "{}: a streaming agent's policy (LayerNorm, leaky ReLU, Gaussian head) is not a ReLU MLP; "
        "export supports the offline algorithms' policies",
        checkpoint);
  }
  LoadedCheckpoint c = load_checkpoint(checkpoint);
  return to_deployed_policy(*c.algo, static_cast<float>(c.dims.max_action),
                            c.norm.enabled ? c.norm.obs.mean : std::vector<float>{},
                            c.norm.enabled ? c.norm.obs.std : std::vector<float>{});
}

EvalResult evaluate_checkpoint(const std::string& checkpoint, const std::string& env_id,
                               int episodes, uint64_t seed) {
  if (episodes < 1) fail("episodes must be >= 1, got {}", episodes);
  if (is_stream_checkpoint(checkpoint))
    return evaluate_stream_checkpoint(checkpoint, env_id, episodes, seed);
  LoadedCheckpoint c = load_checkpoint(checkpoint);
  auto env = make_env(env_id);
  const AlgoDims env_dims = dims_for(*env, env_id);
  if (env_dims.obs_dim != c.dims.obs_dim || env_dims.act_dim != c.dims.act_dim) {
    fail("{}: trained for observation/action dimensions {}/{}, but {} has {}/{}", checkpoint,
         c.dims.obs_dim, c.dims.act_dim, env_id, env_dims.obs_dim, env_dims.act_dim);
  }
  return evaluate(*c.algo, c.norm, env_id, episodes, seed);
}

}  // namespace stitch
