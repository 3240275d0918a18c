#include "core/config.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "core/error.h"
#include "core/json_read.h"

namespace stitch {
namespace {

template <typename T>
using Range = ConfigFields::Range<T>;

// "[1, 65536]", "(0, 1]": the range as the error messages show it.
template <typename T>
std::string range_text(const Range<T>& r) {
  return fmt::format("{}{}, {}{}", r.min_open ? '(' : '[', r.min, r.max, r.max_open ? ')' : ']');
}

template <typename T>
bool in_range(T value, const Range<T>& r) {
  const bool above_min = r.min_open ? value > r.min : value >= r.min;
  const bool below_max = r.max_open ? value < r.max : value <= r.max;
  return above_min && below_max;
}

// Parses a number of type T and checks `range`. A number too large for T (e.g. 2^63 for an
// int) is reported like any other value outside the range.
template <typename T>
T parse_number(std::string_view key, std::string_view text, const std::optional<Range<T>>& range) {
  const char* what = std::is_floating_point_v<T> ? "a number"
                     : std::is_signed_v<T>       ? "an integer"
                                                 : "a non-negative integer";
  T value{};
  const char* first = text.data();
  const char* last = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(first, last, value);
  if (text.empty() || ptr != last || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    fail("config key '{}': expected {}, got '{}'", key, what, text);
  }
  if constexpr (std::is_floating_point_v<T>) {
    if (ec == std::errc() && !std::isfinite(value)) {
      fail("config key '{}': expected a finite number, got '{}'", key, text);
    }
  }
  if (ec == std::errc::result_out_of_range) {  // too large for T: T's own limits are the range
    fail("config key '{}': must be in {}, got {}", key, range_text(range.value_or(Range<T>{})),
         text);
  }
  if (range && !in_range(value, *range)) {
    fail("config key '{}': must be in {}, got {}", key, range_text(*range), text);
  }
  return value;
}

bool parse_bool(std::string_view key, std::string_view text) {
  if (text == "true" || text == "1" || text == "yes" || text == "on") return true;
  if (text == "false" || text == "0" || text == "no" || text == "off") return false;
  fail("config key '{}': expected true or false, got '{}'", key, text);
}

bool is_utf8(std::string_view text) {
  try {
    nlohmann::json(text).dump();
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

template <typename T>
ConfigFields::Field make_field(std::string key, T& value, std::string type, std::string help) {
  ConfigFields::Field f;
  f.key = std::move(key);
  f.type = std::move(type);
  f.help = std::move(help);
  f.set_text = [&value](std::string_view k, std::string_view text) {
    if constexpr (std::is_same_v<T, bool>) {
      value = parse_bool(k, text);
    } else {
      // Configs are written back as JSON (a run's config.json), which holds only UTF-8.
      if (!is_utf8(text)) fail("config key '{}': the value is not UTF-8 text", k);
      value = std::string(text);
    }
  };
  f.write_json = [&value](nlohmann::json& out) { out = value; };
  return f;
}

template <typename T>
ConfigFields::Field make_numeric_field(std::string key, T& value, std::string type,
                                       std::string help, std::optional<Range<T>> range) {
  ConfigFields::Field f;
  f.key = std::move(key);
  f.type = std::move(type);
  f.help = std::move(help);
  if (range) f.range = range_text(*range);
  f.set_text = [&value, range](std::string_view k, std::string_view text) {
    value = parse_number<T>(k, text, range);
  };
  f.write_json = [&value](nlohmann::json& out) { out = value; };
  return f;
}

// Walks to the JSON node for a dotted key, creating objects on the way.
nlohmann::json& node_for(nlohmann::json& root, const std::string& key) {
  nlohmann::json* node = &root;
  size_t start = 0;
  while (true) {
    const size_t dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? dot : dot - start);
    node = &(*node)[part];
    if (dot == std::string::npos) return *node;
    start = dot + 1;
  }
}

void flatten(const nlohmann::json& j, const std::string& prefix,
             std::vector<std::pair<std::string, const nlohmann::json*>>& out) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (it->is_object()) {
      flatten(*it, key, out);
    } else {
      out.emplace_back(key, &*it);
    }
  }
}

}  // namespace

