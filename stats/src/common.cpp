// Internal helpers: midranks, tie terms, input validation.
#include "common.h"

#include <algorithm>
#include <numeric>

namespace medsyn::stats::detail {

std::vector<double> midranks(std::span<const double> v) {
  const std::size_t n = v.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
  std::vector<double> ranks(n);
  std::size_t i = 0;
  while (i < n) {
    std::size_t j = i;
    while (j + 1 < n && v[order[j + 1]] == v[order[i]]) ++j;
    // positions i..j (0-based) share the average of ranks i+1..j+1
    const double r = 0.5 * (static_cast<double>(i + 1) + static_cast<double>(j + 1));
    for (std::size_t k = i; k <= j; ++k) ranks[order[k]] = r;
    i = j + 1;
  }
  return ranks;
}

double tie_term_sorted(const std::vector<double>& sorted) {
  double term = 0;
  std::size_t i = 0;
  while (i < sorted.size()) {
    std::size_t j = i;
    while (j + 1 < sorted.size() && sorted[j + 1] == sorted[i]) ++j;
    const double t = static_cast<double>(j - i + 1);
    term += t * t * t - t;
    i = j + 1;
  }
  return term;
}

void require_same_size(std::size_t a, std::size_t b, const char* what_a, const char* what_b) {
  if (a != b)
    throw InputError(std::string(what_a) + " and " + what_b + " must have the same length (" +
                     std::to_string(a) + " vs " + std::to_string(b) + ")");
}

void require_finite(std::span<const double> v, const char* what) {
  for (std::size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i]))
      throw InputError(std::string(what) + ": value at index " + std::to_string(i) + " is not finite");
}

void require_binary(std::span<const int> labels) {
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] != 0 && labels[i] != 1)
      throw InputError("labels: value at index " + std::to_string(i) + " is " + std::to_string(labels[i]) +
                       ", expected 0 or 1");
}

void require_level(double level) {
  if (!(level > 0.0 && level < 1.0))
    throw InputError("confidence level must be between 0 and 1 (exclusive), got " + std::to_string(level));
}

}  // namespace medsyn::stats::detail
