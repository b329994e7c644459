// Calibrated intervals (metrics/calibrated.h), minimum sizes (sample_size.h), the coverage study
// (coverage_study.h) and the CLI's --bootstrap estimates.
#include <catch2/catch.hpp>

#include <cmath>

#include "medsyn/core/error.h"
#include "medsyn/core/json.h"
#include "medsyn/metrics/calibrated.h"
#include "medsyn/metrics/coverage_study.h"
#include "medsyn/metrics/fid.h"
#include "medsyn/metrics/kid.h"
#include "medsyn/metrics/sample_size.h"
#include "medsyn/metrics/stats.h"
#include "medsyn/stats/intervals.h"
#include "medsyn/stats/random.h"
#include "test_support.h"

using namespace medsyn;
using namespace medsyn::metrics;

namespace {
// Rows ~ N(mu, diag(var)).
Matrix32 gaussian(std::int64_t n, const std::vector<double>& mu, const std::vector<double>& var, std::uint64_t seed) {
  stats::Rng rng(seed);
  Matrix32 m;
  m.rows = n;
  m.cols = static_cast<std::int64_t>(mu.size());
  for (std::int64_t i = 0; i < n; ++i)
    for (std::size_t c = 0; c < mu.size(); ++c)
      m.data.push_back(static_cast<float>(mu[c] + std::sqrt(var[c]) * stats::standard_normal(rng)));
  return m;
}
std::vector<double> spectrum(int d) {
  std::vector<double> s(d);
  for (int i = 0; i < d; ++i) s[i] = 0.2 + 1.8 * i / (d - 1);
  return s;
}
}  // namespace

TEST_CASE("finish_reflected_interval: worked example, clamping, contains the estimate", "[calibrated]") {
  // Replicates 4..8: mean 6, numpy-linear quantiles q(0.025) = 4.1, q(0.975) = 7.9.
  // Interval = [5 - (7.9 - 6), 5 - (4.1 - 6)] = [3.1, 6.9].
  Estimate e;
  stats::finish_reflected_interval(5.0, {4, 5, 6, 7, 8}, 0.95, "m", e);
  CHECK(e.value == 5.0);
  CHECK(e.ci_low == Approx(3.1).epsilon(1e-12));
  CHECK(e.ci_high == Approx(6.9).epsilon(1e-12));
  CHECK(e.ci_method == "m");
  CHECK(e.replicates == 5);
  // A distance: clamped at 0 (value and both ends).
  Estimate d;
  stats::finish_reflected_interval(0.5, {4, 5, 6, 7, 8}, 0.95, "m", d, 0.0);
  CHECK(d.ci_low == 0.0);
  CHECK(d.ci_high == Approx(2.4).epsilon(1e-12));
  // Replicates all on one side of their mean cannot exclude the estimate: widened to contain it.
  Estimate w;
  stats::finish_reflected_interval(1.0, {1, 1, 1, 1, 1}, 0.95, "m", w);
  CHECK(w.ci_low == 1.0);
  CHECK(w.ci_high == 1.0);
  // Mostly failed replicates: no interval.
  Estimate f;
  stats::finish_reflected_interval(1.0, {NAN, NAN, NAN, 2.0}, 0.95, "m", f);
  CHECK_FALSE(f.has_ci());
  CHECK(f.failed == 3);
}

TEST_CASE("minimum sample sizes", "[calibrated][small]") {
  CHECK(fid_size_problem(100, 100, 64).empty());
  CHECK(fid_size_problem(64, 100, 64).find("64 images for 64 feature dimensions") != std::string::npos);
  CHECK(fid_size_problem(9, 100, 4).rfind("n too small", 0) == 0);
  CHECK(kid_size_problem(10, 10).empty());
  CHECK_FALSE(kid_size_problem(10, 9).empty());
  CHECK(prdc_size_problem(10, 10, 5).empty());
  CHECK_FALSE(prdc_size_problem(20, 20, 20).empty());  // needs more than k
  CHECK_FALSE(diversity_size_problem(9).empty());
  CHECK(diversity_size_problem(10).empty());
}

