#include <catch2/catch.hpp>

#include <cmath>

#include "medsyn/core/error.h"
#include "medsyn/metrics/fid.h"
#include "medsyn/metrics/stats.h"
#include "metrics_fixture_data.h"

using namespace medsyn;
using namespace medsyn::metrics;
namespace md = medsyn::test::metrics_data;

namespace {
struct FidCase {
  const char* name;
  const char* ds_a;
  int a0, a1;
  const char* ds_b;
  int b0, b1;
  int dim;
};
const FidCase kCases[] = {
    {"d16_breast_vs_pneumonia", "breastmnist", 0, 200, "pneumoniamnist", 0, 300, 16},
    {"d16_breast_vs_breast", "breastmnist", 0, 200, "breastmnist", 200, 400, 16},
    {"d64_breast_vs_pneumonia", "breastmnist", 0, 300, "pneumoniamnist", 0, 400, 64},
    {"d64_breast_vs_breast", "breastmnist", 0, 300, "breastmnist", 300, 546, 64},
};
}  // namespace

TEST_CASE("FID agrees with the pytorch-fid scipy sqrtm recipe to 1e-6 relative (N > D)", "[fid]") {
  for (const auto& c : kCases) {
    INFO(c.name);
    auto a = md::pixel_features(c.ds_a, "train_images", c.a0, c.a1, c.dim);
    auto b = md::pixel_features(c.ds_b, "train_images", c.b0, c.b1, c.dim);
    const auto r = frechet_distance(compute_stats(a), compute_stats(b));
    const double want = md::golden()["fid"][c.name]["fid"].get<double>();
    CHECK(md::rel_err(r.fid, want) < 1e-6);
    CHECK_FALSE(r.diagnostics.regularized);
    CHECK(r.diagnostics.method == "cholesky_a");
    CHECK(r.dim == c.dim);
    CHECK(r.n_a == c.a1 - c.a0);
    // Symmetric in its arguments.
    const auto r2 = frechet_distance(compute_stats(b), compute_stats(a));
    CHECK(md::rel_err(r2.fid, want) < 1e-6);
  }
}

TEST_CASE("FID of a set with itself is 0 and never negative", "[fid]") {
  auto a = md::pixel_features("breastmnist", "train_images", 0, 200, 64);
  const auto s = compute_stats(a);
  const auto r = frechet_distance(s, s);
  CHECK(r.fid >= 0.0);
  CHECK(r.fid < 1e-10);
}

TEST_CASE("feature statistics stream and merge like numpy mean/cov", "[fid][stats]") {
  auto a = md::pixel_features("breastmnist", "train_images", 0, 200, 16);
  // numpy-written statistics file (np.savez, pytorch-fid layout) loads and matches.
  const auto ref = read_stats_npz(test::fixtures_dir() / "metrics" / "stats_breast_d16.npz");
  CHECK(ref.n == 0);  // no 'n' in pytorch-fid files
  REQUIRE(ref.dim == 16);
  const auto whole = compute_stats(a);
  for (int i = 0; i < 16; ++i) CHECK(std::abs(whole.mu[i] - ref.mu[i]) < 1e-14);
  for (int i = 0; i < 256; ++i) CHECK(std::abs(whole.sigma[i] - ref.sigma[i]) < 1e-14);
  CHECK(std::abs(ref.mu[0] - md::golden()["stats_breast_d16"]["mu0"].get<double>()) < 1e-15);

  // Odd batch sizes and shard merging give the same statistics.
  StatsAccumulator s1(16), s2(16), s3(16);
  s1.add(a.data.data(), 7);
  s1.add(a.data.data() + 7 * 16, 90);
  s2.add(a.data.data() + 97 * 16, 1);
  s2.add(a.data.data() + 98 * 16, 102);
  StatsAccumulator merged(16);
  merged.merge(s3);  // empty
  merged.merge(s1);
  merged.merge(s2);
  const auto m = merged.finish();
  CHECK(m.n == 200);
  for (int i = 0; i < 16; ++i) CHECK(std::abs(m.mu[i] - ref.mu[i]) < 1e-14);
  for (int i = 0; i < 256; ++i) CHECK(std::abs(m.sigma[i] - ref.sigma[i]) < 1e-14);

  // Round trip through our own .npz (with n).
  test::TempDir tmp;
  write_stats_npz(tmp / "s.npz", m);
  const auto back = read_stats_npz(tmp / "s.npz");
  CHECK(back.n == 200);
  CHECK(back.sigma == m.sigma);
  CHECK(back.mu == m.mu);

  // FID from the numpy stats file equals FID from the features.
  auto b = md::pixel_features("pneumoniamnist", "train_images", 0, 300, 16);
  const double want = md::golden()["fid"]["d16_breast_vs_pneumonia"]["fid"].get<double>();
  CHECK(md::rel_err(frechet_distance(ref, compute_stats(b)).fid, want) < 1e-6);
}

