// The offline loop: load a dataset, train an algorithm for `steps` gradient steps on minibatches
// sampled from it, evaluate on the env every eval_every steps, log, checkpoint every
// checkpoint_every steps, resume after a crash.
//
// Run directory (track/run_files.h): config.json, versions.txt, meta.json, stdout.log,
//   metrics.jsonl   every log_every steps: step, wall time, updates/s, the algorithm's losses
//   eval.jsonl      every evaluation: step, returns, mean, normalised scores
//   checkpoints/latest.pt   the algorithm, the sampler's RNG, the normalisers
// A resumed run continues from checkpoints/latest.pt with the stored config and ends in the
// same state as an uninterrupted run (same machine and thread count); log lines past the
// checkpoint are dropped.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "algo/return_conditioned.h"
#include "algo/training_loop.h"
#include "core/error.h"
#include "core/runtime.h"
#include "core/stop.h"
#include "core/timer.h"
#include "data/io.h"
#include "data/sampler.h"
#include "env/registry.h"
#include "track/run_files.h"
#include "track/run_log.h"

namespace stitch {

TrainResult train_offline(const ResolvedTrainConfig& cfg, bool resume, int64_t stop_after_steps,
                          const std::string& train_on) {
  const TrainConfig& c = cfg.train;
  const RunFiles files{.dir = c.run_dir, .logs = {"metrics.jsonl", "eval.jsonl"}};
  const std::filesystem::path checkpoint = files.checkpoints() / "latest.pt";
  warn_if_reference_blas();

  auto env = make_env(c.env);
  AlgoDims dims = dims_for(*env, c.env);
  dims.total_steps = c.steps;
  const std::string& data_path = train_on.empty() ? c.dataset : train_on;
  Dataset data = load_dataset(data_path);
  check_dataset_dims(data, data_path, c.env, dims);
  Normalizers norm;
  norm.observations = c.normalize_observations == "true" ||
                      (c.normalize_observations == "auto" && cfg.entry->normalize_observations);
  if (norm.observations) {
    norm.obs = fit_observation_normalizer(data);
    normalize_observations(data, norm.obs);
  }
  if (c.reward_scaling == "locomotion" ||
      (c.reward_scaling == "auto" && cfg.entry->locomotion_reward_scaling)) {
    norm.reward_scale = locomotion_reward_scale(data);
    scale_rewards(data, norm.reward_scale);
  }
  Sampler sampler(data, {.batch_size = c.batch_size,
                         .discount = c.discount,
                         // Cal-QL's bound; RCSL's input, undiscounted
                         .return_to_go = cfg.entry->returns_to_go || cfg.entry->return_conditioned,
                         .rtg_discount = cfg.entry->return_conditioned ? 1.0 : c.discount,
                         .next_actions = cfg.entry->next_actions,
                         .seed = c.seed});
  Batch batch = sampler.make_batch();
  const TensorBatch tensors = as_tensors(batch);
  torch::manual_seed(c.seed);  // network initialisation
  std::unique_ptr<Algorithm> algo = cfg.entry->make(*cfg.algo, dims, c.seed);

  int64_t start = 0;
  if (resume) {
    Checkpoint saved(checkpoint.string());
    saved.read_algorithm([&](torch::serialize::InputArchive& a) { algo->load(a); });
    sampler.rng().set_state(saved.contents().sampler_rng);
    start = algo->steps();
    if (start < 1 || start > c.steps) {
      fail("{}: checkpoint step {} is outside [1, {}]", checkpoint.string(), start, c.steps);
    }
    files.rewind(start);
  } else {
    files.start(cfg.json_text);
    if (auto* rc = dynamic_cast<ReturnConditioned*>(algo.get())) {
      const std::vector<double> returns = complete_episode_returns(data);
      double best = returns.front(), scale = 0;
      for (double g : returns) {
        best = std::max(best, g);
        scale = std::max(scale, std::abs(g));
      }
      rc->set_data_returns(best, scale, norm.reward_scale);
    }
  }

  TrainResult result{
      .steps = start, .run_dir = files.dir.string(), .checkpoint = checkpoint.string()};
  AlgorithmPolicy policy(*algo, norm);
  Stopwatch since_log, total;
  RunLog log(files.dir, start, c.steps, "steps");
  for (int64_t step = start; step < c.steps; ++step) {
    sampler.sample(batch);
    const Metrics m = algo->update(tensors);
    const int64_t done = step + 1;
    check_finite_metrics(m, done, "step", c);
    log.progress(done);
    if (done % c.log_every == 0 || done == c.steps) {
      check_finite_parameters(*algo, done, "step");
      nlohmann::json line = metrics_line(done, total, since_log, c.log_every);
      for (const auto& [name, value] : m) line[name] = value;
      log.metrics(done, line);
      std::string losses;
      for (const auto& [name, value] : m) losses += fmt::format("  {} {:.4g}", name, value);
      spdlog::info("step {}/{}{}  {:.0f} updates/s", done, c.steps, losses,
                   line["updates_per_s"].get<double>());
      since_log.restart();
    }
    if ((c.eval_every > 0 && done % c.eval_every == 0) || done == c.steps) {
      result.evaluations.emplace_back(done, evaluate_and_log(c, policy, done, log));
    }
    // A stop request (core/stop.h) or the test hook: checkpoint here and return.
    const bool stop = done == stop_after_steps || stop_requested();
    if (done % c.checkpoint_every == 0 || done == c.steps || stop) {
      save_algorithm_checkpoint(checkpoint, *algo,
                                {.config_json = cfg.json_text,
                                 .obs_dim = dims.obs_dim,
                                 .act_dim = dims.act_dim,
                                 .max_action = dims.max_action,
                                 .sampler_rng = sampler.rng().state(),
                                 .normalizers = norm});
    }
    result.steps = done;
    if (stop) break;
  }
  return result;
}

}  // namespace stitch
