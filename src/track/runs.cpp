#include "track/runs.h"

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
  if (!c.is_object() || !c.contains("algo")) fail("{}: not a run directory (no readable config.json)", dir);
  RunSummary r;
  r.dir = dir;
  r.name = fs::path(dir).filename().string();
  if (r.name.empty()) r.name = fs::path(dir).parent_path().filename().string();
  r.algo = c.value("algo", "");
  r.env = c.value("env", "");
  r.dataset = c.value("online", false) ? "online" : fs::path(c.value("dataset", "")).filename().string();
  r.seed = c.value("seed", uint64_t{0});
  r.planned_steps = c.value("steps", int64_t{0});
  for (const json& m : read_lines(fs::path(dir) / "metrics.jsonl")) {
    r.steps = std::max(r.steps, m.value("step", int64_t{0}));
    r.wall_s = std::max(r.wall_s, m.value("wall_s", 0.0));
  }
  for (const json& e : read_lines(fs::path(dir) / "eval.jsonl")) {
    EvalPoint p{.step = e.value("step", int64_t{0}), .mean = e.value("mean", 0.0)};
    if (e.contains("normalized") && e["normalized"].is_number()) p.normalized = e["normalized"].get<double>();
    r.evaluations.push_back(p);
  }
  if (r.steps == 0) {
    r.status = "empty";
  } else if (r.steps >= r.planned_steps && !r.evaluations.empty() && r.evaluations.back().step >= r.planned_steps) {
    r.status = "finished";
  } else {
    r.status = "stopped";
  }
  return r;
}

std::vector<RunSummary> find_runs(const std::string& dir) {
  if (!fs::exists(dir)) fail("{}: no such directory", dir);
  if (is_run_dir(dir)) return {read_run(dir)};
  std::vector<std::string> dirs;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied);
       it != fs::recursive_directory_iterator(); ++it) {
    if (!it->is_directory()) continue;
    if (is_run_dir(it->path().string())) {
      dirs.push_back(it->path().string());
      it.disable_recursion_pending();  // checkpoints/ and snapshots/ are not runs
    }
  }
  std::sort(dirs.begin(), dirs.end());
  std::vector<RunSummary> out;
  for (const auto& d : dirs) out.push_back(read_run(d));
  return out;
}

}  // namespace stitch
