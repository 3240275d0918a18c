#include "suite/suite.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/hash.h"
#include "core/json_read.h"
#include "core/runtime.h"
#include "data/collect.h"
#include "data/io.h"
#include "data/transform.h"
#include "deploy/policy.h"
#include "env/registry.h"
#include "track/durable.h"

namespace stitch {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json read_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open", path);
  std::stringstream text;
  text << in.rdbuf();
  json j = parse_json(text.str(), path);
  if (j.is_discarded() || !j.is_object()) fail("{}: not a JSON object", path);
  return j;
}

struct Manifest {
  fs::path dir;  // policy paths are relative to the manifest's directory
  json doc;
  std::map<std::string, json> datasets;  // by name, in file order below
  std::vector<std::string> order;

  const json& dataset(const std::string& name, const std::string& context) const {
    const auto it = datasets.find(name);
    if (it == datasets.end())
      fail("{}: {} names an unknown dataset '{}'", (dir / "manifest.json").string(), context, name);
    return it->second;
  }
};

Manifest load_manifest(const std::string& path) {
  Manifest m;
  m.dir = fs::path(path).parent_path();
  m.doc = read_json(path);
  if (!m.doc.contains("format") || m.doc["format"] != "stitch-suite-v1")
    fail("{}: not a stitch-suite-v1 manifest", path);
  if (!m.doc.contains("datasets") || !m.doc["datasets"].is_array())
    fail("{}: field 'datasets' must be a list", path);
  for (size_t i = 0; i < m.doc["datasets"].size(); ++i) {
    const json& d = m.doc["datasets"][i];
    for (const char* key : {"name", "env", "recipe"}) {
      if (!d.contains(key) || !d[key].is_string())
        fail("{}: datasets[{}] needs a string field '{}'", path, i, key);
    }
    const std::string name = d["name"];
    // The name becomes <data_dir>/<name>.hdf5: a plain file name, so nothing is written
    // outside the data directory.
    const bool plain =
        !name.empty() && name[0] != '.' && name.size() <= 200 &&
        std::all_of(name.begin(), name.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
        });
    if (!plain) {
      fail(
          "{}: datasets[{}]: the name {} is not a plain file name (letters, digits, '-', '_', "
          "'.', not starting with '.')",
          path, i, json(name).dump());  // escaped: a name may hold a NUL or a newline
    }
    if (m.datasets.count(name))
      fail("{}: datasets[{}]: the name '{}' is used twice", path, i, name);
    m.datasets[name] = d;
    m.order.push_back(name);
  }
  return m;
}

// "random", "scripted", or a stitch-policy-v1 file (relative to the manifest), whose sha256 must
// match the manifest's "policies" table.
struct PolicySpec {
  std::string spec;
  std::string sha256;  // files only
};

PolicySpec resolve_policy(const Manifest& m, const std::string& spec, const std::string& dataset) {
  if (spec == "random" || spec == "scripted") return {spec, ""};
  const fs::path file = m.dir / spec;
  if (!fs::exists(file))
    fail("suite dataset '{}': policy file {} does not exist", dataset, file.string());
  const std::string actual = sha256_file(file.string());
  const std::string expected = m.doc.value("policies", json::object()).value(spec, "");
  if (expected.empty())
    fail("suite dataset '{}': policy {} has no sha256 in the manifest's 'policies'", dataset, spec);
  if (actual != expected) {
    fail("suite dataset '{}': policy {} has sha256 {}, the manifest says {}", dataset, spec, actual,
         expected);
  }
  return {file.string(), actual};
}

std::unique_ptr<Policy> make_policy(const PolicySpec& p, const std::string& env_id) {
  if (p.spec == "random") return make_random_policy(make_env(env_id)->action_space());
  if (p.spec == "scripted") return make_scripted_policy(env_id);
  return as_env_policy(DeployedPolicy::load(p.spec));
}

int64_t default_size(const Manifest& m, const std::string& env) {
  const json sizes = m.doc.value("default_transitions", json::object());
  if (!sizes.contains(env)) fail("suite manifest: no default_transitions for {}", env);
  constexpr int64_t kMax = 1'000'000'000;
  if (!sizes[env].is_number_integer() || sizes[env].get<int64_t>() < 1 ||
      sizes[env].get<int64_t>() > kMax) {
    fail("suite manifest: default_transitions for {} must be an integer in [1, {}], got {}", env,
         kMax, sizes[env].dump());
  }
  return sizes[env].get<int64_t>();
}

