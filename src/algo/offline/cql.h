// CQL's config and factory, for the algorithms built on it (Cal-QL, algo/o2o/calql.cpp); the
// implementation and its defaults are in cql.cpp.
#pragma once

#include <cstdint>
#include <memory>

#include "algo/algorithm.h"

namespace stitch {

// CQL's config; calibrated: Cal-QL's (the algorithm's name "calql").
std::unique_ptr<AlgoConfig> make_cql_config(bool calibrated);
// A CQL or Cal-QL learner from a config made by make_cql_config.
std::unique_ptr<Algorithm> make_cql(const AlgoConfig& config, const AlgoDims& dims, uint64_t seed);

}  // namespace stitch
