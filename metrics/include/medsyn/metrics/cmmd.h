#pragma once
// CMMD (Jayasumana et al., "Rethinking FID", CVPR 2024): the squared maximum mean discrepancy
// between two embedding sets with a Gaussian RBF kernel, as the reference code computes it
// (google-research/cmmd distance.py; sayakpaul/cmmd-pytorch, the same function in PyTorch):
//
//   k(x, y) = exp(-|x - y|^2 / (2 sigma^2)),  sigma = 10
//   CMMD    = scale * ( mean_{i,j} k(a_i, a_j) + mean_{i,j} k(b_i, b_j) - 2 mean_{i,j} k(a_i, b_j) )
//
// with scale = 1000 and the means over *all* pairs, the diagonal included: the reference's
// minimum-variance (biased, V-statistic) estimator, Eq. (5) of Gretton et al. 2012. It is >= 0.
// The embeddings are used as given (CLIP image embeddings are L2-normalised by the reference's
// embedding code; a preset extractor does that, see docs/metrics.md).
//
// Computation: float64 throughout. |x - y|^2 = |x|^2 + |y|^2 - 2 x.y with the Gram products from
// BLAS dgemm in row blocks (memory O(block x n), never n x n), clamped at 0; each kernel sum is
// accumulated per row block and then over blocks in a fixed order, so the value does not depend
// on the thread count. The reference computes in the dtype it is given; on float64 inputs the two
// agree to ~1e-12 relative (tests/fixtures/metrics/peer_metrics.json).
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "medsyn/core/estimate.h"
#include "medsyn/core/npy.h"
#include "medsyn/metrics/calibrated.h"

namespace medsyn::metrics {

struct CmmdOptions {
  double sigma = 10.0;
  double scale = 1000.0;
};

// Throws InputError naming A/B for a dimension mismatch, an empty set, or sigma/scale <= 0.
double cmmd(FeatureView a, FeatureView b, const CmmdOptions& opt = {}, const std::string& name_a = "A",
            const std::string& name_b = "B");

struct CmmdReport {
  double value = 0;            // CMMD of the full sets
  std::int64_t n_a = 0, n_b = 0;
  int dim = 0;
  CmmdOptions options;
  Estimate estimate;           // value with a bootstrap interval (bootstrap > 0)
  IntervalOptions interval;
};

// CMMD with an interval for its expectation at these sample sizes: replicate b resamples the rows
// of A and of B with replacement (stats::Rng(derive_seed(seed, 0x434D4D44)), A then B per replicate) and
// the interval is reflected about the full-sample value (stats::finish_reflected_interval, clamped
// at 0), as for KID (calibrated.h). Estimand "expected CMMD (biased MMD^2 estimator, Gaussian RBF
// kernel) at n_a, n_b".
CmmdReport cmmd_report(FeatureView a, FeatureView b, const CmmdOptions& opt, const IntervalOptions& interval,
                       const std::string& name_a = "A", const std::string& name_b = "B");
// {cmmd, n_a, n_b, dim, sigma, scale, estimator, estimates: {cmmd}, bootstrap, seed}
nlohmann::json to_json(const CmmdReport& r);

}  // namespace medsyn::metrics
