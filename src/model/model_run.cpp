#include "model/model_run.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <numeric>

#include "algo/algorithm.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/rng.h"
#include "core/timer.h"
#include "data/dataset.h"
#include "data/io.h"
#include "env/registry.h"
#include "track/checkpoint.h"
#include "track/durable.h"
#include "track/meta.h"
#include "track/run_files.h"

namespace stitch {

namespace fs = std::filesystem;
using nlohmann::json;

void ModelRunConfig::describe(ConfigFields& f) {
  f.add("dataset", dataset, "dataset file (HDF5) to fit the model on");
  f.add("env", env, "env the data came from (default: the dataset's env_id)");
  f.add("run_dir", run_dir, "run directory (default runs/model-<dataset>-s<seed>)");
  f.add("seed", seed,
        "seed of the holdout split, the episodes kept out, the weights and the "
        "bootstrap",
        {.min = 0, .max = std::numeric_limits<uint64_t>::max()});
  f.nest("model", model);
}

void ModelRunConfig::validate() const {
  if (dataset.empty())
    fail("config key 'dataset': a model is fitted on a dataset (--dataset FILE)");
  model.validate();
}

namespace {

// obs_dim and act_dim of env `id` (flat).
std::pair<int64_t, int64_t> env_dims(const std::string& id) {
  const auto env = make_env(id);
  return {env->observation_space().flat_dim(), env->action_space().flat_dim()};
}

// `count` episodes of `data` with at least 2 transitions, chosen by `seed` (sorted); at most a
// fifth of those episodes, so that most of the data is fitted.
std::vector<int64_t> choose_eval_episodes(const Dataset& data, int count, uint64_t seed) {
  std::vector<int64_t> candidates;
  for (size_t e = 0; e < data.episodes.size(); ++e) {
    if (data.episodes[e].length >= 2) candidates.push_back(static_cast<int64_t>(e));
  }
  const auto n = std::min<int64_t>(count, static_cast<int64_t>(candidates.size()) / 5);
  Rng rng(seed ^ 0x6d6f64656c657661ULL);  // its own stream: "modeleva"
  for (int64_t i = 0; i < n; ++i) {       // a partial Fisher-Yates shuffle
    const auto j = i + static_cast<int64_t>(rng.below(candidates.size() - static_cast<size_t>(i)));
    std::swap(candidates[static_cast<size_t>(i)], candidates[static_cast<size_t>(j)]);
  }
  std::vector<int64_t> chosen(candidates.begin(), candidates.begin() + n);
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

std::string run_config_json(const ModelRunConfig& c) {
  json j = json::parse(config_to_string(c));
  j["kind"] = "model";
  return j.dump(2);
}

}  // namespace

TrainedModel train_model_run(const ModelRunConfig& c_in, const Dataset* given) {
  ModelRunConfig c = c_in;
  c.validate();
  Dataset loaded;
  if (given == nullptr) loaded = load_dataset(c.dataset);
  const Dataset& data = given != nullptr ? *given : loaded;
  if (c.env.empty()) c.env = data.metadata_string("env_id");
  if (c.env.empty()) {
    fail("{}: the dataset names no env (metadata env_id); give --env ID", c.dataset);
  }
  const auto [obs_dim, act_dim] = env_dims(c.env);
  if (data.obs_dim != obs_dim || data.act_dim != act_dim) {
    fail("{}: observation/action dimensions {}/{} do not match {}'s {}/{}", c.dataset, data.obs_dim,
         data.act_dim, c.env, obs_dim, act_dim);
  }
  if (c.run_dir.empty()) {
    c.run_dir = fmt::format("runs/model-{}-s{}", fs::path(c.dataset).stem().string(), c.seed);
  }
  const fs::path dir = c.run_dir;
  const fs::path checkpoint = dir / "checkpoints" / "model.pt";
  const RunLock lock(dir);
  if (fs::exists(checkpoint)) {
    fail("{}: already holds a fitted model (checkpoints/model.pt); choose another --run-dir",
         dir.string());
  }
  const RunFiles files{.dir = dir, .logs = {"metrics.jsonl"}};
  const LogFileTee tee(dir / "stdout.log");  // the fit's log lines, kept with the run
  const std::string config_json = run_config_json(c);
  files.start(config_json);
  json fields{{"kind", "model"}, {"env", c.env}, {"seed", c.seed}, {"dataset", c.dataset}};
  if (fs::is_regular_file(c.dataset)) fields["dataset_sha256"] = sha256_file(c.dataset);
  RunMeta meta(dir, fields, /*resume=*/false);
  try {
    TrainedModel m;
    m.env = c.env;
    m.obs_dim = obs_dim;
    m.act_dim = act_dim;
    m.config = c.model;
    m.eval_episodes = choose_eval_episodes(data, c.model.eval_episodes, c.seed);
    std::vector<int64_t> fit_episodes;
    for (size_t e = 0, k = 0; e < data.episodes.size(); ++e) {
      if (k < m.eval_episodes.size() && m.eval_episodes[k] == static_cast<int64_t>(e)) {
        ++k;
      } else {
        fit_episodes.push_back(static_cast<int64_t>(e));
      }
    }
    const Dataset fit_data =
        m.eval_episodes.empty() ? Dataset{} : select_episodes(data, fit_episodes);
    torch::manual_seed(c.seed);
    m.ensemble = std::make_unique<DynamicsEnsemble>(obs_dim, act_dim, c.model.options(), c.seed);
    DynamicsFitOptions fit = c.model.fit_options();
    const Stopwatch clock;
    fit.on_epoch = [&](int epoch, const std::vector<double>& mse) {
      std::vector<double> sorted = mse;
      std::sort(sorted.begin(), sorted.end());
      double elite_mean = 0;
      for (int k = 0; k < c.model.elites; ++k) elite_mean += sorted[static_cast<size_t>(k)];
      elite_mean /= c.model.elites;
      append_json_line(dir / "metrics.jsonl", json{{"step", epoch},
                                                   {"wall_s", clock.seconds()},
                                                   {"holdout_mse", mse},
                                                   {"elite_mse", elite_mean}});
      spdlog::info("model epoch {}: holdout MSE of the {} best members {:.5g}", epoch,
                   c.model.elites, elite_mean);
    };
    const DynamicsFit r = m.ensemble->fit(m.eval_episodes.empty() ? data : fit_data, fit, c.seed);
    m.elites = r.elites;
    m.holdout_mse = r.holdout_mse;
    CheckpointContents contents{.config_json = config_json,
                                .obs_dim = obs_dim,
                                .act_dim = act_dim,
                                .sampler_rng = Rng(c.seed).state()};
    save_checkpoint(checkpoint, contents, [&](torch::serialize::OutputArchive& a) {
      torch::serialize::OutputArchive sub;
      m.ensemble->module().save(sub);
      a.write("dynamics", sub);
      a.write("elites", torch::tensor(std::vector<int64_t>(m.elites.begin(), m.elites.end())));
      a.write("holdout_mse", torch::tensor(m.holdout_mse, torch::kFloat64));
      a.write("eval_episodes", torch::tensor(m.eval_episodes, torch::kInt64));
    });
    spdlog::info("model: {} epochs; elites {} (holdout MSE {:.5g} best); {} episodes kept out; {}",
                 r.epochs, fmt::join(m.elites, ","), m.holdout_mse[m.elites[0]],
                 m.eval_episodes.size(), checkpoint.string());
    meta.finish("finished");
    return m;
  } catch (const std::exception& e) {
    meta.fail(error_summary(e));
    throw;
  }
}

TrainedModel load_model_checkpoint(const std::string& path_in, const std::string& env,
                                   int64_t obs_dim, int64_t act_dim) {
  std::string path = path_in;
  if (fs::is_directory(path)) path = (fs::path(path) / "checkpoints" / "model.pt").string();
  Checkpoint saved(path);
  const json stored = json::parse(saved.contents().config_json, nullptr, false);
  if (!stored.is_object() || stored.value("kind", "") != "model") {
    fail("{}: not a model checkpoint (`stitch model train` writes checkpoints/model.pt)", path);
  }
  ModelRunConfig c;
  {
    ConfigFields f;
    c.describe(f);
    json fields = stored;
    fields.erase("kind");
    f.apply_json(fields, path);
    c.model.validate();
  }
  TrainedModel m;
  m.env = c.env;
  m.config = c.model;
  m.obs_dim = saved.contents().obs_dim;
  m.act_dim = saved.contents().act_dim;
  if (!env.empty() && (env != m.env || obs_dim != m.obs_dim || act_dim != m.act_dim)) {
    fail("{}: a model of {} (observation/action dimensions {}/{}), not of {} ({}/{})", path, m.env,
         m.obs_dim, m.act_dim, env, obs_dim, act_dim);
  }
  if (m.obs_dim < 1 || m.act_dim < 1 || m.obs_dim > 1 << 20 || m.act_dim > 1 << 20) {
    fail("{}: dimensions {}/{} out of range", path, m.obs_dim, m.act_dim);
  }
  // The stored config decides what is allocated before the file's tensors are checked: refuse
  // one whose weights the file cannot hold.
  const double h = static_cast<double>(c.model.hidden);
  const double weights =
      c.model.members * (3 * h * h + static_cast<double>(m.obs_dim + m.act_dim) * h +
                         h * 2 * static_cast<double>(m.obs_dim + 1));
  if (4 * weights > static_cast<double>(fs::file_size(path))) {
    fail("{}: the stored config builds {} weights, more than the file holds", path, weights);
  }
  m.ensemble = std::make_unique<DynamicsEnsemble>(m.obs_dim, m.act_dim, c.model.options(), c.seed);
  saved.read_algorithm([&](torch::serialize::InputArchive& a) {
    torch::serialize::InputArchive sub;
    if (!a.try_read("dynamics", sub)) fail("checkpoint has no 'dynamics'");
    check_stored_shapes(m.ensemble->module(), sub, "dynamics");
    m.ensemble->module().load(sub);
    torch::Tensor elites, mse, episodes;
    if (!a.try_read("elites", elites) || !a.try_read("holdout_mse", mse) ||
        !a.try_read("eval_episodes", episodes)) {
      fail("checkpoint lacks elites, holdout_mse or eval_episodes");
    }
    if (elites.scalar_type() != torch::kInt64 || elites.dim() != 1 ||
        elites.numel() != c.model.elites || mse.scalar_type() != torch::kFloat64 ||
        mse.dim() != 1 || mse.numel() != c.model.members ||
        episodes.scalar_type() != torch::kInt64 || episodes.dim() != 1) {
      fail("checkpoint's elites, holdout_mse or eval_episodes have the wrong type or size");
    }
    for (int64_t i = 0; i < elites.numel(); ++i) {
      const int64_t k = elites[i].item<int64_t>();
      if (k < 0 || k >= c.model.members)
        fail("checkpoint names elite {} of {} members", k, c.model.members);
      m.elites.push_back(static_cast<int>(k));
    }
    for (int64_t i = 0; i < mse.numel(); ++i) m.holdout_mse.push_back(mse[i].item<double>());
    for (int64_t i = 0; i < episodes.numel(); ++i) {
      const int64_t e = episodes[i].item<int64_t>();
      if (e < 0) fail("checkpoint names episode {}", e);
      m.eval_episodes.push_back(e);
    }
  });
  m.ensemble->rebind();
  return m;
}

std::vector<HorizonError> evaluate_model_run(const std::string& run_dir, int horizon) {
  if (horizon < 1 || horizon > 1000) fail("--horizon must be in [1, 1000], got {}", horizon);
  const fs::path dir = run_dir;
  TrainedModel m = load_model_checkpoint(run_dir);
  const json config = json::parse(read_file_text(dir / "config.json"), nullptr, false);
  const std::string dataset = config.is_object() ? config.value("dataset", "") : "";
  if (dataset.empty()) fail("{}: config.json names no dataset", (dir / "config.json").string());
  Dataset data = load_dataset(dataset);
  if (data.obs_dim != m.obs_dim || data.act_dim != m.act_dim) {
    fail("{}: dimensions {}/{}, the model's {}/{}", dataset, data.obs_dim, data.act_dim, m.obs_dim,
         m.act_dim);
  }
  if (m.eval_episodes.empty()) {
    fail(
        "{}: the model kept no episodes out of its fit (model.eval_episodes 0, or a dataset of "
        "fewer than 10 episodes); nothing to evaluate on",
        run_dir);
  }
  const int64_t obs = m.obs_dim, act = m.act_dim, in = obs + act, out = obs + 1;
  // Every row of the held-out episodes that has a successor starts a rollout; the rollout from
  // row i at horizon h compares with row i+h-1's next observation and reward.
  std::vector<int64_t> starts;
  std::vector<int64_t> last_row;  // per start: the last row of its run of successors
  for (const int64_t e : m.eval_episodes) {
    if (e >= static_cast<int64_t>(data.episodes.size())) {
      fail("{}: the model kept out episode {}, the dataset has {} (another dataset?)", run_dir, e,
           data.episodes.size());
    }
    const Episode& ep = data.episodes[static_cast<size_t>(e)];
    // Backwards, so that each row knows the last row of its run of successors in one pass.
    std::vector<int64_t> ep_starts, ep_last;
    int64_t last = -1;
    for (int64_t i = ep.end() - 1; i >= ep.start; --i) {
      if (data.has_next[static_cast<size_t>(i)] == 0) {
        last = -1;
        continue;
      }
      if (last < 0) last = i;
      ep_starts.push_back(i);
      ep_last.push_back(last);
    }
    starts.insert(starts.end(), ep_starts.rbegin(), ep_starts.rend());
    last_row.insert(last_row.end(), ep_last.rbegin(), ep_last.rend());
  }
  const auto n = static_cast<int64_t>(starts.size());
  std::vector<float> state(static_cast<size_t>(n * obs)), x(static_cast<size_t>(n * in));
  std::vector<float> pred(static_cast<size_t>(n * 2 * out)), delta(static_cast<size_t>(n * out));
  for (int64_t r = 0; r < n; ++r)
    std::copy_n(data.observations.data() + starts[r] * obs, obs, state.data() + r * obs);
  std::vector<HorizonError> table;
  std::vector<int64_t> alive(static_cast<size_t>(n));
  std::iota(alive.begin(), alive.end(), 0);
  std::vector<float> s_in(static_cast<size_t>(n * obs)), a_in(static_cast<size_t>(n * act));
  for (int h = 1; h <= horizon; ++h) {
    // The rollouts whose episode still has row start + h - 1.
    std::vector<int64_t> next_alive;
    for (const int64_t r : alive)
      if (starts[r] + h - 1 <= last_row[r]) next_alive.push_back(r);
    alive.swap(next_alive);
    if (alive.empty()) break;
    const auto rows = static_cast<int64_t>(alive.size());
    for (int64_t i = 0; i < rows; ++i) {
      const int64_t r = alive[i], row = starts[r] + h - 1;
      std::copy_n(state.data() + r * obs, obs, s_in.data() + i * obs);
      std::copy_n(data.actions.data() + row * act, act, a_in.data() + i * act);
    }
    m.ensemble->standardise(s_in.data(), a_in.data(), rows, x.data());
    std::fill(delta.begin(), delta.begin() + rows * out, 0.0f);
    for (const int k : m.elites) {  // the elites' mean prediction
      m.ensemble->predict(k, x.data(), rows, pred.data());
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < out; ++j)
          delta[i * out + j] += pred[i * 2 * out + j] / static_cast<float>(m.elites.size());
    }
    HorizonError e{.horizon = h, .starts = rows};
    for (int64_t i = 0; i < rows; ++i) {
      const int64_t r = alive[i], row = starts[r] + h - 1;
      const float* real = data.next_observations.data() + row * obs;
      const float* start = data.observations.data() + starts[r] * obs;
      float* s = state.data() + r * obs;
      for (int64_t j = 0; j < obs; ++j) {
        s[j] += delta[i * out + j];
        e.state_mse += std::pow(static_cast<double>(s[j]) - real[j], 2);
        e.constant_mse += std::pow(static_cast<double>(start[j]) - real[j], 2);
      }
      e.reward_mse += std::pow(
          static_cast<double>(delta[i * out + obs]) - data.rewards[static_cast<size_t>(row)], 2);
    }
    e.state_mse /= static_cast<double>(rows * obs);
    e.constant_mse /= static_cast<double>(rows * obs);
    e.reward_mse /= static_cast<double>(rows);
    if (!std::isfinite(e.state_mse)) {
      fail("{}: the model's open-loop prediction is not finite at horizon {}", run_dir, h);
    }
    table.push_back(e);
  }
  // model_eval.json, .md and .svg.
  json j = json::array();
  for (const HorizonError& e : table) {
    j.push_back({{"horizon", e.horizon},
                 {"rollouts", e.starts},
                 {"state_mse", e.state_mse},
                 {"constant_mse", e.constant_mse},
                 {"reward_mse", e.reward_mse}});
  }
  const std::string md = model_eval_table(table) +
                         fmt::format(
                             "\nOpen-loop rollouts of {} ({}), from every row of the {} episodes "
                             "kept out of the fit, driven by the episodes' own actions: the "
                             "elites' mean prediction, step after step, against the recorded next "
                             "states (mean over rollouts and state dimensions), beside predicting "
                             "no change from the start state.\n",
                             run_dir, dataset, m.eval_episodes.size());
  write_file_atomic(
      dir / "model_eval.json",
      json{{"dataset", dataset}, {"episodes", m.eval_episodes}, {"horizons", j}}.dump(2) + "\n");
  write_file_atomic(dir / "model_eval.md", md);
  write_file_atomic(dir / "model_eval.svg",
                    model_eval_chart(table, "Open-loop state error on held-out episodes"));
  return table;
}

}  // namespace stitch
