// The one linear sample quantile (numpy's) and the standard normal distribution (Boost.Math).
#include "medsyn/stats/quantile.h"

#include <algorithm>
#include <cmath>
#include <string>

#include <boost/math/distributions/normal.hpp>

#include "medsyn/core/error.h"

namespace medsyn::stats {

double quantile_linear(std::vector<double> values, double q) {
  if (values.empty()) throw InputError("quantile of an empty set");
  if (!(q >= 0.0 && q <= 1.0)) throw InputError("quantile must be in [0, 1], got " + std::to_string(q));
  std::sort(values.begin(), values.end());
  const double h = (static_cast<double>(values.size()) - 1.0) * q;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  if (lo + 1 >= values.size()) return values.back();
  const double t = h - static_cast<double>(lo);
  const double a = values[lo], b = values[lo + 1];
  // a + (b - a) t, as the metrics bootstraps always computed it (numpy's _lerp switches to
  // b - (b - a)(1 - t) for t >= 0.5; the two differ by at most one ulp), so no interval moves.
  return a + (b - a) * t;
}

double normal_cdf(double x) {
  if (std::isnan(x)) return x;
  if (x == INFINITY) return 1.0;
  if (x == -INFINITY) return 0.0;
  return boost::math::cdf(boost::math::normal_distribution<double>(), x);
}

double normal_sf(double x) {
  if (std::isnan(x)) return x;
  if (x == INFINITY) return 0.0;
  if (x == -INFINITY) return 1.0;
  return boost::math::cdf(boost::math::complement(boost::math::normal_distribution<double>(), x));
}

double normal_quantile(double p) {
  return boost::math::quantile(boost::math::normal_distribution<double>(), p);
}

}  // namespace medsyn::stats
