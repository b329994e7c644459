#pragma once
// Report figures drawn with OpenCV (axes, ticks, labels, legends), returned as medsyn::Image
// (RGB, [0,1]) for write_png / encode_png. Deterministic: same input -> same pixels.
#include <optional>
#include <string>
#include <vector>

#include "medsyn/core/image.h"
#include "medsyn/reports/report.h"
#include "medsyn/reports/results.h"

namespace medsyn::reports {

// Grouped bars per modality (models covering it, generalists first; one colour per model) with CI
// error bars, value labels, and the real-data floor (reference fid_real_floor) as a dashed line.
// nullopt when no model has a value of `metric`.
std::optional<Image> draw_metric_by_modality(const Results& r, const std::string& metric);

// Images tiled `columns` per row, each scaled to `panel` pixels (nearest when enlarging, area when
// shrinking, aspect kept), under a title bar.
Image draw_sample_grid(const std::vector<Image>& images, const std::string& title, int columns, int panel);
// The same grid followed by a labelled block of real images of the same modality and class
// (`real`, drawn with the same columns and panel size), or, when `real_note` is not empty and
// `real` is, a line of text saying why they are absent (e.g. --redact-real).
Image draw_sample_grid_with_real(const std::vector<Image>& generated, const std::vector<Image>& real,
                                 const std::string& title, int columns, int panel, const std::string& real_note);

// Pixel-value histograms of one (model, modality) intensity comparison: one panel per row of the
// entry (channels, then "all"), real as a filled grey area, generated as a coloured line; each
// panel's subtitle gives the means and the Wasserstein distance.
Image draw_intensity_histograms(const IntensityEntry& e, const std::string& title);

// Metric vs fraction of the real training data, one line per arm with CI error bars and a shaded
// band; log x axis when the fractions span a factor of 10 or more.
Image draw_downstream(const DownstreamEntry& e, const MetricInfo& metric, const std::string& title);

// Training FLOPs (or params when FLOPs are unknown) vs quality per modality: generalists as
// circles, single specialists as squares, the specialists' sum as hollow diamonds, colour = modality,
// dotted lines joining each generalist point to the specialists' point of the same modality.
// nullopt when no model has compute figures and quality values.
std::optional<Image> draw_compute_vs_quality(const Results& r, const ComputeComparison& c);

}  // namespace medsyn::reports
