#include "plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <opencv2/imgproc.hpp>

#include "medsyn/core/image_io.h"

namespace medsyn::reports::plot {

namespace {
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr double kTickScale = 0.45, kLabelScale = 0.52, kTitleScale = 0.68;
}  // namespace

Color palette(std::size_t i) {
  static const Color p[] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},  {148, 103, 189},
                            {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
  return p[i % 10];
}

std::string ascii(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) { out += (c >= 32 ? static_cast<char>(c) : ' '); continue; }
    // Skip the continuation bytes of one UTF-8 character and draw one '?'.
    while (i + 1 < s.size() && (static_cast<unsigned char>(s[i + 1]) & 0xC0) == 0x80) ++i;
    out += '?';
  }
  return out;
}

std::string format_tick(double v) {
  if (v == 0) return "0";
  const double a = std::fabs(v);
  char buf[64];
  if (a >= 1e5 || a < 1e-3) {
    std::snprintf(buf, sizeof buf, "%.0e", v);
    std::string s = buf;  // "1e+12" -> "1e12", "5e-04" -> "5e-4"
    auto e = s.find('e');
    std::string mant = s.substr(0, e), ex = s.substr(e + 1);
    bool neg = ex[0] == '-';
    ex = ex.substr(1);
    while (ex.size() > 1 && ex[0] == '0') ex.erase(0, 1);
    return mant + "e" + (neg ? "-" : "") + ex;
  }
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string format_si(double v) {
  if (!std::isfinite(v)) return "-";
  const double a = std::fabs(v);
  const char* suffix = "";
  double d = v;
  if (a >= 1e15) { d = v / 1e15; suffix = "P"; }
  else if (a >= 1e12) { d = v / 1e12; suffix = "T"; }
  else if (a >= 1e9) { d = v / 1e9; suffix = "G"; }
  else if (a >= 1e6) { d = v / 1e6; suffix = "M"; }
  else if (a >= 1e3) { d = v / 1e3; suffix = "k"; }
  char buf[64];
  std::snprintf(buf, sizeof buf, std::fabs(d) >= 100 ? "%.0f%s" : (std::fabs(d) >= 10 ? "%.1f%s" : "%.2f%s"), d, suffix);
  return buf;
}

Axis linear_axis(double lo, double hi, const std::string& label, int target_ticks) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (hi < lo) std::swap(lo, hi);
  if (hi - lo < 1e-12) {
    const double pad = std::fabs(hi) > 0 ? std::fabs(hi) * 0.1 : 1.0;
    lo -= pad, hi += pad;
  }
  const double raw = (hi - lo) / std::max(1, target_ticks - 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (raw <= m * mag * (1 + 1e-9)) { step = m * mag; break; }
  Axis a;
  a.label = label;
  a.lo = std::floor(lo / step + 1e-9) * step;
  a.hi = std::ceil(hi / step - 1e-9) * step;
  for (double t = a.lo; t <= a.hi + step * 1e-6; t += step) {
    const double v = std::fabs(t) < step * 1e-9 ? 0.0 : t;
    a.ticks.push_back(v);
    a.tick_labels.push_back(format_tick(std::round(v / step) * step));
  }
  return a;
}

Axis log_axis(double lo, double hi, const std::string& label) {
  Axis a;
  a.log = true;
  a.label = label;
  lo = std::max(lo, 1e-300);
  hi = std::max(hi, lo * 1.0001);
  const int e0 = static_cast<int>(std::floor(std::log10(lo) + 1e-9));
  const int e1 = static_cast<int>(std::ceil(std::log10(hi) - 1e-9));
  const bool fine = std::log10(hi / lo) < 3;
  std::vector<double> ticks;
  for (int e = e0; e <= e1; ++e)
    for (double m : {1.0, 2.0, 5.0})
      if (m == 1.0 || fine) ticks.push_back(m * std::pow(10.0, e));
  for (double t : ticks)
    if (t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9)) a.ticks.push_back(t);
  if (a.ticks.size() < 2) {  // keep whole decades when the range holds fewer than two ticks
    lo = std::pow(10.0, e0), hi = std::pow(10.0, e1);
    a.ticks.clear();
    for (double t : ticks)
      if (t >= lo && t <= hi) a.ticks.push_back(t);
  }
  a.lo = lo, a.hi = hi;
  for (double t : a.ticks) a.tick_labels.push_back(format_tick(t));
  return a;
}

