#include "track/sweep.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "core/error.h"
#include "core/json_read.h"
#include "core/progress.h"
#include "core/timer.h"
#include "data/io.h"
#include "track/durable.h"
#include "track/report.h"
#include "track/run_files.h"
#include "track/runs.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const json& field(const json& grid, const std::string& path, const char* key, bool required) {
  static const json kNull;
  if (!grid.contains(key)) {
    if (required) fail("{}: the grid needs '{}'", path, key);
    return kNull;
  }
  return grid.at(key);
}

std::vector<std::string> strings(const json& j, const std::string& path, const char* key) {
  if (!j.is_array() || j.empty()) fail("{}: '{}' must be a non-empty list of strings", path, key);
  std::vector<std::string> out;
  for (const json& v : j) {
    if (!v.is_string() || v.get<std::string>().empty())
      fail("{}: '{}' must be a non-empty list of strings", path, key);
    out.push_back(v.get<std::string>());
  }
  return out;
}

// "--set" text of a scalar grid value.
std::string scalar_text(const json& v, const std::string& path, const std::string& key) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean() || v.is_number()) return v.dump();
  fail("{}: set.{} must be a string, number or boolean, got {}", path, key, v.type_name());
}

// The env a dataset was collected on (metadata env_id), for grids without "env".
std::string dataset_env(const std::string& dataset, const std::string& path) {
  const Dataset d = load_dataset(dataset);
  const std::string env = d.metadata_string("env_id");
  if (env.empty()) {
    fail("{}: {} has no env_id in its metadata; give the grid an 'env'", path, dataset);
  }
  return env;
}

std::string stem(const std::string& dataset) {
  fs::path p(dataset);
  if (p.filename().empty()) p = p.parent_path();  // "dir/"
  return p.extension() == ".hdf5" || p.extension() == ".h5" ? p.stem().string()
                                                            : p.filename().string();
}

enum class CellState { kWaiting, kRunning, kFinished, kFailed, kSkipped };

const char* state_name(CellState s) {
  switch (s) {
    case CellState::kWaiting:
      return "waiting";
    case CellState::kRunning:
      return "running";
    case CellState::kFinished:
      return "finished";
    case CellState::kFailed:
      return "failed";
    case CellState::kSkipped:
      return "finished before";
  }
  return "?";
}

// What a cell's run directory says: finished, failed (with its error), resumable or new.
struct OnDisk {
  std::string status;  // meta.json's status, or "" when there is none
  std::string error;
  bool checkpoint = false;
};

OnDisk on_disk(const fs::path& run_dir) {
  OnDisk d;
  d.checkpoint = fs::exists(run_dir / "checkpoints" / "latest.pt") ||
                 fs::exists(run_dir / "checkpoints" / "latest.cbor");
  if (fs::exists(run_dir / "meta.json")) {
    const json meta = json::parse(read_file_text(run_dir / "meta.json"), nullptr, false);
    if (meta.is_object()) {
      d.status = meta.value("status", "");
      d.error = meta.value("error", "");
    }
  }
  return d;
}

// Starts `binary args...` with stdout and stderr appended to `log`; the child dies with the
// sweep (PR_SET_PDEATHSIG), so a killed sweep leaves no orphan training.
pid_t spawn(const std::string& binary, const std::vector<std::string>& args, const fs::path& log) {
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) fail("sweep: fork failed");
  if (pid > 0) return pid;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(1);
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd >= 0) {
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
  }
  std::vector<std::string> argv_text{binary};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  execv(binary.c_str(), argv.data());
  _exit(127);
}

