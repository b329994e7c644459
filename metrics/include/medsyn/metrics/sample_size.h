#pragma once
// Minimum sample sizes below which a metric is not a number to put in a table (docs/uncertainty.md
// "Small samples"). Each check returns "" when the sizes suffice, else the reason, which callers
// put in the null estimate's `note` (the report prints "n too small").
//
//  - FID (plug-in, population, floor halves): each set needs more images than feature dimensions
//    (n > d: otherwise the covariance is singular and the value is dominated by finite-sample
//    bias) and at least kMinImages.
//  - KID: at least kMinImages per set.
//  - PRDC: more than k and at least kMinImages per set.
//  - MS-SSIM diversity: at least kMinImages images.
#include <cstdint>
#include <algorithm>
#include <string>

namespace medsyn::metrics {

inline constexpr std::int64_t kMinImages = 10;

// name_a / name_b name the sets in the reason ("real 'chest_xray'", "synthetic ...").
std::string fid_size_problem(std::int64_t n_a, std::int64_t n_b, std::int64_t dim, const std::string& name_a = "set A",
                             const std::string& name_b = "set B");
std::string kid_size_problem(std::int64_t n_a, std::int64_t n_b, const std::string& name_a = "set A",
                             const std::string& name_b = "set B");
std::string prdc_size_problem(std::int64_t n_real, std::int64_t n_fake, int k);
std::string diversity_size_problem(std::int64_t n_images);

}  // namespace medsyn::metrics
