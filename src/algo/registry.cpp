#include "algo/registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "core/error.h"

namespace stitch {

AlgoRegistry& AlgoRegistry::global() {
  static AlgoRegistry registry;
  return registry;
}

void AlgoRegistry::add(AlgoEntry entry) {
  for (const auto& e : entries_) {
    if (e.name == entry.name) fail("algorithm '{}' is registered twice", entry.name);
  }
  if (static_cast<bool>(entry.make) == static_cast<bool>(entry.make_stream)) {
    fail("algorithm '{}' must register exactly one of make and make_stream", entry.name);
  }
  entries_.push_back(std::move(entry));
}

const AlgoEntry& AlgoRegistry::entry(const std::string& name) const {
  for (const auto& e : entries_) {
    if (e.name == name) return e;
  }
  fail("unknown algorithm '{}' (known: {})", name, fmt::join(names(), ", "));
}

std::vector<std::string> AlgoRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) out.push_back(e.name);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace stitch
