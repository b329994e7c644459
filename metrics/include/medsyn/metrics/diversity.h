#pragma once
// Pairwise diversity: mean MS-SSIM over pairs of images of one modality (lower = more diverse),
// with its standard deviation, the number of pairs and a bootstrap CI.
//
// Conventions:
//  - MS-SSIM as in ssim.h (pytorch_msssim convention, data range 1.0 by default).
//  - Pairs: all n(n-1)/2 unordered pairs of distinct images, or `pairs` of them drawn uniformly
//    without replacement (stats::Rng(seed), Floyd's algorithm with stats::random_below), evaluated in sorted order.
//  - Per-image terms (pooled planes, filtered means and variances at every scale) are computed
//    once per image and shared by all its pairs; a pair costs one filtered product per scale.
//    Only images that appear in a selected pair are read. Memory: about 4 doubles (32 bytes) per
//    pixel per channel per image held (~2 MB for a 256x256 gray image).
//  - std: sample standard deviation (ddof = 1) of the pair values (0 for a single pair).
//  - CI: percentile bootstrap over *images* (pairs share images, so resampling pairs would
//    understate the uncertainty): a replicate draws n images with replacement, weights each
//    evaluated pair (i, j) by count_i * count_j and takes the weighted mean.
//  - Pairs are evaluated in parallel (OpenMP) but each value is stored by pair index, so results
//    do not depend on the thread count.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "medsyn/core/image.h"
#include "medsyn/core/estimate.h"
#include "medsyn/metrics/ssim.h"
#include "medsyn/stats/intervals.h"

namespace medsyn::metrics {

struct DiversityOptions {
  MsSsimOptions ms_ssim;
  std::int64_t pairs = 0;  // 0 = all pairs
  std::uint64_t seed = 0;
  stats::BootstrapOptions bootstrap;  // seed used for the CI is bootstrap.seed
};

struct DiversityResult {
  std::string modality;
  std::int64_t n_images = 0;
  std::int64_t n_pairs = 0;
  bool all_pairs = true;
  double mean = 0, std = 0;
  Estimate ci;  // value = mean; percentile bootstrap interval over images (replicates 0: none)
  std::vector<double> values;  // per evaluated pair, in pair order
  std::vector<std::pair<std::int64_t, std::int64_t>> pair_index;
};

// The pairs (i < j) to evaluate for n images. Sorted.
std::vector<std::pair<std::int64_t, std::int64_t>> select_pairs(std::int64_t n, std::int64_t pairs,
                                                                   std::uint64_t seed);

// Diversity of n images given by a loader (called once per image that is needed; may throw).
// `names[i]` is used in error messages. InputError if n < 2.
DiversityResult diversity_of_images(std::int64_t n, const std::function<Image(std::int64_t)>& load,
                                    const std::vector<std::string>& names, const DiversityOptions& opt);

// Per-modality diversity of a dataset folder (manifest.jsonl), modalities in first-seen order.
// A modality with fewer than 2 images is an InputError naming it.
std::vector<DiversityResult> dataset_diversity(const std::filesystem::path& dataset_dir,
                                               const DiversityOptions& opt);

nlohmann::json diversity_to_json(const DiversityResult& r);

}  // namespace medsyn::metrics
