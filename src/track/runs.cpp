#include "track/runs.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The parseable JSON object lines of a file (an unfinished last line is skipped).
std::vector<json> read_lines(const fs::path& path) {
  std::vector<json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    json j = json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object()) out.push_back(std::move(j));
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

json read_config(const fs::path& dir) {
  std::ifstream in(dir / "config.json");
  if (!in) return json();
  json j = json::parse(in, nullptr, false);
  return j.is_discarded() || !j.is_object() ? json() : j;
}

}  // namespace

bool is_run_dir(const std::string& dir) {
  const json c = read_config(dir);
  return c.is_object() && c.contains("algo");
}

RunSummary read_run(const std::string& dir) {
  const json c = read_config(dir);
  if (!c.is_object() || !c.contains("algo"))
    fail("{}: not a run directory (no readable config.json)", dir);
  RunSummary r;
  r.dir = dir;
  r.name = fs::path(dir).filename().string();
  if (r.name.empty()) r.name = fs::path(dir).parent_path().filename().string();
  r.algo = c.value("algo", "");
  r.env = c.value("env", "");
  r.dataset =
      c.value("online", false) ? "online" : fs::path(c.value("dataset", "")).filename().string();
  r.seed = c.value("seed", uint64_t{0});
  r.planned_steps = c.value("steps", int64_t{0});
  for (const json& m : read_lines(fs::path(dir) / "metrics.jsonl")) {
    r.steps = std::max(r.steps, m.value("step", int64_t{0}));
    r.wall_s = std::max(r.wall_s, m.value("wall_s", 0.0));
  }
  for (const json& e : read_lines(fs::path(dir) / "eval.jsonl")) {
    EvalPoint p{.step = e.value("step", int64_t{0}), .mean = e.value("mean", 0.0)};
    if (e.contains("normalized") && e["normalized"].is_number())
      p.normalized = e["normalized"].get<double>();
    r.evaluations.push_back(p);
  }
  std::ifstream meta_file(fs::path(dir) / "meta.json");
  const json meta = meta_file ? json::parse(meta_file, nullptr, false) : json();
  if (meta.is_object() && meta.contains("status")) {
    // meta.json (track/meta.h) knows how the run ended; a "running" run whose process is gone
    // on this host was killed.
    r.status = meta.value("status", "");
    r.error = meta.value("error", "");
    if (r.status == "running") {
      const auto pid = meta.value("pid", int64_t{0});
      char host[256] = {};
      gethostname(host, sizeof(host) - 1);
      const bool here = meta.value("host", "") == host;
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

}  // namespace stitch