// A grid key that maps algorithms to path patterns ("configs", "from", "models").
struct PatternKey {
  const char* key;
  const char* token;  // "{dataset}" or "{seed}": every pattern must hold it
  const char* what;   // "a checkpoint path", for errors
  bool offline_only;
};
std::map<std::string, std::string> patterns_by_algo(const json& grid, const std::string& path,
                                                    const PatternKey& k) {
  const json& j = field(grid, path, k.key, false);
  std::map<std::string, std::string> out;
  if (j.is_null()) return out;
  if (!j.is_object()) {
    fail("{}: '{}' must be an object of {}s by algorithm{}", path, k.key, k.what,
         k.offline_only ? " (offline grids)" : "");
  }
  for (const auto& [algo, pattern] : j.items()) {
    if (!pattern.is_string() || pattern.get<std::string>().find(k.token) == std::string::npos)
      fail("{}: '{}'.'{}' must be {} with {} in it", path, k.key, algo, k.what, k.token);
    out[algo] = pattern.get<std::string>();
  }
  return out;
}

// `pattern` with {dataset} (the dataset's file stem) and {seed} replaced.
std::string fill(std::string pattern, const std::string& dataset, uint64_t seed) {
  for (const auto& [key, value] : {std::pair<std::string, std::string>{"{dataset}", stem(dataset)},
                                   {"{seed}", std::to_string(seed)}}) {
    for (size_t at = pattern.find(key); at != std::string::npos;
         at = pattern.find(key, at + value.size()))
      pattern.replace(at, key.size(), value);
  }
  return pattern;
}

// The last line of `log` that starts with "error: " (what the worker printed), or "".
std::string last_error_line(const fs::path& log) {
  std::ifstream in(log);
  std::string line, last;
  while (std::getline(in, line)) {
    if (line.rfind("error: ", 0) == 0) last = line.substr(7);
  }
  return last;
}

}  // namespace

