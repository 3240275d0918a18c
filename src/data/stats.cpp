#include "data/stats.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "core/error.h"
#include "data/corrupt.h"

namespace stitch {
namespace {

RangeStats ranges(const std::vector<float>& data, int64_t width) {
  RangeStats r;
  const int64_t n = width > 0 ? static_cast<int64_t>(data.size()) / width : 0;
  r.min.assign(width, INFINITY);
  r.max.assign(width, -INFINITY);
  std::vector<double> sum(width, 0.0), sum_sq(width, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t k = 0; k < width; ++k) {
      const float v = data[i * width + k];
      r.min[k] = std::min(r.min[k], v);
      r.max[k] = std::max(r.max[k], v);
      sum[k] += v;
      sum_sq[k] += static_cast<double>(v) * v;
    }
  }
  for (int64_t k = 0; k < width; ++k) {
    const double mean = n > 0 ? sum[k] / n : 0.0;
    r.mean.push_back(static_cast<float>(mean));
    r.std.push_back(
        static_cast<float>(n > 0 ? std::sqrt(std::max(0.0, sum_sq[k] / n - mean * mean)) : 0.0));
  }
  return r;
}

// Per-dimension bounds of [obs, act].
void bounds_of(const Dataset& d, std::vector<float>& low, std::vector<float>& high) {
  const RangeStats o = ranges(d.observations, d.obs_dim), a = ranges(d.actions, d.act_dim);
  low = o.min;
  low.insert(low.end(), a.min.begin(), a.min.end());
  high = o.max;
  high.insert(high.end(), a.max.begin(), a.max.end());
}

template <typename... Args>
void append_line(std::string& out, fmt::format_string<Args...> format, Args&&... args) {
  out += fmt::format(format, std::forward<Args>(args)...);
  out += '\n';
}

}  // namespace

int64_t count_unique_cells(const Dataset& d, const std::vector<float>& low,
                           const std::vector<float>& high, int bins) {
  if (bins < 1) fail("saco bins must be >= 1, got {}", bins);
  const int64_t width = d.obs_dim + d.act_dim;
  STITCH_CHECK(static_cast<int64_t>(low.size()) == width, "bounds of width {}", low.size());
  std::unordered_set<uint64_t> cells;
  cells.reserve(static_cast<size_t>(d.size()));
  for (int64_t i = 0; i < d.size(); ++i) {
    uint64_t h = 1469598103934665603ULL;  // FNV-1a over the bin indices
    for (int64_t k = 0; k < width; ++k) {
      const float v = k < d.obs_dim ? d.observations[i * d.obs_dim + k]
                                    : d.actions[i * d.act_dim + (k - d.obs_dim)];
      const float span = high[k] - low[k];
      int64_t bin = span > 0 ? static_cast<int64_t>(std::floor((v - low[k]) / span * bins)) : 0;
      bin = std::clamp<int64_t>(bin, 0, bins - 1);
      for (int byte = 0; byte < 2; ++byte) {
        h ^= static_cast<uint64_t>((bin >> (8 * byte)) & 0xff);
        h *= 1099511628211ULL;
      }
    }
    cells.insert(h);
  }
  return static_cast<int64_t>(cells.size());
}