// A rollout or mixture part: (policy, noise, transitions, seed).
Dataset roll_out(const std::string& env_id, const PolicySpec& policy, const std::string& noise,
                 int64_t transitions, uint64_t seed) {
  auto env = make_env(env_id);
  auto p = make_policy(policy, env_id);
  CollectOptions options{.transitions = transitions, .seed = seed};
  parse_noise(noise, options);
  Dataset d = collect(*env, *p, options);
  d.set_metadata_string("noise", noise);
  return d;
}

struct Built {
  Dataset dataset;
  std::string recipe_sha256;
};

class Builder {
 public:
  Builder(const Manifest& m, const SuiteBuildOptions& o) : m_(m), o_(o) {}

  // The recipe hash: what the dataset is made of (entry, size, policy bytes, stitch version).
  std::string recipe_hash(const std::string& name) {
    if (auto it = recipes_.find(name); it != recipes_.end()) return it->second;
    const json& d = m_.dataset(name, "a concat part");
    if (!visiting_.insert(name).second) {
      fail("{}: dataset '{}' is a part of itself (a concat cycle)",
           (m_.dir / "manifest.json").string(), name);
    }
    json r{{"entry", d}, {"version", version_string()}};
    const std::string recipe = d["recipe"];
    if (recipe == "concat") {
      for (const auto& part : d.at("parts"))
        r["parts"].push_back(recipe_hash(part.get<std::string>()));
    } else {
      r["transitions"] = transitions(d);
      for (const auto& p : policy_specs(d))
        r["policy_sha256"].push_back(resolve_policy(m_, p, name).sha256);
    }
    visiting_.erase(name);
    return recipes_[name] = sha256_hex(r.dump());
  }

  // Everything that can be checked before a file is written: the recipe (its parts, policies
  // and their sha256), the env id and the noise specs, so that a bad value fails the build
  // before it replaces any dataset.
  void check(const std::string& name) {
    recipe_hash(name);
    const json& d = m_.dataset(name, "a concat part");
    make_env(d["env"].get<std::string>());
    CollectOptions options;
    if (d.contains("noise")) parse_noise(d.value("noise", "none"), options);
    if (d["recipe"] == "mixture") {
      for (const auto& p : d.at("policies")) parse_noise(p.value("noise", "none"), options);
    }
  }

  Dataset make(const std::string& name) {
    const json& d = m_.dataset(name, "a concat part");
    const std::string env = d["env"], recipe = d["recipe"];
    const uint64_t seed = d.value("seed", uint64_t{0});
    Dataset out;
    if (recipe == "rollout") {
      out = roll_out(env, resolve_policy(m_, d.at("policy"), name), d.value("noise", "none"),
                     transitions(d), seed);
      out.set_metadata_string("policy", d.at("policy").get<std::string>());
    } else if (recipe == "mixture") {
      const json& parts = d.at("policies");
      if (!parts.is_array() || parts.empty())
        fail("suite dataset '{}': 'policies' must be a non-empty list", name);
      const int64_t total = transitions(d), n = static_cast<int64_t>(parts.size());
      std::vector<Dataset> pieces;
      std::vector<std::string> names;
      json record = json::array();  // every part's policy, noise, seed and rows
      int64_t row = 0;
      for (int64_t i = 0; i < n; ++i) {
        const int64_t share = total / n + (i + 1 == n ? total % n : 0);
        const json& p = parts[i];
        const uint64_t part_seed = seed + static_cast<uint64_t>(i) * 1'000'003;
        pieces.push_back(roll_out(env, resolve_policy(m_, p.at("policy"), name),
                                  p.value("noise", "none"), share, part_seed));
        names.push_back(p.at("policy").get<std::string>());
        const int64_t rows = pieces.back().size();
        record.push_back({{"policy", names.back()},
                          {"noise", p.value("noise", "none")},
                          {"seed", part_seed},
                          {"rows", {row, row + rows}}});
        row += rows;
      }
      out = merge_datasets(pieces, names);
      // The merged metadata came from the first part; describe the whole mixture instead.
      out.set_metadata_string("policy", "mixture");
      out.set_metadata_string("noise", "per part: see mixture_parts");
      out.set_metadata_number("seed", static_cast<double>(seed));
      out.metadata.erase("gaussian_noise");
      out.metadata.erase("epsilon");
      out.set_metadata_string("mixture_parts", record.dump());
    } else if (recipe == "concat") {
      std::vector<Dataset> pieces;
      std::vector<std::string> names;
      for (const auto& part : d.at("parts")) {
        names.push_back(part.get<std::string>());
        pieces.push_back(load_dataset(path_of(names.back())));
      }
      out = merge_datasets(pieces, names);
    } else {
      fail("suite dataset '{}': unknown recipe '{}' (rollout, mixture or concat)", name, recipe);
    }
    out.set_metadata_string("env_id", env);
    out.set_metadata_string("suite_dataset", name);
    out.set_metadata_string("recipe_sha256", recipe_hash(name));
    out.set_metadata_string("stitch_version", version_string());
    return out;
  }

