#include "algo/training_loop.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "algo/return_conditioned.h"
#include "core/error.h"
#include "eval/evaluate.h"
#include "nn/nn.h"
#include "track/run_log.h"

namespace stitch {

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

nlohmann::json metrics_line(int64_t done, const Stopwatch& total, const Stopwatch& since_log,
                            int64_t log_every) {
  return {{"step", done},
          {"wall_s", total.seconds()},
          {"updates_per_s", static_cast<double>(log_every) / std::max(1e-9, since_log.seconds())}};
}

void remove_older_side_files(const std::filesystem::path& dir, const std::string& prefix,
                             const std::filesystem::path& keep) {
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind(prefix, 0) == 0 && entry.path() != keep) {
      std::filesystem::remove(entry.path());
    }
  }
}

void check_dataset_dims(const Dataset& data, const std::string& path, const std::string& env_id,
                        const AlgoDims& dims) {
  if (data.obs_dim != dims.obs_dim || data.act_dim != dims.act_dim) {
    fail("{}: observation/action dimensions {}/{} do not match {}'s {}/{}", path, data.obs_dim,
         data.act_dim, env_id, dims.obs_dim, dims.act_dim);
  }
}

void AlgorithmPolicy::reset() {
  if (auto* rc = dynamic_cast<ReturnConditioned*>(&algo_)) rc->start_episode();
}

void AlgorithmPolicy::observe_reward(double reward) {
  if (auto* rc = dynamic_cast<ReturnConditioned*>(&algo_)) {
    rc->reward_received(reward * normalizers_.reward_scale);
  }
}

void AlgorithmPolicy::act(std::span<const float> obs, Rng&, std::span<float> action) {
  obs_.assign(obs.begin(), obs.end());
  if (normalizers_.observations) normalizers_.obs.apply(obs_);
  const auto input =
      torch::from_blob(obs_.data(), {1, static_cast<int64_t>(obs_.size())}, torch::kFloat32);
  const auto a = algo_.act(input, /*deterministic=*/true).contiguous();
  STITCH_CHECK(static_cast<size_t>(a.numel()) == action.size(), "policy returned {} actions",
               a.numel());
  std::memcpy(action.data(), a.data_ptr<float>(), action.size() * sizeof(float));
}

EvalResult evaluate_and_log(const TrainConfig& cfg, Policy& policy, int64_t step, RunLog& log) {
  const EvalResult e =
      evaluate_policy(cfg.env, policy, cfg.eval_episodes, evaluation_seed(cfg.seed));
  const ScoredEval s = score_evaluation(cfg.env, e);
  log.evaluation(step, e.returns, e.mean, s.normalized, s.d4rl_normalized);
  spdlog::info("eval at step {}: {}", step, describe_evaluation(cfg.env, e));
  return e;
}

void check_finite_metrics(const Metrics& metrics, int64_t step, const char* unit,
                          const TrainConfig& cfg) {
  for (const auto& [name, value] : metrics) {
    if (!std::isfinite(value)) {
      fail("training diverged at {} {}: {} = {} ({} on {})", unit, step, name, value, cfg.algo,
           cfg.online ? cfg.env : cfg.dataset);
    }
  }
}

void check_finite_parameters(Algorithm& algo, int64_t step, const char* unit) {
  for (const auto& [name, module] : algo.modules()) {
    if (!nn::all_finite(*module)) {
      fail("training diverged at {} {}: a parameter of '{}' is not finite", unit, step, name);
    }
  }
}

void save_algorithm_checkpoint(const std::filesystem::path& path, const Algorithm& algo,
                               CheckpointContents contents) {
  save_checkpoint(path, contents,
                  [&](torch::serialize::OutputArchive& archive) { algo.save(archive); });
}

namespace {

// The stored config decides how much the rebuilt algorithm allocates before its state is read
// and checked (Algorithm::load): refuse a config whose networks the file cannot hold. Every
// minibatch algorithm's policy is an MLP of `<algo>.layers` (default 2) hidden layers of
// `<algo>.hidden` units, so the file holds at least its weights as float32.
void check_network_fits(const std::string& path, const ResolvedTrainConfig& config,
                        int64_t obs_dim) {
  const auto j = nlohmann::json::parse(config.json_text, nullptr, false);
  const auto algo = j.is_object() ? j.value(config.train.algo, nlohmann::json()) : nlohmann::json();
  if (!algo.is_object() || !algo.value("hidden", nlohmann::json()).is_number_integer()) return;
  const double hidden = algo["hidden"].get<double>();
  const double layers = algo.value("layers", nlohmann::json(2)).get<double>();
  const double weights = (layers - 1) * hidden * hidden + static_cast<double>(obs_dim) * hidden;
  const double file_bytes = static_cast<double>(std::filesystem::file_size(path));
  if (4 * weights > file_bytes) {
    fail(
        "{}: the stored config builds a policy of {} weights ({} hidden layers of {}), more "
        "than the {}-byte file holds",
        path, weights, layers, hidden, file_bytes);
  }
}

}  // namespace

LoadedAlgorithm load_algorithm_checkpoint(const std::string& path) {
  Checkpoint checkpoint(path);
  LoadedAlgorithm out;
  out.contents = checkpoint.contents();
  try {
    out.config = resolve_train_config_text(out.contents.config_json);
  } catch (const Error& e) {
    fail("{}: the stored config: {}", path, e.what());
  }
  if (!out.config.entry->make) fail("{}: not a minibatch algorithm's checkpoint", path);
  check_network_fits(path, out.config, out.contents.obs_dim);
  const AlgoDims dims{.obs_dim = out.contents.obs_dim,
                      .act_dim = out.contents.act_dim,
                      .max_action = out.contents.max_action,
                      .total_steps = out.config.train.steps,
                      .env = out.config.train.env};
  out.algo = out.config.entry->make(*out.config.algo, dims, out.config.train.seed);
  checkpoint.read_algorithm([&](torch::serialize::InputArchive& a) { out.algo->load(a); });
  return out;
}

}  // namespace stitch
