// Typed configuration: plain structs with documented in-class defaults, overridable from a JSON
// file and from `--set key=value`, printed back in full as JSON.
//
// A config struct describes its fields once:
//
//   struct RunConfig {
//     int episodes = 10;          // episodes to run
//     std::string env = "pendulum-v1";
//     void describe(ConfigFields& f) {
//       f.add("episodes", episodes, "episodes to run", {.min = 1, .max = 1000000});
//       f.add("env", env, "environment id");
//     }
//     void validate() const;      // optional: cross-field checks; throws stitch::Error
//   };
//
// Every numeric field declares its allowed range (`{.min, .max}`, closed unless `min_open` /
// `max_open`); a value outside it fails when it is applied, from a JSON file or a `--set`, with
// one line naming the key, the range and the value:
//   config key 'iql.hidden': must be in [1, 65536], got -3
// Floating-point fields reject nan and inf whatever their range. validate() is left with the
// checks that involve more than one field.
//
// Nested structs use `f.nest("optim", optim)` and their keys become `optim.lr`.
// Resolution order: in-class defaults, then a JSON file, then each `--set` in order.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace stitch {

class ConfigFields {
 public:
  // The values a numeric field accepts: min <= value <= max, or < / > for an open end.
  template <typename T>
  struct Range {
    T min = std::numeric_limits<T>::lowest();
    T max = std::numeric_limits<T>::max();
    bool min_open = false;
    bool max_open = false;
  };

  struct Field {
    std::string key;   // dotted key, e.g. "optim.lr"
    std::string type;  // "bool", "int", "uint", "float", "string"
    std::string help;
    // The allowed range as text, e.g. "[1, 65536]" or "(0, 1]"; empty when the field declared
    // none (bool and string fields, or a numeric field added without a range).
    std::string range;
    // Parses `text` and checks the range; throws Error naming `key` (the field's full key).
    std::function<void(std::string_view key, std::string_view text)> set_text;
    std::function<void(nlohmann::json&)> write_json;  // writes the typed value
  };

  void add(std::string key, bool& value, std::string help);
  void add(std::string key, std::string& value, std::string help);
  // Numeric fields: `range` is what the value must lie in (see the top of this file). Every
  // stitch config gives one (tests/cli/config_validation_test.cpp checks); the overloads
  // without it remain for quick experiments.
  void add(std::string key, int& value, std::string help, Range<int> range);
  void add(std::string key, int64_t& value, std::string help, Range<int64_t> range);
  void add(std::string key, uint64_t& value, std::string help, Range<uint64_t> range);
  void add(std::string key, float& value, std::string help, Range<float> range);
  void add(std::string key, double& value, std::string help, Range<double> range);
  void add(std::string key, int& value, std::string help);
  void add(std::string key, int64_t& value, std::string help);
  void add(std::string key, uint64_t& value, std::string help);
  void add(std::string key, float& value, std::string help);
  void add(std::string key, double& value, std::string help);

  // Adds every field of `sub` under "prefix.".
  template <typename T>
  void nest(const std::string& prefix, T& sub) {
    ConfigFields inner;
    sub.describe(inner);
    for (auto& field : inner.fields_) {
      field.key = prefix + "." + field.key;
      fields_.push_back(std::move(field));
    }
  }

  const std::vector<Field>& fields() const { return fields_; }
  // The field with this key, or nullptr.
  const Field* find(std::string_view key) const;

  // Applies one "key=value" override; `origin` names where it came from (e.g. "--set").
  // Throws Error for a missing '=', an unknown key (listing the known ones) or a bad value.
  void apply_override(std::string_view key_value, std::string_view origin = "--set");
  // Applies every leaf of a JSON object (nested objects map to dotted keys).
  void apply_json(const nlohmann::json& object, std::string_view origin);
  // All fields as a nested JSON object.
  nlohmann::json to_json() const;

 private:
  template <typename T>
  void add_numeric(std::string key, T& value, std::string help, const Range<T>* range);

  std::vector<Field> fields_;
};

// (0, 1]: the range of learning rates and Polyak (target update) rates.
inline constexpr ConfigFields::Range<double> kRateRange{.min = 0, .max = 1, .min_open = true};

namespace detail {
// Reads a JSON file into `fields`; throws Error naming the file on any parse problem.
void apply_json_file(ConfigFields& fields, const std::string& path);
std::string dump_json(const ConfigFields& fields, int indent);
}  // namespace detail

template <typename T>
concept Validatable = requires(const T& t) {
  t.validate();
};

// Resolves a config: JSON file (when `json_path` is non-empty), then each override, then
// `validate()` when the struct has one.
template <typename T>
void resolve_config(T& config, const std::string& json_path,
                    const std::vector<std::string>& overrides) {
  ConfigFields fields;
  config.describe(fields);
  if (!json_path.empty()) detail::apply_json_file(fields, json_path);
  for (const auto& kv : overrides) fields.apply_override(kv);
  if constexpr (Validatable<T>) config.validate();
}

// The config as indented JSON text, e.g. to print at the start of a run.
template <typename T>
std::string config_to_string(const T& config, int indent = 2) {
  ConfigFields fields;
  const_cast<T&>(config).describe(fields);  // describe() only takes addresses
  return detail::dump_json(fields, indent);
}

}  // namespace stitch
