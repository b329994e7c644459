#pragma once
// SSIM and MS-SSIM on medsyn::Image, in float64.
//
// Convention (that of the pytorch_msssim package; SSIM also equals scikit-image's
// structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
// data_range=R) averaged over channels):
//  - Window: 1-D Gaussian g[i] ~ exp(-(i - win_size/2)^2 / (2 sigma^2)), i < win_size (odd),
//    normalised to sum 1, applied separably and "valid" (no padding): an H x W plane gives an
//    (H - win_size + 1) x (W - win_size + 1) map. skimage filters with reflect padding and then
//    crops (win_size - 1)/2 pixels from every border, which leaves exactly the valid region; its
//    window for sigma = 1.5 is 2*int(3.5*1.5 + 0.5) + 1 = 11 taps, the same Gaussian.
//  - Population (co)variances: sigma_xy = G*(xy) - (G*x)(G*y). C1 = (K1 R)^2, C2 = (K2 R)^2 with
//    K1 = 0.01, K2 = 0.03 and R the data range (explicit; default 1.0 for images in [0,1]).
//    cs = mean (2 sigma_xy + C2) / (sigma_x^2 + sigma_y^2 + C2);
//    ssim = mean ((2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1)) * cs-map.
//  - SSIM: ssim per channel, averaged over channels (can be negative).
//  - MS-SSIM with S scales and weights w (default Wang et al. 2003: 0.0448, 0.2856, 0.3001,
//    0.2363, 0.1333; for S < 5 without explicit weights, the first S of them renormalised to sum
//    1): per channel prod_{s<S-1} relu(cs_s)^w_s * relu(ssim_{S-1})^w_{S-1}, then the mean over
//    channels. Between scales: 2x2 average pooling, stride 2, after zero padding of 1 pixel on both
//    ends of an odd side (torch avg_pool2d(kernel 2, padding=(h%2, w%2), count_include_pad=True)).
//  - Minimum size: the last scale must still hold one window, i.e. the smaller side must be at
//    least (win_size - 1) * 2^(S-1) + 1 (161 for 11 and 5 scales, the same bound pytorch_msssim
//    asserts). Smaller images are an InputError naming the options --scales and --win-size.
// Images must have equal channel counts and sizes (InputError naming both files otherwise).
#include <string>
#include <vector>

#include "medsyn/core/image.h"

namespace medsyn::metrics {

struct SsimOptions {
  double data_range = 1.0;
  int win_size = 11;
  double sigma = 1.5;
  double k1 = 0.01, k2 = 0.03;
};

struct MsSsimOptions {
  SsimOptions ssim;
  int scales = 5;
  std::vector<double> weights;  // empty = default for `scales`
};

std::vector<double> default_ms_ssim_weights(int scales);
int ms_ssim_min_side(int win_size, int scales);

double ssim(const Image& x, const Image& y, const SsimOptions& opt = {}, const std::string& name_x = "X",
            const std::string& name_y = "Y");
double ms_ssim(const Image& x, const Image& y, const MsSsimOptions& opt = {}, const std::string& name_x = "X",
               const std::string& name_y = "Y");

// Per-image terms shared by every pair an image takes part in: at each scale the (pooled) plane,
// its filtered mean mu = G*x and variance G*(x^2) - mu^2. A pair then needs only G*(xy).
struct PreparedImage {
  struct Level {
    int h = 0, w = 0;      // plane size at this scale
    int vh = 0, vw = 0;    // valid map size
    std::vector<double> x, mu, var;
  };
  int channels = 0, height = 0, width = 0;
  std::string name;
  std::vector<std::vector<Level>> levels;  // [channel][scale]
};

// Validates options and size (InputError naming `name`) and precomputes the terms.
PreparedImage prepare_ms_ssim(const Image& img, const MsSsimOptions& opt, const std::string& name);

// Scratch buffers for pair evaluation (one per thread).
struct SsimWorkspace {
  std::vector<double> prod, tmp, acc;
};

// MS-SSIM of two prepared images (same options). Checks sizes/channels (InputError).
double ms_ssim_prepared(const PreparedImage& a, const PreparedImage& b, const MsSsimOptions& opt,
                        SsimWorkspace& ws);

// Throws InputError unless the options are usable (odd win_size >= 1, sigma > 0, data_range > 0,
// 1 <= scales, weights count == scales and >= 0).
void validate_ms_ssim_options(const MsSsimOptions& opt);

}  // namespace medsyn::metrics
