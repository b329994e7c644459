// Wilson, Student-t and bootstrap (percentile over indices; percentile and BCa building blocks)
// intervals; the stratified bootstrap for classifier metrics is in stratified_bootstrap.cpp.
#include "medsyn/stats/intervals.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <boost/math/distributions/students_t.hpp>

#include "common.h"
#include "medsyn/stats/quantile.h"
#include "medsyn/stats/random.h"

namespace medsyn::stats {

Estimate wilson_interval(double successes, double n, double level) {
  detail::require_level(level);
  Estimate e;
  e.ci_level = level;
  if (!(n > 0)) {
    e.note = "no trials";
    return e;
  }
  if (!(successes >= 0 && successes <= n))
    throw InputError("Wilson interval: successes (" + std::to_string(successes) + ") must be in [0, n = " +
                     std::to_string(n) + "]");
  e.n = static_cast<long long>(n);
  e.value = successes / n;
  e.ci_method = "wilson";
  const double z = normal_quantile(1.0 - (1.0 - level) / 2.0);
  const double p = e.value, z2 = z * z;
  const double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const double half = z * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n);
  // At k = 0 (k = n) the lower (upper) bound is exactly 0 (1); rounding would leave ~1e-18.
  e.ci_low = successes <= 0 ? 0.0 : std::max(0.0, centre - half);
  e.ci_high = successes >= n ? 1.0 : std::min(1.0, centre + half);
  return e;
}

double sample_sd(const std::vector<double>& values) {
  if (values.size() < 2) return NAN;
  const double n = static_cast<double>(values.size());
  const double mean = std::accumulate(values.begin(), values.end(), 0.0) / n;
  double ss = 0;
  for (double v : values) ss += (v - mean) * (v - mean);
  return std::sqrt(ss / (n - 1.0));
}

Estimate t_interval_mean(const std::vector<double>& values, double level) {
  detail::require_level(level);
  Estimate e;
  e.ci_level = level;
  e.n = static_cast<long long>(values.size());
  if (values.empty()) return e;
  for (std::size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i])) {
      e.note = "value " + std::to_string(i + 1) + " of " + std::to_string(values.size()) + " is not finite";
      return e;
    }
  const double n = static_cast<double>(values.size());
  e.value = std::accumulate(values.begin(), values.end(), 0.0) / n;
  if (values.size() < 2) return e;
  e.ci_method = "t over seeds";
  const double sd = sample_sd(values);
  e.se = sd / std::sqrt(n);
  if (sd == 0.0) {
    e.ci_low = e.ci_high = e.value;
    return e;
  }
  boost::math::students_t_distribution<double> dist(n - 1.0);
  const double tc = boost::math::quantile(dist, 1.0 - (1.0 - level) / 2.0);
  e.ci_low = e.value - tc * e.se;
  e.ci_high = e.value + tc * e.se;
  return e;
}

void finish_percentile_interval(std::vector<double> replicates, double level, Estimate& e) {
  detail::require_level(level);
  std::vector<double> finite;
  finite.reserve(replicates.size());
  for (double v : replicates)
    if (std::isfinite(v)) finite.push_back(v);
  e.replicates = static_cast<int>(replicates.size());
  e.failed = static_cast<int>(replicates.size() - finite.size());
  e.ci_level = level;
  e.ci_method = "percentile bootstrap";
  if (finite.empty() || 2 * finite.size() < replicates.size()) {
    e.ci_low = e.ci_high = e.se = NAN;
    return;
  }
  percentile_interval(finite, level, e.ci_low, e.ci_high);
  e.se = finite.size() > 1 ? sample_sd(finite) : 0.0;
}

double mean_finite(const std::vector<double>& values) {
  double sum = 0;
  std::size_t finite = 0;
  for (double v : values)
    if (std::isfinite(v)) {
      sum += v;
      ++finite;
    }
  return finite ? sum / static_cast<double>(finite) : NAN;
}

