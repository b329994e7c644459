#pragma once
// The feature-set metrics as one call each, with the JSON object `medsynbench metrics fid|kid|prdc
// --json` prints. The CLI adds the input file names ("a", "b") and provenance; the Python module
// returns the same object, so a number from either is the other's, bit for bit.
//
//   fid:  {fid, n_a, n_b, dim, diagnostics, estimates: {fid, fid_population} | null, bootstrap, seed}
//         (estimates null for statistics inputs: they have no rows to resample)
//   kid:  {kid_mean, kid_std, ..., estimates: {kid}, bootstrap, seed}
//   prdc: {precision, recall, density, coverage, k, ..., estimates: {precision, recall, density,
//          coverage}, bootstrap, seed}
// Below a metric's minimum sample size the estimates are null with the reason (sample_size.h) and
// the raw full-sample value is still reported, as the CLI always did.
#include <nlohmann/json_fwd.hpp>

#include "medsyn/core/estimate.h"
#include "medsyn/metrics/calibrated.h"
#include "medsyn/metrics/fid.h"
#include "medsyn/metrics/kid.h"
#include "medsyn/metrics/prdc.h"
#include "medsyn/metrics/stats.h"

namespace medsyn::metrics {

struct FidReport {
  FidResult point;                // the full-sample FID and its diagnostics
  bool has_estimates = false;     // false for statistics inputs
  FidEstimates estimates;         // plug-in and bias-corrected population FID with intervals
  IntervalOptions interval;
};
// FID of two feature sets (dimensions must agree: InputError naming both).
FidReport fid_report(FeatureView a, FeatureView b, const IntervalOptions& interval, const FidOptions& fid = {},
                     const std::string& name_a = "A", const std::string& name_b = "B");
// FID of two Gaussian statistics (no interval).
FidReport fid_report(const GaussianStats& a, const GaussianStats& b, const FidOptions& fid = {},
                     const std::string& name_a = "A", const std::string& name_b = "B");
nlohmann::json to_json(const FidReport& r);

struct KidReport {
  KidResult result;
  Estimate estimate;
  IntervalOptions interval;
};
KidReport kid_report(FeatureView a, FeatureView b, const KidOptions& kid, const IntervalOptions& interval,
                     const std::string& name_a = "A", const std::string& name_b = "B");
nlohmann::json to_json(const KidReport& r);

struct PrdcReport {
  PrdcResult result;
  PrdcEstimates estimates;
  IntervalOptions interval;
};
PrdcReport prdc_report(FeatureView real, FeatureView fake, int k, const IntervalOptions& interval,
                       const std::string& name_real = "A", const std::string& name_fake = "B");
nlohmann::json to_json(const PrdcReport& r);

}  // namespace medsyn::metrics
