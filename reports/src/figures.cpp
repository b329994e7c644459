#include "medsyn/reports/figures.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <opencv2/imgproc.hpp>

#include "medsyn/reports/report_model.h"
#include "plot.h"

namespace medsyn::reports {

using plot::Color;
using plot::Figure;
using plot::LegendEntry;
using plot::Marker;

namespace {

Color model_color(const Results& r, const std::string& model) {
  // Generalists take the first palette colours (blue, ...), specialists the following ones, so a
  // model has the same colour in every figure.
  std::size_t idx = 0;
  for (const auto* g : r.generalists()) {
    if (g->name == model) return plot::palette(idx == 0 ? 0 : 3 + idx);  // blue, then purple, brown...
    ++idx;
  }
  static const std::size_t spec_slots[] = {1, 2, 3, 6, 8, 9, 5, 4, 7};
  std::size_t s = 0;
  for (const auto* sp : r.specialists()) {
    if (sp->name == model) return plot::palette(spec_slots[s % 9]);
    ++s;
  }
  return plot::palette(7);
}

std::string kind_suffix(const ModelInfo& m) { return m.is_generalist() ? " (generalist)" : " (specialist)"; }

}  // namespace

std::optional<Image> draw_metric_by_modality(const Results& r, const std::string& metric) {
  struct BarItem { const ModelInfo* model; Estimate m; };
  std::vector<std::pair<const ModalityInfo*, std::vector<BarItem>>> groups;
  double ymax = 0;
  for (const auto& mod : r.modalities) {
    std::vector<BarItem> items;
    for (const auto* m : models_for(r, mod.name))
      if (const Estimate* v = r.find(m->name, mod.name, metric); v && v->has_value()) {
        items.push_back({m, *v});
        ymax = std::max({ymax, v->value, v->has_ci() ? v->ci_high : 0.0});
      }
    if (auto ref = r.reference.find(mod.name); ref != r.reference.end())
      if (auto f = ref->second.find(metric + "_real_floor"); f != ref->second.end() && f->second.has_value())
        ymax = std::max(ymax, f->second.value);
    if (!items.empty()) groups.emplace_back(&mod, std::move(items));
  }
  if (groups.empty()) return std::nullopt;
  const MetricInfo info = r.metric_info(metric);

  std::vector<LegendEntry> legend;
  for (const auto& m : r.models) {
    bool used = false;
    for (const auto& [mod, items] : groups)
      for (const auto& it : items) used = used || it.model == &m;
    if (used) legend.push_back({m.label + kind_suffix(m), model_color(r, m.name)});
  }
  bool has_floor = false;
  for (const auto& [mod, items] : groups)
    if (auto ref = r.reference.find(mod->name); ref != r.reference.end())
      if (auto f = ref->second.find(metric + "_real_floor"); f != ref->second.end() && f->second.has_value()) has_floor = true;
  if (has_floor) legend.push_back({"real-data floor (real vs real)", plot::kBlack, LegendEntry::dashed});
  IntervalLevels levels;  // the error bars' level(s), from the estimates (not assumed 95%)
  for (const auto& [mod, items] : groups)
    for (const auto& it : items) levels.add(it.m);
  const std::string ci = levels.levels.empty() ? std::string("CI") : levels.label();
  legend.push_back({ci, plot::kAxis, LegendEntry::errorbar});
  const int right = plot::legend_width(legend) + 30;
  const int width = std::max(560, 190 * static_cast<int>(groups.size()) + 100) + right;
  Figure fig(width, 500);
  fig.set_margins(85, 70, right, 80);
  const std::string dir = info.better == Better::lower ? "lower is better" : info.better == Better::higher ? "higher is better" : "";
  fig.title(info.label + " per modality", ci + " error bars" + (dir.empty() ? "" : "; " + dir));
  plot::Axis x;
  x.lo = 0, x.hi = static_cast<double>(groups.size());
  x.label = "Modality";
  for (std::size_t g = 0; g < groups.size(); ++g) {
    x.ticks.push_back(g + 0.5);
    x.tick_labels.push_back(groups[g].first->label);
  }
  plot::Axis y = plot::linear_axis(0, ymax * 1.12, info.label);
  fig.axes(x, y, false);

  for (std::size_t g = 0; g < groups.size(); ++g) {
    const auto& items = groups[g].second;
    const double group_w = 0.74, bw = group_w / static_cast<double>(std::max<std::size_t>(items.size(), 2));
    const double start = g + 0.5 - bw * items.size() / 2.0;
    for (std::size_t i = 0; i < items.size(); ++i) {
      const double x0 = start + i * bw + bw * 0.08, x1 = start + (i + 1) * bw - bw * 0.08;
      const auto& m = items[i].m;
      fig.bar(x0, x1, 0, m.value, model_color(r, items[i].model->name));
      fig.error_bar((x0 + x1) / 2, m.ci_low, m.ci_high, plot::kAxis, 6, 2);
      const double top = m.has_ci() ? std::max(m.ci_high, m.value) : m.value;
      fig.text_px(format_value(m.value, info.digits), static_cast<int>(std::lround(fig.px((x0 + x1) / 2))),
                  static_cast<int>(std::lround(fig.py(top))) - 8, 0.42, plot::kText, 1);
    }
    if (auto ref = r.reference.find(groups[g].first->name); ref != r.reference.end())
      if (auto f = ref->second.find(metric + "_real_floor"); f != ref->second.end() && f->second.has_value()) {
        const int yy = static_cast<int>(std::lround(fig.py(f->second.value)));
        fig.dashed_px({static_cast<int>(fig.px(g + 0.08)), yy}, {static_cast<int>(fig.px(g + 0.92)), yy}, plot::kBlack, 2);
      }
  }
  fig.legend(legend, 2);
  return fig.image();
}

Image draw_sample_grid(const std::vector<Image>& images, const std::string& title, int columns, int panel) {
  const int n = static_cast<int>(images.size());
  const int cols = std::max(1, std::min(columns, std::max(n, 1)));
  const int rows = std::max(1, (n + cols - 1) / cols);
  const int gap = 4, pad = 10, title_h = 36;
  const int width = std::max(pad * 2 + cols * panel + (cols - 1) * gap, 320);
  const int height = title_h + pad + rows * panel + (rows - 1) * gap + pad;
  Figure fig(width, height);
  fig.text_px(title, pad, 24, 0.6, plot::kText, 0, false, 1);
  cv::Mat& canvas = fig.mat();
  for (int i = 0; i < n; ++i) {
    cv::Mat src = plot::to_mat_rgb(images[static_cast<std::size_t>(i)]);
    const double s = std::min(static_cast<double>(panel) / src.cols, static_cast<double>(panel) / src.rows);
    const int w = std::max(1, static_cast<int>(std::lround(src.cols * s)));
    const int h = std::max(1, static_cast<int>(std::lround(src.rows * s)));
    cv::Mat dst;
    cv::resize(src, dst, {w, h}, 0, 0, s >= 1 ? cv::INTER_NEAREST : cv::INTER_AREA);
    const int cx = pad + (i % cols) * (panel + gap), cy = title_h + pad + (i / cols) * (panel + gap);
    cv::rectangle(canvas, {cx, cy}, {cx + panel - 1, cy + panel - 1}, cv::Scalar(240, 240, 240), cv::FILLED);
    dst.copyTo(canvas(cv::Rect(cx + (panel - w) / 2, cy + (panel - h) / 2, w, h)));
  }
  return fig.image();
}

Image draw_sample_grid_with_real(const std::vector<Image>& generated, const std::vector<Image>& real,
                                 const std::string& title, int columns, int panel, const std::string& real_note) {
  const Image top = draw_sample_grid(generated, title, columns, panel);
  if (real.empty() && real_note.empty()) return top;
  const std::string label = real.empty() ? real_note : "Real images of the same modality and class (one per sample above)";
  const Image bottom = real.empty() ? Image() : draw_sample_grid(real, label, columns, panel);
  const int width = std::max(top.width, bottom.empty() ? top.width : bottom.width);
  const int note_h = real.empty() ? 36 : 0;
  Figure fig(width, top.height + 6 + (bottom.empty() ? note_h : bottom.height));
  cv::Mat& canvas = fig.mat();
  plot::to_mat_rgb(top).copyTo(canvas(cv::Rect(0, 0, top.width, top.height)));
  cv::line(canvas, {10, top.height + 2}, {width - 10, top.height + 2}, cv::Scalar(110, 110, 110), 2);
  if (!bottom.empty()) plot::to_mat_rgb(bottom).copyTo(canvas(cv::Rect(0, top.height + 6, bottom.width, bottom.height)));
  else fig.text_px(real_note, 10, top.height + 6 + 24, 0.5, plot::kMuted, 0, false, 1);
  return fig.image();
}

Image draw_intensity_histograms(const IntensityEntry& e, const std::string& title) {
  const int n = static_cast<int>(e.rows.size());
  const int pw = 300, ph = 230, top = 64;
  const int width = std::max(360, 20 + n * pw);
  Figure out(width, top + ph + 40);
  out.text_px(title, 10, 26, 0.6, plot::kText, 0, false, 1);
  out.text_px("grey area: real; line: generated; x: pixel value, y: fraction of pixels per bin", 10, 48, 0.42, plot::kMuted, 0, false, 1);
  for (int k = 0; k < n; ++k) {
    const IntensityRow& row = e.rows[static_cast<std::size_t>(k)];
    Figure f(pw, ph);
    f.set_margins(44, 62, 10, 34);  // room for the title and the subtitle above the top tick label
    double ymax = 0;
    for (double v : row.real_hist) ymax = std::max(ymax, v);
    for (double v : row.generated_hist) ymax = std::max(ymax, v);
    if (!(ymax > 0)) ymax = 1;
    char sub[160];
    std::snprintf(sub, sizeof sub, "mean %.3f vs %.3f real; W1 %.3f", row.generated_mean.value, row.real_mean.value, row.wasserstein);
    f.title(row.channel, sub);
    f.axes(plot::linear_axis(0, 1, "", 3), plot::linear_axis(0, ymax * 1.05, "", 3));
    const int bins = static_cast<int>(row.real_hist.size());
    const plot::Color col = row.channel == "red" ? plot::Color{200, 40, 40}
                            : row.channel == "green" ? plot::Color{30, 150, 60}
                            : row.channel == "blue" ? plot::Color{40, 80, 210} : plot::Color{230, 120, 20};
    for (int b = 0; b < bins; ++b) f.bar(static_cast<double>(b) / bins, static_cast<double>(b + 1) / bins, 0, row.real_hist[b], plot::Color{200, 200, 200});
    std::vector<double> xs, ys;
    for (int b = 0; b < static_cast<int>(row.generated_hist.size()); ++b) {
      const double c = (b + 0.5) / static_cast<double>(row.generated_hist.size());
      xs.push_back(c);
      ys.push_back(row.generated_hist[b]);
    }
    f.polyline(xs, ys, col, 2);
    plot::to_mat_rgb(f.image()).copyTo(out.mat()(cv::Rect(10 + k * pw, top, pw, ph)));
  }
  if (e.has_background) {
    char bg[200];
    std::snprintf(bg, sizeof bg, "background (corner %dx%d patches, all channels): generated %.3f vs real %.3f", e.corner, e.corner,
                  e.generated_background.value, e.real_background.value);
    out.text_px(bg, 10, top + ph + 26, 0.42, plot::kText, 0, false, 1);
  }
  return out.image();
}

Image draw_downstream(const DownstreamEntry& e, const MetricInfo& metric, const std::string& title) {
  double xmin = 1e300, xmax = 0, ymin = 1e300, ymax = -1e300;
  for (const auto& [arm, pts] : e.arms)
    for (const auto& p : pts) {
      xmin = std::min(xmin, p.fraction), xmax = std::max(xmax, p.fraction);
      for (double v : {p.metric.value, p.metric.ci_low, p.metric.ci_high})
        if (std::isfinite(v)) ymin = std::min(ymin, v), ymax = std::max(ymax, v);
    }
  if (!(ymax >= ymin)) ymin = 0, ymax = 1;
  const bool logx = xmax / xmin >= 10;
  Figure fig(860, 500);
  fig.set_margins(85, 70, 200, 80);
  IntervalLevels levels;
  for (const auto& [arm, pts] : e.arms)
    for (const auto& p : pts) levels.add(p.metric);
  fig.title(title, metric.label + " on the real test split vs fraction of real training data" +
                       (levels.levels.empty() ? "" : "; " + levels.label()));
  plot::Axis x;
  if (logx) {
    x = plot::log_axis(xmin / 1.3, xmax * 1.3, "Fraction of real training data (log scale)");
    // Ticks at the fractions actually used read better than decades.
    x.ticks.clear(), x.tick_labels.clear();
    x.lo = xmin / 1.5, x.hi = xmax * 1.5;
    for (const auto& [arm, pts] : e.arms)
      for (const auto& p : pts)
        if (std::find(x.ticks.begin(), x.ticks.end(), p.fraction) == x.ticks.end()) x.ticks.push_back(p.fraction);
    std::sort(x.ticks.begin(), x.ticks.end());
    for (double t : x.ticks) x.tick_labels.push_back(plot::format_tick(t));
  } else {
    x = plot::linear_axis(std::min(0.0, xmin), xmax, "Fraction of real training data");
  }
  const double pad = (ymax - ymin) * 0.1 + 1e-9;
  plot::Axis y = plot::linear_axis(ymin - pad, ymax + pad, metric.label);
  fig.axes(x, y);
  std::vector<LegendEntry> legend;
  const std::size_t k = e.arms.size();
  static const Marker markers[] = {Marker::circle, Marker::square, Marker::diamond, Marker::triangle};
  for (std::size_t a = 0; a < k; ++a) {
    const auto& [arm, pts] = e.arms[a];
    const Color c = plot::palette(a);
    // Dodge arms slightly so error bars do not hide each other.
    const double off = (static_cast<double>(a) - (k - 1) / 2.0) * 0.012;
    std::vector<double> xs, ys, lo, hi;
    for (const auto& p : pts) {
      xs.push_back(logx ? p.fraction * std::pow(10.0, off) : p.fraction + off * (x.hi - x.lo) * 0.5);
      ys.push_back(p.metric.value), lo.push_back(p.metric.ci_low), hi.push_back(p.metric.ci_high);
    }
    fig.band(xs, lo, hi, c, 0.12);
    fig.polyline(xs, ys, c, 2);
    for (std::size_t i = 0; i < xs.size(); ++i) {
      fig.error_bar(xs[i], lo[i], hi[i], c, 4, 1);
      if (std::isfinite(ys[i])) fig.marker(xs[i], ys[i], markers[a % 4], c, 5);
    }
    legend.push_back({arm, c, LegendEntry::line, markers[a % 4]});
  }
  fig.legend(legend, 2);
  return fig.image();
}

std::optional<Image> draw_compute_vs_quality(const Results& r, const ComputeComparison& c) {
  if (c.empty()) return std::nullopt;
  // x: training FLOPs when every plotted model has them, else params.
  auto xval = [&](const ComputeRow& row, bool flops) { return flops ? row.training_flops : row.params; };
  bool flops = true;
  for (const auto& row : c.rows)
    if (row.role != "ratio" && !row.training_flops) flops = false;
  struct Pt { double x, y, lo, hi; std::size_t mod; Marker mk; bool hollow; std::string role; };
  std::vector<Pt> pts;
  IntervalLevels levels;
  // Per-model points: each generalist and each single specialist (their own cost).
  auto add_model = [&](const ModelInfo& m, Marker mk, const std::string& role) {
    auto it = r.compute.find(m.name);
    if (it == r.compute.end()) return;
    const auto xv = flops ? it->second.training_flops : it->second.params;
    if (!xv || *xv <= 0) return;
    for (std::size_t i = 0; i < c.modalities.size(); ++i) {
      if (!m.covers(c.modalities[i])) continue;
      const Estimate* q = r.find(m.name, c.modalities[i], c.quality_metric);
      if (!q || !q->has_value()) continue;
      pts.push_back({*xv, q->value, q->ci_low, q->ci_high, i, mk, false, role});
      levels.add(*q);
    }
  };
  for (const auto* g : r.generalists()) add_model(*g, Marker::circle, "generalist");
  for (const auto* s : r.specialists()) add_model(*s, Marker::square, "specialist");
  for (const auto& row : c.rows)
    if (row.role == "specialists")
      if (auto xv = xval(row, flops); xv && *xv > 0)
        for (std::size_t i = 0; i < c.modalities.size(); ++i)
          if (row.quality[i]) pts.push_back({*xv, *row.quality[i], kNaN, kNaN, i, Marker::diamond, true, "sum"});
  if (pts.empty()) return std::nullopt;

  double xmin = 1e300, xmax = 0, ymax = 0;
  for (const auto& p : pts) {
    xmin = std::min(xmin, p.x), xmax = std::max(xmax, p.x);
    ymax = std::max({ymax, p.y, std::isfinite(p.hi) ? p.hi : 0.0});
  }
  const MetricInfo info = r.metric_info(c.quality_metric);
  Figure fig(900, 520);
  fig.set_margins(85, 70, 250, 80);
  fig.title("Compute vs quality", std::string(flops ? "training FLOPs" : "parameters") + " vs " + info.label + " per modality" +
                                      (levels.levels.empty() ? "" : " (" + levels.label() + ")"));
  plot::Axis x = plot::log_axis(xmin / 1.6, xmax * 1.6, flops ? "Training FLOPs (log scale)" : "Parameters (log scale)");
  plot::Axis y = plot::linear_axis(0, ymax * 1.1, info.label);
  fig.axes(x, y);
  auto mod_color = [](std::size_t i) { return plot::palette(i == 0 ? 0 : i == 1 ? 1 : i == 2 ? 2 : i + 1); };
  // Dotted connectors: generalist point -> specialists' sum point of the same modality.
  for (const auto& g : pts)
    if (g.role == "generalist")
      for (const auto& s : pts)
        if (s.role == "sum" && s.mod == g.mod)
          fig.dashed_px({static_cast<int>(fig.px(g.x)), static_cast<int>(fig.py(g.y))},
                        {static_cast<int>(fig.px(s.x)), static_cast<int>(fig.py(s.y))}, mod_color(g.mod), 1, 3, 4);
  for (const auto& p : pts) {
    fig.error_bar(p.x, p.lo, p.hi, mod_color(p.mod), 4, 1);
    fig.marker(p.x, p.y, p.mk, mod_color(p.mod), 6, p.hollow);
  }
  std::vector<LegendEntry> legend;
  for (std::size_t i = 0; i < c.modalities.size(); ++i) {
    const ModalityInfo* mi = r.modality(c.modalities[i]);
    legend.push_back({mi ? mi->label : c.modalities[i], mod_color(i), LegendEntry::patch});
  }
  legend.push_back({"generalist", plot::kAxis, LegendEntry::point, Marker::circle});
  legend.push_back({"specialist (own cost)", plot::kAxis, LegendEntry::point, Marker::square});
  legend.push_back({"specialists (sum of cost)", plot::kAxis, LegendEntry::point, Marker::diamond, true});
  fig.legend(legend, 2);
  return fig.image();
}

}  // namespace medsyn::reports
