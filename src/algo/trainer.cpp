#include "algo/trainer.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "algo/run_shell.h"
#include "algo/training_loop.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/json_read.h"
#include "core/log.h"
#include "deploy/policy.h"
#include "env/registry.h"
#include "nn/matmul.h"
#include "track/checkpoint.h"
#include "track/meta.h"
#include "track/run_files.h"

namespace stitch {

namespace fs = std::filesystem;

TrainResult train(const std::string& config_json, bool resume, int64_t stop_after_steps) {
  return train_with_loop(config_json, resume, [&](const ResolvedTrainConfig& cfg, bool resumed) {
    return cfg.entry->make_stream ? train_stream(cfg, resumed, stop_after_steps)
           : cfg.entry->online || !cfg.train.from.empty()
               ? train_online(cfg, resumed, stop_after_steps)
           : cfg.entry->model_rollouts ? train_model_based(cfg, resumed, stop_after_steps)
           : cfg.entry->model_dataset  ? train_mbrcsl(cfg, resumed, stop_after_steps)
                                       : train_offline(cfg, resumed, stop_after_steps);
  });
}

TrainResult train_with_loop(const std::string& config_json_in, bool resume, const TrainLoop& loop) {
  ResolvedTrainConfig cfg = resolve_train_config_text(config_json_in);
  const fs::path run_dir = cfg.train.run_dir;
  const fs::path checkpoint =
      run_dir / "checkpoints" / (cfg.entry->make_stream ? "latest.cbor" : "latest.pt");
  const RunLock lock(run_dir);  // one writer per run directory
  check_run_directory(run_dir, checkpoint, resume);
  if (resume) {
    // The stored config wins; its run_dir is a record of where the run started, so a copied
    // or moved run directory resumes where it is.
    cfg = resolve_train_config_text(read_file_text(run_dir / "config.json"));
    cfg.train.run_dir = run_dir.string();
  }
  fs::create_directories(run_dir);
  const LogFileTee tee(run_dir / "stdout.log");  // the run's log lines, kept with the run
  // The matmul precision for this run's updates, and the ISA that runs them, in meta.json.
  const nn::fused::Precision precision = uses_bf16(cfg, nn::fused::cpu_has_bf16_matmul())
                                             ? nn::fused::Precision::kBf16
                                             : nn::fused::Precision::kFp32;
  nn::fused::set_matmul_precision(precision);
  nlohmann::json fields{{"algo", cfg.train.algo},
                        {"env", cfg.train.env},
                        {"seed", cfg.train.seed},
                        {"planned_steps", cfg.train.steps},
                        {"online", cfg.train.online},
                        {"precision", nn::fused::precision_name(precision)},
                        {"matmul_isa", nn::fused::matmul_isa()}};
  const bool finetune = !cfg.train.from.empty();
  if (finetune) fields["from"] = cfg.train.from;
  if (!cfg.train.dataset.empty() && (!cfg.train.online || cfg.train.offline_ratio > 0)) {
    fields["dataset"] = cfg.train.dataset;
    if (fs::is_regular_file(cfg.train.dataset))
      fields["dataset_sha256"] = sha256_file(cfg.train.dataset);
  }
  RunMeta meta(run_dir, fields, resume);
  try {
    const TrainResult r = loop(cfg, resume);
    meta.finish(r.steps >= cfg.train.steps ? "finished" : "stopped");
    return r;
  } catch (const std::exception& e) {
    meta.fail(error_summary(e));  // one line: no libtorch backtrace in meta.json
    throw;
  }
}

TrainResult resume_training(const std::string& run_dir) {
  return train(stored_run_config(run_dir), /*resume=*/true);
}

std::string stored_run_config(const std::string& run_dir) {
  const fs::path config = fs::path(run_dir) / "config.json";
  if (!fs::exists(config)) fail("{}: not a run directory (no config.json)", run_dir);
  auto stored = parse_json(read_file_text(config), config.string());
  if (stored.is_discarded() || !stored.is_object()) {
    fail("{}: not a JSON object", config.string());
  }
  stored["run_dir"] = run_dir;  // where the run is now, not where it started
  return stored.dump();
}

DeployedPolicy export_checkpoint_policy(const std::string& checkpoint) {
  if (is_stream_checkpoint(checkpoint)) {
    fail(
        "{}: a streaming agent's policy (LayerNorm, leaky ReLU, Gaussian head) is not a ReLU MLP; "
        "export supports the offline algorithms' policies",
        checkpoint);
  }
  LoadedAlgorithm c = load_algorithm_checkpoint(checkpoint);
  const Normalizers& n = c.contents.normalizers;
  return to_deployed_policy(*c.algo, static_cast<float>(c.contents.max_action),
                            n.observations ? n.obs.mean : std::vector<float>{},
                            n.observations ? n.obs.std : std::vector<float>{});
}

EvalResult evaluate_checkpoint(const std::string& checkpoint, const std::string& env_id,
                               int episodes, uint64_t seed) {
  if (episodes < 1) fail("episodes must be >= 1, got {}", episodes);
  if (is_stream_checkpoint(checkpoint)) {
    return evaluate_stream_checkpoint(checkpoint, env_id, episodes, seed);
  }
  LoadedAlgorithm c = load_algorithm_checkpoint(checkpoint);
  auto env = make_env(env_id);
  const AlgoDims env_dims = dims_for(*env, env_id);
  if (env_dims.obs_dim != c.contents.obs_dim || env_dims.act_dim != c.contents.act_dim) {
    fail("{}: trained for observation/action dimensions {}/{}, but {} has {}/{}", checkpoint,
         c.contents.obs_dim, c.contents.act_dim, env_id, env_dims.obs_dim, env_dims.act_dim);
  }
  AlgorithmPolicy policy(*c.algo, c.contents.normalizers);
  return evaluate_policy(env_id, policy, episodes, seed);
}

}  // namespace stitch