TEST_CASE("closed-form truths of the coverage study", "[calibrated][truth]") {
  const int d = 16;
  const std::vector<double> s = spectrum(d), zero(d, 0.0);
  std::vector<double> shift(d, 1.0 / std::sqrt(16.0)), rev(s.rbegin(), s.rend());
  // Frechet distance of diagonal Gaussians equals the general formula (fid.h) on exact parameters.
  GaussianStats a{0, d, zero, std::vector<double>(d * d, 0.0)}, b{0, d, shift, std::vector<double>(d * d, 0.0)};
  for (int i = 0; i < d; ++i) {
    a.sigma[i * d + i] = s[i];
    b.sigma[i * d + i] = rev[i];
  }
  CHECK(gaussian_frechet_distance_diagonal(zero, s, shift, rev) == Approx(frechet_distance(a, b).fid).epsilon(1e-10));
  CHECK(gaussian_frechet_distance_diagonal(zero, s, zero, s) == 0.0);
  // Population MMD^2 (cubic kernel): numpy Monte Carlo, unbiased MMD^2 of 20 pairs of 3000 rows each
  // (scratch script kid_truth.py, numpy 1.26): mean shift 0.22138 (se 0.00247), covariance differs
  // 0.22982 (se 0.00110). Tolerance: 3 standard errors.
  CHECK(std::abs(gaussian_cubic_mmd2_diagonal(zero, s, shift, s) - 0.22138) < 3 * 0.00247);
  CHECK(std::abs(gaussian_cubic_mmd2_diagonal(zero, s, zero, rev) - 0.22982) < 3 * 0.00110);
  CHECK(gaussian_cubic_mmd2_diagonal(zero, s, zero, s) == Approx(0.0).margin(1e-12));
  // And against this project's own unbiased estimator on fresh draws (independent code path).
  double sum = 0;
  const int reps = 8;
  for (int r = 0; r < reps; ++r)
    sum += kid_mmd2(gaussian(2000, zero, s, 100 + r), gaussian(2000, shift, s, 200 + r));
  CHECK(std::abs(sum / reps - gaussian_cubic_mmd2_diagonal(zero, s, shift, s)) < 0.02);
}

TEST_CASE("fid_estimates: plug-in unchanged, bias-corrected below it, deterministic", "[calibrated][fid]") {
  const int d = 8;
  const std::vector<double> s = spectrum(d), zero(d, 0.0);
  std::vector<double> shift(d, 0.5);
  const Matrix32 a = gaussian(300, zero, s, 1), b = gaussian(250, shift, s, 2);
  IntervalOptions io;
  io.bootstrap = 40;
  io.seed = 5;
  const FidEstimates f = fid_estimates(a, b, io);
  CHECK(f.plug_in.value == frechet_distance(compute_stats(a), compute_stats(b)).fid);
  CHECK(f.plug_in.n == 550);
  CHECK(f.population.value < f.plug_in.value);
  for (const Estimate* e : {&f.plug_in, &f.population}) {
    CHECK(e->ci_low <= e->value);
    CHECK(e->value <= e->ci_high);
    CHECK(e->replicates == 40);
  }
  const FidEstimates again = fid_estimates(a, b, io);
  CHECK(again.population.value == f.population.value);
  CHECK(again.population.ci_high == f.population.ci_high);
  // No bootstrap: plug-in only, the population estimate null with the reason.
  io.bootstrap = 0;
  const FidEstimates none = fid_estimates(a, b, io);
  CHECK(none.plug_in.value == f.plug_in.value);
  CHECK_FALSE(none.population.has_value());
  CHECK_FALSE(none.population.note.empty());
  // Bad options name the quantity.
  io.ci_level = 1.5;
  CHECK_THROWS_WITH(fid_estimates(a, b, io), Catch::Contains("confidence level"));
}

TEST_CASE("coverage study (reduced): FID population and KID intervals cover the truth", "[calibrated][coverage]") {
  // 40 draws of n = 300, d = 8 with the shipped 100 replicates. At a true coverage of 0.95 the
  // chance of fewer than 34 of 40 is 0.6%; the old percentile interval of the plug-in FID covered
  // the population distance in 0 of 60 such draws (issue 13).
  CoverageStudyOptions o;
  o.draws = 40;
  o.dims = {8};
  o.sizes = {300};
  o.scenarios = {"mean shift", "covariance differs"};
  o.seed = 11;
  const auto rows = run_coverage_study(o);
  REQUIRE(rows.size() == 2 * 7);
  for (const auto& r : rows) {
    INFO(r.scenario << " " << r.metric << " covered " << r.covered << "/" << r.draws);
    CHECK(r.draws == 40);
    CHECK(r.contains_estimate == r.draws);
    if (r.metric == "fid_population" || r.metric == "kid") CHECK(r.covered >= 34);
    CHECK(r.covered >= 30);  // every other interval too, for its own estimand
  }
  const auto j = coverage_study_to_json(o, rows);
  CHECK(j.at("schema") == "medsynbench.coverage-study/1");
  CHECK(j.at("rows").size() == rows.size());
  CHECK(coverage_study_markdown(rows).find("| 8 | 300 | mean shift | fid_population |") != std::string::npos);
  o.scenarios = {"bogus"};
  CHECK_THROWS_WITH(run_coverage_study(o), Catch::Contains("unknown scenario 'bogus'"));
}

