#include "data/io.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/crash_guard.h"
#include "core/error.h"
#include "core/json_read.h"
#include "data/hdf5.h"
#include "env/registry.h"
#include "track/durable.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;

constexpr const char* kMinariFile = "main_data.hdf5";
constexpr const char* kMinariMetadata = "metadata.json";
// Written by stitch beside next_observations when some successors were never recorded.
constexpr const char* kNextValidKey = "next_observations_valid";
// Minari episode attributes: the episode's final observation is a stand-in copy; the episode was
// cut by the end of the data (neither terminated nor truncated; only on the last episode).
constexpr const char* kFinalMissingAttr = "stitch_final_observation_missing";
constexpr const char* kCutAttr = "stitch_cut_by_end_of_data";

void warn(LoadReport& report, const std::string& message) {
  spdlog::warn("{}", message);
  report.warnings.push_back(message);
}

// Rows and width of a column of rank 1, or rank 2 with `allow_column` (N,1), or rank 2 (N,d).
struct ColumnShape {
  int64_t rows = 0;
  int64_t width = 1;
};

ColumnShape column_shape(const h5::File& f, const std::string& key, bool matrix) {
  const h5::DatasetShape s = f.shape(key);
  // Rows are compared and added to before the column is read: check the claim first.
  const int64_t n = h5::element_count(s.dims);
  if (n < 0 || n > f.max_value_bytes() / static_cast<int64_t>(sizeof(float))) {
    fail("{}: '{}' claims {} elements, more than this file can hold (corrupt header)", f.path(),
         key, fmt::format("{}", fmt::join(s.dims, " x ")));
  }
  if (matrix) {
    if (s.dims.size() != 2) {
      fail("{}: '{}' must have rank 2 [N, dim], got rank {}", f.path(), key, s.dims.size());
    }
    return {s.dims[0], s.dims[1]};
  }
  if (s.dims.size() == 1) return {s.dims[0], 1};
  if (s.dims.size() == 2 && s.dims[1] == 1) return {s.dims[0], 1};
  fail("{}: '{}' must have shape [N] or [N, 1], got rank {}{}", f.path(), key, s.dims.size(),
       s.dims.size() == 2 ? fmt::format(" [{}, {}]", s.dims[0], s.dims[1]) : "");
}

void check_rows(const h5::File& f, const std::string& key, int64_t rows, int64_t expected,
                const std::string& reference) {
  if (rows != expected) {
    fail("{}: '{}' has {} rows but '{}' has {}", f.path(), key, rows, reference, expected);
  }
}

std::vector<uint8_t> to_flags(const std::vector<float>& values, const std::string& file,
                              const std::string& key) {
  std::vector<uint8_t> out(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i] != 0.0f && values[i] != 1.0f) {
      fail("{}: '{}' row {}: expected 0 or 1, got {}", file, key, i, values[i]);
    }
    out[i] = values[i] != 0.0f;
  }
  return out;
}

