#pragma once
// Intensity and colour comparison of a generated image set with the real set of its modality:
// the drift a reader sees at a glance (too bright, washed-out colour, grey background) before any
// feature-space metric. Torch-free; used by the suites' fidelity stage and engine_acceptance_eval.
//
// Conventions (images in [0, 1], CHW, all of one size per set is NOT required):
//  - Channels: both sets are compared in the real set's channel count (the first real image's;
//    a generated image with another count is converted with to_channels: gray -> replicated,
//    RGB -> ITU-R 601 luma). Rows: one per channel, plus "all" (every pixel of every channel)
//    when there are several channels. For one channel the only row is "all".
//  - mean: mean pixel value of the set, std: pixel standard deviation of the set (ddof 0 over all
//    its pixels of that channel). Images weigh by their pixel count.
//  - Intervals: percentile bootstrap over *images* (pixels of an image are not independent),
//    `bootstrap.replicates` resamples, real and generated sets resampled independently;
//    mean_diff = generated mean - real mean with the interval of the paired replicate differences.
//    Fewer than `min_images` images in a set: the set's estimates are null with a note.
//  - wasserstein: 1-D Wasserstein-1 distance between the two sets' pixel-value distributions of the
//    channel (exact, from the sorted values; scipy.stats.wasserstein_distance).
//  - histogram: `bins` equal bins over [0, 1] (value 1 in the last), fractions of pixels.
//  - background: mean over all channels of the four k x k corner patches, k = max(1, round(min(H, W)
//    / 9)), per image; reported for every modality, `has_background` when the real corner mean is
//    below `background_threshold` (a dark surround such as a fundus photograph's).
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "medsyn/core/estimate.h"
#include "medsyn/core/image.h"
#include "medsyn/stats/intervals.h"

namespace medsyn::metrics {

struct IntensityOptions {
  int bins = 32;
  int min_images = 2;
  double background_threshold = 0.1;
  stats::BootstrapOptions bootstrap{1000, 0, 0.95};
};

struct ChannelIntensity {
  std::string channel;  // "all", "gray", "red", "green", "blue", "c<k>"
  Estimate real_mean, generated_mean, mean_diff;
  Estimate real_std, generated_std;
  double wasserstein = Estimate::kNaN;
  std::vector<double> real_hist, generated_hist;  // fractions per bin
};

struct IntensityComparison {
  std::string modality;
  int channels = 0;
  std::int64_t n_real = 0, n_generated = 0;
  std::vector<ChannelIntensity> rows;  // per channel, then "all" (or only "all" for one channel)
  Estimate real_background, generated_background;
  int corner = 0;
  bool has_background = false;
  int bins = 0;
};

// InputError when either set is empty or an image has no pixels.
IntensityComparison compare_intensity(const std::string& modality, const std::vector<Image>& real,
                                      const std::vector<Image>& generated, const IntensityOptions& opt = {});

// Exact 1-D Wasserstein-1 distance between two samples (each sorted in place). NaN if either is empty.
double wasserstein_1d(std::vector<float>& a, std::vector<float>& b);

nlohmann::ordered_json intensity_to_json(const IntensityComparison& c);

}  // namespace medsyn::metrics
