#pragma once
// Calibration mathematics of the memorization audit: plain functions on nearest-neighbour
// similarities, no FAISS and no LibTorch.
//
// Conventions (stated once, here; docs/memorization.md repeats them for users):
//  - Similarity s is the cosine similarity of two L2-normalised embeddings, in [-1, 1].
//  - Distance is the cosine distance d = 1 - s (in [0, 2]); DCR = "distance to closest record",
//    i.e. d of the nearest training image.
//  - Quantiles and percentiles use linear interpolation between order statistics (numpy's default,
//    Hyndman-Fan type 7): q(p) = x[floor(h)] + (h - floor(h)) (x[floor(h)+1] - x[floor(h)]),
//    h = (n - 1) p, on the sorted values.
//  - tau = quantile(holdout -> train nearest similarities, threshold_quantile).
//  - An image is "flagged" when its nearest similarity is strictly above the threshold (s > t).
//  - DCR ratio = median(synthetic DCR) / median(holdout DCR). Below 1: synthetic images sit closer
//    to the training set than new real images do. NaN (JSON null) when the holdout median is 0.
//  - The Mann-Whitney test is one-sided: H1 "synthetic DCRs tend to be smaller than holdout DCRs"
//    (scipy.stats.mannwhitneyu(dcr_syn, dcr_hold, alternative="less")).
// Empty inputs and non-finite values are InputErrors naming the argument.
#include <span>
#include <string>
#include <vector>

namespace medsyn::memorization {

double quantile(std::span<const double> values, double p, const std::string& what = "values");

struct SimilaritySummary {
  std::size_t count = 0;
  double mean = 0;
  double p50 = 0, p75 = 0, p90 = 0, p95 = 0, p99 = 0;
  double min = 0, max = 0;
};
SimilaritySummary summarize(std::span<const double> sims, const std::string& what = "similarities");

// Fraction of values strictly above t.
double fraction_above(std::span<const double> sims, double t);

// 1 - s for each value.
std::vector<double> to_distances(std::span<const double> sims);

struct Calibration {
  double threshold_quantile = 0.99;
  double tau = 0;
  SimilaritySummary synthetic, holdout;
  double synthetic_above_tau = 0;  // fraction of synthetic images with s > tau
  double holdout_above_tau = 0;    // the same for holdout (about 1 - threshold_quantile by design)
  std::vector<double> fixed_thresholds;
  std::vector<double> synthetic_above_fixed;  // per fixed threshold
  std::vector<double> holdout_above_fixed;
  double median_dcr_synthetic = 0, median_dcr_holdout = 0;
  double dcr_ratio = 0;  // NaN when median_dcr_holdout == 0
  // One-sided Mann-Whitney U on DCRs (synthetic closer than holdout).
  double mw_u = 0, mw_p = 0, mw_z = 0;
  std::string mw_method;
};

// Everything above from the nearest similarities of synthetic and holdout images.
Calibration calibrate(std::span<const double> synthetic_nn_sims, std::span<const double> holdout_nn_sims,
                      double threshold_quantile, const std::vector<double>& fixed_thresholds);

}  // namespace medsyn::memorization