std::vector<SweepCell> sweep_cells(const std::string& path, const std::string& out_dir) {
  const json grid = parse_json(read_file_text(path), path);
  if (grid.is_discarded() || !grid.is_object()) fail("{}: not a JSON object", path);
  static const std::set<std::string> kKeys = {"algos", "datasets", "env",   "seeds",
                                              "steps", "online",   "set",   "configs",
                                              "from",  "models",   "_about"};
  for (const auto& [key, value] : grid.items()) {
    if (!kKeys.count(key)) {
      fail(
          "{}: unknown grid key '{}' (algos, datasets, env, seeds, steps, online, set, configs, "
          "from, models)",
          path, key);
    }
  }
  const std::vector<std::string> algos = strings(field(grid, path, "algos", true), path, "algos");
  const json& online_j = field(grid, path, "online", false);
  if (!online_j.is_null() && !online_j.is_boolean()) fail("{}: 'online' must be a boolean", path);
  const bool online = online_j.is_boolean() && online_j.get<bool>();
  std::vector<std::string> datasets;
  if (!online) datasets = strings(field(grid, path, "datasets", true), path, "datasets");
  const json& env_j = field(grid, path, "env", online);
  if (!env_j.is_null() && (!env_j.is_string() || env_j.get<std::string>().empty()))
    fail("{}: 'env' must be an env id", path);
  const std::string env = env_j.is_string() ? env_j.get<std::string>() : "";
  const json& seeds_j = field(grid, path, "seeds", true);
  if (!seeds_j.is_array() || seeds_j.empty()) fail("{}: 'seeds' must be a non-empty list", path);
  std::vector<uint64_t> seeds;
  for (const json& s : seeds_j) {
    if (!s.is_number_unsigned())
      fail("{}: 'seeds' must hold integers >= 0, got {}", path, s.dump());
    seeds.push_back(s.get<uint64_t>());
  }
  const json& steps_j = field(grid, path, "steps", false);
  if (!steps_j.is_null() && (!steps_j.is_number_integer() || steps_j.get<int64_t>() < 1))
    fail("{}: 'steps' must be an integer >= 1, got {}", path, steps_j.dump());
  const json& set_j = field(grid, path, "set", false);
  if (!set_j.is_null() && !set_j.is_object()) fail("{}: 'set' must be an object", path);
  // Per-algorithm config files by dataset: {"rebrac": "suite/configs/rebrac/{dataset}.json"}.
  const auto configs =
      patterns_by_algo(grid, path, {"configs", "{dataset}", "a path", /*offline_only=*/false});
  // Fine-tuning cells by algorithm: {"wsrl":
  // "runs/pre/cql-{dataset}-s{seed}/checkpoints/latest.pt"}.
  const auto from = patterns_by_algo(grid, path, {"from", "{seed}", "a checkpoint path", true});
  // Model runs to reuse by algorithm (model-based algorithms' model.checkpoint):
  // {"mopo": "models/{dataset}"}, {seed} allowed.
  const auto models =
      patterns_by_algo(grid, path, {"models", "{dataset}", "a model run directory", true});
  if (online && (!from.empty() || !models.empty()))
    fail("{}: 'from' and 'models' are for offline grids", path);

  std::vector<SweepCell> cells;
  std::set<std::string> names;
  const std::vector<std::string> sources = online ? std::vector<std::string>{""} : datasets;
  for (const std::string& algo : algos) {
    for (const std::string& dataset : sources) {
      const std::string cell_env = !env.empty() ? env : dataset_env(dataset, path);
      for (const uint64_t seed : seeds) {
        SweepCell c;
        c.name = fmt::format("{}-{}-s{}", algo, online ? cell_env : stem(dataset), seed);
        if (!names.insert(c.name).second) {
          fail(
              "{}: two cells would share the run directory '{}' (the same algo, dataset file "
              "name and seed)",
              path, c.name);
        }
        c.run_dir = (fs::path(out_dir) / c.name).string();
        c.train_args = {
            "train",     "--algo", algo, "--env", cell_env, "--seed", std::to_string(seed),
            "--run-dir", c.run_dir};
        if (const auto it = from.find(algo); it != from.end()) {
          // `stitch finetune` from the pre-trained run of this dataset and seed (its stored
          // config carries `from`, so a resume is `train --resume` as for any cell).
          c.train_args[0] = "finetune";
          c.train_args.insert(c.train_args.end(), {"--from", fill(it->second, dataset, seed)});
        }
        if (const auto it = models.find(algo); it != models.end()) {
          const std::string model = fill(it->second, dataset, seed);
          if (!fs::is_directory(model))
            fail("{}: 'models'.'{}': no model run {} for {} (stitch model train first)", path, algo,
                 model, dataset);
          c.train_args.insert(c.train_args.end(), {"--set", "model.checkpoint=" + model});
        }
        if (online) {
          c.train_args.push_back("--online");
        } else {
          c.train_args.insert(c.train_args.end(), {"--dataset", dataset});
          if (const auto it = configs.find(algo); it != configs.end()) {
            std::string file = it->second;
            file.replace(file.find("{dataset}"), 9, stem(dataset));
            if (!fs::is_regular_file(file))
              fail("{}: 'configs'.'{}': no config file {} for {}", path, algo, file, dataset);
            c.train_args.insert(c.train_args.end(), {"--config", file});
          }
        }
        if (!steps_j.is_null()) {
          c.train_args.insert(c.train_args.end(),
                              {"--steps", std::to_string(steps_j.get<int64_t>())});
        }
        if (set_j.is_object()) {
          for (const auto& [key, value] : set_j.items()) {
            const size_t dot = key.find('.');
            if (dot != std::string::npos && key.substr(0, dot) != algo) continue;  // another algo's
            c.train_args.insert(c.train_args.end(),
                                {"--set", key + "=" + scalar_text(value, path, key)});
          }
        }
        cells.push_back(std::move(c));
      }
    }
  }
  return cells;
}

