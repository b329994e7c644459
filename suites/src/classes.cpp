// Per-class split of a modality's real and synthetic records (classes.h).
#include "medsyn/suites/classes.h"

#include <map>
#include <set>

#include "medsyn/core/text_encoding.h"

namespace medsyn::suites {

namespace {

int index_of(const std::vector<ClassInfo>& classes, long label) {
  for (std::size_t k = 0; k < classes.size(); ++k)
    if (classes[k].label == label) return static_cast<int>(k);
  return -1;
}

}  // namespace

std::vector<std::int64_t> ClassSplit::rows(int k) const {
  std::vector<std::int64_t> out;
  for (std::size_t i = 0; i < of.size(); ++i)
    if (of[i] == k) out.push_back(static_cast<std::int64_t>(i));
  return out;
}

std::vector<ClassInfo> real_classes(const std::vector<Record>& real) {
  std::map<long, std::string> names;
  for (const auto& r : real) {
    if (!r.label) return {};
    auto [it, fresh] = names.emplace(*r.label, r.label_name);
    if (!fresh && it->second.empty()) it->second = r.label_name;
  }
  if (names.size() < 2) return {};
  std::vector<ClassInfo> out;
  for (const auto& [label, name] : names) out.push_back({label, name.empty() ? std::to_string(label) : name});
  return out;
}

ClassSplit split_real(const std::vector<ClassInfo>& classes, const std::vector<Record>& records) {
  ClassSplit s;
  s.classes = classes;
  for (const auto& r : records) {
    const int k = r.label ? index_of(classes, *r.label) : -1;
    s.of.push_back(k);
    (k >= 0 ? s.by_label : s.none) += 1;
  }
  return s;
}

ClassSplit split_synthetic(const std::vector<ClassInfo>& classes, const std::vector<Record>& real_train,
                           const std::vector<Record>& records) {
  // Normalised training prompt -> class; -2 when the prompt is shared by several classes.
  std::map<std::string, int> by_prompt;
  for (const auto& r : real_train) {
    if (r.prompt.empty() || !r.label) continue;
    const int k = index_of(classes, *r.label);
    if (k < 0) continue;
    auto [it, fresh] = by_prompt.emplace(normalise_prompt_text(r.prompt), k);
    if (!fresh && it->second != k) it->second = -2;
  }
  ClassSplit s;
  s.classes = classes;
  for (const auto& r : records) {
    int k = -1;
    if (!r.prompt.empty())
      if (const auto it = by_prompt.find(normalise_prompt_text(r.prompt)); it != by_prompt.end() && it->second >= 0) k = it->second;
    if (k >= 0) {
      ++s.by_prompt;
    } else if (r.label && (k = index_of(classes, *r.label)) >= 0) {
      ++s.by_label;
    } else {
      k = -1;
      ++s.none;
    }
    s.of.push_back(k);
  }
  return s;
}

}  // namespace medsyn::suites
