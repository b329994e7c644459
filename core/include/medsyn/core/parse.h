#pragma once
// Whole-string number parsing for flag and spec values ("0.5,0.95", "?zooms=1.1,1.2x1", ...):
// one place that decides what counts as a number, so every caller rejects "1.5x", "", "nan" alike.
#include <cmath>
#include <optional>
#include <string>

namespace medsyn {

// The value of `s` when all of it is one finite number; std::nullopt otherwise.
inline std::optional<double> parse_full_double(const std::string& s) {
  std::size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(s, &pos);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (s.empty() || pos != s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace medsyn