  std::string path_of(const std::string& name) const {
    return (fs::path(o_.data_dir) / (name + ".hdf5")).string();
  }

 private:
  int64_t transitions(const json& d) const {
    return o_.size > 0 ? o_.size : default_size(m_, d["env"].get<std::string>());
  }
  std::vector<std::string> policy_specs(const json& d) const {
    std::vector<std::string> out;
    if (d["recipe"] == "rollout") out.push_back(d.at("policy"));
    if (d["recipe"] == "mixture") {
      for (const auto& p : d.at("policies")) out.push_back(p.at("policy"));
    }
    return out;
  }

  const Manifest& m_;
  const SuiteBuildOptions& o_;
  std::map<std::string, std::string> recipes_;
  std::set<std::string> visiting_;  // recipe_hash's path through concat parts
};

double mean_complete_return(const Dataset& d, int64_t* episodes) {
  double sum = 0.0;
  int64_t n = 0;
  for (const Episode& e : d.episodes) {
    if (e.complete()) {
      sum += e.total_return;
      ++n;
    }
  }
  *episodes = n;
  return n > 0 ? sum / static_cast<double>(n) : 0.0;
}

}  // namespace

std::vector<SuiteBuildEntry> build_suite(const SuiteBuildOptions& o) {
  const Manifest m = load_manifest(o.manifest);
  Builder builder(m, o);
  fs::create_directories(o.data_dir);
  // Concatenations after their parts: parts first, in manifest order.
  std::vector<std::string> order;
  for (const auto& name : m.order) {
    const json& d = m.datasets.at(name);
    if (!o.env.empty() && d["env"] != o.env) continue;
    if (d["recipe"] == "concat") {
      for (const auto& part : d.at("parts")) {
        if (std::find(order.begin(), order.end(), part.get<std::string>()) == order.end())
          order.push_back(part);
      }
    }
    if (std::find(order.begin(), order.end(), name) == order.end()) order.push_back(name);
  }
  std::stable_partition(order.begin(), order.end(), [&](const std::string& n) {
    return m.datasets.at(n)["recipe"] != "concat";
  });
  if (order.empty()) fail("{}: no datasets{}", o.manifest, o.env.empty() ? "" : " for " + o.env);
  for (const auto& name : order) builder.check(name);

  std::vector<SuiteBuildEntry> out;
  for (const auto& name : order) {
    SuiteBuildEntry e{.name = name, .path = builder.path_of(name)};
    const std::string recipe = builder.recipe_hash(name);
    const fs::path record = e.path + ".recipe.json";
    if (!o.force && fs::exists(e.path) && fs::exists(record)) {
      const json r = read_json(record.string());
      if (r.value("recipe_sha256", "") == recipe && r.value("sha256", "") == sha256_file(e.path)) {
        e.skipped = true;
        e.sha256 = r["sha256"];
        e.transitions = r.value("transitions", int64_t{0});
        spdlog::info("{}: up to date", e.path);
        out.push_back(e);
        continue;
      }
    }
    spdlog::info("building {}", e.path);
    const Dataset d = builder.make(name);
    save_dataset(d, e.path, {.layout = Layout::kD4rl, .force = true});
    e.sha256 = sha256_file(e.path);
    e.transitions = d.size();
    write_file_atomic(
        record,
        json{{"recipe_sha256", recipe}, {"sha256", e.sha256}, {"transitions", e.transitions}}.dump(
            2) +
            "\n");
    out.push_back(e);
  }
  return out;
}

std::vector<SuiteListEntry> list_suite(const std::string& manifest, const std::string& data_dir) {
  const Manifest m = load_manifest(manifest);
  std::vector<SuiteListEntry> out;
  for (const auto& name : m.order) {
    SuiteListEntry e{.name = name,
                     .env = m.datasets.at(name)["env"],
                     .path = (fs::path(data_dir) / (name + ".hdf5")).string()};
    if (fs::exists(e.path)) {
      const Dataset d = load_dataset(e.path);
      e.built = true;
      e.transitions = d.size();
      e.mean_return = mean_complete_return(d, &e.episodes);
      if (e.episodes > 0) e.normalized = normalized_score(e.env, e.mean_return);
    }
    out.push_back(e);
  }
  return out;
}

}  // namespace stitch
