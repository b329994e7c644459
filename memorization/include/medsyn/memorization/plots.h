#pragma once
// Figures of the memorization audit, drawn with OpenCV and returned as medsyn::Image (RGB, [0,1])
// for write_png. Text is drawn without anti-aliasing (cv::LINE_8), so a figure contains only the
// image pixels it was given plus the fixed drawing colours; that is what makes redaction checkable.
#include <optional>
#include <string>
#include <vector>

#include "medsyn/core/image.h"

namespace medsyn::memorization {

// Overlaid histograms of nearest-neighbour similarities: holdout -> train (blue) and
// synthetic -> train (orange), each normalised to fractions of its own count, with tau as a red
// vertical line and the fixed thresholds as grey dashed lines (when inside the x range).
Image draw_similarity_histogram(const std::vector<double>& synthetic, const std::vector<double>& holdout, double tau,
                                double threshold_quantile, const std::vector<double>& fixed_thresholds,
                                const std::string& title, int bins = 50);

struct PairPanel {
  Image synthetic;
  std::optional<Image> train;  // nullopt: redacted (a hatched panel marked "redacted")
  std::string caption;         // first caption line, e.g. "#1 cos 0.99987"
  std::string caption2;        // second line, e.g. "ssim 0.981"
};
// Pairs side by side (synthetic left, training image right), `per_row` pairs per row, each image
// scaled to `panel` pixels (nearest neighbour, so pixels stay exact).
Image draw_pair_grid(const std::vector<PairPanel>& pairs, const std::string& title, int panel = 96, int per_row = 4);

// Drawing colours (8-bit grey levels) used by the figures besides image pixels.
inline constexpr int kFigureBackground = 255, kFigureText = 0, kRedactedFill = 228, kRedactedHatch = 150;

}  // namespace medsyn::memorization
