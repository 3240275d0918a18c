// The model-based loop (MBPO-style, Janner et al. 2019; as OfflineRL-Kit's MBPolicyTrainer):
// fit a dynamics ensemble on the dataset (or load model.checkpoint), then train the algorithm for
// `steps` gradient steps on minibatches that take real_ratio of their rows from the dataset and
// the rest from a model buffer; every rollout_every steps (from step 0) rollout_batch dataset
// states start branched rollouts of the current stochastic policy through the ensemble
// (model/rollout.h), the env's termination rule ending them. An algorithm that reads the model in
// its updates (MOBILE: model_user.h) is given it, with the minibatch's count of real rows.
//
// Run directory: the offline loop's (metrics.jsonl adds the last rollout's statistics), plus
//   model/                    the fitted model: a `stitch model train` run (its checkpoint is
//                             reused on resume; `stitch model eval --run-dir RUN/model`)
//   checkpoints/model-buffer-<step>.h5   the model buffer the checkpoint points at
// A resumed run continues from checkpoints/latest.pt and its model buffer and ends as an
// uninterrupted run does (same machine and thread count).
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "algo/model_based/model_user.h"
#include "algo/o2o/finetune.h"
#include "algo/training_loop.h"
#include "core/config.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/json_read.h"
#include "core/runtime.h"
#include "core/stop.h"
#include "core/timer.h"
#include "data/io.h"
#include "env/registry.h"
#include "model/model_run.h"
#include "model/rollout.h"
#include "track/run_files.h"
#include "track/run_log.h"

