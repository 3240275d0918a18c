// MBRCSL (Zhou et al. 2023, "Free from Bellman Completeness: Trajectory Stitching via
// Model-based Return-conditioned Supervised Learning"), the authors' pipeline for Point Maze
// (docs/reference-implementations.md C40-C41):
//   1. fit the dynamics ensemble on the data (or reuse model.checkpoint), as MOPO does;
//   2. fit a behaviour policy on the data (stitch: Gaussian BC; theirs: a diffusion policy);
//   3. roll whole episodes (the env's time limit, or `horizon`) out through the model from the
//      data's episode starts with the behaviour policy, in rounds of `rollout_batch` (each model
//      reward clipped to the data's reward range, which the authors' code does not do: a model
//      that extrapolates rewards otherwise makes a hallucinated episode the target), keeping
//      those whose return beats the data's best episode (and whose states are finite), until at
//      least `keep` are kept or `max_rounds` rounds ran;
//   4. train RCSL (offline/rcsl.h) on the kept rollouts alone, conditioned at evaluation on the
//      best kept return.
// The behaviour policy mixes the data's trajectories where they cross; the model lets its
// rollouts follow such mixtures, and the filter keeps the ones that stitch better pieces
// together than any logged episode.
//
// Run directory: the offline loop's (the RCSL phase) plus
//   model/          the fitted model (a `stitch model train` run)
//   rollouts.hdf5   the kept rollouts, a D4RL-layout dataset (`stitch dataset info` reads it;
//                   its metadata keys mbrcsl_* record the rounds, the episodes rolled out and
//                   kept, the data's and the kept best return, and the horizon)
// Steps 1-3 run before the first checkpoint, and again on a fresh start in the same directory
// (its model is reused only if fitted with the same settings: model_for_run); a resumed run
// finds rollouts.hdf5 and continues the RCSL phase from its checkpoint. The rollouts are
// written durably before RCSL starts. With a horizon shorter than the env's time limit, model
// episodes are compared with whole logged ones, and the evaluation runs past the horizon with
// a return to go near 0.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "algo/algorithm.h"
#include "algo/offline/rcsl.h"
#include "algo/training_loop.h"
#include "core/config.h"
#include "core/error.h"
#include "core/rng.h"
#include "data/io.h"
#include "data/normalize.h"
#include "data/sampler.h"
#include "env/registry.h"
#include "model/model_run.h"
#include "model/rollout.h"

