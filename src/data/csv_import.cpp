#include "data/csv_import.h"

#include <charconv>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

#include "core/error.h"
#include "core/json_read.h"

namespace stitch {
namespace {

std::vector<std::string> split_csv_line(const std::string& line, const std::string& file,
                                        int64_t row) {
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.push_back(field);
      field.clear();
    } else if (c != '\r') {
      field += c;
    }
  }
  if (quoted) fail("{}: row {}: unterminated quoted field", file, row);
  fields.push_back(field);
  return fields;
}

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  const size_t b = s.find_last_not_of(" \t");
  return s.substr(a, b - a + 1);
}

float parse_float(const std::string& text, const std::string& file, int64_t row,
                  const std::string& column) {
  const std::string t = trim(text);
  float v = 0;
  const auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || ptr != t.data() + t.size()) {
    fail("{}: row {} column '{}': cannot parse '{}' as a number", file, row, column, text);
  }
  return v;
}

bool parse_flag(const std::string& text, const std::string& file, int64_t row,
                const std::string& column) {
  const std::string t = trim(text);
  if (t == "1" || t == "true" || t == "True" || t == "TRUE" || t == "1.0") return true;
  if (t == "0" || t == "false" || t == "False" || t == "FALSE" || t == "0.0" || t.empty())
    return false;
  fail("{}: row {} column '{}': expected 0/1 or true/false, got '{}'", file, row, column, text);
}

std::vector<std::string> string_list(const nlohmann::json& spec, const char* key,
                                     const std::string& spec_path, bool required) {
  if (!spec.contains(key)) {
    if (required) fail("{}: missing key '{}'", spec_path, key);
    return {};
  }
  const auto& v = spec[key];
  if (!v.is_array() || v.empty())
    fail("{}: '{}' must be a non-empty list of column names", spec_path, key);
  std::vector<std::string> out;
  for (const auto& x : v) {
    if (!x.is_string()) fail("{}: '{}' must list column names (strings)", spec_path, key);
    out.push_back(x.get<std::string>());
  }
  return out;
}

std::string optional_string(const nlohmann::json& spec, const char* key,
                            const std::string& spec_path, bool required) {
  if (!spec.contains(key)) {
    if (required) fail("{}: missing key '{}'", spec_path, key);
    return "";
  }
  if (!spec[key].is_string()) fail("{}: '{}' must be a column name (string)", spec_path, key);
  return spec[key].get<std::string>();
}

}  // namespace

Dataset import_csv(const std::string& csv_path, const std::string& spec_path) {
  std::ifstream spec_in(spec_path);
  if (!spec_in) fail("{}: cannot open", spec_path);
  std::stringstream ss;
  ss << spec_in.rdbuf();
  const auto spec = parse_json(ss.str(), spec_path);
  if (spec.is_discarded() || !spec.is_object()) fail("{}: not a JSON object", spec_path);

  const auto obs_cols = string_list(spec, "observations", spec_path, true);
  const auto act_cols = string_list(spec, "actions", spec_path, true);
  const auto next_cols = string_list(spec, "next_observations", spec_path, false);
  const std::string reward_col = optional_string(spec, "reward", spec_path, true);
  const std::string terminal_col = optional_string(spec, "terminal", spec_path, false);
  const std::string timeout_col = optional_string(spec, "timeout", spec_path, false);
  const std::string episode_col = optional_string(spec, "episode", spec_path, false);
  const std::string cost_col = optional_string(spec, "cost", spec_path, false);
  if (!next_cols.empty() && next_cols.size() != obs_cols.size()) {
    fail("{}: 'next_observations' lists {} columns but 'observations' {}", spec_path,
         next_cols.size(), obs_cols.size());
  }

  std::ifstream in(csv_path);
  if (!in) fail("{}: cannot open", csv_path);
  std::string line;
  if (!std::getline(in, line)) fail("{}: empty file (expected a header row)", csv_path);
  const auto header = split_csv_line(line, csv_path, 1);
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < header.size(); ++i) index[trim(header[i])] = i;
  auto column = [&](const std::string& name) {
    const auto it = index.find(name);
    if (it == index.end())
      fail("{}: no column '{}' in the header (named in {})", csv_path, name, spec_path);
    return it->second;
  };
  std::vector<size_t> obs_idx, act_idx, next_idx;
  for (const auto& c : obs_cols) obs_idx.push_back(column(c));
  for (const auto& c : act_cols) act_idx.push_back(column(c));
  for (const auto& c : next_cols) next_idx.push_back(column(c));
  const size_t reward_idx = column(reward_col);
  const auto opt_index = [&](const std::string& name) {
    return name.empty() ? std::optional<size_t>() : std::optional<size_t>(column(name));
  };
  const auto terminal_idx = opt_index(terminal_col), timeout_idx = opt_index(timeout_col),
             episode_idx = opt_index(episode_col), cost_idx = opt_index(cost_col);

  Dataset d;
  d.obs_dim = static_cast<int64_t>(obs_cols.size());
  d.act_dim = static_cast<int64_t>(act_cols.size());
  std::vector<std::string> episode_ids;
  int64_t row = 1;
  while (std::getline(in, line)) {
    ++row;
    if (trim(line).empty()) continue;
    const auto fields = split_csv_line(line, csv_path, row);
    if (fields.size() != header.size()) {
      fail("{}: row {}: {} fields, the header has {}", csv_path, row, fields.size(), header.size());
    }
    for (size_t k = 0; k < obs_idx.size(); ++k) {
      d.observations.push_back(parse_float(fields[obs_idx[k]], csv_path, row, obs_cols[k]));
    }
    for (size_t k = 0; k < act_idx.size(); ++k) {
      d.actions.push_back(parse_float(fields[act_idx[k]], csv_path, row, act_cols[k]));
    }
    for (size_t k = 0; k < next_idx.size(); ++k) {
      d.next_observations.push_back(parse_float(fields[next_idx[k]], csv_path, row, next_cols[k]));
    }
    d.rewards.push_back(parse_float(fields[reward_idx], csv_path, row, reward_col));
    if (cost_idx) d.costs.push_back(parse_float(fields[*cost_idx], csv_path, row, cost_col));
    const bool terminal =
        terminal_idx && parse_flag(fields[*terminal_idx], csv_path, row, terminal_col);
    const bool timeout =
        timeout_idx && parse_flag(fields[*timeout_idx], csv_path, row, timeout_col);
    d.terminals.push_back(terminal);
    d.timeouts.push_back(!terminal && timeout);
    if (episode_idx) episode_ids.push_back(trim(fields[*episode_idx]));
  }
  if (d.rewards.empty()) fail("{}: no data rows after the header", csv_path);
  // A change of episode id after a row with neither flag: that row was cut (a time-out).
  for (size_t i = 0; i + 1 < episode_ids.size(); ++i) {
    if (episode_ids[i] != episode_ids[i + 1] && !d.terminals[i] && !d.timeouts[i])
      d.timeouts[i] = 1;
  }
  if (next_cols.empty()) {
    d.derive_next_observations();
  } else {
    d.has_next.assign(d.rewards.size(), 1);
  }
  if (spec.contains("metadata") && spec["metadata"].is_object()) {
    for (auto it = spec["metadata"].begin(); it != spec["metadata"].end(); ++it) {
      d.metadata[it.key()] = it->dump();
    }
  }
  d.set_metadata_string("source", csv_path);
  d.index_episodes();
  return d;
}

}  // namespace stitch
