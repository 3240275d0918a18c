#include "track/runs.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <type_traits>

#include "core/error.h"
#include "core/json_read.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A field of a JSON object, or `fallback` when it is missing or of another type: run files may
// be cut short or edited by hand, and a listing skips what it cannot read.
template <typename T>
T field(const json& j, const char* key, T fallback) {
  const auto it = j.find(key);
  if (it == j.end()) return fallback;
  if constexpr (std::is_same_v<T, std::string>) {
    return it->is_string() ? it->template get<std::string>() : fallback;
  } else if constexpr (std::is_same_v<T, bool>) {
    return it->is_boolean() ? it->template get<bool>() : fallback;
  } else if constexpr (std::is_floating_point_v<T>) {
    return it->is_number() ? it->template get<T>() : fallback;
  } else {
    return it->is_number_integer() ? it->template get<T>() : fallback;
  }
}

// JSON text as an object, or null when it is not one (or nested too deep to walk safely,
// core/json_read.h).
json parse_object(const std::string& text, const fs::path& path) {
  try {
    json j = parse_json(text, path.string());
    return j.is_discarded() || !j.is_object() ? json() : std::move(j);
  } catch (const Error&) {
    return json();
  }
}

// A file's text parsed as one JSON object, or null when it is missing or not one.
json read_object(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return json();
  std::stringstream text;
  text << in.rdbuf();
  return parse_object(text.str(), path);
}

// The parseable JSON object lines of a file (an unfinished last line is skipped).
std::vector<json> read_lines(const fs::path& path) {
  std::vector<json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    json j = parse_object(line, path);
    if (j.is_object()) out.push_back(std::move(j));
  }
  return out;
}

// Whether process `pid` exists on this host and is not a zombie (a killed process lingers as
// one until its parent reaps it).
bool process_alive(int64_t pid) {
  if (pid <= 0) return false;
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string text;
  if (!std::getline(stat, text)) return false;
  const size_t close = text.rfind(')');  // "pid (comm) state ..."; comm may contain spaces
  return close != std::string::npos && close + 2 < text.size() && text[close + 2] != 'Z';
}

json read_config(const fs::path& dir) { return read_object(dir / "config.json"); }

}  // namespace

// An `lm sft` run's config names its task and difficulty; an `lm rl` or `lm offline` run's its
// method and the SFT run it started from. None names an algo.
static bool is_lm_config(const json& c) {
  return c.is_object() && !c.contains("algo") &&
         ((c.contains("task") && c.contains("difficulty")) ||
          (c.contains("method") && c.contains("from")));
}

// A training run's config names its algorithm; a model run's (`stitch model train`) its kind.
static bool is_run_config(const json& c) {
  return c.is_object() &&
         (c.contains("algo") || (c.contains("kind") && c["kind"] == "model") || is_lm_config(c));
}

// The config of the SFT run an lm run `from` names: beside the run first (runs/sft-0 and
// runs/grpo-0 with from "sft-0"), else the path as stored (the CLI resolves it against the working
// directory); null unless it is an `lm sft` run's (a task and difficulty, no method).
static json lm_start_config(const fs::path& dir, const std::string& from) {
  if (from.empty()) return json();
  for (const fs::path& at : {fs::path(dir).parent_path() / from, fs::path(from)}) {
    const json c = read_config(at);
    if (c.is_object() && c.contains("task") && c.contains("difficulty") && !c.contains("method"))
      return c;
  }
  return json();
}

bool is_run_dir(const std::string& dir) { return is_run_config(read_config(dir)); }