DatasetStats compute_stats(const Dataset& d, const LoadReport& report,
                           const StatsOptions& options) {
  DatasetStats s;
  s.layout = layout_name(report.layout);
  s.transitions = d.size();
  s.episodes = static_cast<int64_t>(d.episodes.size());
  std::vector<double> returns;
  double length_sum = 0;
  s.length_min = INFINITY;
  returns = complete_episode_returns(d);
  s.return_episodes = static_cast<int64_t>(returns.size());
  for (const Episode& ep : d.episodes) {
    s.terminated += ep.terminated;
    s.timed_out += ep.timed_out && !ep.cut;
    s.cut += ep.cut;
    length_sum += static_cast<double>(ep.length);
    s.length_min = std::min(s.length_min, static_cast<double>(ep.length));
    s.length_max = std::max(s.length_max, static_cast<double>(ep.length));
  }
  if (!returns.empty()) {
    std::vector<double> sorted = returns;
    std::sort(sorted.begin(), sorted.end());
    s.return_min = sorted.front();
    s.return_max = sorted.back();
    const size_t m = sorted.size();
    s.return_median = m % 2 ? sorted[m / 2] : 0.5 * (sorted[m / 2 - 1] + sorted[m / 2]);
    double sum = 0;
    for (double r : returns) sum += r;
    s.return_mean = sum / static_cast<double>(m);
    s.length_mean = length_sum / static_cast<double>(d.episodes.size());
    s.histogram.assign(std::max(1, options.histogram_bins), 0);
    const double span = s.return_max - s.return_min;
    for (double r : returns) {
      int64_t bin =
          span > 0 ? static_cast<int64_t>((r - s.return_min) / span * s.histogram.size()) : 0;
      bin = std::clamp<int64_t>(bin, 0, static_cast<int64_t>(s.histogram.size()) - 1);
      ++s.histogram[bin];
    }
  }
  s.observations = ranges(d.observations, d.obs_dim);
  s.actions = ranges(d.actions, d.act_dim);
  s.anomalies = report.warnings;
  s.metadata = d.metadata;
  if (const auto it = d.infos.find("corrupted"); it != d.infos.end() && it->second.width == 1) {
    for (const auto target : {CorruptTarget::kObservations, CorruptTarget::kActions,
                              CorruptTarget::kRewards, CorruptTarget::kDynamics}) {
      const int bit = corrupt_target_bit(target);
      int64_t n = 0;
      for (const double v : it->second.data) n += (static_cast<int64_t>(v) & bit) != 0;
      if (n > 0) s.corrupted[corrupt_target_name(target)] = n;
    }
  }

  s.ref_min = options.ref_min;
  s.ref_max = options.ref_max;
  if (!s.ref_min) {
    const double v = d.metadata_number("ref_min_score");
    if (!std::isnan(v)) s.ref_min = v;
  }
  if (!s.ref_max) {
    const double v = d.metadata_number("ref_max_score");
    if (!std::isnan(v)) s.ref_max = v;
  }
  if (s.ref_min && s.ref_max && *s.ref_max != *s.ref_min) {
    s.tq = (s.return_mean - *s.ref_min) / (*s.ref_max - *s.ref_min);
  }

  std::vector<float> low, high;
  if (options.reference != nullptr) {
    const Dataset& ref = *options.reference;
    if (ref.obs_dim != d.obs_dim || ref.act_dim != d.act_dim) {
      fail("SACo reference has observation/action dimensions {}/{}, the dataset {}/{}", ref.obs_dim,
           ref.act_dim, d.obs_dim, d.act_dim);
    }
    bounds_of(ref, low, high);
    s.reference_unique_cells = count_unique_cells(ref, low, high, options.saco_bins);
    s.unique_cells = count_unique_cells(d, low, high, options.saco_bins);
    s.saco = static_cast<double>(s.unique_cells) / static_cast<double>(s.reference_unique_cells);
  } else {
    bounds_of(d, low, high);
    s.unique_cells = count_unique_cells(d, low, high, options.saco_bins);
  }
  return s;
}

