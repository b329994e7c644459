#include "medsyn/memorization/plots.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "medsyn/core/error.h"
#include "medsyn/core/image_io.h"

namespace medsyn::memorization {

namespace {

const cv::Scalar kBg(kFigureBackground, kFigureBackground, kFigureBackground);
const cv::Scalar kInk(kFigureText, kFigureText, kFigureText);
// Colours are given in the Mat's channel order, which is RGB here (converted by from_u8_hwc).
const cv::Scalar kBlue(31, 119, 180), kOrange(255, 127, 14), kRed(214, 39, 40), kGrey(110, 110, 110);

Image mat_to_image(const cv::Mat& m) { return from_u8_hwc(m.data, m.rows, m.cols, 3); }

cv::Mat image_to_mat(const Image& img) {
  const Image rgb = to_channels(img, 3);
  const std::vector<std::uint8_t> u8 = to_u8_hwc(rgb);
  cv::Mat m(rgb.height, rgb.width, CV_8UC3);
  std::copy(u8.begin(), u8.end(), m.data);
  return m;
}

void text(cv::Mat& m, const std::string& s, cv::Point p, double scale = 0.45, const cv::Scalar& c = kInk,
          int thickness = 1) {
  cv::putText(m, s, p, cv::FONT_HERSHEY_SIMPLEX, scale, c, thickness, cv::LINE_8);
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace

Image draw_similarity_histogram(const std::vector<double>& synthetic, const std::vector<double>& holdout, double tau,
                                double threshold_quantile, const std::vector<double>& fixed_thresholds,
                                const std::string& title, int bins) {
  if (bins < 2) throw InputError("histogram: need at least 2 bins");
  const int W = 900, H = 540, L = 80, R = 30, T = 60, B = 80;
  cv::Mat m(H, W, CV_8UC3, kBg);
  double lo = tau, hi = std::max(1.0, tau);
  for (const auto* v : {&synthetic, &holdout})
    for (double s : *v)
      if (std::isfinite(s)) {
        lo = std::min(lo, s);
        hi = std::max(hi, s);
      }
  const double pad = std::max(1e-3, 0.02 * (hi - lo));
  lo -= pad;
  hi += pad * 0.25;
  const double bw = (hi - lo) / bins;
  auto hist = [&](const std::vector<double>& v) {
    std::vector<double> h(static_cast<std::size_t>(bins), 0.0);
    std::size_t n = 0;
    for (double s : v)
      if (std::isfinite(s)) {
        int b = static_cast<int>(std::floor((s - lo) / bw));
        h[static_cast<std::size_t>(std::clamp(b, 0, bins - 1))] += 1;
        ++n;
      }
    for (double& x : h) x = n ? x / static_cast<double>(n) : 0.0;
    return h;
  };
  const auto hs = hist(synthetic), hh = hist(holdout);
  double ymax = 0;
  for (std::size_t i = 0; i < hs.size(); ++i) ymax = std::max({ymax, hs[i], hh[i]});
  ymax = ymax > 0 ? ymax * 1.1 : 1.0;
  const int pw = W - L - R, ph = H - T - B;
  auto X = [&](double s) { return L + static_cast<int>(std::lround((s - lo) / (hi - lo) * pw)); };
  auto Y = [&](double f) { return T + ph - static_cast<int>(std::lround(f / ymax * ph)); };

  // Bars: holdout then synthetic, each blended at 55% so the overlap shows both.
  for (const auto& [h, colour] : {std::pair{&hh, kBlue}, std::pair{&hs, kOrange}}) {
    cv::Mat overlay = m.clone();
    for (int b = 0; b < bins; ++b) {
      if ((*h)[static_cast<std::size_t>(b)] <= 0) continue;
      cv::rectangle(overlay, cv::Point(X(lo + b * bw), Y((*h)[static_cast<std::size_t>(b)])),
                    cv::Point(X(lo + (b + 1) * bw) - 1, Y(0)), colour, cv::FILLED, cv::LINE_8);
    }
    cv::addWeighted(overlay, 0.55, m, 0.45, 0.0, m);
  }
  // Axes and ticks.
  cv::line(m, {L, T + ph}, {L + pw, T + ph}, kInk, 1, cv::LINE_8);
  cv::line(m, {L, T}, {L, T + ph}, kInk, 1, cv::LINE_8);
  const int xt = 6;
  for (int i = 0; i <= xt; ++i) {
    const double s = lo + (hi - lo) * i / xt;
    cv::line(m, {X(s), T + ph}, {X(s), T + ph + 5}, kInk, 1, cv::LINE_8);
    text(m, fmt("%.4f", s), {X(s) - 24, T + ph + 22}, 0.4);
  }
  const int yt = 5;
  for (int i = 0; i <= yt; ++i) {
    const double f = ymax * i / yt;
    cv::line(m, {L - 5, Y(f)}, {L, Y(f)}, kInk, 1, cv::LINE_8);
    text(m, fmt("%.2f", f), {L - 45, Y(f) + 5}, 0.4);
  }
  text(m, "nearest-neighbour cosine similarity to the training set", {L + pw / 2 - 210, H - 25}, 0.5);
  text(m, "fraction", {8, T - 12}, 0.45);
  // Fixed thresholds (dashed grey) and tau (red).
  for (double t : fixed_thresholds) {
    if (t < lo || t > hi) continue;
    for (int y = T; y < T + ph; y += 8) cv::line(m, {X(t), y}, {X(t), std::min(y + 4, T + ph)}, kGrey, 1, cv::LINE_8);
    text(m, fmt("%.3g", t), {X(t) + 3, T + ph - 8}, 0.4, kGrey);
  }
  cv::line(m, {X(tau), T}, {X(tau), T + ph}, kRed, 2, cv::LINE_8);
  const std::string tl = "tau " + fmt("%.5f", tau) + " (holdout q" + fmt("%.3g", threshold_quantile) + ")";
  const int tx = X(tau) + 6 + 260 > W ? X(tau) - 266 : X(tau) + 6;
  text(m, tl, {tx, T + 16}, 0.45, kRed);
  // Legend and title.
  const int lx = L + 12, ly = T + 12;
  cv::rectangle(m, {lx, ly}, {lx + 14, ly + 12}, kBlue, cv::FILLED, cv::LINE_8);
  text(m, "holdout -> train (n " + std::to_string(holdout.size()) + ")", {lx + 20, ly + 11}, 0.45);
  cv::rectangle(m, {lx, ly + 20}, {lx + 14, ly + 32}, kOrange, cv::FILLED, cv::LINE_8);
  text(m, "synthetic -> train (n " + std::to_string(synthetic.size()) + ")", {lx + 20, ly + 31}, 0.45);
  text(m, title, {L, 30}, 0.6, kInk, 1);
  return mat_to_image(m);
}

Image draw_pair_grid(const std::vector<PairPanel>& pairs, const std::string& title, int panel, int per_row) {
  if (panel < 16 || per_row < 1) throw InputError("pair grid: panel must be >= 16 px and per_row >= 1");
  const int gap = 4, cell_w = 2 * panel + gap + 16, cap_h = 38, cell_h = panel + cap_h + 8, head = 40;
  const int n = static_cast<int>(pairs.size());
  const int cols = std::max(1, std::min(per_row, n)), rows = std::max(1, (n + cols - 1) / cols);
  cv::Mat m(head + rows * cell_h, std::max(cols * cell_w + 16, 560), CV_8UC3, kBg);
  text(m, title, {8, 18}, 0.5);
  text(m, "left: synthetic, right: nearest training image", {8, 34}, 0.4);
  if (n == 0) text(m, "(no synthetic images)", {8, head + 20}, 0.45);
  auto place = [&](const Image& img, int x0, int y0) {
    cv::Mat src = image_to_mat(img);
    const double s = static_cast<double>(panel) / std::max(src.rows, src.cols);
    const int w = std::max(1, static_cast<int>(std::lround(src.cols * s)));
    const int h = std::max(1, static_cast<int>(std::lround(src.rows * s)));
    cv::Mat dst;
    cv::resize(src, dst, cv::Size(w, h), 0, 0, cv::INTER_NEAREST);
    dst.copyTo(m(cv::Rect(x0 + (panel - w) / 2, y0 + (panel - h) / 2, w, h)));
  };
  for (int i = 0; i < n; ++i) {
    const int x0 = 8 + (i % cols) * cell_w, y0 = head + (i / cols) * cell_h;
    const auto& p = pairs[static_cast<std::size_t>(i)];
    place(p.synthetic, x0, y0);
    const int rx = x0 + panel + gap;
    if (p.train) {
      place(*p.train, rx, y0);
    } else {
      const cv::Rect r(rx, y0, panel, panel);
      m(r).setTo(cv::Scalar(kRedactedFill, kRedactedFill, kRedactedFill));
      const cv::Scalar hatch(kRedactedHatch, kRedactedHatch, kRedactedHatch);
      for (int d = -panel; d < panel; d += 10)
        cv::line(m, {rx + std::max(0, d), y0 + std::max(0, -d)},
                 {rx + std::min(panel - 1, d + panel - 1), y0 + std::min(panel - 1, panel - 1 - d)}, hatch, 1,
                 cv::LINE_8);
      cv::rectangle(m, {rx + panel / 2 - 34, y0 + panel / 2 - 11}, {rx + panel / 2 + 34, y0 + panel / 2 + 6}, kBg,
                    cv::FILLED, cv::LINE_8);
      text(m, "redacted", {rx + panel / 2 - 32, y0 + panel / 2 + 2}, 0.4);
    }
    text(m, p.caption, {x0, y0 + panel + 15}, 0.4);
    text(m, p.caption2, {x0, y0 + panel + 31}, 0.4);
  }
  return mat_to_image(m);
}

}  // namespace medsyn::memorization
