// Intervals (stats/include/medsyn/stats/intervals.h) and quantiles (quantile.h): Wilson and
// Student-t against hand-worked values, the percentile bootstrap, numpy's linear quantile.
#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

#include "medsyn/core/error.h"
#include "medsyn/stats/intervals.h"
#include "medsyn/stats/quantile.h"

namespace st = medsyn::stats;
using medsyn::InputError;

TEST_CASE("quantile_linear is numpy's linear percentile", "[stats][quantile]") {
  // numpy.percentile([3, 1, 4, 1, 5], [0, 2.5, 50, 97.5, 100]) = [1, 1, 3, 4.9, 5]
  const std::vector<double> v{3, 1, 4, 1, 5};
  CHECK(st::quantile_linear(v, 0.0) == 1.0);
  CHECK(st::quantile_linear(v, 0.025) == Approx(1.0));
  CHECK(st::quantile_linear(v, 0.5) == 3.0);
  CHECK(st::quantile_linear(v, 0.975) == Approx(4.9));
  CHECK(st::quantile_linear(v, 1.0) == 5.0);
  CHECK_THROWS_AS(st::quantile_linear({}, 0.5), InputError);
  CHECK_THROWS_AS(st::quantile_linear(v, 1.5), InputError);
}

TEST_CASE("normal distribution helpers", "[stats][quantile]") {
  CHECK(st::normal_quantile(0.975) == Approx(1.959963984540054).epsilon(1e-14));
  CHECK(st::normal_cdf(1.959963984540054) == Approx(0.975).epsilon(1e-14));
  CHECK(st::normal_sf(8.0) == Approx(6.22096057427178e-16).epsilon(1e-10));
  CHECK(st::normal_cdf(INFINITY) == 1.0);
  CHECK(std::isnan(st::normal_cdf(NAN)));
}

TEST_CASE("Wilson interval against hand-worked values", "[stats][intervals]") {
  // Wilson (1927) as statsmodels proportion_confint(method="wilson"), z = Phi^-1(0.975) from
  // Python's statistics.NormalDist. 0 of 200: upper = z^2 / (n + z^2) = 0.0188453263772666.
  const auto a = st::wilson_interval(0, 200);
  CHECK(a.value == 0.0);
  CHECK(a.ci_low == 0.0);
  CHECK(a.ci_high == Approx(0.018845326377266568).epsilon(1e-12));
  CHECK(a.ci_level == 0.95);
  CHECK(a.ci_method == "wilson");
  CHECK(a.n == 200);
  const auto b = st::wilson_interval(17, 60);
  CHECK(b.value == Approx(17.0 / 60.0));
  CHECK(b.ci_low == Approx(0.1850682842843271).epsilon(1e-12));
  CHECK(b.ci_high == Approx(0.40767285164391176).epsilon(1e-12));
  const auto c = st::wilson_interval(200, 200, 0.90);
  CHECK(c.ci_low == Approx(0.9866528393452243).epsilon(1e-12));
  CHECK(c.ci_high == 1.0);
  CHECK(c.ci_level == 0.90);
  const auto none = st::wilson_interval(0, 0);
  CHECK_FALSE(none.has_value());
  CHECK_FALSE(none.has_ci());
  CHECK_FALSE(none.note.empty());
  CHECK_THROWS_AS(st::wilson_interval(5, 4), InputError);
  CHECK_THROWS_AS(st::wilson_interval(1, 4, 1.0), InputError);
}

TEST_CASE("t interval of a mean over seeds", "[stats][intervals]") {
  // mean 0.814, sd 0.0207364413533277, t_{0.975, 4} = 2.7764451051977987.
  const auto e = st::t_interval_mean({0.81, 0.79, 0.84, 0.80, 0.83});
  CHECK(e.value == Approx(0.814).epsilon(1e-14));
  CHECK(e.ci_low == Approx(0.7882523073207093).epsilon(1e-12));
  CHECK(e.ci_high == Approx(0.8397476926792908).epsilon(1e-12));
  CHECK(e.se == Approx(0.020736441353327684 / std::sqrt(5.0)).epsilon(1e-12));
  CHECK(e.n == 5);
  CHECK(e.ci_method == "t over seeds");
  CHECK(st::sample_sd({0.81, 0.79, 0.84, 0.80, 0.83}) == Approx(0.020736441353327684).epsilon(1e-12));
  const auto one = st::t_interval_mean({0.7});
  CHECK(one.value == 0.7);
  CHECK_FALSE(one.has_ci());
  const auto same = st::t_interval_mean({0.5, 0.5, 0.5});
  CHECK(same.ci_low == 0.5);
  CHECK(same.ci_high == 0.5);
  CHECK_FALSE(st::t_interval_mean({}).has_value());
  const auto bad = st::t_interval_mean({0.5, NAN});
  CHECK_FALSE(bad.has_value());
  CHECK_FALSE(bad.note.empty());
}

TEST_CASE("bootstrap is seeded and its interval covers the estimate", "[stats][bootstrap]") {
  std::vector<double> v;
  for (int i = 0; i < 200; ++i) v.push_back(std::sin(i * 0.37) + 0.01 * i);
  st::BootstrapOptions o;
  o.seed = 3;
  const auto a = st::bootstrap_mean(v, o), b = st::bootstrap_mean(v, o);
  CHECK(a.ci_low == b.ci_low);
  CHECK(a.ci_high == b.ci_high);
  CHECK(a.ci_low < a.value);
  CHECK(a.value < a.ci_high);
  CHECK(a.failed == 0);
  CHECK(a.replicates == 1000);
  CHECK(a.n == 200);
  CHECK(a.ci_method == "percentile bootstrap");
  // Standard error of a mean ~ sd / sqrt(n).
  double m = a.value, ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  const double se = std::sqrt(ss / 199.0 / 200.0);
  CHECK(a.se == Approx(se).epsilon(0.15));
  o.seed = 4;
  CHECK(st::bootstrap_mean(v, o).ci_low != a.ci_low);
  // Failing replicates are dropped and counted.
  const auto f = st::bootstrap(10, [](const std::vector<std::int64_t>& idx) { return idx[0] == 0 ? std::nan("") : 1.0; }, o);
  CHECK(f.failed > 0);
  CHECK(f.ci_low == 1.0);
  CHECK_THROWS_AS(st::bootstrap(0, [](const std::vector<std::int64_t>&) { return 0.0; }), InputError);
  o.replicates = 0;
  CHECK_THROWS_WITH(st::bootstrap_mean(v, o), Catch::Matchers::Contains("replicates must be >= 1"));
  // Mostly failing replicates: no interval.
  medsyn::Estimate e;
  st::finish_percentile_interval({1.0, NAN, NAN}, 0.9, e);
  CHECK_FALSE(e.has_ci());
  CHECK(e.failed == 2);
  CHECK(e.replicates == 3);
}
