// Intensity / colour comparison (see intensity.h for the conventions).
#include "medsyn/metrics/intensity.h"

#include <algorithm>
#include <cmath>

#include "medsyn/core/error.h"
#include "medsyn/stats/random.h"

namespace medsyn::metrics {

namespace {

// Per-image sufficient statistics of one row (channel or all channels).
struct PerImage {
  std::vector<double> sum, sumsq, count;
};

std::string channel_name(int k, int channels) {
  if (channels == 3) return k == 0 ? "red" : k == 1 ? "green" : "blue";
  if (channels == 1) return "gray";
  return "c" + std::to_string(k);
}

// Set mean and std (ddof 0) from the selected images' sums.
std::pair<double, double> set_moments(const PerImage& p, const std::vector<std::int64_t>& idx) {
  double s = 0, q = 0, n = 0;
  for (auto i : idx) {
    s += p.sum[i];
    q += p.sumsq[i];
    n += p.count[i];
  }
  const double m = s / n;
  return {m, std::sqrt(std::max(0.0, q / n - m * m))};
}

std::vector<std::int64_t> identity(std::int64_t n) {
  std::vector<std::int64_t> v(n);
  for (std::int64_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

struct Boot {
  Estimate mean, std;
  std::vector<double> mean_reps;
};

// Point values and bootstrap replicates over images of one set.
Boot bootstrap_set(const PerImage& p, const IntensityOptions& opt, std::uint64_t stream, const std::string& what) {
  Boot b;
  const auto n = static_cast<std::int64_t>(p.sum.size());
  if (n < opt.min_images) {
    const std::string why = what + ": " + std::to_string(n) + " image(s), fewer than " + std::to_string(opt.min_images);
    b.mean = Estimate::null_because(why, n);
    b.std = Estimate::null_because(why, n);
    return b;
  }
  const auto [m, s] = set_moments(p, identity(n));
  b.mean.value = m;
  b.std.value = s;
  stats::Rng rng(stats::derive_seed(opt.bootstrap.seed, stream));
  std::vector<double> sreps;
  for (int r = 0; r < opt.bootstrap.replicates; ++r) {
    const auto [rm, rs] = set_moments(p, stats::resample_indices(rng, n));
    b.mean_reps.push_back(rm);
    sreps.push_back(rs);
  }
  stats::finish_percentile_interval(b.mean_reps, opt.bootstrap.level, b.mean);
  stats::finish_percentile_interval(sreps, opt.bootstrap.level, b.std);
  for (Estimate* e : {&b.mean, &b.std}) {
    e->n = n;
    e->ci_method = "percentile bootstrap over images";
  }
  b.mean.estimand = "mean pixel value of the " + what + " population";
  b.std.estimand = "pixel standard deviation of the " + what + " population";
  return b;
}

std::vector<double> histogram(const std::vector<float>& v, int bins) {
  std::vector<double> h(bins, 0.0);
  for (float x : v) h[std::clamp(static_cast<int>(x * bins), 0, bins - 1)] += 1;
  for (auto& x : h) x /= std::max<double>(1, static_cast<double>(v.size()));
  return h;
}

}  // namespace

double wasserstein_1d(std::vector<float>& a, std::vector<float>& b) {
  if (a.empty() || b.empty()) return Estimate::kNaN;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  // Integral of |F_a - F_b| over the merged breakpoints.
  const double na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
  std::size_t i = 0, j = 0;
  double w = 0, prev = std::min(a[0], b[0]);
  while (i < a.size() || j < b.size()) {
    const double x = j >= b.size() || (i < a.size() && a[i] <= b[j]) ? a[i] : b[j];
    w += std::abs(static_cast<double>(i) / na - static_cast<double>(j) / nb) * (x - prev);
    prev = x;
    while (i < a.size() && a[i] == x) ++i;
    while (j < b.size() && b[j] == x) ++j;
  }
  return w;
}

IntensityComparison compare_intensity(const std::string& modality, const std::vector<Image>& real,
                                      const std::vector<Image>& generated, const IntensityOptions& opt) {
  if (real.empty()) throw InputError("intensity " + modality + ": no real images");
  if (generated.empty()) throw InputError("intensity " + modality + ": no generated images");
  if (opt.bins < 1) throw InputError("intensity: bins must be >= 1");
  IntensityComparison c;
  c.modality = modality;
  c.channels = real.front().channels;
  c.n_real = static_cast<std::int64_t>(real.size());
  c.n_generated = static_cast<std::int64_t>(generated.size());
  c.bins = opt.bins;
  const int C = c.channels;
  const int nrows = C == 1 ? 1 : C + 1;
  // values[row], per-image stats[row], corner per image
  struct Side {
    std::vector<std::vector<float>> values;
    std::vector<PerImage> per;
    PerImage corner;
  };
  int corner = 0;
  auto collect = [&](const std::vector<Image>& imgs, const std::string& what) {
    Side s;
    s.values.resize(nrows);
    s.per.resize(nrows);
    for (const Image& in : imgs) {
      if (in.empty() || in.height < 1 || in.width < 1) throw InputError("intensity " + modality + ": an empty " + what + " image");
      const Image img = in.channels == C ? in : to_channels(in, C);
      const std::size_t hw = static_cast<std::size_t>(img.height) * img.width;
      double all_s = 0, all_q = 0;
      for (int k = 0; k < C; ++k) {
        const float* p = img.plane(k);
        double su = 0, sq = 0;
        for (std::size_t i = 0; i < hw; ++i) {
          su += p[i];
          sq += static_cast<double>(p[i]) * p[i];
        }
        all_s += su;
        all_q += sq;
        const int row = C == 1 ? 0 : k;
        s.values[row].insert(s.values[row].end(), p, p + hw);
        s.per[row].sum.push_back(su);
        s.per[row].sumsq.push_back(sq);
        s.per[row].count.push_back(static_cast<double>(hw));
        if (C > 1) s.values[C].insert(s.values[C].end(), p, p + hw);
      }
      if (C > 1) {
        s.per[C].sum.push_back(all_s);
        s.per[C].sumsq.push_back(all_q);
        s.per[C].count.push_back(static_cast<double>(hw) * C);
      }
      const int k = std::max(1, static_cast<int>(std::lround(std::min(img.height, img.width) / 9.0)));
      corner = k;
      double cs = 0;
      for (int ch = 0; ch < C; ++ch)
        for (int y = 0; y < k; ++y)
          for (int x = 0; x < k; ++x)
            cs += img.at(ch, y, x) + img.at(ch, y, img.width - 1 - x) + img.at(ch, img.height - 1 - y, x) +
                  img.at(ch, img.height - 1 - y, img.width - 1 - x);
      s.corner.sum.push_back(cs);
      s.corner.sumsq.push_back(0);
      s.corner.count.push_back(4.0 * k * k * C);
    }
    return s;
  };
  Side r = collect(real, "real"), g = collect(generated, "generated");
  c.corner = corner;
  for (int row = 0; row < nrows; ++row) {
    ChannelIntensity ci;
    ci.channel = row == C || C == 1 ? "all" : channel_name(row, C);
    const Boot br = bootstrap_set(r.per[row], opt, 2 * row, "real " + modality + " " + ci.channel);
    const Boot bg = bootstrap_set(g.per[row], opt, 2 * row + 1, "generated " + modality + " " + ci.channel);
    ci.real_mean = br.mean;
    ci.real_std = br.std;
    ci.generated_mean = bg.mean;
    ci.generated_std = bg.std;
    if (br.mean.has_value() && bg.mean.has_value()) {
      ci.mean_diff.value = bg.mean.value - br.mean.value;
      std::vector<double> d;
      for (std::size_t k = 0; k < br.mean_reps.size(); ++k) d.push_back(bg.mean_reps[k] - br.mean_reps[k]);
      stats::finish_percentile_interval(d, opt.bootstrap.level, ci.mean_diff);
      ci.mean_diff.n = c.n_generated;
      ci.mean_diff.ci_method = "percentile bootstrap over images (both sets resampled)";
      ci.mean_diff.estimand = "generated minus real mean pixel value (" + ci.channel + ")";
    } else {
      ci.mean_diff = Estimate::null_because("too few images for the means", c.n_generated);
    }
    ci.real_hist = histogram(r.values[row], opt.bins);
    ci.generated_hist = histogram(g.values[row], opt.bins);
    ci.wasserstein = wasserstein_1d(r.values[row], g.values[row]);
    c.rows.push_back(std::move(ci));
  }
  c.real_background = bootstrap_set(r.corner, opt, 1000, "real " + modality + " corner").mean;
  c.generated_background = bootstrap_set(g.corner, opt, 1001, "generated " + modality + " corner").mean;
  for (Estimate* e : {&c.real_background, &c.generated_background})
    if (e->has_value()) e->estimand = "mean of the four corner patches (all channels)";
  c.has_background = c.real_background.has_value() && c.real_background.value < opt.background_threshold;
  return c;
}

nlohmann::ordered_json intensity_to_json(const IntensityComparison& c) {
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const auto& r : c.rows) {
    nlohmann::ordered_json w = r.wasserstein;
    if (!std::isfinite(r.wasserstein)) w = nullptr;
    rows.push_back({{"channel", r.channel}, {"real_mean", to_json(r.real_mean)}, {"generated_mean", to_json(r.generated_mean)},
                    {"mean_diff", to_json(r.mean_diff)}, {"real_std", to_json(r.real_std)},
                    {"generated_std", to_json(r.generated_std)}, {"wasserstein", w},
                    {"real_hist", r.real_hist}, {"generated_hist", r.generated_hist}});
  }
  return {{"modality", c.modality},
          {"channels", c.channels},
          {"n_real", c.n_real},
          {"n_generated", c.n_generated},
          {"bins", c.bins},
          {"rows", rows},
          {"background", {{"corner", c.corner}, {"has_background", c.has_background},
                          {"real", to_json(c.real_background)}, {"generated", to_json(c.generated_background)}}}};
}

}  // namespace medsyn::metrics
