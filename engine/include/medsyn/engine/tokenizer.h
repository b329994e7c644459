#pragma once
// Prompt tokenizer. Text is lower-cased and split into words of letters/digits (every other
// character separates words, e.g. "chest x-ray, pneumonia" -> chest x ray pneumonia).
// Ids: 0 <pad>, 1 <unk>, 2 <bos>, then the training vocabulary in sorted order.
// encode() gives [<bos>, w1, w2, ...] padded with <pad> to max_tokens; words not in the
// vocabulary become <unk>. The empty prompt (used for classifier-free guidance) is [<bos>].
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace medsyn::engine {

std::vector<std::string> split_words(const std::string& text);

class Tokenizer {
 public:
  static constexpr std::int64_t kPad = 0, kUnk = 1, kBos = 2;
  Tokenizer() = default;
  static Tokenizer build(const std::vector<std::string>& prompts);
  static Tokenizer from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;

  std::int64_t vocab_size() const { return static_cast<std::int64_t>(words_.size()) + 3; }
  const std::vector<std::string>& words() const { return words_; }
  // Token ids, length max_tokens. `truncated`/`unknown` (optional) report what happened.
  std::vector<std::int64_t> encode(const std::string& prompt, int max_tokens, bool* truncated = nullptr,
                                   int* unknown = nullptr) const;

 private:
  std::vector<std::string> words_;
  std::map<std::string, std::int64_t> ids_;
};

}  // namespace medsyn::engine
