#pragma once
// Bootstrap confidence intervals (percentile method) and the seeded sampling helpers every metric
// uses, so a CI or a subset depends only on (data, seed), never on the standard library's
// distribution implementation or the thread count.
//
// Conventions:
//  - Random numbers: std::mt19937_64 seeded with the user's seed; bounded integers come from
//    random_below (rejection sampling, unbiased, identical on every platform).
//  - Percentiles use linear interpolation between order statistics (numpy's default
//    "linear" method, Hyndman-Fan type 7). A 95% interval is [p2.5, p97.5] of the replicates.
//  - Replicates whose statistic is not finite (NaN/Inf) are dropped and counted in `failed`;
//    if fewer than half of them are finite the interval is NaN (reported as null in JSON).
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

namespace medsyn::metrics {

// Uniform integer in [0, n), n > 0. Unbiased (rejection), platform independent.
std::uint64_t random_below(std::mt19937_64& rng, std::uint64_t n);

// `k` distinct indices from [0, n), in the order drawn (partial Fisher-Yates). Requires k <= n.
std::vector<std::int64_t> sample_without_replacement(std::mt19937_64& rng, std::int64_t n, std::int64_t k);

// `n` indices drawn uniformly with replacement from [0, n).
std::vector<std::int64_t> resample_indices(std::mt19937_64& rng, std::int64_t n);

// q in [0, 1]; linear interpolation (numpy default). `v` need not be sorted. NaN if empty.
double percentile(std::vector<double> v, double q);

struct BootstrapOptions {
  int replicates = 1000;
  std::uint64_t seed = 0;
  double level = 0.95;  // central interval
};

struct BootstrapResult {
  double estimate = 0;        // the statistic on the original sample
  double low = 0, high = 0;   // percentile interval
  double level = 0.95;
  int replicates = 0;         // requested
  int failed = 0;             // replicates with a non-finite statistic (dropped)
  double se = 0;              // standard deviation of the finite replicates (ddof = 1)
};

// Resamples the indices 0..n-1 with replacement `replicates` times and evaluates `statistic` on
// each resample (`statistic(identity)` gives the estimate). The statistic receives the index list;
// e.g. FID on resampled feature rows. Throws InputError if n < 1 or replicates < 1.
BootstrapResult bootstrap(std::int64_t n,
                          const std::function<double(const std::vector<std::int64_t>&)>& statistic,
                          const BootstrapOptions& opt = {});

// Convenience: CI of the mean of `values`.
BootstrapResult bootstrap_mean(const std::vector<double>& values, const BootstrapOptions& opt = {});

// Turns finite replicates into the percentile interval (fills low/high/se/failed of `r`).
void finish_percentile_interval(std::vector<double> replicates, BootstrapResult& r);

}  // namespace medsyn::metrics