namespace stitch {

namespace fs = std::filesystem;

TrainedModel model_for_run(const ResolvedTrainConfig& cfg, const Dataset& data,
                           const AlgoDims& dims, bool resume) {
  const TrainConfig& c = cfg.train;
  const fs::path own_model = fs::path(c.run_dir) / "model";
  if (!cfg.model.checkpoint.empty()) {
    return load_model_checkpoint(cfg.model.checkpoint, c.env, dims.obs_dim, dims.act_dim);
  }
  ModelRunConfig mc{.dataset = c.dataset,
                    .env = c.env,
                    .run_dir = own_model.string(),
                    .seed = c.seed,
                    .model = cfg.model};
  if (resume) return load_model_checkpoint(own_model.string(), c.env, dims.obs_dim, dims.act_dim);
  if (fs::exists(own_model / "checkpoints" / "model.pt")) {
    // A start before the first checkpoint fitted it: reused only if fitted with these settings,
    // on the same data (its contents: the sha256 its meta.json recorded, where it has one).
    auto stored = [&](const char* file) {
      const fs::path path = own_model / file;
      return fs::exists(path) ? parse_json(read_file_text(path), path.string())
                              : nlohmann::json::object();
    };
    const nlohmann::json config = stored("config.json"), meta = stored("meta.json");
    const nlohmann::json wanted = nlohmann::json::parse(config_to_string(mc));
    auto refuse = [&](const std::string& what) {
      fail(
          "{}: a model fitted with other {} than this run's; remove it, or start the run in "
          "another directory",
          own_model.string(), what);
    };
    for (const char* key : {"env", "seed", "model"}) {
      if (!config.is_object() || !config.contains(key) || config[key] != wanted[key]) {
        refuse(std::string(key) == "model" ? "'model.*'" : fmt::format("'{}'", key));
      }
    }
    if (meta.is_object() && meta.contains("dataset_sha256") && fs::is_regular_file(c.dataset)) {
      if (meta["dataset_sha256"] != sha256_file(c.dataset)) refuse("data");
    } else if (!config.contains("dataset") || !config["dataset"].is_string() ||
               fs::weakly_canonical(config["dataset"].get<std::string>()) !=
                   fs::weakly_canonical(c.dataset)) {
      refuse("'dataset'");
    }
    return load_model_checkpoint(own_model.string(), c.env, dims.obs_dim, dims.act_dim);
  }
  spdlog::info("{}: fitting the dynamics model into {}", c.algo, own_model.string());
  return train_model_run(mc, &data);
}

TrainResult train_model_based(const ResolvedTrainConfig& cfg, bool resume,
                              int64_t stop_after_steps) {
  const TrainConfig& c = cfg.train;
  const ModelRollouts ro = cfg.entry->model_rollouts(*cfg.algo);
  const RunFiles files{.dir = c.run_dir, .logs = {"metrics.jsonl", "eval.jsonl"}};
  const fs::path checkpoint = files.checkpoints() / "latest.pt";
  auto buffer_file = [&](int64_t step) {
    return files.checkpoints() / fmt::format("model-buffer-{}.h5", step);
  };
  warn_if_reference_blas();
  if (c.normalize_observations == "true" || c.reward_scaling == "locomotion") {
    fail(
        "{} trains on the model's own states and rewards: normalize_observations and "
        "reward_scaling stay off",
        c.algo);
  }
  auto env = make_env(c.env);
  AlgoDims dims = dims_for(*env, c.env);
  dims.total_steps = c.steps;
  const Dataset data = load_dataset(c.dataset);
  check_dataset_dims(data, c.dataset, c.env, dims);

  const TrainedModel model = model_for_run(cfg, data, dims, resume);
  const EnvSpec& spec = EnvRegistry::global().spec(c.env);
  const TerminalRule terminal = spec.terminal;

  Rng rng(c.seed);  // minibatches and rollouts (start states, members, model noise)
  ReplayBuffer buffer(ro.rollout_batch * ro.horizon * ro.retain, dims.obs_dim, dims.act_dim);
  torch::manual_seed(c.seed);  // network initialisation
  std::unique_ptr<Algorithm> algo = cfg.entry->make(*cfg.algo, dims, c.seed);
  const Normalizers norm;  // raw observations and rewards, as the model predicts them

  int64_t start = 0;
  if (resume) {
    Checkpoint saved(checkpoint.string());
    saved.read_algorithm([&](torch::serialize::InputArchive& a) { algo->load(a); });
    rng.set_state(saved.contents().sampler_rng);
    start = algo->steps();
    if (start < 1 || start > c.steps) {
      fail("{}: checkpoint step {} is outside [1, {}]", checkpoint.string(), start, c.steps);
    }
    buffer.load(buffer_file(start).string());
  }
  TrainConfig mix = c;  // MixedBatch's offline share is the real ratio
  mix.offline_ratio = ro.real_ratio;
  MixedBatch mixed(mix, *cfg.entry, buffer, norm, &data);
  if (auto* user = dynamic_cast<UsesDynamicsModel*>(algo.get())) {
    user->use_model(*model.ensemble, model.elites, mixed.offline_rows());
  }
  if (resume) {
    files.rewind(start);
  } else {
    files.start(cfg.json_text);
  }
  const TensorBatch tensors = as_tensors(mixed.batch);

  const int64_t obs_dim = dims.obs_dim;
  std::vector<float> starts(static_cast<size_t>(ro.rollout_batch * obs_dim));
  const RolloutPolicy rollout_policy = [&](const float* obs, int64_t rows, float* actions) {
    const torch::NoGradGuard no_grad;
    const auto t = torch::from_blob(const_cast<float*>(obs), {rows, obs_dim}, torch::kFloat32);
    const auto a = algo->act(t, /*deterministic=*/false).contiguous();
    std::copy_n(a.data_ptr<float>(), rows * dims.act_dim, actions);
  };
  RolloutStats last_rollout;
  auto roll_out = [&]() {
    for (int64_t i = 0; i < ro.rollout_batch; ++i) {
      const auto row = static_cast<int64_t>(rng.below(static_cast<uint64_t>(data.size())));
      std::copy_n(data.observations.data() + row * obs_dim, obs_dim, starts.data() + i * obs_dim);
    }
    last_rollout = model_rollout(*model.ensemble, model.elites, starts.data(), ro.rollout_batch,
                                 ro.horizon, rollout_policy, terminal, rng, buffer, ro.penalty);
  };

  TrainResult result{
      .steps = start, .run_dir = files.dir.string(), .checkpoint = checkpoint.string()};
  AlgorithmPolicy policy(*algo, norm);
  Stopwatch since_log, total;
  RunLog log(files.dir, start, c.steps, "steps");
  for (int64_t step = start; step < c.steps; ++step) {
    if (step % ro.rollout_every == 0) roll_out();
    mixed.sample(rng);
    const Metrics m = algo->update(tensors);
    const int64_t done = step + 1;
    check_finite_metrics(m, done, "step", c);
    log.progress(done);
    if (done % c.log_every == 0 || done == c.steps) {
      check_finite_parameters(*algo, done, "step");
      nlohmann::json line = metrics_line(done, total, since_log, c.log_every);
      line["model_buffer"] = buffer.size();
      line["rollout_reward"] = last_rollout.mean_reward;
      line["rollout_penalty"] = last_rollout.mean_penalty;
      line["rollout_terminated"] =
          static_cast<double>(last_rollout.terminated) / static_cast<double>(ro.rollout_batch);
      for (const auto& [name, value] : m) line[name] = value;
      log.metrics(done, line);
      spdlog::info(
          "step {}/{}  q_loss {:.4g}  model reward {:.3g} (penalty {:.3g})  {:.0f} "
          "updates/s",
          done, c.steps, m.count("q_loss") ? m.at("q_loss") : 0.0, last_rollout.mean_reward,
          m.count("penalty") ? m.at("penalty") : last_rollout.mean_penalty,
          line["updates_per_s"].get<double>());
      since_log.restart();
    }
    if ((c.eval_every > 0 && done % c.eval_every == 0) || done == c.steps) {
      result.evaluations.emplace_back(done, evaluate_and_log(c, policy, done, log));
    }
    const bool stop = done == stop_after_steps || stop_requested();
    if (done % c.checkpoint_every == 0 || done == c.steps || stop) {
      // The buffer file first (named by step), then the checkpoint that points at it, then the
      // older buffer files: a kill at any moment leaves a consistent pair.
      buffer.save(buffer_file(done).string());
      save_algorithm_checkpoint(checkpoint, *algo,
                                {.config_json = cfg.json_text,
                                 .obs_dim = dims.obs_dim,
                                 .act_dim = dims.act_dim,
                                 .max_action = dims.max_action,
                                 .sampler_rng = rng.state(),
                                 .normalizers = norm});
      remove_older_side_files(files.checkpoints(), "model-buffer-", buffer_file(done));
    }
    result.steps = done;
    if (stop) break;
  }
  return result;
}

}  // namespace stitch
