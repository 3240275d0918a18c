#include "eval/scores.h"

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace stitch {

const char* embedded_suite_references();  // generated from suite/references.json

namespace {

using nlohmann::json;

const json& references() {
  static const json refs = [] {
    json j;
    std::string origin = "suite/references.json (embedded)";
    if (const char* path = std::getenv("STITCH_SUITE_REFERENCES")) {
      origin = path;
      std::ifstream in(path);
      if (!in) fail("{}: cannot open (STITCH_SUITE_REFERENCES)", path);
      j = json::parse(in, nullptr, false);
    } else {
      j = json::parse(embedded_suite_references(), nullptr, false);
    }
    if (j.is_discarded() || !j.is_object()) fail("{}: not a JSON object", origin);
    return j;
  }();
  return refs;
}

std::optional<double> normalize(const std::optional<ReferenceScores>& r, double score) {
  if (!r || r->expert == r->random) return std::nullopt;
  return 100.0 * (score - r->random) / (r->expert - r->random);
}

}  // namespace

std::optional<ReferenceScores> reference_scores(const std::string& env_id) {
  const json& refs = references();
  if (!refs.contains(env_id)) return std::nullopt;
  const json& r = refs[env_id];
  if (!r.is_object() || !r.value("random", json()).is_number() ||
      !r.value("expert", json()).is_number())
    return std::nullopt;
  return ReferenceScores{r["random"].get<double>(), r["expert"].get<double>()};
}

std::optional<double> normalized_score(const std::string& env_id, double score) {
  return normalize(reference_scores(env_id), score);
}

std::optional<ReferenceScores> d4rl_reference_scores(const std::string& env_id) {
  const std::string base = env_id.substr(0, env_id.rfind("-v"));
  if (base == "hopper") return ReferenceScores{-20.272305, 3234.3};
  if (base == "halfcheetah") return ReferenceScores{-280.178953, 12135.0};
  if (base == "walker2d") return ReferenceScores{1.629008, 4592.3};
  if (base == "ant") return ReferenceScores{-325.6, 3879.7};
  return std::nullopt;
}

std::optional<double> d4rl_normalized_score(const std::string& env_id, double score) {
  return normalize(d4rl_reference_scores(env_id), score);
}

}  // namespace stitch