void ConfigFields::add(std::string key, bool& v, std::string help) {
  fields_.push_back(make_field(std::move(key), v, "bool", std::move(help)));
}
template <typename T>
void ConfigFields::add_numeric(std::string key, T& value, std::string help, const Range<T>* range) {
  const char* type = std::is_floating_point_v<T> ? "float" : std::is_signed_v<T> ? "int" : "uint";
  fields_.push_back(make_numeric_field<T>(std::move(key), value, type, std::move(help),
                                          range ? std::optional(*range) : std::nullopt));
}
void ConfigFields::add(std::string key, int& v, std::string help, Range<int> r) {
  add_numeric(std::move(key), v, std::move(help), &r);
}
void ConfigFields::add(std::string key, int64_t& v, std::string help, Range<int64_t> r) {
  add_numeric(std::move(key), v, std::move(help), &r);
}
void ConfigFields::add(std::string key, uint64_t& v, std::string help, Range<uint64_t> r) {
  add_numeric(std::move(key), v, std::move(help), &r);
}
void ConfigFields::add(std::string key, float& v, std::string help, Range<float> r) {
  add_numeric(std::move(key), v, std::move(help), &r);
}
void ConfigFields::add(std::string key, double& v, std::string help, Range<double> r) {
  add_numeric(std::move(key), v, std::move(help), &r);
}
void ConfigFields::add(std::string key, int& v, std::string help) {
  add_numeric<int>(std::move(key), v, std::move(help), nullptr);
}
void ConfigFields::add(std::string key, int64_t& v, std::string help) {
  add_numeric<int64_t>(std::move(key), v, std::move(help), nullptr);
}
void ConfigFields::add(std::string key, uint64_t& v, std::string help) {
  add_numeric<uint64_t>(std::move(key), v, std::move(help), nullptr);
}
void ConfigFields::add(std::string key, float& v, std::string help) {
  add_numeric<float>(std::move(key), v, std::move(help), nullptr);
}
void ConfigFields::add(std::string key, double& v, std::string help) {
  add_numeric<double>(std::move(key), v, std::move(help), nullptr);
}
void ConfigFields::add(std::string key, std::string& v, std::string help) {
  fields_.push_back(make_field(std::move(key), v, "string", std::move(help)));
}

const ConfigFields::Field* ConfigFields::find(std::string_view key) const {
  for (const auto& f : fields_) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

void ConfigFields::apply_override(std::string_view key_value, std::string_view origin) {
  const size_t eq = key_value.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    fail("{} '{}': expected key=value", origin, key_value);
  }
  const std::string_view key = key_value.substr(0, eq);
  const std::string_view value = key_value.substr(eq + 1);
  const Field* field = find(key);
  if (field == nullptr) {
    std::string known;
    for (const auto& f : fields_) known += (known.empty() ? "" : ", ") + f.key;
    fail("{} '{}': unknown config key '{}' (known keys: {})", origin, key_value, key, known);
  }
  field->set_text(field->key, value);
}

void ConfigFields::apply_json(const nlohmann::json& object, std::string_view origin) {
  if (!object.is_object()) fail("{}: expected a JSON object at the top level", origin);
  std::vector<std::pair<std::string, const nlohmann::json*>> leaves;
  flatten(object, "", leaves);
  for (const auto& [key, value] : leaves) {
    std::string text;
    if (value->is_string()) {
      text = value->get<std::string>();
    } else if (value->is_boolean() || value->is_number()) {
      text = value->dump();
    } else {
      fail("{}: config key '{}' must be a string, number or boolean, got {}", origin, key,
           value->type_name());
    }
    apply_override(key + "=" + text, origin);
  }
}

nlohmann::json ConfigFields::to_json() const {
  nlohmann::json root = nlohmann::json::object();
  for (const auto& f : fields_) f.write_json(node_for(root, f.key));
  return root;
}

namespace detail {

void apply_json_file(ConfigFields& fields, const std::string& path) {
  std::ifstream in(path);
  if (!in) fail("config file '{}': cannot open", path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  check_json_depth(text, "config file '" + path + "'");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    fail("config file '{}': invalid JSON at byte {}", path, e.byte);
  } catch (const nlohmann::json::exception& e) {
    // E.g. a number beyond a double's range (nlohmann's out_of_range 406, found by the fuzzer).
    std::string what = e.what();
    if (const size_t close = what.find("] "); close != std::string::npos) what.erase(0, close + 2);
    fail("config file '{}': invalid JSON: {}", path, what.substr(0, 120));
  }
  fields.apply_json(j, "config file '" + path + "'");
}

std::string dump_json(const ConfigFields& fields, int indent) {
  return fields.to_json().dump(indent);
}

}  // namespace detail
}  // namespace stitch
