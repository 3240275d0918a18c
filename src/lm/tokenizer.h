// The character tokenizer of stitch's token policies (src/lm): one token per character of the
// verifiable tasks' alphabet (lm/tasks.h), plus padding, beginning and end of sequence. Small on
// purpose: the policies are ~0.1M-10M-parameter transformers trained from scratch here, and a
// character vocabulary keeps every task's answer checkable character by character.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stitch::lm {

class CharTokenizer {
 public:
  static constexpr int32_t kPad = 0, kBos = 1, kEos = 2;

  CharTokenizer();
  int32_t vocab_size() const { return static_cast<int32_t>(chars_.size()) + 3; }
  // The alphabet, in token order after the three special tokens.
  const std::string& alphabet() const { return chars_; }

  // One token per character; Error naming the character and its position for one outside the
  // alphabet.
  std::vector<int32_t> encode(std::string_view text) const;
  // The text of `ids` up to the first kEos (kBos and kPad skipped); Error for an id outside the
  // vocabulary.
  std::string decode(std::span<const int32_t> ids) const;

 private:
  std::string chars_;
  int32_t id_of_[256];
};

}  // namespace stitch::lm