void finish_reflected_interval(double estimate, std::vector<double> replicates, double level, const std::string& method,
                               Estimate& e, double clamp_low, double clamp_high) {
  const double mean = mean_finite(replicates);
  finish_percentile_interval(std::move(replicates), level, e);
  e.ci_method = method;
  e.value = std::isfinite(estimate) ? std::clamp(estimate, clamp_low, clamp_high) : estimate;
  if (!e.has_ci() || !std::isfinite(estimate)) {
    e.ci_low = e.ci_high = NAN;
    return;
  }
  const double q_lo = e.ci_low, q_hi = e.ci_high;
  e.ci_low = std::clamp(std::min(estimate - (q_hi - mean), e.value), clamp_low, clamp_high);
  e.ci_high = std::clamp(std::max(estimate - (q_lo - mean), e.value), clamp_low, clamp_high);
}

Estimate bootstrap(std::int64_t n, const std::function<double(const std::vector<std::int64_t>&)>& statistic,
                   const BootstrapOptions& opt) {
  if (n < 1) throw InputError("bootstrap: need at least one sample");
  if (opt.replicates < 1) throw InputError("bootstrap: replicates must be >= 1, got " + std::to_string(opt.replicates));
  detail::require_level(opt.level);
  Estimate e;
  e.n = n;
  std::vector<std::int64_t> identity(static_cast<std::size_t>(n));
  std::iota(identity.begin(), identity.end(), std::int64_t{0});
  e.value = statistic(identity);
  Rng rng(opt.seed);
  std::vector<double> reps;
  reps.reserve(static_cast<std::size_t>(opt.replicates));
  for (int b = 0; b < opt.replicates; ++b) reps.push_back(statistic(resample_indices(rng, n)));
  finish_percentile_interval(std::move(reps), opt.level, e);
  return e;
}

Estimate bootstrap_mean(const std::vector<double>& values, const BootstrapOptions& opt) {
  return bootstrap(
      static_cast<std::int64_t>(values.size()),
      [&](const std::vector<std::int64_t>& idx) {
        double s = 0;
        for (auto i : idx) s += values[static_cast<std::size_t>(i)];
        return s / static_cast<double>(idx.size());
      },
      opt);
}

void percentile_interval(std::span<const double> replicates, double level, double& low, double& high) {
  detail::require_level(level);
  const double alpha = (1.0 - level) / 2.0;
  std::vector<double> v(replicates.begin(), replicates.end());
  low = quantile_linear(v, alpha);
  high = quantile_linear(v, 1.0 - alpha);
}

void bca_interval(double estimate, std::span<const double> replicates, std::span<const double> jackknife,
                  double level, double& low, double& high, double& z0, double& acceleration) {
  detail::require_level(level);
  if (replicates.empty()) throw InputError("BCa interval needs bootstrap replicates");
  if (jackknife.size() < 2) throw InputError("BCa interval needs at least 2 jackknife values");
  const double b = static_cast<double>(replicates.size());
  double below = 0, below_eq = 0;
  for (double v : replicates) {
    below += v < estimate;
    below_eq += v <= estimate;
  }
  z0 = normal_quantile(std::clamp((below + below_eq) / (2.0 * b), 0.0, 1.0));
  if (std::isnan(z0)) z0 = 0;  // unreachable with clamping; kept for safety
  // acceleration from the jackknife, as scipy (Efron & Tibshirani eq. 14.15)
  const double nj = static_cast<double>(jackknife.size());
  const double mean = std::accumulate(jackknife.begin(), jackknife.end(), 0.0) / nj;
  double num = 0, den = 0;
  for (double v : jackknife) {
    const double u = (nj - 1.0) * (mean - v);
    num += u * u * u;
    den += u * u;
  }
  num /= nj * nj * nj;
  den /= nj * nj;
  acceleration = den > 0 ? num / (6.0 * std::pow(den, 1.5)) : NAN;
  const double alpha = (1.0 - level) / 2.0;
  const double za = normal_quantile(alpha);
  const double n1 = z0 + za, n2 = z0 - za;
  const double a1 = normal_cdf(z0 + n1 / (1.0 - acceleration * n1));
  const double a2 = normal_cdf(z0 + n2 / (1.0 - acceleration * n2));
  if (std::isnan(a1) || std::isnan(a2)) {
    low = high = NAN;
    return;
  }
  std::vector<double> v(replicates.begin(), replicates.end());
  low = quantile_linear(v, a1);
  high = quantile_linear(v, a2);
}

}  // namespace medsyn::stats
