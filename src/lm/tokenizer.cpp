#include "lm/tokenizer.h"

#include <algorithm>

#include "core/error.h"

namespace stitch::lm {

// Digits, the four operations, parentheses, and the tasks' separators (lm/tasks.h).
CharTokenizer::CharTokenizer() : chars_("0123456789+-*/()=,>CS") {
  std::fill(std::begin(id_of_), std::end(id_of_), -1);
  for (size_t i = 0; i < chars_.size(); ++i)
    id_of_[static_cast<unsigned char>(chars_[i])] = static_cast<int32_t>(i) + 3;
}

std::vector<int32_t> CharTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const int32_t id = id_of_[static_cast<unsigned char>(text[i])];
    if (id < 0) {
      fail("tokenizer: character {} at position {} is not in the alphabet '{}'",
           static_cast<int>(static_cast<unsigned char>(text[i])), i, chars_);
    }
    ids.push_back(id);
  }
  return ids;
}

std::string CharTokenizer::decode(std::span<const int32_t> ids) const {
  std::string text;
  for (const int32_t id : ids) {
    if (id == kEos) break;
    if (id == kBos || id == kPad) continue;
    if (id < 3 || id >= vocab_size())
      fail("tokenizer: token id {} is outside the vocabulary of {}", id, vocab_size());
    text.push_back(chars_[static_cast<size_t>(id - 3)]);
  }
  return text;
}

}  // namespace stitch::lm
