#include "medsyn/stats/random.h"

#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "medsyn/core/error.h"

namespace medsyn::stats {

std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream) {
  std::uint64_t z = seed ^ (0x9E3779B97F4A7C15ULL * (stream + 1));
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::uint64_t random_below(Rng& rng, std::uint64_t n) {
  if (n == 0) throw InputError("random_below: n must be > 0");
  // Reject the top partial block so every residue is equally likely.
  const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % n;
  for (;;) {
    const std::uint64_t v = rng();
    if (v < limit) return v % n;
  }
}

double uniform01(Rng& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

double standard_normal(Rng& rng) {
  for (;;) {
    const double u = 2.0 * uniform01(rng) - 1.0;
    const double v = 2.0 * uniform01(rng) - 1.0;
    const double s = u * u + v * v;
    if (s > 0.0 && s < 1.0) return u * std::sqrt(-2.0 * std::log(s) / s);
  }
}

std::vector<std::int64_t> sample_without_replacement(Rng& rng, std::int64_t n, std::int64_t k) {
  if (k < 0 || k > n) throw InputError("cannot draw " + std::to_string(k) + " distinct items from " + std::to_string(n));
  std::vector<std::int64_t> idx(static_cast<std::size_t>(n));
  std::iota(idx.begin(), idx.end(), std::int64_t{0});
  for (std::int64_t i = 0; i < k; ++i) {
    const auto j = i + static_cast<std::int64_t>(random_below(rng, static_cast<std::uint64_t>(n - i)));
    std::swap(idx[static_cast<std::size_t>(i)], idx[static_cast<std::size_t>(j)]);
  }
  idx.resize(static_cast<std::size_t>(k));
  return idx;
}

std::vector<std::int64_t> resample_indices(Rng& rng, std::int64_t n) {
  std::vector<std::int64_t> idx(static_cast<std::size_t>(n));
  for (auto& v : idx) v = static_cast<std::int64_t>(random_below(rng, static_cast<std::uint64_t>(n)));
  return idx;
}

}  // namespace medsyn::stats
