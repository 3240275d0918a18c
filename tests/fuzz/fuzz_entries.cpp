#include "fuzz_entries.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include "algo/registry.h"
#include "algo/train_config.h"
#include "algo/trainer.h"
#include "algo/training_loop.h"
#include "core/config.h"
#include "core/error.h"
#include "core/json_read.h"
#include "core/rng.h"
#include "core/runtime.h"
#include "data/csv_import.h"
#include "data/io.h"
#include "deploy/policy.h"
#include "env/registry.h"
#include "eval/scores.h"
#include "lm/offline.h"
#include "model/model_run.h"
#include "suite/suite.h"
#include "track/checkpoint.h"
#include "track/report.h"
#include "track/runs.h"
#include "track/sweep.h"

namespace stitch::fuzz {
namespace {

namespace fs = std::filesystem;

// HDF5 files: the normal build (the replay test) reads them as every load does, through
// load_dataset's crash guard, which turns a crash inside libhdf5 on a corrupt file into an
// Error. Under the fuzzer the reader runs in-process (no fork per input): every crash is kept
// and triaged, and scripts/fuzz.sh keeps going after one (-fork/-ignore_crashes).
#ifdef STITCH_FUZZER_BUILD
constexpr bool kCrashGuard = false;
#else
constexpr bool kCrashGuard = true;
#endif

std::string& rejection() {
  static std::string message;
  return message;
}

// The per-process scratch directory, removed when the process exits normally.
class ScratchDir {
 public:
  ScratchDir() : path_(fs::temp_directory_path() / ("stitch-fuzz-" + std::to_string(getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
    // Quiet and single-threaded: the readers' warnings would drown the fuzzer's output.
    spdlog::set_level(spdlog::level::off);
    set_compute_threads({.threads = 1, .torch_threads = 1});
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

const fs::path& scratch() {
  static const ScratchDir dir;
  return dir.path();
}

std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

void write_file(const fs::path& path, std::string_view bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("fuzz entry: cannot write " + path.string());
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs one reader: a stitch::Error is the expected answer to bad input, except one that reports
// a broken internal check (core/error.h STITCH_CHECK), which bad input must never reach; that
// and every other exception escape.
template <typename F>
void expect_errors_only(F&& read) {
  try {
    read();
  } catch (const Error& e) {
    if (std::string_view(e.what()).starts_with("internal check failed")) {
      throw std::logic_error(std::string("bad input reached an internal check: ") + e.what());
    }
    if (rejection().empty()) rejection() = e.what();
  }
}

// A valid Minari dataset written by stitch: the file the input does not replace.
struct MinariTemplate {
  std::string main_data, metadata;
};

const MinariTemplate& minari_template() {
  static const MinariTemplate t = [] {
    Dataset d;
    d.obs_dim = 2;
    d.act_dim = 1;
    for (int i = 0; i < 6; ++i) {
      d.observations.insert(d.observations.end(), {0.1f * i, -0.2f * i});
      d.actions.push_back(0.05f * i);
      d.rewards.push_back(-1.0f + 0.1f * i);
      d.terminals.push_back(i == 2 ? 1 : 0);
      d.timeouts.push_back(i == 5 ? 1 : 0);
    }
    d.derive_next_observations();
    d.index_episodes();
    const fs::path dir = scratch() / "minari-template";
    save_dataset(d, dir.string(), {.layout = Layout::kMinari, .force = true});
    MinariTemplate out{read_bytes(dir / "data" / "main_data.hdf5"),
                       read_bytes(dir / "data" / "metadata.json")};
    fs::remove_all(dir);
    return out;
  }();
  return t;
}

// The files of a finished run (a tiny `stitch train --algo bc` run, shortened): the ones the
// input does not replace.
constexpr const char* kRunConfig =
    R"({"algo": "bc", "batch_size": 256, "bc": {"hidden": 8, "lr": 0.0003, "variant": )"
    R"("deterministic"}, "checkpoint_every": 20, "dataset": "pend.hdf5", "discount": 0.99, )"
    R"("env": "pendulum-v1", "eval_episodes": 1, "eval_every": 0, "log_every": 10, "online": )"
    R"(false, "run_dir": "run_bc", "seed": 0, "steps": 20})";
constexpr const char* kRunMeta =
    R"({"algo": "bc", "dataset": "pend.hdf5", "env": "pendulum-v1", "host": "vm", "online": )"
    R"(false, "pid": 756, "planned_steps": 20, "seed": 0, "status": "finished"})";
constexpr const char* kRunEval =
    R"({"mean":-1655.99,"normalized":-47.66,"returns":[-1655.99],"step":20})"
    "\n";
constexpr const char* kRunMetrics =
    R"({"bc_loss":1.70,"step":10,"updates_per_s":2772.3,"wall_s":0.0036})"
    "\n"
    R"({"bc_loss":1.73,"step":20,"updates_per_s":6058.0,"wall_s":0.0053})"
    "\n";

}  // namespace

void fuzz_d4rl(const uint8_t* data, size_t size) {
  rejection().clear();
  const fs::path path = scratch() / "dataset.hdf5";
  write_file(path, as_text(data, size));
  expect_errors_only([&] { load_dataset(path.string(), {.crash_guard = kCrashGuard}); });
}

void fuzz_minari(const uint8_t* data, size_t size) {
  rejection().clear();
  if (size == 0) return;
  const MinariTemplate& t = minari_template();
  const bool metadata = (data[0] & 1) != 0;
  const std::string_view rest = as_text(data + 1, size - 1);
  const fs::path dir = scratch() / "minari";
  write_file(dir / "data" / "main_data.hdf5", metadata ? std::string_view(t.main_data) : rest);
  write_file(dir / "data" / "metadata.json", metadata ? rest : std::string_view(t.metadata));
  expect_errors_only(
      [&] { load_dataset(dir.string(), {.crash_guard = kCrashGuard && !metadata}); });
}

void fuzz_checkpoint(const uint8_t* data, size_t size) {
  rejection().clear();
  const fs::path path = scratch() / "latest.pt";
  write_file(path, as_text(data, size));
  expect_errors_only([&] {
    LoadedAlgorithm c = load_algorithm_checkpoint(path.string());
    // Act once through the loaded networks, as evaluation does, and export the policy.
    const auto action = c.algo->act(torch::zeros({1, c.contents.obs_dim}), true);
    if (action.numel() != c.contents.act_dim) {
      throw std::logic_error("loaded algorithm returned the wrong number of actions");
    }
    const DeployedPolicy policy =
        to_deployed_policy(*c.algo, static_cast<float>(c.contents.max_action));
    std::vector<float> obs(static_cast<size_t>(policy.obs_dim())),
        act(static_cast<size_t>(policy.act_dim()));
    policy.act(obs, act);
  });
}

void fuzz_stream_checkpoint(const uint8_t* data, size_t size) {
  rejection().clear();
  const fs::path path = scratch() / "latest.cbor";
  write_file(path, as_text(data, size));
  expect_errors_only([&] {
    // Evaluate on the env the checkpoint says it was trained on, when that is an env.
    std::string env = "cartpole-v1";
    const nlohmann::json state = load_stream_checkpoint(path.string());
    if (state.contains("config") && state["config"].is_string()) {
      const auto config = parse_json(state["config"].get<std::string>(), "config");
      if (config.is_object() && config.contains("env") && config["env"].is_string() &&
          EnvRegistry::global().contains(config["env"].get<std::string>())) {
        env = config["env"].get<std::string>();
      }
    }
    evaluate_checkpoint(path.string(), env, /*episodes=*/1, /*seed=*/0);
  });
}

void fuzz_policy(const uint8_t* data, size_t size) {
  rejection().clear();
  const fs::path path = scratch() / "policy.policy";
  write_file(path, as_text(data, size));
  expect_errors_only([&] {
    const DeployedPolicy policy = DeployedPolicy::load(path.string());
    std::vector<float> obs(static_cast<size_t>(policy.obs_dim())),
        act(static_cast<size_t>(policy.act_dim()));
    policy.act(obs, act);
  });
}

void fuzz_csv(const uint8_t* data, size_t size) {
  rejection().clear();
  const std::string_view text = as_text(data, size);
  const size_t newline = std::min(text.find('\n'), text.size());
  const fs::path spec = scratch() / "spec.json", csv = scratch() / "data.csv";
  write_file(spec, text.substr(0, newline));
  write_file(csv, text.substr(std::min(newline + 1, text.size())));
  expect_errors_only([&] {
    const Dataset d = import_csv(csv.string(), spec.string());
    LoadReport report;
    validate_dataset(d, csv.string(), {}, report);  // as `stitch dataset import-csv` does
  });
}

void fuzz_train_config(const uint8_t* data, size_t size) {
  rejection().clear();
  const fs::path path = scratch() / "config.json";
  write_file(path, as_text(data, size));
  expect_errors_only([&] {
    TrainConfig config;
    resolve_train_config(config, path.string(), {});
  });
  expect_errors_only([&] { resolve_train_config_text(std::string(as_text(data, size))); });
  expect_errors_only([&] {  // the typed-config reader (core/config.h) over every known key
    TrainConfig config;
    ConfigFields fields;
    config.describe(fields);
    std::vector<std::unique_ptr<AlgoConfig>> algos;
    for (const std::string& name : AlgoRegistry::global().names()) {
      algos.push_back(AlgoRegistry::global().entry(name).make_config());
      fields.nest(name, *algos.back());
    }
    detail::apply_json_file(fields, path.string());
  });
}

void fuzz_set_override(const uint8_t* data, size_t size) {
  rejection().clear();
  scratch();
  std::vector<std::string> overrides;
  std::string_view text = as_text(data, size);
  while (!text.empty()) {
    const size_t newline = std::min(text.find('\n'), text.size());
    overrides.emplace_back(text.substr(0, newline));
    text.remove_prefix(std::min(newline + 1, text.size()));
  }
  expect_errors_only([&] {
    TrainConfig config;
    config.algo = "bc";
    config.dataset = "data.hdf5";
    config.env = "pendulum-v1";
    resolve_train_config(config, "", overrides);
  });
}

void fuzz_run_dir(const uint8_t* data, size_t size) {
  rejection().clear();
  if (size == 0) return;
  const fs::path dir = scratch() / "runs" / "run";
  const char* names[] = {"config.json", "meta.json", "eval.jsonl", "metrics.jsonl"};
  const char* files[] = {kRunConfig, kRunMeta, kRunEval, kRunMetrics};
  const int role = data[0] % 4;
  for (int i = 0; i < 4; ++i) {
    write_file(dir / names[i], i == role ? as_text(data + 1, size - 1) : files[i]);
  }
  expect_errors_only([&] {
    if (is_run_dir(dir.string())) read_run(dir.string());
    find_runs((scratch() / "runs").string());
  });
}

void fuzz_suite_manifest(const uint8_t* data, size_t size) {
  rejection().clear();
  const fs::path manifest = scratch() / "suite" / "manifest.json";
  write_file(manifest, as_text(data, size));
  fs::create_directories(scratch() / "suite-data");  // empty: nothing is built
  expect_errors_only([&] { list_suite(manifest.string(), (scratch() / "suite-data").string()); });
}

void fuzz_suite_references(const uint8_t* data, size_t size) {
  rejection().clear();
  scratch();
  expect_errors_only([&] { parse_suite_references(as_text(data, size), "references.json"); });
}

void fuzz_sweep_grid(const uint8_t* data, size_t size) {
  rejection().clear();
  const fs::path grid = scratch() / "grid.json";
  write_file(grid, as_text(data, size));
  expect_errors_only([&] { sweep_cells(grid.string(), (scratch() / "sweep-out").string()); });
}

void fuzz_model_checkpoint(const uint8_t* data, size_t size) {
  rejection().clear();
  const fs::path path = scratch() / "model" / "checkpoints" / "model.pt";
  write_file(path, as_text(data, size));
  expect_errors_only([&] {
    TrainedModel m = load_model_checkpoint(path.string());
    const auto obs = static_cast<size_t>(m.obs_dim), act = static_cast<size_t>(m.act_dim);
    std::vector<float> s(obs, 0.1f), a(act, 0.1f), next(obs), reward(1), u(1);
    Rng rng(1);
    m.ensemble->sample(s.data(), a.data(), 1, m.elites, rng, next.data(), reward.data(), u.data());
    m.ensemble->uncertainty(s.data(), a.data(), 1, u.data());
  });
}

void fuzz_model_eval(const uint8_t* data, size_t size) {
  rejection().clear();
  const fs::path dir = scratch() / "model-runs" / "model";
  write_file(dir / "config.json",
             R"({"kind": "model", "env": "pendulum-v1", "dataset": "d.hdf5"})");
  write_file(dir / "model_eval.json", as_text(data, size));
  expect_errors_only([&] {
    write_report(find_runs((scratch() / "model-runs").string()),
                 (scratch() / "model-report").string(), {.replicates = 10});
  });
}

void fuzz_sequence_log(const uint8_t* data, size_t size) {
  rejection().clear();
  const fs::path log = scratch() / "log.jsonl";
  write_file(log, as_text(data, size));
  expect_errors_only([&] { lm::read_sequence_log(log.string(), 4096); });
}

const std::string& last_rejection() { return rejection(); }

const std::vector<Reader>& readers() {
  static const std::vector<Reader> all = {
      {"d4rl", fuzz_d4rl},
      {"minari", fuzz_minari},
      {"checkpoint", fuzz_checkpoint},
      {"stream_checkpoint", fuzz_stream_checkpoint},
      {"policy", fuzz_policy},
      {"csv", fuzz_csv},
      {"train_config", fuzz_train_config},
      {"set_override", fuzz_set_override},
      {"run_dir", fuzz_run_dir},
      {"suite_manifest", fuzz_suite_manifest},
      {"suite_references", fuzz_suite_references},
      {"sweep_grid", fuzz_sweep_grid},
      {"sequence_log", fuzz_sequence_log},
      {"model_checkpoint", fuzz_model_checkpoint},
      {"model_eval", fuzz_model_eval},
  };
  return all;
}

}  // namespace stitch::fuzz
