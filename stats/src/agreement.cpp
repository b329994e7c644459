// Exact binomial test and agreement coefficients (agreement.h). References: scipy.stats.binomtest,
// statsmodels.stats.inter_rater (cohens_kappa, fleiss_kappa), R psych::cohen.kappa, Krippendorff
// (2011) "Computing Krippendorff's alpha-reliability"; fixtures in tests/fixtures/stats.
#include "medsyn/stats/agreement.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <boost/math/distributions/binomial.hpp>

#include "common.h"
#include "medsyn/core/error.h"
#include "medsyn/stats/quantile.h"

namespace medsyn::stats {

double binomial_test(std::int64_t k, std::int64_t n, double p, Alternative alternative) {
  if (n < 1) throw InputError("binomial test: n must be >= 1, got " + std::to_string(n));
  if (k < 0 || k > n) throw InputError("binomial test: k must be in [0, n], got k = " + std::to_string(k) + ", n = " + std::to_string(n));
  if (!(p >= 0 && p <= 1)) throw InputError("binomial test: p must be in [0, 1]");
  namespace bm = boost::math;
  const bm::binomial_distribution<double> dist(static_cast<double>(n), p);
  const double kd = static_cast<double>(k), nd = static_cast<double>(n);
  auto cdf = [&](double x) { return x < 0 ? 0.0 : bm::cdf(dist, x); };
  auto sf = [&](double x) { return x < 0 ? 1.0 : (x >= nd ? 0.0 : bm::cdf(bm::complement(dist, x))); };  // P(X > x)
  if (alternative == Alternative::less) return std::min(1.0, cdf(kd));
  if (alternative == Alternative::greater) return std::min(1.0, sf(kd - 1));
  // Two-sided as scipy: the other tail holds the outcomes on the other side of the mode whose
  // probability is at most pmf(k) * (1 + 1e-7).
  const double d = bm::pdf(dist, kd) * (1 + 1e-7);
  if (kd == p * nd) return 1.0;
  double pval;
  if (kd < p * nd) {
    // Upper tail: x in [ceil(pn), n] with pmf(x) <= d (pmf decreases there, so a suffix).
    double first = nd + 1;
    for (double x = nd; x >= std::ceil(p * nd); --x) {
      if (bm::pdf(dist, x) <= d) first = x;
      else break;
    }
    pval = cdf(kd) + sf(first - 1);
  } else {
    // Lower tail: x in [0, floor(pn)] with pmf(x) <= d (a prefix).
    double last = -1;
    for (double x = 0; x <= std::floor(p * nd); ++x) {
      if (bm::pdf(dist, x) <= d) last = x;
      else break;
    }
    pval = cdf(last) + sf(kd - 1);
  }
  return std::min(1.0, pval);
}

KappaResult cohen_kappa(const std::vector<std::vector<double>>& table, double level) {
  detail::require_level(level);
  const std::size_t c = table.size();
  if (c < 2) throw InputError("Cohen's kappa: the table needs at least 2 categories");
  double total = 0;
  for (const auto& row : table) {
    if (row.size() != c) throw InputError("Cohen's kappa: the table must be square");
    for (double v : row) {
      if (!(v >= 0) || !std::isfinite(v)) throw InputError("Cohen's kappa: counts must be finite and >= 0");
      total += v;
    }
  }
  KappaResult r;
  r.level = level;
  r.n = static_cast<long long>(std::llround(total));
  if (total <= 0) {
    r.kappa = r.var = r.var0 = r.se = r.ci_low = r.ci_high = r.z = r.p = r.p_observed = r.p_expected = NAN;
    r.note = "no items rated by both readers";
    return r;
  }
  std::vector<double> row(c, 0), col(c, 0);
  for (std::size_t i = 0; i < c; ++i)
    for (std::size_t j = 0; j < c; ++j) {
      row[i] += table[i][j] / total;
      col[j] += table[i][j] / total;
    }
  double po = 0, pe = 0;
  for (std::size_t i = 0; i < c; ++i) {
    po += table[i][i] / total;
    pe += row[i] * col[i];
  }
  r.p_observed = po;
  r.p_expected = pe;
  if (!(pe < 1)) {
    r.kappa = r.var = r.var0 = r.se = r.ci_low = r.ci_high = r.z = r.p = NAN;
    r.note = "chance agreement is 1 (both readers used one category only): kappa is undefined";
    return r;
  }
  const double k = (po - pe) / (1 - pe);
  r.kappa = k;
  // Fleiss, Cohen & Everitt (1969), as statsmodels.stats.inter_rater.cohens_kappa.
  double a = 0, b = 0, c0 = 0;
  for (std::size_t i = 0; i < c; ++i) {
    const double t = 1 - (row[i] + col[i]) * (1 - k);
    a += table[i][i] / total * t * t;
    for (std::size_t j = 0; j < c; ++j)
      if (i != j) b += table[i][j] / total * (col[i] + row[j]) * (col[i] + row[j]);
    c0 += col[i] * row[i] * (col[i] + row[i]);
  }
  b *= (1 - k) * (1 - k);
  const double cc = k - pe * (1 - k);
  const double denom = (1 - pe) * (1 - pe) * total;
  r.var = (a + b - cc * cc) / denom;
  r.var0 = (pe + pe * pe - c0) / denom;
  r.se = std::sqrt(std::max(0.0, r.var));
  const double z = normal_quantile(1 - (1 - level) / 2);
  r.ci_low = k - z * r.se;
  r.ci_high = k + z * r.se;
  r.z = r.var0 > 0 ? k / std::sqrt(r.var0) : NAN;
  r.p = std::isfinite(r.z) ? 2 * normal_sf(std::fabs(r.z)) : NAN;
  return r;
}

KappaResult cohen_kappa(const std::vector<int>& a, const std::vector<int>& b, int n_categories, double level) {
  detail::require_same_size(a.size(), b.size(), "rater A", "rater B");
  if (n_categories < 2) throw InputError("Cohen's kappa: at least 2 categories are needed");
  std::vector<std::vector<double>> t(n_categories, std::vector<double>(n_categories, 0));
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] < 0 || a[i] >= n_categories || b[i] < 0 || b[i] >= n_categories)
      throw InputError("Cohen's kappa: category out of range at item " + std::to_string(i));
    t[a[i]][b[i]] += 1;
  }
  return cohen_kappa(t, level);
}