int legend_width(const std::vector<LegendEntry>& entries) {
  int w = 0;
  for (const auto& e : entries) w = std::max(w, Figure::text_size(e.label, 0.45).width);
  return w + 26 + 30;
}

Figure::Figure(int width, int height) : mat_(height, width, CV_8UC3, kWhite.scalar()) { set_margins(ml_, mt_, mr_, mb_); }

void Figure::set_margins(int left, int top, int right, int bottom) {
  ml_ = left, mt_ = top, mr_ = right, mb_ = bottom;
  plot_ = cv::Rect(left, top, mat_.cols - left - right, mat_.rows - top - bottom);
}

cv::Size Figure::text_size(const std::string& s, double scale, int thickness) {
  int base = 0;
  return cv::getTextSize(ascii(s), kFont, scale, thickness, &base);
}

void Figure::text_px(const std::string& s, int x, int y, double scale, Color c, int align, bool vcenter, int thickness) {
  const std::string t = ascii(s);
  const cv::Size sz = text_size(t, scale, thickness);
  int xx = align == 1 ? x - sz.width / 2 : align == 2 ? x - sz.width : x;
  int yy = vcenter ? y + sz.height / 2 : y;
  cv::putText(mat_, t, {xx, yy}, kFont, scale, c.scalar(), thickness, cv::LINE_AA);
}

void Figure::title(const std::string& text, const std::string& subtitle) {
  text_px(text, mat_.cols / 2, 28, kTitleScale, kText, 1, false, 2);
  if (!subtitle.empty()) text_px(subtitle, mat_.cols / 2, 48, 0.45, kMuted, 1);
}

double Figure::px(double x) const {
  const double t = x_.log ? (std::log10(x) - std::log10(x_.lo)) / (std::log10(x_.hi) - std::log10(x_.lo))
                          : (x - x_.lo) / (x_.hi - x_.lo);
  return plot_.x + t * plot_.width;
}
double Figure::py(double y) const {
  const double t = y_.log ? (std::log10(y) - std::log10(y_.lo)) / (std::log10(y_.hi) - std::log10(y_.lo))
                          : (y - y_.lo) / (y_.hi - y_.lo);
  return plot_.y + plot_.height - t * plot_.height;
}

void Figure::axes(const Axis& x, const Axis& y, bool x_grid) {
  x_ = x, y_ = y;
  const int x0 = plot_.x, x1 = plot_.x + plot_.width, y0 = plot_.y, y1 = plot_.y + plot_.height;
  int max_label = 0;
  for (std::size_t i = 0; i < y.ticks.size(); ++i) {
    const int yy = static_cast<int>(std::lround(py(y.ticks[i])));
    cv::line(mat_, {x0, yy}, {x1, yy}, kGrid.scalar(), 1, cv::LINE_8);
    cv::line(mat_, {x0 - 5, yy}, {x0, yy}, kAxis.scalar(), 1, cv::LINE_8);
    text_px(y.tick_labels[i], x0 - 9, yy, kTickScale, kText, 2, true);
    max_label = std::max(max_label, text_size(y.tick_labels[i], kTickScale).width);
  }
  for (std::size_t i = 0; i < x.ticks.size(); ++i) {
    const int xx = static_cast<int>(std::lround(px(x.ticks[i])));
    if (x_grid) cv::line(mat_, {xx, y0}, {xx, y1}, kGrid.scalar(), 1, cv::LINE_8);
    cv::line(mat_, {xx, y1}, {xx, y1 + 5}, kAxis.scalar(), 1, cv::LINE_8);
    text_px(x.tick_labels[i], xx, y1 + 22, kTickScale, kText, 1);
  }
  cv::line(mat_, {x0, y1}, {x1, y1}, kAxis.scalar(), 1, cv::LINE_8);
  cv::line(mat_, {x0, y0}, {x0, y1}, kAxis.scalar(), 1, cv::LINE_8);
  if (!x.label.empty()) text_px(x.label, (x0 + x1) / 2, y1 + 50, kLabelScale, kText, 1);
  if (!y.label.empty()) {
    // Rotated y label: draw on a scratch canvas, rotate, blend in (darker pixel wins).
    const cv::Size sz = text_size(y.label, kLabelScale);
    cv::Mat scratch(sz.height + 10, sz.width + 4, CV_8UC3, kWhite.scalar());
    cv::putText(scratch, ascii(y.label), {2, sz.height + 3}, kFont, kLabelScale, kText.scalar(), 1, cv::LINE_AA);
    cv::Mat rot;
    cv::rotate(scratch, rot, cv::ROTATE_90_COUNTERCLOCKWISE);
    int left = x0 - max_label - 18 - rot.cols;
    left = std::max(2, left);
    int top = (y0 + y1) / 2 - rot.rows / 2;
    top = std::clamp(top, 0, mat_.rows - rot.rows);
    if (left + rot.cols <= mat_.cols) {
      cv::Mat roi = mat_(cv::Rect(left, top, rot.cols, rot.rows));
      cv::min(roi, rot, roi);
    }
  }
}

