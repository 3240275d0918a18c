#include "algo/online_run.h"

#include <fmt/format.h>

#include "algo/training_loop.h"
#include "core/error.h"
#include "core/runtime.h"
#include "env/registry.h"

namespace stitch {
namespace {

AlgoDims online_dims(const TrainConfig& c) {
  warn_if_reference_blas();
  auto probe = make_env(c.env);
  AlgoDims dims = dims_for(*probe, c.env);
  dims.total_steps = c.steps;
  dims.env = c.env;
  return dims;
}

}  // namespace

OnlineRun::OnlineRun(const ResolvedTrainConfig& config, bool resume, bool owner)
    : cfg(config),
      files{.dir = config.train.run_dir, .logs = {"metrics.jsonl", "eval.jsonl", "episodes.jsonl"}},
      checkpoint(files.checkpoints() / "latest.pt"),
      dims(online_dims(config.train)),
      buffer(config.train.buffer_size, dims.obs_dim, dims.act_dim),
      rng(config.train.seed) {
  const TrainConfig& c = cfg.train;
  torch::manual_seed(c.seed);
  algo = cfg.entry->make(*cfg.algo, dims, c.seed);
  if (!c.from.empty() && !resume) norm = adopt_pretrained(c, *cfg.entry, dims, *algo);
  if (resume) {
    Checkpoint saved(checkpoint.string());
    if (!saved.contents().online || saved.contents().online->env_step > c.steps) {
      fail("{}: not an online checkpoint within the run's {} env steps", checkpoint.string(),
           c.steps);
    }
    saved.read_algorithm([&](torch::serialize::InputArchive& a) { algo->load(a); });
    rng.set_state(saved.contents().sampler_rng);
    state = *saved.contents().online;
    norm = saved.contents().normalizers;
    buffer.load(replay_file(state.env_step).string());
  }
  mixed = std::make_unique<MixedBatch>(c, *cfg.entry, buffer, norm);  // reads the offline data
  tensors = as_tensors(mixed->batch);                                 // (before the logs)
  if (!owner) return;
  if (resume) {
    files.rewind(state.env_step);
  } else {
    files.start(cfg.json_text);
  }
}

std::filesystem::path OnlineRun::replay_file(int64_t step) const {
  return files.checkpoints() / fmt::format("replay-{}.h5", step);
}

void OnlineRun::save(const OnlineLoopState& saved) {
  buffer.save(replay_file(saved.env_step).string());
  save_algorithm_checkpoint(checkpoint, *algo,
                            {.config_json = cfg.json_text,
                             .obs_dim = dims.obs_dim,
                             .act_dim = dims.act_dim,
                             .max_action = dims.max_action,
                             .sampler_rng = rng.state(),
                             .normalizers = norm,
                             .online = saved});
  remove_older_side_files(files.checkpoints(), "replay-", replay_file(saved.env_step));
}

std::string EpisodeWindow::close(nlohmann::json& line) {
  std::string words = "no episode ended";
  if (episodes > 0) {
    const double mean = returns / static_cast<double>(episodes);
    line["episode_return"] = mean;
    words = fmt::format("episode return {:.2f} ({} episodes)", mean, episodes);
  }
  episodes = 0;
  returns = 0.0;
  return words;
}

}  // namespace stitch
