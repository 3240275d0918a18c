#include "algo/streaming/stream_trainer.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "algo/run_files.h"
#include "algo/streaming/agent.h"
#include "core/error.h"
#include "core/runtime.h"
#include "core/timer.h"
#include "env/registry.h"
#include "track/run_log.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kMagic = "stitch-stream-checkpoint-v1\n";

// Each training episode starts from its own seed, so a resumed run (which always resumes at an
// episode boundary) needs no env state.
uint64_t episode_seed(uint64_t seed, int64_t episode) {
  Rng mix(seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(episode));
  return mix.next_u64();
}

// Means over the steps and episodes since the last metrics line.
struct Window {
  int64_t steps = 0, episodes = 0;
  double abs_delta = 0, step_size = 0, policy_step_size = 0, returns = 0;

  json to_json() const {
    return {{"steps", steps},
            {"episodes", episodes},
            {"abs_delta", abs_delta},
            {"step_size", step_size},
            {"policy_step_size", policy_step_size},
            {"returns", returns}};
  }
  void from_json(const json& j) {
    steps = j.at("steps");
    episodes = j.at("episodes");
    abs_delta = j.at("abs_delta");
    step_size = j.at("step_size");
    policy_step_size = j.at("policy_step_size");
    returns = j.at("returns");
  }
};

struct Setup {
  std::unique_ptr<Env> env;
  int64_t obs_dim = 0;
  StreamFeatures features;
  AlgoDims dims;
};

Setup make_setup(const std::string& env_id, const StreamConfig& config, int64_t total_steps) {
  const EnvSpec& spec = EnvRegistry::global().spec(env_id);
  Setup s;
  auto probe = make_env(env_id);
  const Space& a = probe->action_space();
  if (!a.is_box() && !a.is_discrete())
    fail("{}: streaming agents need Box or Discrete actions", env_id);
  s.env = make_env(env_id, {.clip_actions = a.is_box()});
  s.obs_dim = probe->observation_space().flat_dim();
  s.features = StreamFeatures(s.obs_dim, config, spec.max_episode_steps);
  s.dims = {.obs_dim = s.features.feature_dim(),
            .act_dim = a.flat_dim(),
            .max_action = a.is_box() ? a.high()[0] : 1.0,
            .total_steps = total_steps,
            .num_actions = a.is_discrete() ? a.n() : 0,
            .env = env_id};
  return s;
}

EvalResult evaluate(StreamAgent& agent, const StreamFeatures& trained, const std::string& env_id,
                    const AlgoDims& dims, int episodes, uint64_t seed) {
  auto env = make_env(env_id, {.clip_actions = dims.num_actions == 0});
  StreamFeatures features = trained;  // a copy, frozen: evaluation must not move the statistics
  std::vector<float> x, action(static_cast<size_t>(dims.act_dim));
  EvalResult r;
  for (int e = 0; e < episodes; ++e) {
    std::vector<float> obs = env->reset(seed + static_cast<uint64_t>(e));
    double total = 0.0;
    for (int64_t t = 0;; ++t) {
      features.observe(obs, t, /*update=*/false, x);
      agent.act(x, obs, /*deterministic=*/true, action);
      StepResult s = env->step(action);
      total += s.reward;
      if (s.terminated || s.truncated) break;
      obs = std::move(s.obs);
    }
    r.returns.push_back(total);
  }
  double sum = 0;
  for (double v : r.returns) sum += v;
  r.mean = sum / static_cast<double>(episodes);
  return r;
}

void save_checkpoint(const fs::path& path, const json& state) {
  const std::vector<uint8_t> bytes = json::to_cbor(state);
  write_file_atomic(path, std::string(kMagic) + std::string(bytes.begin(), bytes.end()));
}

json load_checkpoint(const std::string& path) {
  if (!fs::exists(path)) fail("{}: no such checkpoint", path);
  const std::string text = read_file_text(path);
  const std::string magic(kMagic);
  if (text.compare(0, magic.size(), magic) != 0) fail("{}: not a streaming checkpoint", path);
  json state = json::from_cbor(text.begin() + static_cast<std::ptrdiff_t>(magic.size()), text.end(),
                               true, false);
  if (state.is_discarded() || !state.is_object()) fail("{}: corrupt streaming checkpoint", path);
  return state;
}

}  // namespace

