#include <algorithm>
#include <cctype>
#include <set>

#include "medsyn/core/error.h"
#include "medsyn/core/json.h"
#include "medsyn/engine/tokenizer.h"

namespace medsyn::engine {

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (unsigned char ch : text) {
    if (std::isalnum(ch)) {
      cur.push_back(static_cast<char>(std::tolower(ch)));
    } else if (!cur.empty()) {
      out.push_back(cur);
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

Tokenizer Tokenizer::build(const std::vector<std::string>& prompts) {
  std::set<std::string> words;
  for (const auto& p : prompts)
    for (auto& w : split_words(p)) words.insert(w);
  Tokenizer t;
  t.words_.assign(words.begin(), words.end());
  for (std::size_t i = 0; i < t.words_.size(); ++i) t.ids_[t.words_[i]] = static_cast<std::int64_t>(i) + 3;
  return t;
}

Tokenizer Tokenizer::from_json(const json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("words") || !j["words"].is_array())
    throw InputError(where + ": field 'words': expected an array of strings");
  Tokenizer t;
  for (const auto& w : j["words"]) {
    if (!w.is_string()) throw InputError(where + ": field 'words': expected an array of strings");
    t.words_.push_back(w.get<std::string>());
  }
  for (std::size_t i = 0; i < t.words_.size(); ++i) {
    if (!t.ids_.emplace(t.words_[i], static_cast<std::int64_t>(i) + 3).second)
      throw InputError(where + ": field 'words': duplicate word '" + t.words_[i] + "'");
  }
  return t;
}

json Tokenizer::to_json() const {
  return json{{"special", {"<pad>", "<unk>", "<bos>"}}, {"words", words_}, {"vocab_size", vocab_size()}};
}

std::vector<std::int64_t> Tokenizer::encode(const std::string& prompt, int max_tokens, bool* truncated,
                                            int* unknown) const {
  std::vector<std::int64_t> ids(static_cast<std::size_t>(std::max(1, max_tokens)), kPad);
  ids[0] = kBos;
  const auto words = split_words(prompt);
  int unk = 0;
  std::size_t k = 1;
  for (const auto& w : words) {
    auto it = ids_.find(w);
    const std::int64_t id = it == ids_.end() ? kUnk : it->second;
    if (id == kUnk) ++unk;
    if (k < ids.size()) ids[k++] = id;
  }
  if (truncated) *truncated = words.size() + 1 > ids.size();
  if (unknown) *unknown = unk;
  return ids;
}

}  // namespace medsyn::engine