TEST_CASE("paired FID difference: two seeds of one generator are equal within the interval", "[calibrated][paired]") {
  // The gate test of issue 13 at library level: the same "checkpoint" (distribution) sampled with
  // 20 generation seeds, each compared with seed 0 against one real set; the paired interval of the
  // difference must contain 0 for at least 18 of 20 (~95%).
  const int d = 8;
  const std::vector<double> s = spectrum(d), zero(d, 0.0);
  std::vector<double> gen_mu(d, 0.3);
  const Matrix32 real = gaussian(300, zero, s, 1);
  const Matrix32 base = gaussian(300, gen_mu, s, 1000);
  IntervalOptions io;
  io.bootstrap = 60;
  int equal = 0;
  for (int seed = 1; seed <= 20; ++seed) {
    io.seed = static_cast<std::uint64_t>(seed);
    const Estimate diff = fid_population_difference(real, base, gaussian(300, gen_mu, s, 1000 + seed), io);
    REQUIRE(diff.has_ci());
    CHECK(diff.ci_low <= diff.value);
    CHECK(diff.value <= diff.ci_high);
    if (diff.ci_low <= 0 && 0 <= diff.ci_high) ++equal;
  }
  INFO("equal within the interval in " << equal << " of 20 seeds");
  CHECK(equal >= 18);
  // A real difference is detected: a generator shifted further away.
  io.seed = 99;
  std::vector<double> far_mu(d, 0.8);
  const Estimate worse = fid_population_difference(real, base, gaussian(300, far_mu, s, 7), io);
  CHECK(worse.ci_low > 0);
}

TEST_CASE("metrics fid|kid|prdc --bootstrap print estimate objects", "[calibrated][cli]") {
  test::TempDir tmp;
  const std::vector<double> s = spectrum(4), zero(4, 0.0);
  std::vector<double> shift(4, 0.5);
  const auto a = tmp / "a.npy", b = tmp / "b.npy";
  write_feature_matrix(a, gaussian(200, zero, s, 1));
  write_feature_matrix(b, gaussian(150, shift, s, 2));
  const std::string files = " " + a.string() + " " + b.string();
  auto r = test::run_cli("metrics fid" + files + " --bootstrap 30 --seed 4 --json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  json j = json::parse(r.out);
  const json& pop = j.at("estimates").at("fid_population");
  CHECK(pop.at("estimand") == "population Frechet distance");
  CHECK(pop.at("ci_level") == 0.95);
  CHECK(pop.at("n") == 350);
  CHECK(pop.at("ci_low").get<double>() <= pop.at("value").get<double>());
  CHECK(j.at("estimates").at("fid").at("value") == j.at("fid"));
  r = test::run_cli("metrics kid" + files + " --bootstrap 20 --json");
  REQUIRE(r.exit_code == 0);
  j = json::parse(r.out);
  CHECK(j.at("estimates").at("kid").at("estimand") == "population MMD^2 (cubic polynomial kernel)");
  CHECK(j.at("estimates").at("kid").at("ci_high").is_number());
  r = test::run_cli("metrics prdc" + files + " --bootstrap 20 --k 3 --json");
  REQUIRE(r.exit_code == 0);
  j = json::parse(r.out);
  CHECK(j.at("estimates").at("coverage").at("ci_low").is_number());
  // Statistics files have no rows to resample: a clear error, not a silent point estimate.
  const auto st = tmp / "a.npz";
  REQUIRE(test::run_cli("features stats " + a.string() + " --out " + st.string()).exit_code == 0);
  r = test::run_cli("metrics fid " + st.string() + " " + st.string() + " --bootstrap 10");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--bootstrap needs two features .npy files") != std::string::npos);
  // Hostile options and statistics (issue 14): clear exit-2 messages, never a negative FID.
  r = test::run_cli("metrics fid" + files + " --eps -1");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--eps must be finite and >= 0") != std::string::npos);
  GaussianStats neg{100, 4, std::vector<double>(4, 0.0), std::vector<double>(16, 0.0)};
  for (int i = 0; i < 4; ++i) neg.sigma[i * 4 + i] = -1.0;
  write_stats_npz(tmp / "neg.npz", neg);
  r = test::run_cli("metrics fid " + (tmp / "neg.npz").string() + " " + st.string());
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("negative variance at (0,0)") != std::string::npos);
  r = test::run_cli("metrics coverage-study --draws 3 --dims 4 --sizes 40 --scenarios identical --bootstrap 10 --json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(json::parse(r.out).at("rows").size() == 7);
}
