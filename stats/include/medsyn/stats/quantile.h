#pragma once
// Quantiles: the project's one linear (numpy "linear" / R type 7) sample quantile and the standard
// normal distribution (Boost.Math). Every interval in MedSynBench is built from these.
#include <vector>

namespace medsyn::stats {

// Linear-interpolated quantile of `values` (need not be sorted), q in [0, 1]: numpy.percentile(
// values, 100 q) with its default "linear" method (R type 7), computed as a + (b - a) t (numpy's
// symmetric lerp can differ in the last bit). InputError when `values` is empty or q is outside
// [0, 1].
double quantile_linear(std::vector<double> values, double q);

// Standard normal distribution (Boost.Math). normal_cdf(+-inf) = 1 / 0; NaN in, NaN out.
double normal_cdf(double x);
double normal_sf(double x);        // 1 - cdf, accurate in the upper tail
double normal_quantile(double p);  // inverse cdf, p in (0, 1)

}  // namespace medsyn::stats
