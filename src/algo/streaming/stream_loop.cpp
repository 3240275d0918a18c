// The streaming loop: act, step the env, update once, forget the transition (Elsayed et al.
// 2024). train() (algo/trainer.h) runs it for streaming algorithms (`stitch train --algo
// stream-ac --env hopper-v4 --online`).
//
// Run directory (track/run_files.h), as for offline training, plus:
//   metrics.jsonl   every log_every steps: step, wall time, steps/s, mean |TD error|, mean ObGD
//                   step sizes, mean return of the episodes that ended in the window
//   episodes.jsonl  one line per training episode: step, episode, return, length (+ agent
//                   diagnostics such as stream TD's value_rmse)
//   eval.jsonl      every eval_every steps: deterministic-policy returns on separate episodes
//   checkpoints/latest.cbor   the streaming container (track/checkpoint.h): agent (networks,
//                   traces, counters, RNG), normalisers, loop counters
// Checkpoints are written at the first episode boundary after every checkpoint_every steps (a
// boundary needs no env state to resume from: the next episode starts from its own seed), and at
// the end. A run killed mid-way resumes from its last checkpoint and ends in exactly the state
// of an uninterrupted run (same machine); at most one episode's steps are recomputed.
#include <spdlog/spdlog.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "algo/streaming/agent.h"
#include "algo/training_loop.h"
#include "core/error.h"
#include "core/runtime.h"
#include "core/stop.h"
#include "core/timer.h"
#include "env/registry.h"
#include "track/checkpoint.h"
#include "track/run_files.h"
#include "track/run_log.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Each training episode starts from its own seed, so a resumed run (which always resumes at an
// episode boundary) needs no env state.
uint64_t episode_seed(uint64_t seed, int64_t episode) {
  Rng mix(seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(episode));
  return mix.next_u64();
}

// Runs `restore` over a loaded streaming checkpoint's state: a missing or mistyped field
// (nlohmann throws its own exceptions) or a bad value is one Error naming the file.
template <typename F>
void restore_from(const std::string& path, F&& restore) {
  try {
    restore();
  } catch (const json::exception& e) {
    fail("{}: damaged streaming checkpoint: {}", path, e.what());
  } catch (const Error& e) {
    fail("{}: {}", path, e.what());
  }
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

// The agent's deterministic action as an env Policy, through a frozen copy of the features (an
// evaluation must not move the training statistics).
class StreamAgentPolicy : public Policy {
 public:
  StreamAgentPolicy(StreamAgent& agent, const StreamFeatures& features)
      : agent_(agent), features_(features) {}
  void reset() override { t_ = 0; }
  void act(std::span<const float> obs, Rng&, std::span<float> action) override {
    features_.observe(obs, t_++, /*update=*/false, x_);
    agent_.act(x_, obs, /*deterministic=*/true, action);
  }

 private:
  StreamAgent& agent_;
  StreamFeatures features_;
  int64_t t_ = 0;
  std::vector<float> x_;
};

}  // namespace

