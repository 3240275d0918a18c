// Reading JSON (and CBOR) that came from a file. nlohmann's parser and destructor are
// iterative, but copying, comparing and dumping a document, and stitch's own walks over one
// (core/config.h flattens nested keys), recurse once per level: a file of a few hundred
// kilobytes of '[' overflows the stack. So every reader parses through these functions, which
// refuse anything nested deeper than kMaxJsonDepth levels with one Error naming the source.
// No stitch file nests deeper than about five levels.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string_view>

namespace stitch {

inline constexpr int kMaxJsonDepth = 64;

// Throws Error "<source>: JSON nested deeper than 64 levels" when `text` is; text that is not
// JSON at all passes (the parse reports it).
void check_json_depth(std::string_view text, std::string_view source);

// json::parse(text, nullptr, false) after check_json_depth: a discarded value (is_discarded())
// when the text is not JSON.
nlohmann::json parse_json(std::string_view text, std::string_view source);

// json::from_cbor(bytes, strict, no exceptions) after the same depth check ("<source>: CBOR
// nested deeper than 64 levels"): a discarded value
// when the bytes are not one CBOR item (also for an array or string longer than memory can
// hold, which nlohmann reports with an exception).
nlohmann::json parse_cbor(std::string_view bytes, std::string_view source);

}  // namespace stitch
