#include "medsyn/metrics/sample_size.h"

namespace medsyn::metrics {

namespace {
std::string too_few(const std::string& what, std::int64_t have, std::int64_t need) {
  return "n too small: " + what + " has " + std::to_string(have) + " images, needs at least " + std::to_string(need);
}
}  // namespace

std::string fid_size_problem(std::int64_t n_a, std::int64_t n_b, std::int64_t dim, const std::string& name_a,
                             const std::string& name_b) {
  for (const auto& [name, n] : {std::pair<std::string, std::int64_t>{name_a, n_a}, {name_b, n_b}}) {
    if (n < kMinImages) return too_few("FID " + name, n, kMinImages);
    if (n <= dim)
      return "n too small: FID " + name + " has " + std::to_string(n) + " images for " +
             std::to_string(dim) + " feature dimensions (needs more images than dimensions: below, the "
             "covariance is singular and the value is dominated by finite-sample bias; use more images or an "
             "extractor with fewer dimensions)";
  }
  return "";
}

std::string kid_size_problem(std::int64_t n_a, std::int64_t n_b, const std::string& name_a, const std::string& name_b) {
  if (n_a < kMinImages) return too_few("KID " + name_a, n_a, kMinImages);
  if (n_b < kMinImages) return too_few("KID " + name_b, n_b, kMinImages);
  return "";
}

std::string prdc_size_problem(std::int64_t n_real, std::int64_t n_fake, int k) {
  const std::int64_t need = std::max<std::int64_t>(kMinImages, k + 1);
  if (n_real < need) return too_few("PRDC real set (k=" + std::to_string(k) + ")", n_real, need);
  if (n_fake < need) return too_few("PRDC synthetic set (k=" + std::to_string(k) + ")", n_fake, need);
  return "";
}

std::string diversity_size_problem(std::int64_t n_images) {
  return n_images < kMinImages ? too_few("MS-SSIM diversity", n_images, kMinImages) : "";
}

}  // namespace medsyn::metrics
