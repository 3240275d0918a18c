#include "eval/scores.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "core/json_read.h"

namespace stitch {

const char* embedded_suite_references();  // generated from suite/references.json

namespace {

using nlohmann::json;

const std::map<std::string, ReferenceScores>& references() {
  static const std::map<std::string, ReferenceScores> refs = [] {
    if (const char* path = std::getenv("STITCH_SUITE_REFERENCES")) {
      std::ifstream in(path, std::ios::binary);
      if (!in) fail("{}: cannot open (STITCH_SUITE_REFERENCES)", path);
      std::stringstream text;
      text << in.rdbuf();
      return parse_suite_references(text.str(), path);
    }
    return parse_suite_references(embedded_suite_references(), "suite/references.json (embedded)");
  }();
  return refs;
}

std::optional<double> normalize(const std::optional<ReferenceScores>& r, double score) {
  if (!r || r->expert == r->random) return std::nullopt;
  return 100.0 * (score - r->random) / (r->expert - r->random);
}

}  // namespace

std::map<std::string, ReferenceScores> parse_suite_references(std::string_view text,
                                                              const std::string& origin) {
  const json j = parse_json(text, origin);
  if (j.is_discarded() || !j.is_object()) fail("{}: not a JSON object", origin);
  std::map<std::string, ReferenceScores> out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const json& r = *it;
    if (!r.is_object() || !r.value("random", json()).is_number() ||
        !r.value("expert", json()).is_number())
      continue;
    out[it.key()] = ReferenceScores{r["random"].get<double>(), r["expert"].get<double>()};
  }
  return out;
}

std::optional<ReferenceScores> reference_scores(const std::string& env_id) {
  const auto& refs = references();
  const auto it = refs.find(env_id);
  if (it == refs.end()) return std::nullopt;
  return it->second;
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