bool is_stream_checkpoint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string head(std::char_traits<char>::length(kMagic), '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  return in && head == kMagic;
}

TrainResult train_stream(const TrainConfig& c, const AlgoEntry& entry,
                         const AlgoConfig& algo_config, const std::string& config_json, bool resume,
                         int64_t stop_after_steps) {
  const auto& sc = dynamic_cast<const StreamConfig&>(algo_config);
  const fs::path run_dir = c.run_dir;
  const fs::path checkpoint = run_dir / "checkpoints" / "latest.cbor";
  Setup setup = make_setup(c.env, sc, c.steps);
  std::unique_ptr<StreamAgent> agent = entry.make_stream(algo_config, setup.dims, c.seed);
  StreamFeatures& features = setup.features;
  Env& env = *setup.env;

  int64_t step = 0, episode = 0;
  double wall_offset = 0.0;  // wall time of the run before this process (resumed runs)
  Window window;
  if (resume) {
    const json state = load_checkpoint(checkpoint.string());
    if (state.at("finished").get<bool>()) {
      fail("{}: the run already finished ({} steps); nothing to resume", run_dir.string(),
           state.at("step").get<int64_t>());
    }
    agent->set_state(state.at("agent"));
    features.set_state(state.at("features"));
    window.from_json(state.at("window"));
    step = state.at("step");
    episode = state.at("episode");
    wall_offset = state.value("wall_s", 0.0);
    truncate_json_lines(run_dir / "metrics.jsonl", step);
    truncate_json_lines(run_dir / "episodes.jsonl", step);
    truncate_json_lines(run_dir / "eval.jsonl", step);
    spdlog::info("resuming {} at step {} (episode {})", run_dir.string(), step, episode);
  } else {
    fs::create_directories(run_dir / "checkpoints");
    write_file_atomic(run_dir / "config.json", config_json + "\n");
    write_file_atomic(run_dir / "versions.txt", version_report());
    for (const char* log : {"metrics.jsonl", "episodes.jsonl", "eval.jsonl"})
      write_file_atomic(run_dir / log, "");
    spdlog::info("config: {}", json::parse(config_json).dump());
  }
  Stopwatch total, since_log;
  RunLog log(run_dir, step, c.steps, "steps");
  auto checkpoint_state = [&](bool finished) {
    return json{{"format", "stitch-stream-checkpoint-v1"},
                {"config", config_json},
                {"step", step},
                {"episode", episode},
                {"finished", finished},
                {"agent", agent->state()},
                {"features", features.state()},
                {"window", window.to_json()},
                {"wall_s", wall_offset + total.seconds()}};
  };

  TrainResult result;
  result.run_dir = run_dir.string();
  result.checkpoint = checkpoint.string();
  const uint64_t eval_seed = 1'000'000 + c.seed * 1000;  // as the offline trainer's
  std::vector<float> x, x_next, action(static_cast<size_t>(setup.dims.act_dim));
  std::vector<float> raw = env.reset(episode_seed(c.seed, episode));
  features.observe(raw, 0, true, x);
  int64_t t = 0;  // step within the episode
  double episode_return = 0.0;
  while (step < c.steps) {
    agent->act(x, raw, /*deterministic=*/false, action);
    StepResult r = env.step(action);
    ++t;
    episode_return += r.reward;
    const bool done = r.terminated || r.truncated;
    const double reward = features.scale_reward(r.reward, done);
    features.observe(r.obs, t, true, x_next);
    const StreamUpdateInfo info = agent->update({.obs = x,
                                                 .action = action,
                                                 .next_obs = x_next,
                                                 .reward = reward,
                                                 .terminated = r.terminated,
                                                 .truncated = r.truncated});
    ++step;
    log.progress(step);
    if (!std::isfinite(info.delta)) {
      fail("training diverged at step {}: the TD error is {} ({} on {}, episode {})", step,
           info.delta, c.algo, c.env, episode);
    }
    ++window.steps;
    window.abs_delta += std::abs(info.delta);
    window.step_size += info.step_size;
    window.policy_step_size += info.policy_step_size;

    if (step % c.log_every == 0 || step == c.steps) {
      for (const auto& [name, params] : agent->parameters()) {
        for (float p : params) {
          if (!std::isfinite(p))
            fail("training diverged at step {}: a parameter of '{}' is not finite", step, name);
        }
      }
      const double n = static_cast<double>(std::max<int64_t>(1, window.steps));
      json line{
          {"step", step},
          {"wall_s", wall_offset + total.seconds()},
          {"steps_per_s", static_cast<double>(window.steps) / std::max(1e-9, since_log.seconds())},
          {"abs_td_error", window.abs_delta / n},
          {"step_size", window.step_size / n}};
      if (window.policy_step_size > 0) line["policy_step_size"] = window.policy_step_size / n;
      std::string recent = "no episode ended";
      if (window.episodes > 0) {
        line["episode_return"] = window.returns / static_cast<double>(window.episodes);
        recent =
            fmt::format("episode return {:.2f} ({} episodes)",
                        window.returns / static_cast<double>(window.episodes), window.episodes);
      }
      log.metrics(step, line);
      spdlog::info("step {}/{}  {}  |td| {:.3g}  {:.0f} steps/s", step, c.steps, recent,
                   window.abs_delta / n, line["steps_per_s"].get<double>());
      window = Window{};
      since_log.restart();
    }
    if ((c.eval_every > 0 && step % c.eval_every == 0) || step == c.steps) {
      const EvalResult e =
          evaluate(*agent, features, c.env, setup.dims, c.eval_episodes, eval_seed);
      log_evaluation(c.env, step, e, log);
      result.evaluations.emplace_back(step, e);
    }

    if (!done) {
      std::swap(x, x_next);
      raw = std::move(r.obs);
      continue;
    }
    json line{{"step", step}, {"episode", episode}, {"return", episode_return}, {"length", t}};
    for (const auto& [name, value] : agent->end_episode()) line[name] = value;
    append_json_line(run_dir / "episodes.jsonl", line);
    ++window.episodes;
    window.returns += episode_return;
    ++episode;
    // Checkpoint before the next reset: a resumed run starts by resetting into this episode.
    const int64_t episode_start = step - t;
    const bool stop = stop_after_steps > 0 && step >= stop_after_steps;
    if (step < c.steps &&
        (stop || step / c.checkpoint_every != episode_start / c.checkpoint_every)) {
      save_checkpoint(checkpoint, checkpoint_state(false));
    }
    if (stop && step < c.steps) {
      result.steps = step;
      return result;
    }
    raw = env.reset(episode_seed(c.seed, episode));
    t = 0;
    episode_return = 0.0;
    features.observe(raw, 0, true, x);
  }
  save_checkpoint(checkpoint, checkpoint_state(true));
  result.steps = step;
  return result;
}

