#include "algo/o2o/finetune.h"

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "algo/trainer.h"
#include "algo/training_loop.h"
#include "core/config.h"
#include "core/error.h"
#include "core/json_read.h"
#include "data/io.h"
#include "track/checkpoint.h"
#include "track/run_files.h"
#include "track/runs.h"

namespace stitch {

namespace {

// The pre-trained checkpoint: a minibatch learner's (Error naming the file otherwise).
Checkpoint open_pretrained(const std::string& path) {
  if (is_stream_checkpoint(path)) {
    fail("{}: a streaming agent's checkpoint; fine-tuning continues minibatch learners", path);
  }
  return Checkpoint(path);
}

// The "algo" of a checkpoint's stored config.
std::string checkpoint_algorithm(const Checkpoint& checkpoint) {
  const auto stored = parse_json(checkpoint.contents().config_json, checkpoint.path());
  if (!stored.is_object() || !stored.value("algo", nlohmann::json()).is_string()) {
    fail("{}: the stored config names no algorithm", checkpoint.path());
  }
  return stored["algo"].get<std::string>();
}

void check_continues(const std::string& path, const std::string& pre, const std::string& method,
                     const AlgoEntry& entry) {
  if (std::find(entry.finetune.from.begin(), entry.finetune.from.end(), pre) ==
      entry.finetune.from.end()) {
    fail("{}: a {} checkpoint, and {} fine-tunes only {} checkpoints", path, pre, method,
         fmt::join(entry.finetune.from, " or "));
  }
}

}  // namespace

Normalizers adopt_pretrained(const TrainConfig& c, const AlgoEntry& method, const AlgoDims& dims,
                             Algorithm& algo) {
  Checkpoint checkpoint = open_pretrained(c.from);
  check_continues(c.from, checkpoint_algorithm(checkpoint), c.algo, method);
  const CheckpointContents& saved = checkpoint.contents();
  if (saved.obs_dim != dims.obs_dim || saved.act_dim != dims.act_dim) {
    fail("{}: trained for observation/action dimensions {}/{}, but {} has {}/{}", c.from,
         saved.obs_dim, saved.act_dim, c.env, dims.obs_dim, dims.act_dim);
  }
  try {
    checkpoint.read_algorithm([&](torch::serialize::InputArchive& a) { algo.adopt(a); });
  } catch (const Error& e) {
    fail("{}: cannot continue it with {}: {}", c.from, c.algo, e.what());
  }
  return saved.normalizers;
}

MixedBatch::MixedBatch(const TrainConfig& c, const AlgoEntry& entry, const ReplayBuffer& buffer,
                       const Normalizers& norm, const Dataset* offline)
    : buffer_(buffer) {
  const int64_t rows = c.batch_size;
  const int64_t offline_rows =
      c.offline_ratio > 0 ? static_cast<int64_t>(std::llround(c.offline_ratio * rows)) : 0;
  auto with_returns = [&](Batch b) {
    if (entry.returns_to_go) b.returns_to_go.assign(static_cast<size_t>(b.size), 0.0f);
    std::fill(b.discounts.begin(), b.discounts.end(), static_cast<float>(c.discount));
    return b;
  };
  batch = with_returns(buffer.make_batch(rows));
  if (offline_rows == 0) return;
  offline_ = offline != nullptr ? *offline : load_dataset(c.dataset);
  check_dataset_dims(offline_, c.dataset, c.env,
                     {.obs_dim = batch.obs_dim, .act_dim = batch.act_dim});
  if (norm.observations) normalize_observations(offline_, norm.obs);
  if (norm.reward_scale != 1.0) scale_rewards(offline_, norm.reward_scale);
  sampler_ = std::make_unique<Sampler>(offline_, SamplerOptions{.batch_size = offline_rows,
                                                                .discount = c.discount,
                                                                .return_to_go = entry.returns_to_go,
                                                                .rtg_discount = c.discount,
                                                                .seed = c.seed});
  offline_rows_ = sampler_->make_batch();
  if (offline_rows < rows) online_rows_ = with_returns(buffer.make_batch(rows - offline_rows));
}

void MixedBatch::sample(Rng& rng) {
  if (!sampler_) {
    buffer_.sample(batch, rng);
    return;
  }
  sampler_->sample(offline_rows_, rng);
  copy_batch_rows(offline_rows_, batch, 0);
  if (online_rows_.size > 0) {
    buffer_.sample(online_rows_, rng);
    copy_batch_rows(online_rows_, batch, offline_rows_.size);
  }
}

EpisodeHold::EpisodeHold(bool returns_to_go, int64_t num_envs, const AlgoDims& dims,
                         double discount)
    : hold_(returns_to_go),
      obs_dim_(dims.obs_dim),
      act_dim_(dims.act_dim),
      discount_(discount),
      episodes_(static_cast<size_t>(num_envs)) {}

void EpisodeHold::add(ReplayBuffer& buffer, int64_t i, const float* obs, const float* action,
                      float reward, const float* next_obs, bool terminated, bool truncated) {
  if (!hold_) {
    buffer.add(obs, action, reward, next_obs, terminated, truncated);
    return;
  }
  Episode& e = episodes_[static_cast<size_t>(i)];
  e.obs.insert(e.obs.end(), obs, obs + obs_dim_);
  e.actions.insert(e.actions.end(), action, action + act_dim_);
  e.rewards.push_back(reward);
  e.next_obs.insert(e.next_obs.end(), next_obs, next_obs + obs_dim_);
  e.terminated.push_back(terminated ? 1 : 0);
  if (!terminated && !truncated) return;
  // G_t = r_t + discount G_{t+1}, G = 0 past the episode's last step (a truncated or cut
  // episode is not bootstrapped: Cal-QL's reference code).
  const size_t len = e.rewards.size();
  std::vector<float> returns(len);
  double g = 0.0;
  for (size_t t = len; t-- > 0;) {
    g = e.rewards[t] + discount_ * g;
    returns[t] = static_cast<float>(g);
  }
  for (size_t t = 0; t < len; ++t) {
    const bool last = t + 1 == len;
    buffer.add(e.obs.data() + t * obs_dim_, e.actions.data() + t * act_dim_, e.rewards[t],
               e.next_obs.data() + t * obs_dim_, e.terminated[t] != 0, last && truncated, 0.0f,
               returns[t]);
  }
  e = Episode{};
}

std::string finetune_config(const std::string& checkpoint, const std::string& method,
                            const std::string& json_path,
                            const std::vector<std::string>& overrides) {
  const Checkpoint ckpt = open_pretrained(checkpoint);
  const std::string pre = checkpoint_algorithm(ckpt);
  const AlgoEntry& entry = AlgoRegistry::global().entry(method);
  if (entry.finetune.from.empty()) {
    // The config's own check names the methods.
    return resolve_train_config_text(nlohmann::json{{"algo", method}, {"from", checkpoint}}.dump(),
                                     overrides);
  }
  check_continues(checkpoint, pre, method, entry);
  const auto stored = parse_json(ckpt.contents().config_json, checkpoint);
  nlohmann::json base{{"algo", method},
                      {"from", std::filesystem::absolute(checkpoint).lexically_normal().string()}};
  if (stored.contains("discount")) base["discount"] = stored["discount"];
  // The method's keys, and the checkpoint's values of those it shares.
  const std::unique_ptr<AlgoConfig> defaults = entry.make_config();
  ConfigFields fields;
  defaults->describe(fields);
  nlohmann::json section = nlohmann::json::object();
  nlohmann::json pre_keys = nlohmann::json::object();
  if (stored.is_object() && stored.contains(pre)) pre_keys = stored[pre];
  const auto& keep = entry.finetune.network_keys;
  const nlohmann::json method_keys = fields.to_json();
  for (auto it = method_keys.begin(); it != method_keys.end(); ++it) {
    const std::string& key = it.key();
    const bool kept =
        pre == method || keep.empty() || std::find(keep.begin(), keep.end(), key) != keep.end();
    if (kept && pre_keys.is_object() && pre_keys.contains(key)) section[key] = pre_keys[key];
  }
  for (const std::string& kv : entry.finetune.set) {
    const auto eq = kv.find('=');
    section[kv.substr(0, eq)] = parse_json(kv.substr(eq + 1), "finetune default " + kv);
  }
  base[method] = section;
  if (!json_path.empty()) {
    const auto file = parse_json(read_file_text(json_path), json_path);
    if (file.is_discarded() || !file.is_object()) fail("{}: not a JSON object", json_path);
    base.merge_patch(file);
  }
  return resolve_train_config_text(base.dump(), overrides);
}

void log_finetune_scores(const std::filesystem::path& run_dir) {
  const auto scores = finetune_scores(read_run(run_dir.string()));
  if (!scores) return;
  auto text = [](const EvalPoint& p) {
    return p.normalized ? fmt::format("{:.1f} (return {:.1f})", *p.normalized, p.mean)
                        : fmt::format("return {:.1f}", p.mean);
  };
  spdlog::info("fine-tuning: before {}, dip {} at env step {}, after {}", text(scores->before),
               text(scores->dip), scores->dip.step, text(scores->after));
}

}  // namespace stitch