std::vector<std::string> cell_args(const SweepCell& c, int threads, bool* resumed) {
  const bool resume = on_disk(c.run_dir).checkpoint;
  if (resumed != nullptr) *resumed = resume;
  std::vector<std::string> args = {"--threads", std::to_string(threads)};
  if (resume) {
    args.insert(args.end(), {"train", "--resume", "--run-dir", c.run_dir});
  } else {
    args.insert(args.end(), c.train_args.begin(), c.train_args.end());
  }
  return args;
}

pid_t start_cell(const std::string& binary, const SweepCell& c, int threads,
                 const std::string& out) {
  const fs::path logs = fs::path(out) / "logs";
  fs::create_directories(logs);
  return spawn(binary, cell_args(c, threads), logs / (c.name + ".log"));
}

CellOutcome cell_outcome(const SweepCell& c, int status, double seconds, const std::string& out) {
  CellOutcome r{.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0, .seconds = seconds};
  if (r.ok) return r;
  r.error = last_error_line(fs::path(out) / "logs" / (c.name + ".log"));
  if (r.error.empty()) {
    r.error = WIFSIGNALED(status) ? fmt::format("killed by signal {}", WTERMSIG(status))
                                  : fmt::format("exit code {}", WEXITSTATUS(status));
  }
  return r;
}

CellOutcome run_cell(const std::string& binary, const SweepCell& c, int threads,
                     const std::string& out) {
  const Stopwatch clock;
  const pid_t pid = start_cell(binary, c, threads, out);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) fail("sweep: waitpid failed for {}", c.name);
  }
  return cell_outcome(c, status, clock.seconds(), out);
}

struct SweepQueue::Impl {
  SweepOptions o;
  int parallel = 1;
  fs::path out;
  std::optional<RunLock> lock;  // one sweep per output directory
  std::vector<SweepCell> cells;
  std::vector<CellState> state;
  std::vector<std::string> errors;
  SweepResult result;
  size_t next = 0, done = 0, to_run = 0, running = 0;
  std::vector<double> durations;

  Impl(const SweepOptions& options, int parallel_cells)
      : o(options), parallel(std::max(1, parallel_cells)), out(options.out) {
    if (o.shard_count < 1 || o.shard_index < 0 || o.shard_index >= o.shard_count) {
      fail("sweep: --shard must be I/N with 0 <= I < N, got {}/{}", o.shard_index, o.shard_count);
    }
    const std::vector<SweepCell> all = sweep_cells(o.grid, o.out);
    for (size_t i = 0; i < all.size(); ++i) {
      if (static_cast<int>(i % static_cast<size_t>(o.shard_count)) == o.shard_index)
        cells.push_back(all[i]);
    }
    lock.emplace(out);
    fs::create_directories(out / "logs");
    state.assign(cells.size(), CellState::kWaiting);
    errors.resize(cells.size());
    for (size_t i = 0; i < cells.size(); ++i) {
      const OnDisk d = on_disk(cells[i].run_dir);
      if (d.status == "finished") {
        state[i] = CellState::kSkipped;
        ++result.skipped;
      } else if (d.status == "failed" && !o.retry_failed) {
        state[i] = CellState::kFailed;
        errors[i] = d.error;
      }
    }
    to_run = static_cast<size_t>(std::count(state.begin(), state.end(), CellState::kWaiting));
    write_status();
    spdlog::info(
        "sweep {}: {} cells in this shard, {} to run, {} finished before, {} failed before", o.grid,
        cells.size(), to_run, result.skipped,
        std::count(state.begin(), state.end(), CellState::kFailed));
  }