EvalResult evaluate_stream_checkpoint(const std::string& path, const std::string& env_id,
                                      int episodes, uint64_t seed) {
  const json state = load_checkpoint(path);
  ResolvedTrainConfig cfg = resolve_train_config_text(state.at("config").get<std::string>());
  const auto& sc = dynamic_cast<const StreamConfig&>(*cfg.algo);
  Setup trained = make_setup(cfg.train.env, sc, cfg.train.steps);
  Setup target = make_setup(env_id, sc, cfg.train.steps);
  if (target.dims.obs_dim != trained.dims.obs_dim || target.dims.act_dim != trained.dims.act_dim ||
      target.dims.num_actions != trained.dims.num_actions) {
    fail("{}: trained on {} (observation/action dimensions {}/{}), which {} does not match ({}/{})",
         path, cfg.train.env, trained.dims.obs_dim, trained.dims.act_dim, env_id,
         target.dims.obs_dim, target.dims.act_dim);
  }
  std::unique_ptr<StreamAgent> agent =
      cfg.entry->make_stream(*cfg.algo, trained.dims, cfg.train.seed);
  agent->set_state(state.at("agent"));
  trained.features.set_state(state.at("features"));
  return evaluate(*agent, trained.features, env_id, trained.dims, episodes, seed);
}

}  // namespace stitch