std::string format_stats_text(const DatasetStats& s, const std::string& name) {
  std::string out;
  append_line(out, "dataset      {}", name);
  append_line(out, "layout       {}", s.layout);
  append_line(out, "transitions  {}", s.transitions);
  append_line(out, "episodes     {}  (terminated {}, timed out {}, cut {})", s.episodes,
              s.terminated, s.timed_out, s.cut);
  for (const auto& [target, rows] : s.corrupted) {
    append_line(out, "corrupted    {}: {} rows ({:.1f}%)", target, rows,
                100.0 * static_cast<double>(rows) /
                    static_cast<double>(std::max<int64_t>(1, s.transitions)));
  }
  append_line(out, "length       min {:.0f}  mean {:.1f}  max {:.0f}", s.length_min, s.length_mean,
              s.length_max);
  append_line(out, "return       min {:.3f}  median {:.3f}  mean {:.3f}  max {:.3f}  ({})",
              s.return_min, s.return_median, s.return_mean, s.return_max,
              s.return_episodes == s.episodes - s.cut
                  ? fmt::format("{} complete episodes", s.return_episodes)
                  : fmt::format("all {} episodes: none is complete", s.return_episodes));
  if (!s.histogram.empty()) {
    const int64_t peak = *std::max_element(s.histogram.begin(), s.histogram.end());
    const double width = (s.return_max - s.return_min) / static_cast<double>(s.histogram.size());
    append_line(out, "return histogram (episodes per bin)");
    for (size_t b = 0; b < s.histogram.size(); ++b) {
      const int bar = peak > 0 ? static_cast<int>(std::lround(40.0 * s.histogram[b] / peak)) : 0;
      append_line(out, "  [{:>11.2f}, {:>11.2f}) {:>7} {}", s.return_min + b * width,
                  s.return_min + (b + 1) * width, s.histogram[b], std::string(bar, '#'));
    }
  }
  auto ranges_table = [&](const char* what, const RangeStats& r) {
    append_line(out, "{} ranges (dim: min .. max, mean +- std)", what);
    for (size_t k = 0; k < r.min.size(); ++k) {
      append_line(out, "  {:>3}: {:>10.4f} .. {:>10.4f}   {:>10.4f} +- {:.4f}", k, r.min[k],
                  r.max[k], r.mean[k], r.std[k]);
    }
  };
  ranges_table("observation", s.observations);
  ranges_table("action", s.actions);
  if (s.tq) {
    append_line(out, "TQ           {:.4f}  (mean return between references {:.3f} and {:.3f})",
                *s.tq, *s.ref_min, *s.ref_max);
  } else {
    append_line(out, "TQ           n/a (no reference returns: pass --ref-min and --ref-max)");
  }
  if (s.saco) {
    append_line(out, "SACo         {:.4f}  ({} unique (s,a) cells vs {} in the reference)", *s.saco,
                s.unique_cells, s.reference_unique_cells);
  } else {
    append_line(out, "SACo         n/a ({} unique (s,a) cells; pass --reference FILE to normalise)",
                s.unique_cells);
  }
  if (!s.metadata.empty()) {
    append_line(out, "metadata");
    for (const auto& [key, value] : s.metadata) {
      append_line(out, "  {} = {}", key, value.size() > 120 ? value.substr(0, 117) + "..." : value);
    }
  }
  if (s.anomalies.empty()) {
    append_line(out, "anomalies    none");
  } else {
    append_line(out, "anomalies    {}", s.anomalies.size());
    for (const auto& a : s.anomalies) append_line(out, "  - {}", a);
  }
  return out;
}

std::string format_stats_json(const DatasetStats& s, const std::string& name) {
  nlohmann::json j;
  j["dataset"] = name;
  j["layout"] = s.layout;
  j["transitions"] = s.transitions;
  j["episodes"] = {{"count", s.episodes},
                   {"terminated", s.terminated},
                   {"timed_out", s.timed_out},
                   {"cut", s.cut}};
  j["length"] = {{"min", s.length_min}, {"mean", s.length_mean}, {"max", s.length_max}};
  j["return"] = {{"min", s.return_min},           {"median", s.return_median},
                 {"mean", s.return_mean},         {"max", s.return_max},
                 {"episodes", s.return_episodes}, {"histogram", s.histogram}};
  auto r = [](const RangeStats& x) {
    return nlohmann::json{{"min", x.min}, {"max", x.max}, {"mean", x.mean}, {"std", x.std}};
  };
  j["observations"] = r(s.observations);
  j["actions"] = r(s.actions);
  j["tq"] = s.tq ? nlohmann::json(*s.tq) : nlohmann::json(nullptr);
  j["saco"] = s.saco ? nlohmann::json(*s.saco) : nlohmann::json(nullptr);
  j["unique_cells"] = s.unique_cells;
  j["reference_unique_cells"] = s.reference_unique_cells;
  j["anomalies"] = s.anomalies;
  j["corrupted"] = s.corrupted;
  nlohmann::json meta = nlohmann::json::object();
  for (const auto& [key, value] : s.metadata) {
    const auto v = nlohmann::json::parse(value, nullptr, false);
    meta[key] = v.is_discarded() ? nlohmann::json(value) : v;
  }
  j["metadata"] = meta;
  return j.dump(2);
}

}  // namespace stitch