void Figure::line(double x0, double y0, double x1, double y1, Color c, int thickness) {
  cv::line(mat_, cv::Point2d(px(x0), py(y0)), cv::Point2d(px(x1), py(y1)), c.scalar(), thickness, cv::LINE_AA);
}

void Figure::polyline(const std::vector<double>& xs, const std::vector<double>& ys, Color c, int thickness) {
  for (std::size_t i = 1; i < xs.size(); ++i)
    if (std::isfinite(ys[i - 1]) && std::isfinite(ys[i])) line(xs[i - 1], ys[i - 1], xs[i], ys[i], c, thickness);
}

void Figure::dashed_px(cv::Point a, cv::Point b, Color c, int thickness, int dash, int gap) {
  const double len = std::hypot(b.x - a.x, b.y - a.y);
  if (len < 1) return;
  const double dx = (b.x - a.x) / len, dy = (b.y - a.y) / len;
  for (double t = 0; t < len; t += dash + gap) {
    const double e = std::min(len, t + dash);
    cv::line(mat_, cv::Point2d(a.x + dx * t, a.y + dy * t), cv::Point2d(a.x + dx * e, a.y + dy * e), c.scalar(),
             thickness, cv::LINE_AA);
  }
}

void Figure::band(const std::vector<double>& xs, const std::vector<double>& lo, const std::vector<double>& hi, Color c,
                  double alpha) {
  std::vector<cv::Point> poly;
  for (std::size_t i = 0; i < xs.size(); ++i)
    if (std::isfinite(lo[i]) && std::isfinite(hi[i])) poly.emplace_back(std::lround(px(xs[i])), std::lround(py(hi[i])));
  for (std::size_t i = xs.size(); i-- > 0;)
    if (std::isfinite(lo[i]) && std::isfinite(hi[i])) poly.emplace_back(std::lround(px(xs[i])), std::lround(py(lo[i])));
  if (poly.size() < 4) return;
  cv::Mat overlay = mat_.clone();
  cv::fillPoly(overlay, std::vector<std::vector<cv::Point>>{poly}, c.scalar(), cv::LINE_AA);
  cv::addWeighted(overlay, alpha, mat_, 1 - alpha, 0, mat_);
}

void Figure::error_bar(double x, double lo, double hi, Color c, int cap_px, int thickness) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return;
  const double xx = px(x);
  cv::line(mat_, cv::Point2d(xx, py(lo)), cv::Point2d(xx, py(hi)), c.scalar(), thickness, cv::LINE_AA);
  cv::line(mat_, cv::Point2d(xx - cap_px, py(lo)), cv::Point2d(xx + cap_px, py(lo)), c.scalar(), thickness, cv::LINE_AA);
  cv::line(mat_, cv::Point2d(xx - cap_px, py(hi)), cv::Point2d(xx + cap_px, py(hi)), c.scalar(), thickness, cv::LINE_AA);
}

void Figure::bar(double x0, double x1, double y0, double y1, Color fill) {
  const cv::Point a(std::lround(px(x0)), std::lround(py(y1))), b(std::lround(px(x1)), std::lround(py(y0)));
  cv::rectangle(mat_, a, b, fill.scalar(), cv::FILLED, cv::LINE_8);
  const Color edge{fill.r * 7 / 10, fill.g * 7 / 10, fill.b * 7 / 10};
  cv::rectangle(mat_, a, b, edge.scalar(), 1, cv::LINE_8);
}

