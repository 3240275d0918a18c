// The online loop (SAC, TD3): a VectorEnv feeds a replay buffer; after learning_starts env steps
// of uniformly random actions, utd_ratio gradient steps per transition. `steps` counts env steps.
//
// Offline-to-online fine-tuning (config key `from`, `stitch finetune`; algo/o2o/finetune.h) runs
// here too: the algorithm starts from the pre-trained checkpoint (networks, optimiser state,
// normalisers), acts with the pre-trained policy during the learning_starts warm-up instead of at
// random, sees observations and rewards normalised as in pre-training, and draws offline_ratio of
// each minibatch from the offline dataset (the rest from the replay buffer). It is evaluated
// before its first env step (step 0). Methods that need returns-to-go (Cal-QL) hold an episode's
// transitions until it ends (or is cut at a checkpoint) and store them with their discounted
// return from there to the episode's end, as Cal-QL's reference code does.
//
// Run directory (track/run_files.h): as the offline loop's, plus
//   episodes.jsonl  one line per training episode: step, return, length ("cut": a partial one)
//   checkpoints/latest.pt and checkpoints/replay-<step>.h5 (the replay buffer it points at)
//   snapshots/step-<N>.pt   copies of the checkpoint every snapshot_every env steps
// Checkpoints at every checkpoint_every env steps: there, every running episode is cut (its last
// transition marked truncated, so it still bootstraps) and the envs restart from seeds derived
// from (seed, cut index). A checkpoint therefore needs no simulator state, and a resumed run
// continues exactly as an uninterrupted one, which cuts at the same steps.
#include <spdlog/spdlog.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "algo/o2o/finetune.h"
#include "algo/online_run.h"
#include "algo/training_loop.h"
#include "core/error.h"
#include "core/runtime.h"
#include "core/stop.h"
#include "core/timer.h"
#include "data/sampler.h"
#include "env/registry.h"
#include "env/vector_env.h"
#include "track/durable.h"
#include "track/run_files.h"
#include "track/run_log.h"