  void write_status() const {
    json j{{"grid", o.grid}, {"shard", fmt::format("{}/{}", o.shard_index, o.shard_count)}};
    j["cells"] = json::array();
    for (size_t i = 0; i < cells.size(); ++i) {
      json c{{"name", cells[i].name}, {"state", state_name(state[i])}};
      if (!errors[i].empty()) c["error"] = errors[i];
      j["cells"].push_back(c);
    }
    write_file_atomic(out / fmt::format("sweep-{}-of-{}.json", o.shard_index, o.shard_count),
                      j.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
  }
};

SweepQueue::SweepQueue(const SweepOptions& options, int parallel)
    : impl_(std::make_unique<Impl>(options, parallel)) {}
SweepQueue::~SweepQueue() = default;

const SweepCell& SweepQueue::cell(size_t i) const { return impl_->cells.at(i); }

std::optional<size_t> SweepQueue::take() {
  Impl& m = *impl_;
  while (m.next < m.cells.size() && m.state[m.next] != CellState::kWaiting) ++m.next;
  if (m.next == m.cells.size()) return std::nullopt;
  const size_t i = m.next++;
  m.state[i] = CellState::kRunning;
  ++m.running;
  spdlog::info("sweep: {} {}", on_disk(m.cells[i].run_dir).checkpoint ? "resuming" : "starting",
               m.cells[i].name);
  m.write_status();
  return i;
}

void SweepQueue::finish(size_t i, const CellOutcome& outcome) {
  Impl& m = *impl_;
  if (i >= m.cells.size() || m.state[i] != CellState::kRunning)
    fail("sweep: cell {} finished but was not running", i);
  --m.running;
  ++m.done;
  if (outcome.ok) {
    m.state[i] = CellState::kFinished;
    ++m.result.finished;
    m.durations.push_back(outcome.seconds);
  } else {
    m.state[i] = CellState::kFailed;
    ++m.result.failed;
    m.result.failed_cells.push_back(m.cells[i].name);
    m.errors[i] = outcome.error;
  }
  m.write_status();
  double mean = 0.0;
  for (double d : m.durations) mean += d;
  mean = m.durations.empty() ? outcome.seconds : mean / static_cast<double>(m.durations.size());
  const size_t left = m.to_run - m.done;
  spdlog::info("sweep: {} {} in {} ({}); {}/{} done, {} running, {} failed; ETA {}",
               m.cells[i].name, outcome.ok ? "finished" : "failed", human_duration(outcome.seconds),
               outcome.ok ? "ok" : outcome.error, m.done, m.to_run, m.running, m.result.failed,
               human_duration(mean * static_cast<double>(left) / m.parallel));
}

SweepResult SweepQueue::close() {
  Impl& m = *impl_;
  SweepResult result = m.result;
  result.report_dir = (m.out / "report").string();
  try {
    write_report(find_runs(m.out.string()), result.report_dir,
                 {.replicates = static_cast<int>(m.o.report_replicates),
                  .title = "stitch sweep " + m.o.grid});
  } catch (const Error& e) {
    spdlog::warn("sweep: no report: {}", e.what());
    result.report_dir.clear();
  }
  return result;
}

SweepResult run_sweep(const SweepOptions& o, const std::string& binary) {
  if (o.workers < 1) fail("sweep: --workers must be >= 1, got {}", o.workers);
  SweepQueue queue(o, o.workers);
  const int cores = o.total_threads > 0
                        ? o.total_threads
                        : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const int threads = std::max(1, cores / o.workers);
  spdlog::info("sweep: {} workers x {} threads", o.workers, threads);

  std::map<pid_t, std::pair<size_t, Stopwatch>> running;
  while (true) {
    while (static_cast<int>(running.size()) < o.workers) {
      const std::optional<size_t> i = queue.take();
      if (!i) break;
      running.emplace(start_cell(binary, queue.cell(*i), threads, o.out),
                      std::pair{*i, Stopwatch()});
    }
    if (running.empty()) break;
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      fail("sweep: waitpid failed");
    }
    const auto it = running.find(pid);
    if (it == running.end()) continue;
    const auto [i, clock] = it->second;
    running.erase(it);
    queue.finish(i, cell_outcome(queue.cell(i), status, clock.seconds(), o.out));
  }
  return queue.close();
}

}  // namespace stitch
