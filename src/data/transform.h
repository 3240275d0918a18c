// Dataset transformations behind `stitch dataset slice` and `stitch dataset merge`.
#pragma once

#include <string>
#include <vector>

#include "data/dataset.h"

namespace stitch {

// Episodes [first, last) by index; throws Error naming the range when it is empty or outside.
Dataset slice_episodes(const Dataset& dataset, int64_t first, int64_t last);

// The episodes whose return is in the top `fraction` (0 < fraction <= 1) of episode returns,
// e.g. 0.1 for the top 10% ("%BC" in the offline-RL literature). Ties at the threshold are
// kept, so slightly more than the fraction may be returned. Episodes keep their order.
Dataset top_return_fraction(const Dataset& dataset, double fraction);

// Concatenates datasets (e.g. medium + expert = medium-expert). Metadata of the first wins;
// `merged_from` records the sources.
Dataset merge_datasets(const std::vector<Dataset>& datasets, const std::vector<std::string>& names);

}  // namespace stitch
