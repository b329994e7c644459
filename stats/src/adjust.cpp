// Holm and Benjamini-Hochberg adjusted p-values, as R p.adjust.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "common.h"
#include "medsyn/stats/adjust.h"

namespace medsyn::stats {

AdjustMethod parse_adjust_method(const std::string& name) {
  if (name == "holm") return AdjustMethod::holm;
  if (name == "bh" || name == "BH" || name == "fdr") return AdjustMethod::bh;
  throw InputError("unknown p-value adjustment '" + name + "' (expected holm or bh)");
}

std::string to_string(AdjustMethod m) { return m == AdjustMethod::holm ? "holm" : "bh"; }

std::vector<double> p_adjust(std::span<const double> p, AdjustMethod method) {
  for (std::size_t i = 0; i < p.size(); ++i)
    if (!(p[i] >= 0.0 && p[i] <= 1.0))
      throw InputError("p-value at position " + std::to_string(i + 1) + " is " + std::to_string(p[i]) +
                       ", expected a number in [0, 1]");
  const std::size_t n = p.size();
  std::vector<double> out(n);
  if (n == 0) return out;
  std::vector<std::size_t> o(n);
  std::iota(o.begin(), o.end(), std::size_t{0});
  const double nd = static_cast<double>(n);
  if (method == AdjustMethod::holm) {
    // o = order(p); pmin(1, cummax((n - i + 1) * p[o]))
    std::stable_sort(o.begin(), o.end(), [&](std::size_t a, std::size_t b) { return p[a] < p[b]; });
    double run = 0;
    for (std::size_t i = 0; i < n; ++i) {
      run = std::max(run, (nd - static_cast<double>(i)) * p[o[i]]);
      out[o[i]] = std::min(1.0, run);
    }
  } else {
    // o = order(p, decreasing = TRUE); i = n:1; pmin(1, cummin(n / i * p[o]))
    std::stable_sort(o.begin(), o.end(), [&](std::size_t a, std::size_t b) { return p[a] > p[b]; });
    double run = INFINITY;
    for (std::size_t k = 0; k < n; ++k) {
      const double i = nd - static_cast<double>(k);
      run = std::min(run, nd / i * p[o[k]]);
      out[o[k]] = std::min(1.0, run);
    }
  }
  return out;
}

}  // namespace medsyn::stats
