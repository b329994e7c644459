// stats/agreement.h (binomial test, Cohen's and Fleiss' kappa, Krippendorff's alpha) and the
// Mann-Whitney test on Likert ratings, against tests/fixtures/reader_study: scipy, statsmodels
// (python_reference.json) and R psych::cohen.kappa (psych_reference.json), produced by
// scripts/fixtures/reader_study_fixtures.{py,R}. Tolerance: relative 1e-9 (absolute 1e-12 at 0).
#include <catch2/catch.hpp>

#include <cmath>

#include "medsyn/core/error.h"
#include "medsyn/core/json.h"
#include "medsyn/stats/agreement.h"
#include "medsyn/stats/tests.h"
#include "test_support.h"

namespace st = medsyn::stats;
using medsyn::json;

namespace {

json fixture(const std::string& name) { return medsyn::read_json_file(medsyn::test::fixtures_dir() / "reader_study" / name); }

bool close(double a, double b) { return std::fabs(a - b) <= 1e-9 * std::fabs(b) + 1e-12; }

std::vector<std::vector<double>> table_of(const json& j) {
  std::vector<std::vector<double>> t;
  for (const auto& row : j) {
    t.emplace_back();
    for (const auto& v : row) t.back().push_back(v.get<double>());
  }
  return t;
}

std::vector<std::vector<double>> units_of(const json& j) {
  std::vector<std::vector<double>> u;
  for (const auto& row : j) {
    u.emplace_back();
    for (const auto& v : row) u.back().push_back(v.is_null() ? std::nan("") : v.get<double>());
  }
  return u;
}

}  // namespace

TEST_CASE("binomial test equals scipy.stats.binomtest", "[readerstudy][stats]") {
  const auto ref = fixture("python_reference.json");
  int n = 0;
  for (const auto& c : ref["binomtest"]) {
    const std::string alt = c["alternative"];
    const auto a = alt == "less" ? st::Alternative::less : alt == "greater" ? st::Alternative::greater : st::Alternative::two_sided;
    const double p = st::binomial_test(c["k"].get<long>(), c["n"].get<long>(), c["p"].get<double>(), a);
    INFO("k=" << c["k"] << " n=" << c["n"] << " p=" << c["p"] << " " << alt);
    CHECK(close(p, c["pvalue"].get<double>()));
    ++n;
  }
  CHECK(n >= 36);
  CHECK_THROWS_AS(st::binomial_test(5, 4), medsyn::InputError);
  CHECK_THROWS_AS(st::binomial_test(0, 0), medsyn::InputError);
}

TEST_CASE("Cohen's kappa equals statsmodels cohens_kappa and R psych::cohen.kappa", "[readerstudy][stats]") {
  const auto py = fixture("python_reference.json");
  const auto r = fixture("psych_reference.json");
  REQUIRE(py["cohens_kappa"].size() == r["cohen_kappa"].size());
  for (std::size_t i = 0; i < py["cohens_kappa"].size(); ++i) {
    const auto& s = py["cohens_kappa"][i];
    const auto& p = r["cohen_kappa"][i];
    INFO("table " << s["table"].dump());
    const auto k = st::cohen_kappa(table_of(s["table"]), 0.95);
    CHECK(close(k.kappa, s["kappa"].get<double>()));
    CHECK(close(k.var, s["var_kappa"].get<double>()));
    CHECK(close(k.var0, s["var_kappa0"].get<double>()));
    CHECK(close(k.ci_low, s["ci_low"].get<double>()));
    CHECK(close(k.ci_high, s["ci_high"].get<double>()));
    CHECK(close(k.kappa, p["kappa"].get<double>()));
    CHECK(close(k.var, p["var_kappa"].get<double>()));
    CHECK(close(k.ci_low, p["ci_low"].get<double>()));
    CHECK(close(k.ci_high, p["ci_high"].get<double>()));
  }
  // From label vectors: the same as from their table.
  const std::vector<int> a = {0, 0, 1, 1, 1, 0, 1, 0, 1, 1}, b = {0, 1, 1, 1, 0, 0, 1, 0, 1, 0};
  const auto kv = st::cohen_kappa(a, b, 2);
  const auto kt = st::cohen_kappa(std::vector<std::vector<double>>{{3, 1}, {2, 4}});
  CHECK(kv.kappa == Approx(kt.kappa).epsilon(1e-15));
  // Undefined: both readers always say the same single category.
  const auto u = st::cohen_kappa(std::vector<std::vector<double>>{{10, 0}, {0, 0}});
  CHECK(std::isnan(u.kappa));
  CHECK(!u.note.empty());
  CHECK_THROWS_AS(st::cohen_kappa(std::vector<std::vector<double>>{{1, 2, 3}, {1, 2, 3}}), medsyn::InputError);
}

TEST_CASE("Fleiss' kappa equals statsmodels fleiss_kappa", "[readerstudy][stats]") {
  const auto ref = fixture("python_reference.json");
  for (const auto& c : ref["fleiss_kappa"]) {
    const auto f = st::fleiss_kappa(table_of(c["counts"]));
    CHECK(close(f.kappa, c["kappa"].get<double>()));
  }
  // Fleiss (1971)'s own example: kappa = 0.210 (the published value, 3 decimals).
  CHECK(std::round(st::fleiss_kappa(table_of(ref["fleiss_kappa"][0]["counts"])).kappa * 1000) / 1000 == Approx(0.210));
  CHECK_THROWS_AS(st::fleiss_kappa({{1, 2}, {2, 2}}), medsyn::InputError);  // ragged rater counts
}

TEST_CASE("Mann-Whitney U on Likert ratings equals scipy.stats.mannwhitneyu", "[readerstudy][stats]") {
  const auto ref = fixture("python_reference.json");
  for (const auto& c : ref["mannwhitneyu"]) {
    const auto x = c["x"].get<std::vector<double>>(), y = c["y"].get<std::vector<double>>();
    const auto r = st::mann_whitney_u(x, y);
    CHECK(close(r.u, c["u"].get<double>()));
    CHECK(close(r.p, c["p"].get<double>()));
  }
}

TEST_CASE("Krippendorff's alpha: Krippendorff's worked example and two formulations", "[readerstudy][stats]") {
  const auto ref = fixture("python_reference.json");
  for (const auto& c : ref["krippendorff_alpha"]) {
    INFO(c["name"].get<std::string>());
    const auto units = units_of(c["units"]);
    for (const char* m : {"nominal", "ordinal", "interval"}) {
      INFO(m);
      const auto a = st::krippendorff_alpha(units, st::parse_alpha_metric(m));
      CHECK(close(a.alpha, c[m].get<double>()));                                // coincidence matrix (script)
      CHECK(close(a.alpha, c[std::string(m) + "_pairwise"].get<double>()));    // pairwise disagreement (script)
      if (c.contains("published")) CHECK(std::round(a.alpha * 1000) / 1000 == Approx(c["published"][m].get<double>()));
    }
  }
  // Perfect agreement: 1; one value everywhere: undefined (NaN with a note); no pairable unit: NaN.
  CHECK(st::krippendorff_alpha({{1, 1}, {2, 2}, {3, 3}}, st::AlphaMetric::ordinal).alpha == Approx(1.0));
  const auto same = st::krippendorff_alpha({{2, 2}, {2, 2}}, st::AlphaMetric::ordinal);
  CHECK(std::isnan(same.alpha));
  CHECK(!same.note.empty());
  CHECK(std::isnan(st::krippendorff_alpha({{1, std::nan("")}, {std::nan(""), 2}}, st::AlphaMetric::ordinal).alpha));
}