TEST_CASE("FID with N <= D warns, regularises with eps=1e-6 and reports it", "[fid]") {
  auto a = md::pixel_features("breastmnist", "train_images", 0, 40, 64);
  auto b = md::pixel_features("pneumoniamnist", "train_images", 0, 400, 64);
  const auto r = frechet_distance(compute_stats(a), compute_stats(b));
  const auto& g = md::golden()["fid"]["d64_rank_deficient_n40"];
  CHECK(r.diagnostics.regularized);
  CHECK(r.diagnostics.rank_deficient_a);
  CHECK_FALSE(r.diagnostics.rank_deficient_b);
  CHECK(r.diagnostics.eps == 1e-6);
  CHECK(r.diagnostics.reason.find("rank-deficient") != std::string::npos);
  CHECK(!r.diagnostics.warnings.empty());
  CHECK(md::rel_err(r.fid, g["fid_eps"].get<double>()) < 1e-6);
  // Unregularised value from the exact PSD square root vs scipy sqrtm of the singular product.
  CHECK(md::rel_err(r.diagnostics.fid_unregularized, g["fid_pytorch_fid"].get<double>()) < 1e-5);
  const auto j = fid_to_json(r);
  CHECK(j["diagnostics"]["regularized"].get<bool>());
  CHECK(j["n_a"].get<long>() == 40);
}

TEST_CASE("FID never crashes on singular covariance with N > D (constant feature)", "[fid]") {
  auto a = md::pixel_features("breastmnist", "train_images", 0, 200, 16);
  auto b = md::pixel_features("pneumoniamnist", "train_images", 0, 300, 16);
  for (std::int64_t r = 0; r < a.rows; ++r) a.data[r * 16 + 3] = 0.5f;  // zero variance column
  for (std::int64_t r = 0; r < b.rows; ++r) b.data[r * 16 + 3] = 0.25f;
  const auto res = frechet_distance(compute_stats(a), compute_stats(b));
  CHECK(std::isfinite(res.fid));
  CHECK(res.fid > 0);
  CHECK(res.diagnostics.regularized);
  CHECK(res.diagnostics.reason.find("positive definite") != std::string::npos);
  CHECK(md::rel_err(res.fid, res.diagnostics.fid_unregularized) < 1e-3);
}

TEST_CASE("FID input errors", "[fid][errors]") {
  auto a = md::pixel_features("breastmnist", "train_images", 0, 50, 16);
  auto b = md::pixel_features("breastmnist", "train_images", 0, 50, 64);
  CHECK_THROWS_AS(frechet_distance(compute_stats(a), compute_stats(b)), InputError);
  Matrix32 one{1, 16, std::vector<float>(a.data.begin(), a.data.begin() + 16)};
  CHECK_THROWS_WITH(compute_stats(one, "one.npy"), Catch::Contains("one.npy") && Catch::Contains("at least 2"));
  StatsAccumulator s16(16), s64(64);
  CHECK_THROWS_AS(s16.merge(s64), InputError);

  test::TempDir tmp;
  write_npz(tmp / "bad.npz", {{"mu", make_npy(std::vector<double>(4, 0.0), {4})}});
  CHECK_THROWS_WITH(read_stats_npz(tmp / "bad.npz"), Catch::Contains("bad.npz") && Catch::Contains("sigma"));
  write_npz(tmp / "shape.npz", {{"mu", make_npy(std::vector<double>(4, 0.0), {4})},
                                {"sigma", make_npy(std::vector<double>(9, 0.0), {3, 3})}});
  CHECK_THROWS_WITH(read_stats_npz(tmp / "shape.npz"), Catch::Contains("4 x 4"));
  std::vector<double> sig(16, 0.0);
  sig[1] = 1.0;  // asymmetric
  write_npz(tmp / "asym.npz", {{"mu", make_npy(std::vector<double>(4, 0.0), {4})}, {"sigma", make_npy(sig, {4, 4})}});
  CHECK_THROWS_WITH(read_stats_npz(tmp / "asym.npz"), Catch::Contains("symmetric"));
  sig[1] = 0.0;
  sig[5] = std::nan("");
  write_npz(tmp / "nan.npz", {{"mu", make_npy(std::vector<double>(4, 0.0), {4})}, {"sigma", make_npy(sig, {4, 4})}});
  CHECK_THROWS_WITH(read_stats_npz(tmp / "nan.npz"), Catch::Contains("row 1"));
}
