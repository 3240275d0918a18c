#include "data/transform.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>

#include "core/error.h"

namespace stitch {

Dataset slice_episodes(const Dataset& d, int64_t first, int64_t last) {
  const int64_t n = static_cast<int64_t>(d.episodes.size());
  if (first < 0 || last > n || first >= last) {
    fail("episode range {}:{} is empty or outside the dataset's {} episodes", first, last, n);
  }
  std::vector<int64_t> idx(last - first);
  std::iota(idx.begin(), idx.end(), first);
  return select_episodes(d, idx);
}

Dataset top_return_fraction(const Dataset& d, double fraction) {
  if (!(fraction > 0.0 && fraction <= 1.0))
    fail("return fraction must be in (0, 1], got {}", fraction);
  std::vector<double> returns;
  for (const Episode& ep : d.episodes) returns.push_back(ep.total_return);
  std::vector<double> sorted = returns;
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  const size_t keep = std::max<size_t>(1, static_cast<size_t>(std::ceil(fraction * sorted.size())));
  const double threshold = sorted[keep - 1];
  std::vector<int64_t> idx;
  for (size_t e = 0; e < returns.size(); ++e) {
    if (returns[e] >= threshold) idx.push_back(static_cast<int64_t>(e));
  }
  return select_episodes(d, idx);
}

Dataset merge_datasets(const std::vector<Dataset>& datasets,
                       const std::vector<std::string>& names) {
  if (datasets.empty()) fail("merge needs at least one dataset");
  Dataset out;
  for (size_t i = 0; i < datasets.size(); ++i) {
    Dataset part = datasets[i];
    // Keep episodes from different sources apart: a source whose last episode was cut by the
    // end of its data ends there.
    if (!part.episodes.empty() && part.episodes.back().cut) {
      std::vector<int64_t> cut_ends = cut_episode_ends(part);
      cut_ends.push_back(part.size() - 1);
      set_cut_episode_ends(part, std::move(cut_ends));
      part.timeouts.back() = 1;
    }
    try {
      append_dataset(out, part);
    } catch (const Error& e) {
      fail("merge: {}: {}", i < names.size() ? names[i] : "dataset", e.what());
    }
  }
  out.metadata["merged_from"] =
      nlohmann::json(names).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return out;
}

}  // namespace stitch
