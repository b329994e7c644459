#pragma once
// Confidence intervals, each returned as a medsyn::Estimate that states its level (ci_level) and
// method (ci_method):
//  - wilson_interval: a proportion k/n ("wilson").
//  - t_interval_mean: the mean of a few values (e.g. one per seed) with a Student-t interval
//    ("t over seeds").
//  - bootstrap / bootstrap_mean: the percentile bootstrap over resampled indices
//    ("percentile bootstrap"); finish_percentile_interval turns replicates into the interval.
//  - stratified_bootstrap: percentile or BCa intervals for binary-classifier metrics, resampling
//    cases and controls separately ("percentile bootstrap" / "bca bootstrap").
//
// Conventions:
//  - Randomness comes from random.h only (std::mt19937_64(seed) and random_below), so an interval
//    depends only on (data, seed), never on the standard library or the thread count.
//  - Percentiles are quantile_linear (numpy's default "linear" method). A 95% interval is
//    [q(0.025), q(0.975)] of the replicates.
//  - Replicates whose statistic is not finite are dropped and counted in `failed`; if fewer than
//    half are finite the interval is NaN (null in JSON).
//  - Bad arguments (level outside (0, 1), fewer than one replicate, ...) throw medsyn::InputError
//    with a message naming the quantity, never a command-line flag (the CLI adds its flag).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "medsyn/core/estimate.h"
#include "medsyn/stats/classification.h"

namespace medsyn::stats {

// Wilson score interval of successes/n at `level` (value = successes/n, ci_method "wilson",
// n = n; estimand left to the caller). The bounds are exactly 0 when successes == 0 and exactly 1
// when successes == n. n <= 0: value and interval NaN with a note. InputError when successes is
// outside [0, n] or level outside (0, 1).
Estimate wilson_interval(double successes, double n, double level = 0.95);

// Mean of `values` with the Student-t interval mean -/+ t_{n-1, 1-(1-level)/2} sd / sqrt(n)
// (ci_method "t over seeds", n = values.size(), se = sd / sqrt(n)). n < 2: no interval (NaN);
// empty or any value not finite: value NaN too (with a note). All values equal: [mean, mean].
Estimate t_interval_mean(const std::vector<double>& values, double level = 0.95);
// Mean of the finite values (NaN when there are none): bootstrap replicates that failed are NaN.
double mean_finite(const std::vector<double>& values);
// Sample standard deviation (n - 1) of `values`; NaN when n < 2.
double sample_sd(const std::vector<double>& values);

struct BootstrapOptions {
  int replicates = 1000;
  std::uint64_t seed = 0;
  double level = 0.95;  // central interval
};

// Resamples the indices 0..n-1 with replacement `replicates` times (std::mt19937_64(seed),
// resample_indices) and evaluates `statistic` on each resample; `statistic(identity)` gives the
// value. E.g. FID on resampled feature rows. Returns value, percentile interval, se (std of the
// finite replicates), n, replicates, failed; ci_method "percentile bootstrap". InputError if
// n < 1, replicates < 1 or level outside (0, 1).
Estimate bootstrap(std::int64_t n, const std::function<double(const std::vector<std::int64_t>&)>& statistic,
                   const BootstrapOptions& opt = {});

// Convenience: CI of the mean of `values`.
Estimate bootstrap_mean(const std::vector<double>& values, const BootstrapOptions& opt = {});

// Sets ci_low/ci_high/se/failed/replicates/ci_level/ci_method of `e` from the replicates (value
// and n are left alone): the percentile interval of the finite ones at `level`, se their standard
// deviation (ddof 1; 0 for a single one); everything NaN when fewer than half are finite.
void finish_percentile_interval(std::vector<double> replicates, double level, Estimate& e);

// The interval for estimands whose estimate is (made) unbiased, used by the feature metrics
// (metrics/calibrated.h, docs/uncertainty.md). With m* the mean of the finite replicates and
// q_lo, q_hi their percentile-interval ends, it sets
//   ci = [estimate - (q_hi - m*), estimate - (q_lo - m*)]
// i.e. the basic ("reflected") bootstrap interval with the deviations taken from the bootstrap
// mean instead of the estimate, so a bias that only the resamples have (duplicated rows inflate
// FID, KID's within-set terms and shrink k-NN radii) does not shift it. The interval always
// contains `estimate` (widened to it in the rare case it would not). [clamp_low, clamp_high]: the
// parameter's range (e.g. [0, inf) for a distance, [0, 1] for a fraction): value and both ends are
// clamped to it. Sets value = estimate,
// ci_*, se, replicates, failed, ci_level and ci_method = `method`; n is left alone. Fewer than half
// the replicates finite, or a non-finite estimate: no interval.
void finish_reflected_interval(double estimate, std::vector<double> replicates, double level, const std::string& method,
                               Estimate& e, double clamp_low = -std::numeric_limits<double>::infinity(),
                               double clamp_high = std::numeric_limits<double>::infinity());

// Percentile interval [q(alpha), q(1 - alpha)], alpha = (1 - level) / 2, of replicates (all used).
void percentile_interval(std::span<const double> replicates, double level, double& low, double& high);
// BCa interval from the estimate, replicates and jackknife (leave-one-out) values, exactly as
// scipy.stats._resampling._bca_interval; also returns z0 and the acceleration.
void bca_interval(double estimate, std::span<const double> replicates, std::span<const double> jackknife,
                  double level, double& low, double& high, double& z0, double& acceleration);

// ----------------------------------------------------------------------------------------------
// Stratified bootstrap CIs for binary-classifier metrics (classification.h's Metric).

enum class CiMethod { percentile, bca };
CiMethod parse_ci_method(const std::string& name);  // "percentile" | "bca"
std::string to_string(CiMethod m);

struct StratifiedBootstrapOptions {
  int resamples = 2000;
  std::uint64_t seed = 0;
  CiMethod method = CiMethod::percentile;
  double level = 0.95;
  double threshold = 0.5;  // for accuracy / balanced_accuracy
};

struct StratifiedBootstrapResult {
  // value = metric on the original data; ci_low/ci_high/ci_level; ci_method "percentile
  // bootstrap" or "bca bootstrap"; n = n_pos + n_neg; se = sd (n - 1) of the replicates;
  // replicates = resamples.
  Estimate estimate;
  CiMethod method = CiMethod::percentile;
  Metric metric = Metric::auc;
  std::uint64_t seed = 0;
  double boot_mean = 0;               // mean of the replicates
  double z0 = 0, acceleration = 0;    // BCa bias correction and acceleration (0 for percentile)
  std::size_t n_pos = 0, n_neg = 0;
  std::vector<double> replicates;     // the metric on each resample, in draw order
  std::vector<std::string> warnings;
};
// Stratified: each replicate draws n_pos cases and n_neg controls with replacement from their own
// class, so every replicate has both classes. Percentile CI = quantile_linear of the replicates.
// BCa as scipy.stats.bootstrap(method="BCa"): z0 from the fraction of replicates below the
// estimate, acceleration from the leave-one-out jackknife over all N observations (computed
// exactly in O(N log N) for every metric).
StratifiedBootstrapResult stratified_bootstrap(std::span<const int> labels, std::span<const double> scores,
                                               Metric metric, const StratifiedBootstrapOptions& options = {});

}  // namespace medsyn::stats
