// Paired t-test, Wilcoxon signed-rank test (as scipy.stats.wilcoxon) and Mann-Whitney U (as
// scipy.stats.mannwhitneyu), with Boost.Math for the t and normal distributions.
#include <algorithm>
#include <cmath>
#include <numeric>

#include <boost/math/distributions/students_t.hpp>

#include "common.h"
#include "medsyn/stats/quantile.h"
#include "medsyn/stats/tests.h"

namespace medsyn::stats {

namespace {

std::vector<double> differences(std::span<const double> a, std::span<const double> b) {
  detail::require_same_size(a.size(), b.size(), "a", "b");
  detail::require_finite(a, "a");
  detail::require_finite(b, "b");
  std::vector<double> d(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) d[i] = a[i] - b[i];
  return d;
}

// Exact null distribution of the Wilcoxon signed-rank statistic R+ for n untied, non-zero
// differences: pmf[k] = #{subsets of {1..n} with sum k} / 2^n (counts are exact in double for
// n <= 50 since they are below 2^50).
std::vector<double> wilcoxon_pmf(std::size_t n) {
  const std::size_t max_sum = n * (n + 1) / 2;
  std::vector<double> c(max_sum + 1, 0.0);
  c[0] = 1.0;
  for (std::size_t r = 1; r <= n; ++r)
    for (std::size_t k = r * (r + 1) / 2; k >= r; --k) {
      c[k] += c[k - r];
      if (k == r) break;
    }
  const double total = std::ldexp(1.0, static_cast<int>(n));
  for (double& v : c) v /= total;
  return c;
}

}  // namespace

TTestResult paired_t_test(std::span<const double> a, std::span<const double> b, double level) {
  detail::require_level(level);
  const auto d = differences(a, b);
  TTestResult r;
  r.level = level;
  r.n = d.size();
  if (r.n < 2) {
    r.mean_diff = r.n == 1 ? d[0] : NAN;
    r.sd_diff = r.se = r.t = r.df = r.p = r.ci_low = r.ci_high = NAN;
    r.warnings.push_back("paired t-test needs at least 2 pairs (have " + std::to_string(r.n) + ")");
    return r;
  }
  const double n = static_cast<double>(r.n);
  r.mean_diff = std::accumulate(d.begin(), d.end(), 0.0) / n;
  double ss = 0;
  for (double v : d) ss += (v - r.mean_diff) * (v - r.mean_diff);
  r.sd_diff = std::sqrt(ss / (n - 1.0));
  r.se = r.sd_diff / std::sqrt(n);
  r.df = n - 1.0;
  boost::math::students_t_distribution<double> dist(r.df);
  const double tc = boost::math::quantile(dist, 1.0 - (1.0 - level) / 2.0);
  r.ci_low = r.mean_diff - tc * r.se;
  r.ci_high = r.mean_diff + tc * r.se;
  if (r.se == 0.0) {
    if (r.mean_diff == 0.0) {
      r.t = r.p = NAN;
      r.warnings.push_back("all differences are zero: the t statistic is undefined");
    } else {
      r.t = r.mean_diff > 0 ? INFINITY : -INFINITY;
      r.p = 0.0;
      r.warnings.push_back("all differences are equal (zero variance): t is infinite");
    }
    return r;
  }
  r.t = r.mean_diff / r.se;
  r.p = std::min(1.0, 2.0 * boost::math::cdf(boost::math::complement(dist, std::fabs(r.t))));
  return r;
}

WilcoxonResult wilcoxon_signed_rank(std::span<const double> a, std::span<const double> b) {
  const auto d_all = differences(a, b);
  WilcoxonResult r;
  r.n = d_all.size();
  std::vector<double> d;
  for (double v : d_all)
    if (v != 0.0) d.push_back(v);
  r.n_zero = r.n - d.size();
  r.n_used = d.size();
  r.z = NAN;
  if (r.n_used == 0) {
    r.w = r.p = r.r_plus = r.r_minus = NAN;
    r.method = r.n == 0 ? "none" : "approx";
    r.warnings.push_back(r.n == 0 ? "no pairs" : "all differences are zero: the Wilcoxon test is undefined");
    return r;
  }
  std::vector<double> absd(d.size());
  for (std::size_t i = 0; i < d.size(); ++i) absd[i] = std::fabs(d[i]);
  const auto ranks = detail::midranks(absd);
  for (std::size_t i = 0; i < d.size(); ++i) (d[i] > 0 ? r.r_plus : r.r_minus) += ranks[i];
  r.w = std::min(r.r_plus, r.r_minus);
  std::vector<double> sorted_ranks(ranks);
  std::sort(sorted_ranks.begin(), sorted_ranks.end());
  const double tie_term = detail::tie_term_sorted(sorted_ranks);
  r.has_ties = tie_term > 0;

  const bool exact = r.n <= 50 && r.n_zero == 0 && !r.has_ties;
  if (exact) {
    r.method = "exact";
    const auto pmf = wilcoxon_pmf(r.n_used);
    const auto rp = static_cast<std::size_t>(r.r_plus);
    if (rp == (pmf.size() - 1) / 2) {
      r.p = 1.0;  // as scipy: r_plus at (len(pmf) - 1) // 2 is the centre of the distribution
    } else {
      double p_less = 0, p_greater = 0;
      for (std::size_t k = 0; k <= rp; ++k) p_less += pmf[k];
      for (std::size_t k = rp; k < pmf.size(); ++k) p_greater += pmf[k];
      r.p = std::clamp(2.0 * std::min(p_less, p_greater), 0.0, 1.0);
    }
  } else {
    r.method = "approx";
    const double c = static_cast<double>(r.n_used);
    const double mn = c * (c + 1.0) * 0.25;
    double se = c * (c + 1.0) * (2.0 * c + 1.0);
    se -= 0.5 * tie_term;
    se = std::sqrt(se / 24.0);
    r.z = (r.w - mn) / se;
    r.p = std::min(1.0, 2.0 * normal_sf(std::fabs(r.z)));
    if (r.n_zero > 0)
      r.warnings.push_back(std::to_string(r.n_zero) + " zero difference(s) dropped; normal approximation used");
    if (r.n_used < 10) r.warnings.push_back("sample size too small for the normal approximation (fewer than 10 non-zero differences)");
  }
  return r;
}

PairedResult paired_tests(std::span<const double> a, std::span<const double> b, double level) {
  PairedResult r;
  r.t = paired_t_test(a, b, level);
  r.wilcoxon = wilcoxon_signed_rank(a, b);
  r.n = a.size();
  if (r.n > 0) {
    r.mean_a = std::accumulate(a.begin(), a.end(), 0.0) / static_cast<double>(r.n);
    r.mean_b = std::accumulate(b.begin(), b.end(), 0.0) / static_cast<double>(r.n);
  }
  if (r.n < 6)
    r.warnings.push_back("n = " + std::to_string(r.n) +
                         " < 6 pairs: an exact two-sided Wilcoxon test cannot reach p < 0.05; use more seeds");
  for (const auto& w : r.t.warnings) r.warnings.push_back("t-test: " + w);
  for (const auto& w : r.wilcoxon.warnings) r.warnings.push_back("Wilcoxon: " + w);
  return r;
}

namespace {

// Number of ways to obtain U = k for sample sizes (m, n): coefficients of the Gaussian binomial
// [m+n choose m]_q, built as prod_{i=1..m} (1 - q^{n+i}) / (1 - q^i) with exact 128-bit integer
// arithmetic (every partial product is itself a Gaussian binomial, so the divisions are exact).
// Returns the pmf. `m` should be the smaller size.
std::vector<double> mwu_pmf(std::size_t m, std::size_t n) {
  using i128 = __int128;
  std::vector<i128> poly(1, 1);  // [n choose 0]_q = 1
  for (std::size_t i = 1; i <= m; ++i) {
    const std::size_t deg = i * n;
    std::vector<i128> next(deg + 1 + i, 0);
    for (std::size_t k = 0; k < poly.size(); ++k) {
      next[k] += poly[k];
      next[k + n + i] -= poly[k];
    }
    // divide by (1 - q^i): q[k] = r[k] + q[k - i]
    for (std::size_t k = i; k < next.size(); ++k) next[k] += next[k - i];
    next.resize(deg + 1);
    poly.swap(next);
  }
  long double total = 0;
  for (auto v : poly) total += static_cast<long double>(v);
  std::vector<double> pmf(poly.size());
  for (std::size_t k = 0; k < poly.size(); ++k) pmf[k] = static_cast<double>(static_cast<long double>(poly[k]) / total);
  return pmf;
}

}  // namespace

MannWhitneyResult mann_whitney_u(std::span<const double> x, std::span<const double> y, Alternative alternative) {
  if (x.empty() || y.empty()) throw InputError("Mann-Whitney U needs non-empty samples x and y");
  for (std::size_t i = 0; i < x.size(); ++i)
    if (std::isnan(x[i])) throw InputError("Mann-Whitney U: x at index " + std::to_string(i) + " is NaN");
  for (std::size_t i = 0; i < y.size(); ++i)
    if (std::isnan(y[i])) throw InputError("Mann-Whitney U: y at index " + std::to_string(i) + " is NaN");
  MannWhitneyResult r;
  r.n_x = x.size();
  r.n_y = y.size();
  const double n1 = static_cast<double>(r.n_x), n2 = static_cast<double>(r.n_y);
  std::vector<double> xy(x.begin(), x.end());
  xy.insert(xy.end(), y.begin(), y.end());
  const auto ranks = detail::midranks(xy);
  double r1 = 0;
  for (std::size_t i = 0; i < r.n_x; ++i) r1 += ranks[i];
  const double u1 = r1 - n1 * (n1 + 1.0) / 2.0;
  const double u2 = n1 * n2 - u1;
  r.u = u1;
  std::vector<double> sorted(xy);
  std::sort(sorted.begin(), sorted.end());
  const double tie_term = detail::tie_term_sorted(sorted);
  r.has_ties = tie_term > 0;

  double u = 0, f = 1;
  switch (alternative) {
    case Alternative::greater: u = u1; break;
    case Alternative::less: u = u2; break;
    case Alternative::two_sided: u = std::max(u1, u2); f = 2; break;
  }
  const bool exact = (r.n_x <= 8 || r.n_y <= 8) && !r.has_ties;
  // 128-bit counts hold C(m+n, m) up to ~1.7e38; beyond that (min size 8 and the other > ~2e5)
  // fall back to the normal approximation.
  const std::size_t m = std::min(r.n_x, r.n_y), nn = std::max(r.n_x, r.n_y);
  const double log_choose = std::lgamma(n1 + n2 + 1) - std::lgamma(double(m) + 1) - std::lgamma(double(nn) + 1);
  double p = 0;
  if (exact && log_choose < std::log(1e37)) {
    r.method = "exact";
    r.z = NAN;
    const auto pmf = mwu_pmf(m, nn);  // the U distribution is the same for (m, n) and (n, m)
    // sf(k) = P(U >= k) = cdf(m n - k) by symmetry, as scipy
    const auto k = static_cast<long long>(u);
    const long long kk = static_cast<long long>(m * nn) - k;
    double cdf = 0;
    for (long long i = 0; i <= kk && i < static_cast<long long>(pmf.size()); ++i) cdf += pmf[static_cast<std::size_t>(i)];
    p = cdf;
  } else {
    r.method = "approx";
    const double mu = n1 * n2 / 2.0;
    const double n = n1 + n2;
    const double s = std::sqrt(n1 * n2 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0))));
    r.z = (u - mu - 0.5) / s;  // continuity correction, as scipy (always subtracted: sf is used)
    p = normal_sf(r.z);
  }
  r.p = std::clamp(p * f, 0.0, 1.0);
  return r;
}

}  // namespace medsyn::stats