// A metadata value read from a string dataset or attribute: JSON numbers stay numbers,
// everything else is a string.
std::string metadata_value_from_text(const std::string& text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_discarded() && (j.is_number() || j.is_boolean())) return j.dump();
  // Strings from files may hold invalid UTF-8 (found by the fuzzer): replace, never throw.
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Groups nested deeper than this under metadata/ or infos/ are corrupt (HDF5 links can even
// form a cycle, which a recursive walk would follow until the stack overflows).
constexpr int kMaxGroupDepth = 16;

void check_group_depth(const h5::File& f, const std::string& group, int depth) {
  if (depth > kMaxGroupDepth) {
    fail("{}: groups nested deeper than {} levels at '{}' (corrupt file or a link cycle)", f.path(),
         kMaxGroupDepth, group.substr(0, 200));
  }
}

void read_metadata_group(const h5::File& f, const std::string& group, const std::string& prefix,
                         Dataset& d, int depth = 0) {
  check_group_depth(f, group, depth);
  for (const auto& name : f.members(group)) {
    const std::string key = group + "/" + name;
    if (f.is_group(key)) {
      read_metadata_group(f, key, prefix + name + "/", d, depth + 1);
      continue;
    }
    if (auto s = f.read_string(key)) {
      d.metadata[prefix + name] = metadata_value_from_text(*s);
      continue;
    }
    if (const auto number = f.read_number(key)) {
      d.metadata[prefix + name] = nlohmann::json(*number).dump();
    }
    // Arrays in metadata (e.g. D4RL's stored policy weights) are not carried.
  }
}

void read_root_attributes(const h5::File& f, const std::string& object, Dataset& d) {
  for (const auto& name : f.attribute_names(object)) {
    const std::string value = f.attribute_json(object, name);
    if (value != "null") d.metadata[name] = value;
  }
}

void read_infos(const h5::File& f, const std::string& group, const std::string& prefix,
                int64_t rows, int64_t keep_rows, Dataset& d, LoadReport& report, int depth = 0) {
  check_group_depth(f, group, depth);
  for (const auto& name : f.members(group)) {
    const std::string key = group + "/" + name;
    if (f.is_group(key)) {
      read_infos(f, key, prefix + name + "/", rows, keep_rows, d, report, depth + 1);
      continue;
    }
    const h5::DatasetShape s = f.shape(key);
    const bool numeric =
        s.type_class == H5T_FLOAT || s.type_class == H5T_INTEGER || s.type_class == H5T_ENUM;
    if (!numeric || s.dims.empty() || s.dims[0] != rows) {
      warn(report,
           fmt::format("{}: skipping '{}' (not a numeric column of {} rows)", f.path(), key, rows));
      continue;
    }
    const int64_t width = h5::element_count({s.dims.begin() + 1, s.dims.end()});
    if (width < 1) {
      warn(report, fmt::format("{}: skipping '{}' (no values per row)", f.path(), key));
      continue;
    }
    std::vector<double> values = f.read_doubles(key);  // checks the element count
    values.resize(static_cast<size_t>(keep_rows * width));
    Column& col = d.infos[prefix + name];
    if (col.data.empty()) {
      col.width = width;
      col.float64 = s.type_class == H5T_FLOAT && s.type_size == 8;
    }
    if (col.width != width) fail("{}: '{}' changes width between episodes", f.path(), key);
    col.data.insert(col.data.end(), values.begin(), values.end());
  }
}

Dataset read_d4rl(const h5::File& f, const LoadOptions& options, LoadReport& report) {
  Dataset d;
  for (const char* key : {"observations", "actions", "rewards", "terminals"}) {
    if (!f.exists(key)) fail("{}: missing dataset '{}' (D4RL layout)", f.path(), key);
  }
  const ColumnShape obs = column_shape(f, "observations", true);
  const ColumnShape act = column_shape(f, "actions", true);
  const ColumnShape rew = column_shape(f, "rewards", false);
  const ColumnShape term = column_shape(f, "terminals", false);
  const int64_t n = obs.rows;
  check_rows(f, "actions", act.rows, n, "observations");
  check_rows(f, "rewards", rew.rows, n, "observations");
  check_rows(f, "terminals", term.rows, n, "observations");
  d.obs_dim = obs.width;
  d.act_dim = act.width;
  d.observations = f.read_floats("observations");
  d.actions = f.read_floats("actions");
  d.rewards = f.read_floats("rewards");
  d.terminals = to_flags(f.read_floats("terminals"), f.path(), "terminals");
  if (f.exists("timeouts")) {
    check_rows(f, "timeouts", column_shape(f, "timeouts", false).rows, n, "observations");
    d.timeouts = to_flags(f.read_floats("timeouts"), f.path(), "timeouts");
  } else {
    report.had_timeouts = false;
    const std::string msg = fmt::format(
        "{}: no 'timeouts' dataset: episodes end only at terminals, time-limit ends are unknown",
        f.path());
    if (options.strict) throw Error(msg);
    warn(report, msg);
    d.timeouts.assign(n, 0);
  }
  if (f.exists("costs")) {
    check_rows(f, "costs", column_shape(f, "costs", false).rows, n, "observations");
    d.costs = f.read_floats("costs");
  }
  if (f.exists("next_observations")) {
    const ColumnShape next = column_shape(f, "next_observations", true);
    check_rows(f, "next_observations", next.rows, n, "observations");
    if (next.width != obs.width) {
      fail("{}: 'next_observations' has width {} but 'observations' has {}", f.path(), next.width,
           obs.width);
    }
    d.next_observations = f.read_floats("next_observations");
    if (f.exists(kNextValidKey)) {
      check_rows(f, kNextValidKey, column_shape(f, kNextValidKey, false).rows, n, "observations");
      d.has_next = to_flags(f.read_floats(kNextValidKey), f.path(), kNextValidKey);
    } else {
      d.has_next.assign(n, 1);
    }
  } else {
    d.derive_next_observations();
    report.derived_next_observations = true;
  }
  if (f.is_group("infos")) read_infos(f, "infos", "", n, n, d, report);
  if (f.is_group("metadata")) read_metadata_group(f, "metadata", "", d);
  read_root_attributes(f, "/", d);
  d.index_episodes();
  return d;
}

// Minari: the HDF5 file and the metadata.json beside it (if any) for a user-given path.
std::pair<fs::path, fs::path> minari_paths(const std::string& path) {
  fs::path p(path);
  if (fs::is_directory(p)) {
    for (const fs::path& dir : {p / "data", p}) {
      if (fs::exists(dir / kMinariFile)) return {dir / kMinariFile, dir / kMinariMetadata};
    }
    fail("{}: a directory without data/{} (not a Minari dataset)", path, kMinariFile);
  }
  return {p, p.parent_path() / kMinariMetadata};
}

int64_t episode_number(const std::string& name) {
  int64_t id = -1;
  const char* first = name.data() + 8;  // after "episode_"
  const auto [ptr, ec] = std::from_chars(first, name.data() + name.size(), id);
  if (ec != std::errc() || ptr != name.data() + name.size()) return -1;
  return id;
}

Dataset read_minari(const std::string& path, const LoadOptions&, LoadReport& report) {
  const auto [file_path, metadata_path] = minari_paths(path);
  const h5::File f = h5::File::open_read(file_path.string());
  std::vector<std::pair<int64_t, std::string>> groups;
  for (const auto& name : f.members("/")) {
    if (name.rfind("episode_", 0) != 0) continue;
    // Not an episode the reader can place: refuse the file rather than drop its rows.
    if (episode_number(name) < 0) {
      fail("{}: group '{}' is not episode_<id> with a non-negative decimal id", f.path(),
           name.substr(0, 100));
    }
    groups.emplace_back(episode_number(name), name);
  }
  if (groups.empty()) fail("{}: no episode_<id> groups (Minari layout)", f.path());
  std::sort(groups.begin(), groups.end());

  Dataset d;
  for (const auto& entry : groups) {
    const std::string& group = entry.second;  // (clang 14 cannot capture structured bindings)
    auto key = [&](const char* k) { return group + "/" + k; };
    for (const char* k : {"observations", "actions", "rewards", "terminations", "truncations"}) {
      if (!f.exists(key(k))) fail("{}: missing dataset '{}'", f.path(), key(k));
    }
    const ColumnShape obs = column_shape(f, key("observations"), true);
    const ColumnShape act = column_shape(f, key("actions"), true);
    const int64_t t = act.rows;
    check_rows(f, key("observations"), obs.rows, t + 1, key("actions") + "' + 1 ('T+1");
    check_rows(f, key("rewards"), column_shape(f, key("rewards"), false).rows, t, key("actions"));
    check_rows(f, key("terminations"), column_shape(f, key("terminations"), false).rows, t,
               key("actions"));
    check_rows(f, key("truncations"), column_shape(f, key("truncations"), false).rows, t,
               key("actions"));
    if (d.obs_dim == 0) {
      d.obs_dim = obs.width;
      d.act_dim = act.width;
    } else if (d.obs_dim != obs.width || d.act_dim != act.width) {
      fail("{}: '{}' has observation/action widths {}/{}, earlier episodes {}/{}", f.path(), group,
           obs.width, act.width, d.obs_dim, d.act_dim);
    }
    if (t == 0) continue;
    const std::vector<float> o = f.read_floats(key("observations"));
    d.observations.insert(d.observations.end(), o.begin(), o.end() - obs.width);
    d.next_observations.insert(d.next_observations.end(), o.begin() + obs.width, o.end());
    const std::vector<float> a = f.read_floats(key("actions"));
    d.actions.insert(d.actions.end(), a.begin(), a.end());
    const std::vector<float> r = f.read_floats(key("rewards"));
    d.rewards.insert(d.rewards.end(), r.begin(), r.end());
    std::vector<uint8_t> term =
        to_flags(f.read_floats(key("terminations")), f.path(), key("terminations"));
    std::vector<uint8_t> trunc =
        to_flags(f.read_floats(key("truncations")), f.path(), key("truncations"));
    // D4RL's rows: a termination wins; an episode that ends with neither flag was cut by the
    // collector, which is a truncation for bootstrapping purposes, unless stitch recorded it as
    // the data's final, cut episode.
    const auto attrs = f.attribute_names(group);
    auto has_attr = [&](const char* name) {
      return std::find(attrs.begin(), attrs.end(), name) != attrs.end() &&
             f.attribute_json(group, name) == "1";
    };
    const bool cut = has_attr(kCutAttr) && group == groups.back().second;
    if (!term.back() && !trunc.back() && !cut) trunc.back() = 1;
    for (int64_t i = 0; i < t; ++i) {
      if (term[i]) trunc[i] = 0;
    }
    d.terminals.insert(d.terminals.end(), term.begin(), term.end());
    d.timeouts.insert(d.timeouts.end(), trunc.begin(), trunc.end());
    std::vector<uint8_t> valid(t, 1);
    if (has_attr(kFinalMissingAttr)) valid.back() = 0;
    d.has_next.insert(d.has_next.end(), valid.begin(), valid.end());
    if (f.exists(key("costs"))) {
      const std::vector<float> c = f.read_floats(key("costs"));
      if (static_cast<int64_t>(c.size()) != t)
        fail("{}: '{}' must have {} rows", f.path(), key("costs"), t);
      d.costs.insert(d.costs.end(), c.begin(), c.end());
    }
    if (f.is_group(key("infos"))) {
      // Minari stores T+1 infos (one per observation) or T; keep the first T, aligned with rows.
      const auto members = f.members(key("infos"));
      for (const auto& m : members) {
        const std::string info_key = key("infos") + "/" + m;
        if (f.is_group(info_key)) continue;
        const auto s = f.shape(info_key);
        const int64_t rows = s.dims.empty() ? 0 : s.dims[0];
        if (rows == t || rows == t + 1) {
          read_infos(f, key("infos"), "", rows, t, d, report);
          break;
        }
      }
    }
  }
  if (!d.costs.empty() && static_cast<int64_t>(d.costs.size()) != d.size()) {
    warn(report, fmt::format("{}: 'costs' present in only some episodes; dropped", f.path()));
    d.costs.clear();
  }
  read_root_attributes(f, "/", d);
  if (fs::exists(metadata_path)) {
    std::ifstream in(metadata_path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const auto j = parse_json(ss.str(), metadata_path.string());
    if (j.is_discarded() || !j.is_object()) {
      fail("{}: invalid JSON (expected an object)", metadata_path.string());
    }
    for (auto it = j.begin(); it != j.end(); ++it) d.metadata[it.key()] = it->dump();
    const double declared_steps = d.metadata_number("total_steps");
    if (!std::isnan(declared_steps) && static_cast<int64_t>(declared_steps) != d.size()) {
      warn(report,
           fmt::format("{}: total_steps says {} but the episodes hold {} steps",
                       metadata_path.string(), static_cast<int64_t>(declared_steps), d.size()));
    }
  }
  d.index_episodes();
  return d;
}

// Action bounds declared for the data: Minari's action_space, else the registered env's.
bool declared_action_bounds(const Dataset& d, const std::string& source, std::vector<float>& low,
                            std::vector<float>& high) {
  const auto it = d.metadata.find("action_space");
  if (it != d.metadata.end()) {
    const std::string where = source + ": metadata 'action_space'";
    auto j = parse_json(it->second, where);
    if (j.is_string()) j = parse_json(j.get<std::string>(), where);
    if (j.is_object() && j.contains("type") && j["type"] == "Box" && j.contains("low") &&
        j.contains("high")) {
      try {
        low = j["low"].get<std::vector<float>>();
        high = j["high"].get<std::vector<float>>();
        return static_cast<int64_t>(low.size()) == d.act_dim && high.size() == low.size();
      } catch (const nlohmann::json::exception&) {
        return false;
      }
    }
  }
  const std::string env_id = d.metadata_string("env_id");
  if (!env_id.empty() && EnvRegistry::global().contains(env_id)) {
    const auto env = make_env(env_id);
    if (env->action_space().is_box() && env->action_space().flat_dim() == d.act_dim) {
      low = env->action_space().low();
      high = env->action_space().high();
      return true;
    }
  }
  return false;
}

template <class T>
void check_finite(const std::vector<T>& column, int64_t width, const std::string& source,
                  const std::string& key) {
  for (size_t i = 0; i < column.size(); ++i) {
    if (!std::isfinite(column[i])) {
      fail("{}: '{}' row {}{}: {}", source, key, static_cast<int64_t>(i) / width,
           width > 1 ? fmt::format(" column {}", static_cast<int64_t>(i) % width) : "", column[i]);
    }
  }
}

// The metadata's list of budget-cut episode ends must name time-out rows of this data.
void check_cut_episode_ends(const Dataset& d, const std::string& source) {
  const nlohmann::json j =
      cut_episode_ends_json(d, fmt::format("{}: metadata '{}'", source, kCutEpisodeEnds));
  if (j.is_null()) return;
  const std::string shown = d.metadata.at(kCutEpisodeEnds).substr(0, 80);
  if (!j.is_array())
    fail("{}: metadata '{}': {} is not a list of rows", source, kCutEpisodeEnds, shown);
  for (const auto& v : j) {
    const bool row = v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() < d.size();
    if (!row || !d.timeouts[v.get<int64_t>()] || d.terminals[v.get<int64_t>()]) {
      fail("{}: metadata '{}': {} is not a time-out row of the {} rows", source, kCutEpisodeEnds,
           v.dump().substr(0, 40), d.size());
    }
  }
}

// Rows [first, first + rows) of an infos column, as float64 or float32 as it was read or made.
void write_column(h5::File& f, const std::string& key, const Column& col, int64_t first,
                  int64_t rows, int gzip) {
  const std::vector<int64_t> dims =
      col.width == 1 ? std::vector<int64_t>{rows} : std::vector<int64_t>{rows, col.width};
  const double* begin = col.data.data() + first * col.width;
  if (col.float64) {
    f.write_doubles(key, begin, dims, gzip);
  } else {
    const std::vector<float> narrow(begin, begin + rows * col.width);
    f.write_floats(key, narrow.data(), dims, gzip);
  }
}

void prepare_target(const fs::path& target, bool force) {
  if (fs::exists(target) && !force) {
    fail("{}: already exists (use --force to replace it)", target.string());
  }
  if (!target.parent_path().empty() && !fs::exists(target.parent_path())) {
    fs::create_directories(target.parent_path());
  }
}

void write_d4rl_file(const Dataset& d, const std::string& path, int gzip) {
  h5::File f = h5::File::create(path);
  const int64_t n = d.size();
  f.write_floats("observations", d.observations.data(), {n, d.obs_dim}, gzip);
  f.write_floats("actions", d.actions.data(), {n, d.act_dim}, gzip);
  f.write_floats("rewards", d.rewards.data(), {n}, gzip);
  f.write_floats("next_observations", d.next_observations.data(), {n, d.obs_dim}, gzip);
  f.write_bools("terminals", d.terminals.data(), n, gzip);
  f.write_bools("timeouts", d.timeouts.data(), n, gzip);
  if (std::find(d.has_next.begin(), d.has_next.end(), 0) != d.has_next.end()) {
    f.write_bools(kNextValidKey, d.has_next.data(), n, gzip);
  }
  if (!d.costs.empty()) f.write_floats("costs", d.costs.data(), {n}, gzip);
  for (const auto& [name, col] : d.infos) {
    write_column(f, "infos/" + name, col, 0, n, gzip);
  }
  for (const auto& [key, value] : d.metadata) {
    const auto j = nlohmann::json::parse(value, nullptr, false);
    f.write_string("metadata/" + key, j.is_string() ? j.get<std::string>() : value);
  }
  f.flush();
}

// A space as Minari's metadata.json serialises it; unknown or infinite bounds become the float32
// extremes (JSON has no infinity).
std::string space_json(const Space* space, int64_t dim) {
  const float big = std::numeric_limits<float>::max();
  nlohmann::json j;
  if (space != nullptr && space->is_discrete()) {
    j = {{"type", "Discrete"}, {"dtype", "int64"}, {"n", space->n()}, {"start", 0}};
    return j.dump();
  }
  j["type"] = "Box";
  j["dtype"] = "float32";
  j["shape"] = {dim};
  std::vector<double> lo(dim, -big), hi(dim, big);
  if (space != nullptr && space->flat_dim() == dim) {
    for (int64_t i = 0; i < dim; ++i) {
      if (std::isfinite(space->low()[i])) lo[i] = space->low()[i];
      if (std::isfinite(space->high()[i])) hi[i] = space->high()[i];
    }
  }
  j["low"] = lo;
  j["high"] = hi;
  return j.dump();
}

void write_minari_dir(const Dataset& d, const fs::path& dir, const std::string& dataset_id,
                      int gzip) {
  fs::create_directories(dir / "data");
  h5::File f = h5::File::create((dir / "data" / kMinariFile).string());
  for (size_t e = 0; e < d.episodes.size(); ++e) {
    const Episode& ep = d.episodes[e];
    const std::string g = fmt::format("episode_{}", e);
    f.create_group(g);
    const int64_t t = ep.length;
    std::vector<float> obs(d.observations.begin() + ep.start * d.obs_dim,
                           d.observations.begin() + ep.end() * d.obs_dim);
    const int64_t last = ep.end() - 1;
    obs.insert(obs.end(), d.next_observations.begin() + last * d.obs_dim,
               d.next_observations.begin() + (last + 1) * d.obs_dim);
    f.write_floats(g + "/observations", obs.data(), {t + 1, d.obs_dim}, gzip);
    f.write_floats(g + "/actions", d.actions.data() + ep.start * d.act_dim, {t, d.act_dim}, gzip);
    f.write_floats(g + "/rewards", d.rewards.data() + ep.start, {t}, gzip);
    f.write_bools(g + "/terminations", d.terminals.data() + ep.start, t, gzip);
    f.write_bools(g + "/truncations", d.timeouts.data() + ep.start, t, gzip);
    if (!d.costs.empty()) f.write_floats(g + "/costs", d.costs.data() + ep.start, {t}, gzip);
    for (const auto& [name, col] : d.infos) {
      write_column(f, g + "/infos/" + name, col, ep.start, t, gzip);
    }
    f.write_attribute(g, "id", static_cast<int64_t>(e));
    f.write_attribute(g, "total_steps", t);
    if (!d.has_next[last]) f.write_attribute(g, kFinalMissingAttr, int64_t{1});
    // An episode cut by the end of the data has neither flag on its last step, as Minari allows.
    if (!ep.terminated && !ep.timed_out) f.write_attribute(g, kCutAttr, int64_t{1});
  }
  f.flush();

  nlohmann::json meta = nlohmann::json::object();
  for (const auto& [key, value] : d.metadata) {
    const auto j = nlohmann::json::parse(value, nullptr, false);
    if (!j.is_discarded()) meta[key] = j;
  }
  if (!meta.contains("dataset_id")) meta["dataset_id"] = dataset_id;
  meta["total_episodes"] = d.episodes.size();
  meta["total_steps"] = d.size();
  meta["data_format"] = "hdf5";
  // Spaces: kept from the source when it had them, else the registered env's, else unbounded.
  std::unique_ptr<Env> env;
  const std::string env_id = d.metadata_string("env_id");
  if (!env_id.empty() && EnvRegistry::global().contains(env_id)) env = make_env(env_id);
  if (!meta.contains("action_space")) {
    meta["action_space"] = space_json(env ? &env->action_space() : nullptr, d.act_dim);
  }
  if (!meta.contains("observation_space")) {
    meta["observation_space"] = space_json(env ? &env->observation_space() : nullptr, d.obs_dim);
  }
  std::ofstream out(dir / "data" / kMinariMetadata);
  out << meta.dump(2) << "\n";
  if (!out) fail("{}: cannot write", (dir / "data" / kMinariMetadata).string());
}

}  // namespace

Layout parse_layout(const std::string& name) {
  if (name == "d4rl") return Layout::kD4rl;
  if (name == "minari") return Layout::kMinari;
  fail("unknown dataset layout '{}' (use d4rl or minari)", name);
}

const char* layout_name(Layout layout) { return layout == Layout::kD4rl ? "d4rl" : "minari"; }

Layout detect_layout(const std::string& path) {
  if (!fs::exists(path)) fail("{}: no such file or directory", path);
  if (fs::is_directory(path)) {
    minari_paths(path);  // throws when it is not a Minari directory
    return Layout::kMinari;
  }
  const h5::File f = h5::File::open_read(path);
  if (f.exists("observations")) return Layout::kD4rl;
  for (const auto& name : f.members("/")) {
    if (name.rfind("episode_", 0) == 0) return Layout::kMinari;
  }
  fail("{}: neither D4RL (no 'observations' dataset) nor Minari (no episode_<id> groups)", path);
}

void validate_dataset(const Dataset& d, const std::string& source, const LoadOptions& options,
                      LoadReport& report) {
  if (d.obs_dim < 1 || d.act_dim < 1) {
    fail(
        "{}: '{}' has width 0: a dataset needs at least one observation and one action "
        "dimension",
        source, d.obs_dim < 1 ? "observations" : "actions");
  }
  d.check_shapes();
  check_finite(d.observations, d.obs_dim, source, "observations");
  check_finite(d.actions, d.act_dim, source, "actions");
  check_finite(d.rewards, 1, source, "rewards");
  check_finite(d.next_observations, d.obs_dim, source, "next_observations");
  check_finite(d.costs, 1, source, "costs");
  for (const auto& [name, col] : d.infos)
    check_finite(col.data, col.width, source, "infos/" + name);

  std::vector<float> low, high;
  if (declared_action_bounds(d, source, low, high)) {
    for (int64_t i = 0; i < d.size(); ++i) {
      for (int64_t k = 0; k < d.act_dim; ++k) {
        const float a = d.actions[i * d.act_dim + k];
        if (a < low[k] || a > high[k]) {
          if (report.actions_out_of_bounds == 0) {
            report.first_action_out_of_bounds_row = i;
            const std::string msg = fmt::format(
                "{}: 'actions' row {} column {}: {} is outside the declared bounds [{}, {}]",
                source, i, k, a, low[k], high[k]);
            if (options.strict) throw Error(msg);
          }
          ++report.actions_out_of_bounds;
          break;
        }
      }
    }
    if (report.actions_out_of_bounds > 0) {
      warn(
          report,
          fmt::format("{}: 'actions': {} rows outside the declared bounds, first at row {}", source,
                      report.actions_out_of_bounds, report.first_action_out_of_bounds_row));
    }
  }

  const std::string env_id = d.metadata_string("env_id");
  if (!env_id.empty() && EnvRegistry::global().contains(env_id)) {
    const int64_t limit = EnvRegistry::global().spec(env_id).max_episode_steps;
    for (const Episode& ep : d.episodes) {
      if (limit > 0 && ep.length > limit) {
        fail(
            "{}: 'terminals'/'timeouts': the episode starting at row {} runs {} steps, longer than "
            "{}'s time limit of {} (an episode that never ends)",
            source, ep.start, ep.length, env_id, limit);
      }
    }
  }
  check_cut_episode_ends(d, source);
  if (!d.episodes.empty()) {
    const Episode& last = d.episodes.back();
    if (!last.terminated && !last.timed_out) {
      const std::string msg = fmt::format(
          "{}: 'terminals'/'timeouts': the last episode (rows {}-{}) never ends; treated as cut "
          "by the end of the data",
          source, last.start, last.end() - 1);
      if (options.strict) throw Error(msg);
      warn(report, msg);
    }
  }
}

namespace {

// Loads `path` in a forked child first: throws Error when the child was killed by a signal (a
// crash inside libhdf5), or with the child's message when it found the file bad, so that a
// corrupt file never reaches libhdf5 in this process.
void load_in_child(const std::string& path, const LoadOptions& options) {
  LoadOptions unguarded = options;
  unguarded.crash_guard = false;
  const ChildRead child = read_in_child([&] { load_dataset(path, unguarded); });
  if (child.signal > 0) {
    fail(
        "{}: corrupt file: the HDF5 library crashed reading it (signal {}, {}); nothing was loaded",
        path, child.signal, strsignal(child.signal));
  }
  if (child.threw) throw Error(child.error);
}

}  // namespace

Dataset load_dataset(const std::string& path, const LoadOptions& options, LoadReport* report_out) {
  if (options.crash_guard) load_in_child(path, options);
  LoadReport local;
  LoadReport& report = report_out != nullptr ? *report_out : local;
  report.layout = detect_layout(path);
  Dataset d = report.layout == Layout::kD4rl ? read_d4rl(h5::File::open_read(path), options, report)
                                             : read_minari(path, options, report);
  if (d.size() == 0) fail("{}: the dataset has no transitions", path);
  validate_dataset(d, path, options, report);
  return d;
}

Dataset load_d4rl_image(const void* data, size_t size, const LoadOptions& options) {
  LoadReport report;
  const h5::File f = h5::File::open_image(data, size, "<memory>");
  Dataset d = read_d4rl(f, options, report);
  validate_dataset(d, "<memory>", options, report);
  return d;
}

void save_dataset(const Dataset& d, const std::string& path, const SaveOptions& options) {
  if (options.gzip_level < 0 || options.gzip_level > 9) {
    fail("gzip level must be in 0..9, got {}", options.gzip_level);
  }
  d.check_shapes();
  const fs::path target(path);
  prepare_target(target, options.force);
  write_atomic_with(target, [&](const fs::path& tmp) {
    if (options.layout == Layout::kD4rl) {
      write_d4rl_file(d, tmp.string(), options.gzip_level);
    } else {
      write_minari_dir(d, tmp, target.filename().string(), options.gzip_level);
    }
  });
}

}  // namespace stitch