namespace stitch {

TrainResult train_online(const ResolvedTrainConfig& cfg, bool resume, int64_t stop_after_steps) {
  namespace fs = std::filesystem;
  using nlohmann::json;
  const TrainConfig& c = cfg.train;
  OnlineRun run(cfg, resume);
  const RunFiles& files = run.files;
  const AlgoDims& dims = run.dims;
  ReplayBuffer& buffer = run.buffer;
  Rng& rng = run.rng;
  Algorithm* algo = run.algo.get();
  const Normalizers& norm = run.norm;
  OnlineLoopState& state = run.state;
  int64_t& step = state.env_step;
  const int64_t n = c.num_envs;
  const bool finetune = !c.from.empty();
  VectorEnv venv = VectorEnv::make(c.env, static_cast<int>(n), 1, {.clip_actions = true});
  EpisodeHold hold(cfg.entry->returns_to_go, n, dims, c.discount);
  auto cut_seed = [&](int64_t k) {
    return Rng(c.seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(k)).next_u64();
  };
  venv.reset(cut_seed(state.cuts));

  TrainResult result{
      .steps = step, .run_dir = files.dir.string(), .checkpoint = run.checkpoint.string()};
  AlgorithmPolicy policy(*algo, norm);
  const int64_t obs_dim = dims.obs_dim, act_dim = dims.act_dim;
  const float max_action = static_cast<float>(dims.max_action);
  std::vector<float> obs(venv.observations().begin(), venv.observations().end());
  std::vector<float> actions(static_cast<size_t>(n * act_dim));
  std::vector<double> returns(static_cast<size_t>(n), 0.0);
  std::vector<int64_t> lengths(static_cast<size_t>(n), 0);
  Metrics last;
  int64_t window_updates = 0;
  EpisodeWindow window;
  Stopwatch total, since_log;
  RunLog log(files.dir, step, c.steps, "env steps");
  auto crossed = [](int64_t before, int64_t after, int64_t every) {
    return every > 0 && after / every != before / every;
  };

  if (finetune && !resume) result.evaluations.emplace_back(0, evaluate_and_log(c, policy, 0, log));
  auto normalize = [&](std::span<float> rows) {
    if (norm.observations) norm.obs.apply(rows);
  };
  normalize(obs);
  std::vector<float> next_row(static_cast<size_t>(obs_dim));
  while (step < c.steps) {
    if (step < c.learning_starts && !finetune) {
      for (float& a : actions) a = static_cast<float>(rng.uniform(-max_action, max_action));
    } else {  // the policy's (fine-tuning's warm-up: the pre-trained policy's)
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
      std::copy_n(next, obs_dim, next_row.data());
      normalize(next_row);
      hold.add(buffer, i, obs.data() + i * obs_dim, actions.data() + i * act_dim,
               static_cast<float>(venv.rewards()[i] * norm.reward_scale), next_row.data(),
               terminated, truncated || cut);
      returns[i] += venv.rewards()[i];
      ++lengths[i];
      if (ended || cut) {
        json line{{"step", step}, {"return", returns[i]}, {"length", lengths[i]}};
        if (!ended) line["cut"] = true;  // cut at a checkpoint: a partial return
        append_json_line(files.dir / "episodes.jsonl", line);
        if (ended) window.add(returns[i]);
        returns[i] = 0.0;
        lengths[i] = 0;
      }
    }
    obs.assign(venv.observations().begin(), venv.observations().end());
    normalize(obs);

    // Updates wait for a transition in the buffer: with episodes held for their returns-to-go,
    // the first episode's updates run when it ends (as Cal-QL's do after each episode).
    if (step >= c.learning_starts) {
      state.credit += c.utd_ratio * static_cast<double>(n);
      while (state.credit >= 1.0 && buffer.size() > 0) {
        run.mixed->sample(rng);
        last = algo->update(run.tensors);
        ++window_updates;
        state.credit -= 1.0;
        check_finite_metrics(last, step, "env step", c);
      }
    }
    if (crossed(before, step, c.log_every) || step >= c.steps) {
      check_finite_parameters(*algo, step, "env step");
      const double secs = std::max(1e-9, since_log.seconds());
      json line{{"step", step},
                {"wall_s", total.seconds()},
                {"env_steps_per_s", static_cast<double>(c.log_every) / secs},
                {"updates_per_s", static_cast<double>(window_updates) / secs},
                {"gradient_steps", algo->steps()}};
      for (const auto& [name, value] : last) line[name] = value;
      const std::string recent = window.close(line);
      log.metrics(step, line);
      spdlog::info("env step {}/{}  {}  {:.0f} env steps/s", step, c.steps, recent,
                   line["env_steps_per_s"].get<double>());
      window_updates = 0;
      since_log.restart();
    }
    if (crossed(before, step, c.eval_every) || step >= c.steps) {
      result.evaluations.emplace_back(step, evaluate_and_log(c, policy, step, log));
    }
    if (cut || step >= c.steps) {
      OnlineLoopState saved = state;
      saved.cuts += cut ? 1 : 0;
      run.save(saved);
      if (crossed(before, step, c.snapshot_every)) {
        // A policy snapshot (the suite's "medium" behaviour policies are snapshots of this kind).
        fs::create_directories(files.dir / "snapshots");
        copy_file_atomic(run.checkpoint, files.dir / "snapshots" / fmt::format("step-{}.pt", step));
      }
      if (cut) {
        ++state.cuts;
        venv.reset(cut_seed(state.cuts));
        obs.assign(venv.observations().begin(), venv.observations().end());
        normalize(obs);
        if (stop_after_steps > 0 && step >= stop_after_steps) break;
      }
    }
    // A stop request (core/stop.h): stop after this step without a checkpoint of its own, as a
    // kill would, so that a resume from the last regular one replays exactly what an
    // uninterrupted run does (a checkpoint here would cut the episodes where no run cuts them).
    if (stop_requested() && step < c.steps) break;
  }
  result.steps = step;
  if (finetune && step >= c.steps) log_finetune_scores(files.dir);
  return result;
}

}  // namespace stitch