TrainResult train_stream(const ResolvedTrainConfig& cfg, bool resume, int64_t stop_after_steps) {
  const TrainConfig& c = cfg.train;
  const std::string& config_json = cfg.json_text;
  const auto& sc = dynamic_cast<const StreamConfig&>(*cfg.algo);
  const RunFiles files{.dir = c.run_dir, .logs = {"metrics.jsonl", "episodes.jsonl", "eval.jsonl"}};
  const fs::path& run_dir = files.dir;
  const fs::path checkpoint = files.checkpoints() / "latest.cbor";
  Setup setup = make_setup(c.env, sc, c.steps);
  std::unique_ptr<StreamAgent> agent = cfg.entry->make_stream(*cfg.algo, setup.dims, c.seed);
  StreamFeatures& features = setup.features;
  Env& env = *setup.env;

  int64_t step = 0, episode = 0;
  double wall_offset = 0.0;  // wall time of the run before this process (resumed runs)
  Window window;
  if (resume) {
    const json state = load_stream_checkpoint(checkpoint.string());
    bool finished = false;
    restore_from(checkpoint.string(), [&] {
      finished = state.at("finished").get<bool>();
      step = state.at("step");
      if (finished) return;
      agent->set_state(state.at("agent"));
      features.set_state(state.at("features"));
      window.from_json(state.at("window"));
      episode = state.at("episode");
      wall_offset = state.value("wall_s", 0.0);
    });
    if (finished) {
      fail("{}: the run already finished ({} steps); nothing to resume", run_dir.string(), step);
    }
    if (step < 1 || step >= c.steps || episode < 1) {
      fail("{}: checkpoint step {} (episode {}) is outside the run's [1, {})", checkpoint.string(),
           step, episode, c.steps);
    }
    files.rewind(step);
  } else {
    files.start(config_json);
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

  TrainResult result{.steps = step, .run_dir = run_dir.string(), .checkpoint = checkpoint.string()};
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
      StreamAgentPolicy policy(*agent, features);
      result.evaluations.emplace_back(step, evaluate_and_log(c, policy, step, log));
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
    // The test hook, or a stop request (core/stop.h): at the end of this episode.
    const bool stop = (stop_after_steps > 0 && step >= stop_after_steps) || stop_requested();
    if (step < c.steps &&
        (stop || step / c.checkpoint_every != episode_start / c.checkpoint_every)) {
      save_stream_checkpoint(checkpoint, checkpoint_state(false));
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
  save_stream_checkpoint(checkpoint, checkpoint_state(true));
  result.steps = step;
  return result;
}

EvalResult evaluate_stream_checkpoint(const std::string& path, const std::string& env_id,
                                      int episodes, uint64_t seed) {
  const json state = load_stream_checkpoint(path);
  ResolvedTrainConfig cfg;
  restore_from(path,
               [&] { cfg = resolve_train_config_text(state.at("config").get<std::string>()); });
  if (!cfg.entry->make_stream) fail("{}: not a streaming agent's checkpoint", path);
  const auto& sc = dynamic_cast<const StreamConfig&>(*cfg.algo);
  Setup trained = make_setup(cfg.train.env, sc, cfg.train.steps);
  Setup target = make_setup(env_id, sc, cfg.train.steps);
  if (target.dims.obs_dim != trained.dims.obs_dim || target.dims.act_dim != trained.dims.act_dim ||
      target.dims.num_actions != trained.dims.num_actions) {
    fail("{}: trained on {} (observation/action dimensions {}/{}), which {} does not match ({}/{})",
         path, cfg.train.env, trained.dims.obs_dim, trained.dims.act_dim, env_id,
         target.dims.obs_dim, target.dims.act_dim);
  }
  // The stored config sizes the networks built before their state is read: the file must hold
  // at least the hidden layers' weights as float32.
  const std::vector<int64_t> widths = sc.hidden_sizes(trained.dims.obs_dim);
  double weights = static_cast<double>(trained.dims.obs_dim) * static_cast<double>(widths[0]);
  for (size_t i = 1; i < widths.size(); ++i) {
    weights += static_cast<double>(widths[i - 1]) * static_cast<double>(widths[i]);
  }
  if (4 * weights > static_cast<double>(fs::file_size(path))) {
    fail("{}: the stored config builds networks of {} weights, more than the file holds", path,
         weights);
  }
  std::unique_ptr<StreamAgent> agent =
      cfg.entry->make_stream(*cfg.algo, trained.dims, cfg.train.seed);
  restore_from(path, [&] {
    agent->set_state(state.at("agent"));
    trained.features.set_state(state.at("features"));
  });
  StreamAgentPolicy policy(*agent, trained.features);
  return evaluate_policy(env_id, policy, episodes, seed);
}

}  // namespace stitch