namespace stitch {

namespace fs = std::filesystem;

namespace {

struct MbrcslConfig : RcslConfig {
  MbrcslConfig() { name = "mbrcsl"; }
  int64_t behavior_steps = 20000;  // Gaussian BC minibatches (batch_size rows each)
  int64_t behavior_hidden = 256;   // its two hidden layers (CORL's BC)
  int64_t rollout_batch = 1000;    // episodes rolled out per round (theirs: 200)
  int64_t keep = 100;              // stop once this many beat the data (theirs: 100, Point Maze)
  int64_t max_rounds = 200;        // at most rollout_batch x max_rounds episodes
  int64_t horizon = 0;             // steps per episode; 0: the env's time limit (theirs: 200)
  void describe(ConfigFields& f) override {
    RcslConfig::describe(f);
    f.add("behavior_steps", behavior_steps, "gradient steps of the Gaussian BC behaviour policy",
          {.min = 1, .max = 100'000'000});
    f.add("behavior_hidden", behavior_hidden, "behaviour policy hidden width (two layers)",
          {.min = 1, .max = 65536});
    f.add("rollout_batch", rollout_batch, "model episodes rolled out per round",
          {.min = 1, .max = 1'000'000});
    f.add("keep", keep, "stop rolling out once this many episodes beat the data's best return",
          {.min = 1, .max = 10'000'000});
    f.add("max_rounds", max_rounds, "rounds of rollout_batch episodes at most",
          {.min = 1, .max = 1'000'000});
    f.add("horizon", horizon, "steps per model episode (0: the env's time limit)",
          {.min = 0, .max = 100'000});
  }
};

// Error naming the keys when a round's episodes, or the kept ones (at most keep + rollout_batch
// - 1 episodes), would hold more than 100 million steps (about 10 GB at hopper's sizes).
void check_rollout_sizes(const MbrcslConfig& mc, int64_t horizon) {
  constexpr double kMaxSteps = 1e8;
  const double round = static_cast<double>(mc.rollout_batch) * static_cast<double>(horizon);
  const double kept =
      static_cast<double>(mc.keep + mc.rollout_batch) * static_cast<double>(horizon);
  if (round > kMaxSteps || kept > kMaxSteps) {
    fail(
        "config keys 'mbrcsl.rollout_batch' {}, 'mbrcsl.keep' {} with a horizon of {} steps: "
        "{:.3g} steps a round and up to {:.3g} kept; at most 100 million",
        mc.rollout_batch, mc.keep, horizon, round, kept);
  }
}

// Step 2: Gaussian BC on the data's normalised observations; returns the policy.
std::unique_ptr<Algorithm> fit_behavior(const MbrcslConfig& mc, const TrainConfig& c,
                                        const Dataset& normalized, const AlgoDims& dims) {
  const AlgoEntry& bc = AlgoRegistry::global().entry("bc");
  std::unique_ptr<AlgoConfig> config = bc.make_config();
  ConfigFields fields;
  config->describe(fields);
  fields.apply_override("variant=gaussian", "mbrcsl");
  fields.apply_override(fmt::format("hidden={}", mc.behavior_hidden), "mbrcsl");
  torch::manual_seed(c.seed ^ 0xbe4a71u);
  std::unique_ptr<Algorithm> policy = bc.make(*config, dims, c.seed ^ 0xbe4a71u);
  Sampler sampler(normalized, {.batch_size = c.batch_size, .seed = c.seed ^ 0xbe4a71u});
  Batch batch = sampler.make_batch();
  const TensorBatch tensors = as_tensors(batch);
  double loss = 0;
  for (int64_t step = 1; step <= mc.behavior_steps; ++step) {
    sampler.sample(batch);
    loss = policy->update(tensors).at("bc_loss");
    if (!std::isfinite(loss)) fail("mbrcsl: the behaviour policy diverged at step {}", step);
    if (step % 10000 == 0 || step == mc.behavior_steps) {
      spdlog::info("mbrcsl: behaviour policy step {}/{}  bc_loss {:.4g}", step, mc.behavior_steps,
                   loss);
    }
  }
  return policy;
}

// Whether row r's steps hold only finite states, actions and rewards.
bool finite_episode(const ModelEpisodes& e, int64_t r) {
  auto finite = [&](const std::vector<float>& v, int64_t width) {
    const auto from = v.begin() + r * e.horizon * width;
    return std::all_of(from, from + e.lengths[static_cast<size_t>(r)] * width,
                       [](float x) { return std::isfinite(x); });
  };
  return finite(e.observations, e.obs_dim) && finite(e.next_observations, e.obs_dim) &&
         finite(e.actions, e.act_dim) && finite(e.rewards, 1);
}

// Step 3: the kept model episodes as a dataset.
Dataset roll_out_and_keep(const MbrcslConfig& mc, const TrainConfig& c, const Dataset& data,
                          const ObservationNormalizer& norm, Algorithm& behavior,
                          TrainedModel& model, const AlgoDims& dims, int64_t horizon) {
  const std::vector<double> returns = complete_episode_returns(data);
  const double best = *std::max_element(returns.begin(), returns.end());
  const auto [low, high] = std::minmax_element(data.rewards.begin(), data.rewards.end());
  const float reward_low = *low, reward_high = *high;
  const int64_t obs = dims.obs_dim, act = dims.act_dim;
  const EnvSpec& spec = EnvRegistry::global().spec(c.env);
  std::vector<float> scratch;
  const RolloutPolicy policy = [&](const float* o, int64_t rows, float* actions) {
    scratch.assign(o, o + rows * obs);
    for (int64_t i = 0; i < rows; ++i) {
      norm.apply(std::span<float>(scratch.data() + i * obs, static_cast<size_t>(obs)));
    }
    const torch::NoGradGuard no_grad;
    const auto t = torch::from_blob(scratch.data(), {rows, obs}, torch::kFloat32);
    const auto a = behavior.act(t, /*deterministic=*/false).contiguous();
    std::copy_n(a.data_ptr<float>(), rows * act, actions);
  };

  Dataset kept;
  kept.obs_dim = obs;
  kept.act_dim = act;
  // The source data's env and reference scores, not its provenance (these are model episodes).
  for (const char* key : {"env_id", "ref_min_score", "ref_max_score"}) {
    if (data.metadata.count(key)) kept.metadata[key] = data.metadata.at(key);
  }
  kept.metadata["mbrcsl_source"] = nlohmann::json(c.dataset).dump();
  Rng rng(c.seed ^ 0x6d62726373ULL);  // start episodes, members, model noise
  std::vector<float> starts(static_cast<size_t>(mc.rollout_batch * obs));
  int64_t rounds = 0, episodes = 0, count = 0, diverged = 0;
  double kept_best = -std::numeric_limits<double>::infinity();
  while (count < mc.keep && rounds < mc.max_rounds) {
    for (int64_t i = 0; i < mc.rollout_batch; ++i) {
      const Episode& ep = data.episodes[rng.below(data.episodes.size())];
      std::copy_n(data.observations.data() + ep.start * obs, obs, starts.data() + i * obs);
    }
    ModelEpisodes e = model_episodes(*model.ensemble, model.elites, starts.data(), mc.rollout_batch,
                                     horizon, policy, spec.terminal, rng);
    ++rounds;
    episodes += mc.rollout_batch;
    for (int64_t r = 0; r < e.rows; ++r) {
      const int64_t first = r * horizon, len = e.lengths[static_cast<size_t>(r)];
      double g = 0;  // the return with each reward within the data's range
      for (int64_t t = first; t < first + len; ++t) {
        float& x = e.rewards[static_cast<size_t>(t)];
        x = std::clamp(x, reward_low, reward_high);
        g += x;
      }
      if (!(g > best)) continue;
      if (!finite_episode(e, r)) {  // a model that diverged: never kept
        ++diverged;
        continue;
      }
      ++count;
      kept_best = std::max(kept_best, g);
      auto append = [&](std::vector<float>& to, const std::vector<float>& from, int64_t w) {
        to.insert(to.end(), from.begin() + first * w, from.begin() + (first + len) * w);
      };
      append(kept.observations, e.observations, obs);
      append(kept.actions, e.actions, act);
      append(kept.next_observations, e.next_observations, obs);
      append(kept.rewards, e.rewards, 1);
      const bool terminated = e.terminated[static_cast<size_t>(r)] != 0;
      kept.terminals.resize(kept.terminals.size() + len, 0);
      kept.timeouts.resize(kept.timeouts.size() + len, 0);
      kept.has_next.resize(kept.has_next.size() + len, 1);
      (terminated ? kept.terminals : kept.timeouts).back() = 1;  // how the episode ended
    }
    spdlog::info("mbrcsl: round {}: {} of {} model episodes beat the data's best return {:.4g}",
                 rounds, count, episodes, best);
  }
  if (count == 0) {
    fail(
        "mbrcsl: none of {} model episodes ({} rounds) beat the data's best return {:.6g}; more "
        "rounds (mbrcsl.max_rounds), a better behaviour policy (mbrcsl.behavior_steps) or a "
        "better model (model.*: in a new run directory, or after removing {}) may find some",
        episodes, rounds, best, (fs::path(c.run_dir) / "model").string());
  }
  kept.index_episodes();
  kept.metadata["mbrcsl_rounds"] = std::to_string(rounds);
  kept.metadata["mbrcsl_episodes_rolled_out"] = std::to_string(episodes);
  kept.metadata["mbrcsl_episodes_kept"] = std::to_string(count);
  kept.metadata["mbrcsl_data_best_return"] = nlohmann::json(best).dump();
  kept.metadata["mbrcsl_kept_best_return"] = nlohmann::json(kept_best).dump();
  kept.metadata["mbrcsl_horizon"] = std::to_string(horizon);
  if (diverged > 0) {
    spdlog::warn("mbrcsl: {} model episodes that beat the data held non-finite states: dropped",
                 diverged);
  }
  spdlog::info("mbrcsl: kept {} of {} model episodes (best return {:.4g}, the data's {:.4g})",
               count, episodes, kept_best, best);
  return kept;
}

}  // namespace

TrainResult train_mbrcsl(const ResolvedTrainConfig& cfg, bool resume, int64_t stop_after_steps) {
  const TrainConfig& c = cfg.train;
  const auto& mc = dynamic_cast<const MbrcslConfig&>(*cfg.algo);
  if (c.reward_scaling == "locomotion") {
    fail(
        "config key 'reward_scaling': mbrcsl compares model returns with the data's in the "
        "env's units; it takes none or auto, got locomotion");
  }
  const int64_t limit = EnvRegistry::global().spec(c.env).max_episode_steps;
  const int64_t horizon = mc.horizon > 0 ? mc.horizon : limit;
  if (horizon < 1) fail("config key 'mbrcsl.horizon': {} has no time limit; set one", c.env);
  if (limit > 0 && horizon > limit) {
    fail("config key 'mbrcsl.horizon': {} steps, past {}'s time limit of {}", horizon, c.env,
         limit);
  }
  check_rollout_sizes(mc, horizon);
  // A resumed run trains on the rollouts its checkpoint was trained on; a fresh start (never a
  // run with a checkpoint: train() refuses that) makes them again.
  const fs::path rollouts = fs::path(c.run_dir) / "rollouts.hdf5";
  if (!resume || !fs::exists(rollouts)) {
    auto env = make_env(c.env);
    const AlgoDims dims = dims_for(*env, c.env);
    const Dataset data = load_dataset(c.dataset);
    check_dataset_dims(data, c.dataset, c.env, dims);
    TrainedModel model = model_for_run(cfg, data, dims, resume);
    Dataset normalized = data;
    const ObservationNormalizer norm = fit_observation_normalizer(data);
    normalize_observations(normalized, norm);
    std::unique_ptr<Algorithm> behavior = fit_behavior(mc, c, normalized, dims);
    const Dataset kept = roll_out_and_keep(mc, c, data, norm, *behavior, model, dims, horizon);
    save_dataset(kept, rollouts.string(), {.force = true});
  }
  return train_offline(cfg, resume, stop_after_steps, rollouts.string());
}

STITCH_REGISTER_ALGORITHM(
    mbrcsl, {.name = "mbrcsl",
             .summary = "model-based return-conditioned supervised learning: RCSL on model "
                        "episodes that beat the data (trajectory stitching)",
             .normalize_observations = true,
             .return_conditioned = true,
             .model_dataset = true,
             .make_config = [] { return std::make_unique<MbrcslConfig>(); },
             .make = [](const AlgoConfig& c, const AlgoDims& d,
                        uint64_t seed) -> std::unique_ptr<Algorithm> {
               return make_rcsl(dynamic_cast<const RcslConfig&>(c), d, seed, "mbrcsl");
             }});

}  // namespace stitch