void Figure::marker_px(cv::Point p, Marker m, Color c, int size, bool hollow) {
  const int th = hollow ? 2 : cv::FILLED;
  switch (m) {
    case Marker::circle: cv::circle(mat_, p, size, c.scalar(), th, cv::LINE_AA); break;
    case Marker::square:
      cv::rectangle(mat_, {p.x - size, p.y - size}, {p.x + size, p.y + size}, c.scalar(), th, cv::LINE_AA);
      break;
    case Marker::diamond:
    case Marker::triangle: {
      std::vector<cv::Point> pts;
      if (m == Marker::diamond) pts = {{p.x, p.y - size - 2}, {p.x + size + 2, p.y}, {p.x, p.y + size + 2}, {p.x - size - 2, p.y}};
      else pts = {{p.x, p.y - size - 1}, {p.x + size + 1, p.y + size}, {p.x - size - 1, p.y + size}};
      if (hollow) cv::polylines(mat_, pts, true, c.scalar(), 2, cv::LINE_AA);
      else cv::fillConvexPoly(mat_, pts, c.scalar(), cv::LINE_AA);
      break;
    }
  }
}

void Figure::marker(double x, double y, Marker m, Color c, int size, bool hollow) {
  marker_px({static_cast<int>(std::lround(px(x))), static_cast<int>(std::lround(py(y)))}, m, c, size, hollow);
}

void Figure::legend(const std::vector<LegendEntry>& entries, int corner) {
  if (entries.empty()) return;
  const double scale = 0.45;
  const int row = 22, sw = 26, pad = 10;
  int w = 0;
  for (const auto& e : entries) w = std::max(w, text_size(e.label, scale).width);
  const int bw = w + sw + 3 * pad, bh = static_cast<int>(entries.size()) * row + pad;
  int x = corner == 0 ? plot_.x + 10 : corner == 1 ? plot_.x + plot_.width - bw - 10 : plot_.x + plot_.width + 15;
  int y = corner == 2 ? plot_.y : plot_.y + 10;
  x = std::clamp(x, 0, std::max(0, mat_.cols - bw - 1));
  cv::rectangle(mat_, {x, y}, {x + bw, y + bh}, kWhite.scalar(), cv::FILLED);
  cv::rectangle(mat_, {x, y}, {x + bw, y + bh}, cv::Scalar(200, 200, 200), 1);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    const int cy = y + pad / 2 + static_cast<int>(i) * row + row / 2;
    const int sx = x + pad;
    switch (e.kind) {
      case LegendEntry::patch:
        cv::rectangle(mat_, {sx, cy - 6}, {sx + sw, cy + 6}, e.color.scalar(), cv::FILLED);
        break;
      case LegendEntry::line:
        cv::line(mat_, {sx, cy}, {sx + sw, cy}, e.color.scalar(), 2, cv::LINE_AA);
        marker_px({sx + sw / 2, cy}, e.marker, e.color, 4, e.hollow);
        break;
      case LegendEntry::point: marker_px({sx + sw / 2, cy}, e.marker, e.color, 5, e.hollow); break;
      case LegendEntry::dashed: dashed_px({sx, cy}, {sx + sw, cy}, e.color, 2, 5, 3); break;
      case LegendEntry::errorbar:
        cv::line(mat_, {sx + sw / 2, cy - 7}, {sx + sw / 2, cy + 7}, e.color.scalar(), 2, cv::LINE_AA);
        cv::line(mat_, {sx + sw / 2 - 5, cy - 7}, {sx + sw / 2 + 5, cy - 7}, e.color.scalar(), 2, cv::LINE_AA);
        cv::line(mat_, {sx + sw / 2 - 5, cy + 7}, {sx + sw / 2 + 5, cy + 7}, e.color.scalar(), 2, cv::LINE_AA);
        break;
    }
    text_px(e.label, sx + sw + pad, cy, scale, kText, 0, true);
  }
}

Image Figure::image() const { return from_mat_rgb(mat_); }

cv::Mat to_mat_rgb(const Image& img) {
  const Image rgb = img.channels == 3 ? img : to_channels(img, 3);
  const auto bytes = to_u8_hwc(rgb);
  cv::Mat m(rgb.height, rgb.width, CV_8UC3);
  std::copy(bytes.begin(), bytes.end(), m.data);
  return m;
}

Image from_mat_rgb(const cv::Mat& m) {
  cv::Mat c = m.isContinuous() ? m : m.clone();
  return from_u8_hwc(c.data, c.rows, c.cols, 3);
}

}  // namespace medsyn::reports::plot