FleissResult fleiss_kappa(const std::vector<std::vector<double>>& counts) {
  FleissResult r;
  if (counts.empty()) throw InputError("Fleiss' kappa: no items");
  const std::size_t c = counts[0].size();
  if (c < 2) throw InputError("Fleiss' kappa: at least 2 categories are needed");
  double m = -1;
  std::vector<double> cat(c, 0);
  double p_mean = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (counts[i].size() != c) throw InputError("Fleiss' kappa: every item needs the same number of categories");
    double s = 0, s2 = 0;
    for (std::size_t j = 0; j < c; ++j) {
      const double v = counts[i][j];
      if (!(v >= 0) || !std::isfinite(v)) throw InputError("Fleiss' kappa: counts must be finite and >= 0");
      s += v;
      s2 += v * v;
      cat[j] += v;
    }
    if (m < 0) m = s;
    if (s != m) throw InputError("Fleiss' kappa: item " + std::to_string(i) + " has " + std::to_string(s) + " ratings, item 0 has " + std::to_string(m) + " (every item needs the same number of raters)");
    if (m >= 2) p_mean += (s2 - m) / (m * (m - 1));
  }
  if (m < 2) throw InputError("Fleiss' kappa: every item needs at least 2 raters");
  const double n = static_cast<double>(counts.size());
  r.n_items = static_cast<long long>(counts.size());
  r.n_raters = static_cast<long long>(m);
  p_mean /= n;
  double pe = 0;
  for (double v : cat) pe += (v / (n * m)) * (v / (n * m));
  r.p_observed = p_mean;
  r.p_expected = pe;
  if (!(pe < 1)) {
    r.kappa = NAN;
    r.note = "chance agreement is 1 (every rating in one category): kappa is undefined";
    return r;
  }
  r.kappa = (p_mean - pe) / (1 - pe);
  return r;
}