RunSummary read_run(const std::string& dir) {
  const json c = read_config(dir);
  if (!is_run_config(c)) fail("{}: not a run directory (no readable config.json)", dir);
  RunSummary r;
  r.dir = dir;
  r.name = fs::path(dir).filename().string();
  if (r.name.empty()) r.name = fs::path(dir).parent_path().filename().string();
  r.algo = field(c, "algo", std::string(c.contains("algo") ? "" : "model"));
  r.env = field(c, "env", std::string());
  const std::string data_file = fs::path(field(c, "dataset", std::string())).filename().string();
  r.dataset = !field(c, "online", false)           ? data_file
              : field(c, "offline_ratio", 0.0) > 0 ? "online+" + data_file  // RLPD-style mixing
                                                   : "online";
  r.seed = field(c, "seed", uint64_t{0});
  r.planned_steps = field(c, "steps", int64_t{0});
  r.from = field(c, "from", std::string());
  if (is_lm_config(c)) {
    // A token-policy run: named by its method (and the variants that change what it learns
    // from), its SFT start's task and difficulty; `from` is that start, not a pre-trained
    // checkpoint of a fine-tuning run.
    const std::string method = field(c, "method", std::string());
    const json start = c.contains("task") ? c : lm_start_config(dir, r.from);
    r.algo = method.empty()       ? fmt::format("sft-{}", r.planned_steps)  // its length matters
             : c.contains("data") ? "offline-" + method
                                  : method;
    if (field(c, "shuffle_rewards", false)) r.algo += "+shuffled";
    if (const auto pool = field(c, "train_prompts", int64_t{0}); pool > 0)
      r.algo += fmt::format("+{}-prompts", pool);
    r.dataset = fmt::format("{}-d{}", field(start, "task", std::string("unknown")),
                            field(start, "difficulty", int64_t{0}));
    r.env = "lm";
    r.accuracy = true;
    r.from.clear();
  } else if (!r.from.empty()) {
    // Named by its offline data: the dataset it mixes in, else its pre-trained run's.
    std::string data = field(c, "dataset", std::string());
    if (data.empty()) {
      const json pre = read_object(fs::path(r.from).parent_path().parent_path() / "config.json");
      if (pre.is_object()) data = field(pre, "dataset", std::string());
    }
    r.dataset = "finetune:" + fs::path(data).filename().string();
  }
  for (const json& m : read_lines(fs::path(dir) / "metrics.jsonl")) {
    r.steps = std::max(r.steps, field(m, "step", int64_t{0}));
    r.wall_s = std::max(r.wall_s, field(m, "wall_s", 0.0));
  }
  for (const json& e : read_lines(fs::path(dir) / "eval.jsonl")) {
    if (r.accuracy) {
      const double accuracy = field(e, "accuracy", -1.0);
      if (!(accuracy >= 0.0 && accuracy <= 1.0)) continue;  // not an accuracy: skipped
      const double percent = 100.0 * accuracy;
      r.evaluations.push_back(
          {.step = field(e, "step", int64_t{0}), .mean = percent, .normalized = percent});
      continue;
    }
    EvalPoint p{.step = field(e, "step", int64_t{0}), .mean = field(e, "mean", 0.0)};
    if (e.contains("normalized") && e["normalized"].is_number())
      p.normalized = e["normalized"].get<double>();
    if (e.contains("d4rl_normalized") && e["d4rl_normalized"].is_number())
      p.d4rl = e["d4rl_normalized"].get<double>();
    r.evaluations.push_back(p);
  }
  const json meta = read_object(fs::path(dir) / "meta.json");
  if (meta.is_object() && meta.contains("status")) {
    // meta.json (track/meta.h) knows how the run ended; a "running" run whose process is gone
    // on this host was killed.
    r.status = field(meta, "status", std::string());
    r.error = field(meta, "error", std::string());
    if (r.status == "running") {
      const auto pid = field(meta, "pid", int64_t{0});
      char host[256] = {};
      gethostname(host, sizeof(host) - 1);
      const bool here = field(meta, "host", std::string()) == host;
      if (here && !process_alive(pid)) r.status = "killed";
    }
  } else if (r.steps == 0) {
    r.status = "empty";
  } else if (r.steps >= r.planned_steps && !r.evaluations.empty() &&
             r.evaluations.back().step >= r.planned_steps) {
    r.status = "finished";
  } else {
    r.status = "stopped";
  }
  return r;
}

std::vector<std::string> find_run_dirs(const std::string& dir) {
  if (!fs::exists(dir)) fail("{}: no such directory", dir);
  if (is_run_dir(dir)) return {dir};
  std::vector<std::string> dirs;
  for (auto it =
           fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied);
       it != fs::recursive_directory_iterator(); ++it) {
    if (!it->is_directory()) continue;
    if (is_run_dir(it->path().string())) {
      dirs.push_back(it->path().string());
      it.disable_recursion_pending();  // checkpoints/ and snapshots/ are not runs
    }
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

std::vector<RunSummary> find_runs(const std::string& dir) {
  std::vector<RunSummary> out;
  for (const auto& d : find_run_dirs(dir)) out.push_back(read_run(d));
  return out;
}

std::optional<FinetuneScores> finetune_scores(const RunSummary& run) {
  const auto& evals = run.evaluations;
  if (run.from.empty() || evals.empty() || evals.front().step != 0) return std::nullopt;
  const auto first_after =
      std::find_if(evals.begin(), evals.end(), [](const EvalPoint& p) { return p.step > 0; });
  if (first_after == evals.end()) return std::nullopt;
  const int64_t window = std::max((run.planned_steps + 9) / 10, first_after->step);
  FinetuneScores s{.before = evals.front(), .dip = *first_after, .after = evals.back()};
  for (auto it = first_after; it != evals.end() && it->step <= window; ++it) {
    if (it->mean < s.dip.mean) s.dip = *it;
  }
  return s;
}

}  // namespace stitch
