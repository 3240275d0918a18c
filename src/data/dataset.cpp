#include "data/dataset.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace stitch {

void Dataset::index_episodes() {
  episodes.clear();
  const int64_t n = size();
  Episode current;
  for (int64_t i = 0; i < n; ++i) {
    if (current.length == 0) current.start = i;
    ++current.length;
    current.total_return += rewards[i];
    if (terminals[i] || timeouts[i]) {
      current.terminated = terminals[i] != 0;
      current.timed_out = !current.terminated && timeouts[i] != 0;
      episodes.push_back(current);
      current = Episode{};
    }
  }
  if (current.length > 0) episodes.push_back(current);  // cut by the end of the data
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
      ++it;
    }
  }
  dst.index_episodes();
}

Dataset select_episodes(const Dataset& src, const std::vector<int64_t>& episode_indices) {
  Dataset out;
  out.obs_dim = src.obs_dim;
  out.act_dim = src.act_dim;
  out.metadata = src.metadata;
  for (const auto& [name, col] : src.infos) out.infos[name].width = col.width;
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
  }
  out.index_episodes();
  return out;
}

}  // namespace stitch