AlphaMetric parse_alpha_metric(const std::string& name) {
  if (name == "nominal") return AlphaMetric::nominal;
  if (name == "ordinal") return AlphaMetric::ordinal;
  if (name == "interval") return AlphaMetric::interval;
  throw InputError("Krippendorff's alpha: unknown metric '" + name + "' (nominal, ordinal, interval)");
}
const char* to_string(AlphaMetric m) {
  switch (m) {
    case AlphaMetric::nominal: return "nominal";
    case AlphaMetric::ordinal: return "ordinal";
    case AlphaMetric::interval: return "interval";
  }
  return "?";
}

AlphaResult krippendorff_alpha(const std::vector<std::vector<double>>& values, AlphaMetric metric) {
  AlphaResult r;
  std::map<double, std::size_t> index;  // value -> category (sorted)
  for (const auto& u : values)
    for (double v : u)
      if (!std::isnan(v)) {
        if (!std::isfinite(v)) throw InputError("Krippendorff's alpha: values must be finite or NaN (missing)");
        index.emplace(v, 0);
      }
  std::vector<double> cats;
  for (auto& [v, i] : index) {
    i = cats.size();
    cats.push_back(v);
  }
  const std::size_t c = cats.size();
  std::vector<std::vector<double>> o(c, std::vector<double>(c, 0));  // coincidence matrix
  for (const auto& u : values) {
    std::vector<std::size_t> vs;
    for (double v : u)
      if (!std::isnan(v)) vs.push_back(index.at(v));
    const double mu = static_cast<double>(vs.size());
    if (mu < 2) continue;
    ++r.n_units;
    for (std::size_t i = 0; i < vs.size(); ++i)
      for (std::size_t j = 0; j < vs.size(); ++j)
        if (i != j) o[vs[i]][vs[j]] += 1 / (mu - 1);
  }
  std::vector<double> nc(c, 0);
  double n = 0;
  for (std::size_t i = 0; i < c; ++i)
    for (std::size_t j = 0; j < c; ++j) nc[i] += o[i][j];
  for (double v : nc) n += v;
  r.n_pairable = std::llround(n);
  if (n < 2 || c < 1) {
    r.alpha = r.d_observed = r.d_expected = NAN;
    r.note = "fewer than two pairable values (no unit was rated by two readers)";
    return r;
  }
  auto delta2 = [&](std::size_t a, std::size_t b) {
    if (a == b) return 0.0;
    switch (metric) {
      case AlphaMetric::nominal: return 1.0;
      case AlphaMetric::interval: return (cats[a] - cats[b]) * (cats[a] - cats[b]);
      case AlphaMetric::ordinal: {
        const std::size_t lo = std::min(a, b), hi = std::max(a, b);
        double s = 0;
        for (std::size_t g = lo; g <= hi; ++g) s += nc[g];
        s -= (nc[a] + nc[b]) / 2;
        return s * s;
      }
    }
    return 0.0;
  };
  double dobs = 0, dexp = 0;
  for (std::size_t i = 0; i < c; ++i)
    for (std::size_t j = 0; j < c; ++j) {
      const double d2 = delta2(i, j);
      dobs += o[i][j] * d2;
      dexp += nc[i] * nc[j] * d2;
    }
  r.d_observed = dobs / n;
  r.d_expected = dexp / (n * (n - 1));
  if (!(dexp > 0)) {
    r.alpha = NAN;
    r.note = "no expected disagreement (every value is the same): alpha is undefined";
    return r;
  }
  r.alpha = 1 - (n - 1) * dobs / dexp;
  return r;
}

}  // namespace medsyn::stats
