// FID statistics merged from shards (issue 15): each shard's float64 accumulator state (n, mean,
// centred scatter M2) is moved through StatsAccumulator::state()/from_state() as a shard unit's
// file would carry it, merged in shard order with Chan et al.'s update, and compared with the
// one-pass statistics of the whole matrix: mean/covariance agree to 1e-12 and the FID to 1e-10
// relative, on real pixel features of PneumoniaMNIST.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "medsyn/metrics/fid.h"
#include "medsyn/metrics/stats.h"
#include "metrics_fixture_data.h"

using namespace medsyn;
using namespace medsyn::metrics;
namespace md = medsyn::test::metrics_data;

namespace {

// All 784 pixels of images [start, stop), in [0, 1].
Matrix32 all_pixels(const std::string& key, int start, int stop) {
  const auto& a = md::images("pneumoniamnist", key);
  Matrix32 m;
  m.rows = stop - start;
  m.cols = 784;
  for (std::size_t i = static_cast<std::size_t>(start) * 784; i < static_cast<std::size_t>(stop) * 784; ++i)
    m.data.push_back(md::u8f(a.bytes[i]));
  return m;
}

// The statistics of `m` as shard units produce them: one accumulator per shard of shard_size
// rows (fed in the extraction's batches of 64), its state carried over, merged in shard order.
GaussianStats merged_stats(const Matrix32& m, std::int64_t shard_size) {
  StatsAccumulator total(static_cast<int>(m.cols));
  for (std::int64_t b = 0; b < m.rows; b += shard_size) {
    StatsAccumulator shard(static_cast<int>(m.cols));
    const std::int64_t e = std::min(m.rows, b + shard_size);
    for (std::int64_t r = b; r < e; r += 64) shard.add(m.data.data() + r * m.cols, std::min<std::int64_t>(64, e - r));
    total.merge(StatsAccumulator::from_state(static_cast<int>(m.cols), shard.state()));
  }
  return total.finish("merged");
}

double max_rel(const std::vector<double>& a, const std::vector<double>& b) {
  double scale = 0, diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    scale = std::max(scale, std::abs(b[i]));
    diff = std::max(diff, std::abs(a[i] - b[i]));
  }
  return diff / scale;
}

}  // namespace

TEST_CASE("FID from statistics merged over shards equals the one-pass FID to 1e-10 relative", "[fid][shards]") {
  struct Case {
    const char* name;
    Matrix32 a, b;
  };
  const std::vector<Case> cases = {
      {"64-D pixels, train (4708) vs test (624)", md::pixel_features("pneumoniamnist", "train_images", 0, 4708, 64),
       md::pixel_features("pneumoniamnist", "test_images", 0, 624, 64)},
      {"784-D pixels, train 0-2354 vs train 2354-4708", all_pixels("train_images", 0, 2354), all_pixels("train_images", 2354, 4708)},
  };
  for (const auto& c : cases) {
    const GaussianStats one_a = compute_stats(c.a), one_b = compute_stats(c.b);
    const double fid_one = frechet_distance(one_a, one_b).fid;
    for (std::int64_t shard : {std::int64_t{1000}, std::int64_t{777}, std::int64_t{64}, c.a.rows - 1}) {
      INFO(c.name << ", shard size " << shard);
      const GaussianStats ma = merged_stats(c.a, shard), mb = merged_stats(c.b, shard);
      CHECK(ma.n == c.a.rows);
      const double mu_rel = max_rel(ma.mu, one_a.mu), sigma_rel = max_rel(ma.sigma, one_a.sigma);
      CHECK(mu_rel < 1e-12);
      CHECK(sigma_rel < 1e-12);
      const double fid_merged = frechet_distance(ma, mb).fid;
      const double rel = std::abs(fid_merged - fid_one) / fid_one;
      CHECK(rel < 1e-10);
      std::printf("shards %s, shard size %lld: FID one-pass %.17g merged %.17g rel %.3g; mean rel %.3g, cov rel %.3g\n", c.name,
                  static_cast<long long>(shard), fid_one, fid_merged, rel, mu_rel, sigma_rel);
    }
  }
}
