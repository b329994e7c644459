#include "medsyn/memorization/calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "medsyn/core/error.h"
#include "medsyn/stats/tests.h"

namespace medsyn::memorization {

namespace {

void check_finite(std::span<const double> v, const std::string& what) {
  if (v.empty()) throw InputError(what + ": no values");
  for (std::size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i])) throw InputError(what + ": value " + std::to_string(i) + " is NaN or Inf");
}

double quantile_sorted(const std::vector<double>& s, double p) {
  const double h = (static_cast<double>(s.size()) - 1.0) * p;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const std::size_t hi = std::min(lo + 1, s.size() - 1);
  return s[lo] + (h - static_cast<double>(lo)) * (s[hi] - s[lo]);
}

}  // namespace

double quantile(std::span<const double> values, double p, const std::string& what) {
  check_finite(values, what);
  if (!(p >= 0.0 && p <= 1.0)) throw InputError(what + ": quantile " + std::to_string(p) + " is outside [0, 1]");
  std::vector<double> s(values.begin(), values.end());
  std::sort(s.begin(), s.end());
  return quantile_sorted(s, p);
}

SimilaritySummary summarize(std::span<const double> sims, const std::string& what) {
  check_finite(sims, what);
  std::vector<double> s(sims.begin(), sims.end());
  std::sort(s.begin(), s.end());
  SimilaritySummary r;
  r.count = s.size();
  long double sum = 0;
  for (double v : s) sum += v;
  r.mean = static_cast<double>(sum / static_cast<long double>(s.size()));
  r.p50 = quantile_sorted(s, 0.50);
  r.p75 = quantile_sorted(s, 0.75);
  r.p90 = quantile_sorted(s, 0.90);
  r.p95 = quantile_sorted(s, 0.95);
  r.p99 = quantile_sorted(s, 0.99);
  r.min = s.front();
  r.max = s.back();
  return r;
}

double fraction_above(std::span<const double> sims, double t) {
  if (sims.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::size_t n = 0;
  for (double v : sims) n += v > t ? 1 : 0;
  return static_cast<double>(n) / static_cast<double>(sims.size());
}

std::vector<double> to_distances(std::span<const double> sims) {
  std::vector<double> d(sims.size());
  for (std::size_t i = 0; i < sims.size(); ++i) d[i] = 1.0 - sims[i];
  return d;
}

Calibration calibrate(std::span<const double> synthetic_nn_sims, std::span<const double> holdout_nn_sims,
                      double threshold_quantile, const std::vector<double>& fixed_thresholds) {
  if (!(threshold_quantile > 0.0 && threshold_quantile < 1.0))
    throw InputError("--threshold-quantile: " + std::to_string(threshold_quantile) + " must be in (0, 1)");
  for (double t : fixed_thresholds)
    if (!std::isfinite(t) || t < -1.0 || t > 1.0)
      throw InputError("--thresholds: " + std::to_string(t) + " is not a cosine similarity in [-1, 1]");
  Calibration c;
  c.threshold_quantile = threshold_quantile;
  c.synthetic = summarize(synthetic_nn_sims, "synthetic -> train similarities");
  c.holdout = summarize(holdout_nn_sims, "holdout -> train similarities");
  c.tau = quantile(holdout_nn_sims, threshold_quantile, "holdout -> train similarities");
  c.synthetic_above_tau = fraction_above(synthetic_nn_sims, c.tau);
  c.holdout_above_tau = fraction_above(holdout_nn_sims, c.tau);
  c.fixed_thresholds = fixed_thresholds;
  for (double t : fixed_thresholds) {
    c.synthetic_above_fixed.push_back(fraction_above(synthetic_nn_sims, t));
    c.holdout_above_fixed.push_back(fraction_above(holdout_nn_sims, t));
  }
  const std::vector<double> dsyn = to_distances(synthetic_nn_sims), dhold = to_distances(holdout_nn_sims);
  c.median_dcr_synthetic = quantile(dsyn, 0.5, "synthetic DCR");
  c.median_dcr_holdout = quantile(dhold, 0.5, "holdout DCR");
  c.dcr_ratio = c.median_dcr_holdout > 0 ? c.median_dcr_synthetic / c.median_dcr_holdout
                                         : std::numeric_limits<double>::quiet_NaN();
  const auto mw = stats::mann_whitney_u(dsyn, dhold, stats::Alternative::less);
  c.mw_u = mw.u;
  c.mw_p = mw.p;
  c.mw_z = mw.z;
  c.mw_method = mw.method;
  return c;
}

}  // namespace medsyn::memorization
