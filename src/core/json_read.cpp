#include "core/json_read.h"

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"

namespace stitch {
namespace {

using nlohmann::json;

// A SAX consumer that only counts nesting and stops the parser (returns false) one level past
// the limit, before the parser descends any further.
class DepthCounter {
 public:
  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(json::number_integer_t) { return true; }
  bool number_unsigned(json::number_unsigned_t) { return true; }
  bool number_float(json::number_float_t, const json::string_t&) { return true; }
  bool string(json::string_t&) { return true; }
  bool binary(json::binary_t&) { return true; }
  bool key(json::string_t&) { return true; }
  bool start_object(std::size_t) { return enter(); }
  bool end_object() { return leave(); }
  bool start_array(std::size_t) { return enter(); }
  bool end_array() { return leave(); }
  bool parse_error(std::size_t, const std::string&, const json::exception&) { return false; }

  bool too_deep() const { return too_deep_; }

 private:
  bool enter() {
    if (++depth_ > kMaxJsonDepth) too_deep_ = true;
    return !too_deep_;
  }
  bool leave() {
    --depth_;
    return true;
  }
  int depth_ = 0;
  bool too_deep_ = false;
};

void check_depth(std::string_view bytes, std::string_view source, json::input_format_t format) {
  DepthCounter counter;
  json::sax_parse(bytes.begin(), bytes.end(), &counter, format, /*strict=*/true);
  if (counter.too_deep()) {
    fail("{}: {} nested deeper than {} levels", source,
         format == json::input_format_t::cbor ? "CBOR" : "JSON", kMaxJsonDepth);
  }
}

}  // namespace

void check_json_depth(std::string_view text, std::string_view source) {
  check_depth(text, source, json::input_format_t::json);
}

json parse_json(std::string_view text, std::string_view source) {
  check_json_depth(text, source);
  return json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
}

json parse_cbor(std::string_view bytes, std::string_view source) {
  check_depth(bytes, source, json::input_format_t::cbor);
  try {
    return json::from_cbor(bytes.begin(), bytes.end(), /*strict=*/true,
                           /*allow_exceptions=*/false);
  } catch (const json::exception&) {
    return json(json::value_t::discarded);
  }
}

}  // namespace stitch
