#include "data/dataset.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_read.h"

namespace stitch {

void Dataset::index_episodes() {
  episodes.clear();
  const int64_t n = size();
  const std::vector<int64_t> cut_ends = cut_episode_ends(*this);
  Episode current;
  for (int64_t i = 0; i < n; ++i) {
    if (current.length == 0) current.start = i;
    ++current.length;
    current.total_return += rewards[i];
    if (terminals[i] || timeouts[i]) {
      current.terminated = terminals[i] != 0;
      current.timed_out = !current.terminated && timeouts[i] != 0;
      current.cut = current.timed_out && std::binary_search(cut_ends.begin(), cut_ends.end(), i);
      episodes.push_back(current);
      current = Episode{};
    }
  }
  if (current.length > 0) {  // cut by the end of the data
    current.cut = true;
    episodes.push_back(current);
  }
}

nlohmann::json cut_episode_ends_json(const Dataset& d, std::string_view source) {
  const auto it = d.metadata.find(kCutEpisodeEnds);
  if (it == d.metadata.end()) return nullptr;
  auto j = parse_json(it->second, source);
  // Files store lists as JSON text in a string (D4RL's metadata/* hold scalars and strings).
  if (j.is_string()) j = parse_json(j.get<std::string>(), source);
  return j;
}

std::vector<int64_t> cut_episode_ends(const Dataset& d) {
  nlohmann::json j;
  try {
    j = cut_episode_ends_json(d, kCutEpisodeEnds);
  } catch (const Error&) {
    return {};  // nested too deep: validate_dataset reports it with the file's name
  }
  std::vector<int64_t> rows;
  if (!j.is_array()) return rows;
  for (const auto& v : j) {
    if (v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() < d.size())
      rows.push_back(v.get<int64_t>());
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

void set_cut_episode_ends(Dataset& d, std::vector<int64_t> rows) {
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  if (rows.empty()) {
    d.metadata.erase(kCutEpisodeEnds);
  } else {
    d.set_metadata_string(kCutEpisodeEnds, nlohmann::json(rows).dump());
  }
}

std::vector<double> complete_episode_returns(const Dataset& d) {
  std::vector<double> all, complete;
  for (const Episode& ep : d.episodes) {
    all.push_back(ep.total_return);
    if (ep.complete()) complete.push_back(ep.total_return);
  }
  return complete.empty() ? all : complete;
}

void Dataset::derive_next_observations() {
  const int64_t n = size();
  next_observations.assign(n * obs_dim, 0.0f);
  has_next.assign(n, 0);
  for (int64_t i = 0; i < n; ++i) {
    float* dst = next_observations.data() + i * obs_dim;
    const bool episode_ends = terminals[i] || timeouts[i] || i + 1 == n;
    if (!episode_ends) {
      std::copy_n(observations.data() + (i + 1) * obs_dim, obs_dim, dst);
      has_next[i] = 1;
    } else {
      // No recorded successor: the row's own observation stands in for it.
      std::copy_n(observations.data() + i * obs_dim, obs_dim, dst);
      has_next[i] = terminals[i] ? 1 : 0;
    }
  }
}

void Dataset::check_shapes() const {
  const size_t n = static_cast<size_t>(size());
  STITCH_CHECK(observations.size() == n * obs_dim, "observations");
  STITCH_CHECK(actions.size() == n * act_dim, "actions");
  STITCH_CHECK(next_observations.size() == n * obs_dim, "next_observations");
  STITCH_CHECK(costs.empty() || costs.size() == n, "costs");
  STITCH_CHECK(terminals.size() == n && timeouts.size() == n && has_next.size() == n, "flags");
  for (const auto& [name, col] : infos) {
    STITCH_CHECK(col.data.size() == n * col.width, "infos/{}", name);
  }
}

std::string Dataset::metadata_string(const std::string& key) const {
  const auto it = metadata.find(key);
  if (it == metadata.end()) return "";
  const auto j = nlohmann::json::parse(it->second, nullptr, false);
  return j.is_string() ? j.get<std::string>() : "";
}

double Dataset::metadata_number(const std::string& key) const {
  const auto it = metadata.find(key);
  if (it == metadata.end()) return std::numeric_limits<double>::quiet_NaN();
  const auto j = nlohmann::json::parse(it->second, nullptr, false);
  return j.is_number() ? j.get<double>() : std::numeric_limits<double>::quiet_NaN();
}

void Dataset::set_metadata_string(const std::string& key, const std::string& value) {
  metadata[key] =
      nlohmann::json(value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void Dataset::set_metadata_number(const std::string& key, double value) {
  metadata[key] =
      nlohmann::json(value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void append_dataset(Dataset& dst, const Dataset& src) {
  if (dst.size() == 0 && dst.obs_dim == 0) {
    dst = src;
    return;
  }
  if (src.obs_dim != dst.obs_dim || src.act_dim != dst.act_dim) {
    fail("cannot merge datasets with observation/action dimensions {}/{} and {}/{}", dst.obs_dim,
         dst.act_dim, src.obs_dim, src.act_dim);
  }
  const int64_t offset = dst.size();
  std::vector<int64_t> cut_ends = cut_episode_ends(dst);
  for (const int64_t row : cut_episode_ends(src)) cut_ends.push_back(row + offset);
  auto extend = [](auto& a, const auto& b) { a.insert(a.end(), b.begin(), b.end()); };
  if (dst.costs.empty() != src.costs.empty()) {
    // Keep costs only when both have them.
    dst.costs.clear();
  } else {
    extend(dst.costs, src.costs);
  }
  extend(dst.observations, src.observations);
  extend(dst.actions, src.actions);
  extend(dst.rewards, src.rewards);
  extend(dst.next_observations, src.next_observations);
  extend(dst.terminals, src.terminals);
  extend(dst.timeouts, src.timeouts);
  extend(dst.has_next, src.has_next);
  for (auto it = dst.infos.begin(); it != dst.infos.end();) {
    const auto other = src.infos.find(it->first);
    if (other == src.infos.end() || other->second.width != it->second.width) {
      it = dst.infos.erase(it);
    } else {
      extend(it->second.data, other->second.data);
      it->second.float64 = it->second.float64 || other->second.float64;
      ++it;
    }
  }
  set_cut_episode_ends(dst, std::move(cut_ends));
  dst.index_episodes();
}

Dataset select_episodes(const Dataset& src, const std::vector<int64_t>& episode_indices) {
  Dataset out;
  out.obs_dim = src.obs_dim;
  out.act_dim = src.act_dim;
  out.metadata = src.metadata;
  for (const auto& [name, col] : src.infos) {
    out.infos[name].width = col.width;
    out.infos[name].float64 = col.float64;
  }
  std::vector<int64_t> cut_ends;
  for (const int64_t e : episode_indices) {
    STITCH_CHECK(e >= 0 && e < static_cast<int64_t>(src.episodes.size()), "episode {}", e);
    const Episode& ep = src.episodes[e];
    auto copy_rows = [&](auto& dst, const auto& from, int64_t width) {
      dst.insert(dst.end(), from.begin() + ep.start * width, from.begin() + ep.end() * width);
    };
    copy_rows(out.observations, src.observations, src.obs_dim);
    copy_rows(out.actions, src.actions, src.act_dim);
    copy_rows(out.rewards, src.rewards, 1);
    copy_rows(out.next_observations, src.next_observations, src.obs_dim);
    if (!src.costs.empty()) copy_rows(out.costs, src.costs, 1);
    copy_rows(out.terminals, src.terminals, 1);
    copy_rows(out.timeouts, src.timeouts, 1);
    copy_rows(out.has_next, src.has_next, 1);
    for (const auto& [name, col] : src.infos) copy_rows(out.infos[name].data, col.data, col.width);
    // An episode cut by the end of the data stays cut: mark its end so that it does not merge
    // with the next selected episode.
    if (!ep.terminated && !ep.timed_out) out.timeouts.back() = 1;
    if (ep.cut) cut_ends.push_back(static_cast<int64_t>(out.rewards.size()) - 1);
  }
  set_cut_episode_ends(out, std::move(cut_ends));
  out.index_episodes();
  return out;
}

}  // namespace stitch
