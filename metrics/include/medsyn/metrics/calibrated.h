#pragma once
// Feature-space metrics with calibrated bootstrap intervals (docs/uncertainty.md): each result is
// a medsyn::Estimate that states its estimand and method and contains its own point estimate.
//
//   FID, plug-in     value = the conventional FID (pytorch-fid / clean-fid at these n);
//                    estimand "expected plug-in FID at n_a, n_b"; interval reflected about it.
//   FID, population  value = the second-order bootstrap bias-corrected FID
//                        3 FID - 3 mean(FID*) + mean(FID**)
//                    (FID* on a resample of both sets, FID** on a resample of that resample, one
//                    inner resample per outer replicate: 2B FIDs); estimand "population Frechet
//                    distance"; interval reflected about the corrected value; clamped at 0.
//                    The plug-in FID is biased upwards by about (tr S_a / n_a + tr S_b / n_b) and a
//                    percentile interval of it covers the population distance almost never; the
//                    measured coverage of this one is in docs/uncertainty.md.
//   KID              value = the unbiased MMD^2 (kid.h); estimand "population MMD^2 (cubic
//                    polynomial kernel)"; interval reflected about it.
//   PRDC             value = precision/recall/density/coverage at this n and k; estimand "expected
//                    value at n_real, n_synthetic and k"; interval reflected about it.
// "Reflected" = stats::finish_reflected_interval: [v - (q_hi - m*), v - (q_lo - m*)], m* the
// bootstrap mean, so the extra bias of resamples with duplicated rows cancels.
//
// Resampling: replicate b resamples the rows of A and of B independently with replacement, from
// stats::Rng(derive_seed(seed, stream)) with one stream per metric, so adding a metric never moves
// another's numbers. Small samples (sample_size.h): below the minimum the estimate is null with
// the reason in `note`; nothing is computed.
#include <cstdint>
#include <string>

#include "medsyn/core/estimate.h"
#include "medsyn/core/npy.h"
#include "medsyn/metrics/fid.h"
#include "medsyn/metrics/kid.h"
#include "medsyn/metrics/prdc.h"

namespace medsyn::metrics {

// ci_method of the reflected intervals (stats::finish_reflected_interval) of every feature metric.
inline constexpr const char* kReflectedIntervalMethod =
    "basic bootstrap about the estimate (deviations from the bootstrap mean)";

struct IntervalOptions {
  int bootstrap = 100;  // outer replicates; 0 = point estimates only (no interval, no bias correction)
  double ci_level = 0.95;
  std::uint64_t seed = 0;
};

// Throws InputError naming the quantity when bootstrap < 0 or ci_level is outside (0, 1).
void validate(const IntervalOptions& o);

struct FidEstimates {
  Estimate plug_in;     // the conventional FID with an interval for its expectation at these n
  Estimate population;  // bias-corrected; interval for the population Frechet distance
  FidResult point;      // the full-sample computation with its diagnostics (fid = plug_in.value)
};

// FID of A vs B (`fid_opt`: eps for rank-deficient covariances, for the point estimate and the
// replicates). Below the minimum size (sample_size.h) both estimates are null with the reason and
// `point` is not computed (point.fid NaN). `stats_a` / `stats_b`, when given, are the statistics
// of all rows of a / b computed elsewhere (merged from shards, issue 15): the point estimate uses
// them instead of one pass over the rows (InputError when their n or dim differ from the rows);
// the replicates always resample the rows.
FidEstimates fid_estimates(FeatureView a, FeatureView b, const IntervalOptions& opt,
                           const std::string& name_a = "A", const std::string& name_b = "B",
                           const FidOptions& fid_opt = {}, const GaussianStats* stats_a = nullptr,
                           const GaussianStats* stats_b = nullptr);

// KID with an interval for the population MMD^2. Replicate b uses KID subsets seeded from
// (kid.seed, b); the subset size actually used for the point estimate is kept for the replicates.
// `result` (optional) receives the full-sample KidResult (subsets, std, warnings) when computed.
Estimate kid_estimate(FeatureView a, FeatureView b, const KidOptions& kid_opt, const IntervalOptions& opt,
                      const std::string& name_a = "A", const std::string& name_b = "B",
                      KidResult* result = nullptr);

struct PrdcEstimates {
  Estimate precision, recall, density, coverage;
};
// Real = A, generated = B, k neighbours. Below the minimum every estimate is null with the reason.
// `result` (optional) receives the full-sample PrdcResult when it is computed.
PrdcEstimates prdc_estimates(FeatureView real, FeatureView fake, int k, const IntervalOptions& opt,
                             const std::string& name_real = "A", const std::string& name_fake = "B",
                             PrdcResult* result = nullptr);

// Paired comparison of two synthetic sets B1, B2 against the same real set A: the difference
// FID_pop(A, B2) - FID_pop(A, B1) of the bias-corrected estimates, with an interval from a paired
// bootstrap (each replicate resamples A once and uses it for both; B1 and B2 independently).
// Estimand "difference of population Frechet distances (B2 minus B1)". Null with the reason when
// any set is below the FID minimum.
Estimate fid_population_difference(FeatureView a, FeatureView b1, FeatureView b2,
                                   const IntervalOptions& opt, const std::string& name_a = "A",
                                   const std::string& name_b1 = "B1", const std::string& name_b2 = "B2");

// Rows `idx` of m (indices may repeat).
Matrix32 gather_rows(FeatureView m, const std::vector<std::int64_t>& idx);

}  // namespace medsyn::metrics
