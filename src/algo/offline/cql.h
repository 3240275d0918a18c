// CQL's config and factory, for the algorithms built on it (Cal-QL, algo/o2o/calql.cpp); the
// implementation and its defaults are in cql.cpp.
#pragma once

#include <cstdint>
#include <memory>

#include "algo/algorithm.h"

namespace stitch {

// CQL's config; calibrated: Cal-QL's (the algorithm's name "calql").
std::unique_ptr<AlgoConfig> make_cql_config(bool calibrated);
// FamO2O's config (algo/o2o/famo2o.h: CQL with a universal policy and a balance model).
std::unique_ptr<AlgoConfig> make_famo2o_config();
// A CQL, Cal-QL or FamO2O learner from a config made by make_cql_config or make_famo2o_config.
std::unique_ptr<Algorithm> make_cql(const AlgoConfig& config, const AlgoDims& dims, uint64_t seed);

}  // namespace stitch
