#include "medsyn/metrics/bootstrap.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "medsyn/core/error.h"

namespace medsyn::metrics {

std::uint64_t random_below(std::mt19937_64& rng, std::uint64_t n) {
  if (n == 0) throw InputError("random_below: n must be > 0");
  // Reject the top partial block so every residue is equally likely.
  const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % n;
  for (;;) {
    const std::uint64_t v = rng();
    if (v < limit) return v % n;
  }
}

std::vector<std::int64_t> sample_without_replacement(std::mt19937_64& rng, std::int64_t n, std::int64_t k) {
  if (k < 0 || k > n) throw InputError("cannot draw " + std::to_string(k) + " distinct items from " + std::to_string(n));
  std::vector<std::int64_t> idx(static_cast<std::size_t>(n));
  std::iota(idx.begin(), idx.end(), std::int64_t{0});
  for (std::int64_t i = 0; i < k; ++i) {
    const auto j = i + static_cast<std::int64_t>(random_below(rng, static_cast<std::uint64_t>(n - i)));
    std::swap(idx[i], idx[j]);
  }
  idx.resize(static_cast<std::size_t>(k));
  return idx;
}

std::vector<std::int64_t> resample_indices(std::mt19937_64& rng, std::int64_t n) {
  std::vector<std::int64_t> idx(static_cast<std::size_t>(n));
  for (auto& v : idx) v = static_cast<std::int64_t>(random_below(rng, static_cast<std::uint64_t>(n)));
  return idx;
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(v.begin(), v.end());
  q = std::clamp(q, 0.0, 1.0);
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const auto hi = std::min(lo + 1, v.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return v[lo] + (v[hi] - v[lo]) * frac;
}

void finish_percentile_interval(std::vector<double> replicates, BootstrapResult& r) {
  std::vector<double> finite;
  finite.reserve(replicates.size());
  for (double v : replicates)
    if (std::isfinite(v)) finite.push_back(v);
  r.failed = static_cast<int>(replicates.size() - finite.size());
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (finite.empty() || 2 * finite.size() < replicates.size()) {
    r.low = r.high = r.se = nan;
    return;
  }
  const double alpha = (1.0 - r.level) / 2.0;
  r.low = percentile(finite, alpha);
  r.high = percentile(finite, 1.0 - alpha);
  if (finite.size() > 1) {
    double mean = 0;
    for (double v : finite) mean += v;
    mean /= static_cast<double>(finite.size());
    double ss = 0;
    for (double v : finite) ss += (v - mean) * (v - mean);
    r.se = std::sqrt(ss / static_cast<double>(finite.size() - 1));
  } else {
    r.se = 0;
  }
}

BootstrapResult bootstrap(std::int64_t n, const std::function<double(const std::vector<std::int64_t>&)>& statistic,
                          const BootstrapOptions& opt) {
  if (n < 1) throw InputError("bootstrap: need at least one sample");
  if (opt.replicates < 1) throw InputError("bootstrap: the number of replicates must be >= 1");
  if (!(opt.level > 0.0 && opt.level < 1.0)) throw InputError("bootstrap: level must be in (0, 1)");
  BootstrapResult r;
  r.level = opt.level;
  r.replicates = opt.replicates;
  std::vector<std::int64_t> identity(static_cast<std::size_t>(n));
  std::iota(identity.begin(), identity.end(), std::int64_t{0});
  r.estimate = statistic(identity);
  std::mt19937_64 rng(opt.seed);
  std::vector<double> reps;
  reps.reserve(static_cast<std::size_t>(opt.replicates));
  for (int b = 0; b < opt.replicates; ++b) reps.push_back(statistic(resample_indices(rng, n)));
  finish_percentile_interval(std::move(reps), r);
  return r;
}

BootstrapResult bootstrap_mean(const std::vector<double>& values, const BootstrapOptions& opt) {
  return bootstrap(
      static_cast<std::int64_t>(values.size()),
      [&](const std::vector<std::int64_t>& idx) {
        double s = 0;
        for (auto i : idx) s += values[static_cast<std::size_t>(i)];
        return s / static_cast<double>(idx.size());
      },
      opt);
}

}  // namespace medsyn::metrics
