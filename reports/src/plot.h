#pragma once
// Internal: a small 2D plotting toolkit on OpenCV used by figures.cpp. Canvas is 8-bit RGB (not
// BGR: colours are given as {r, g, b} and the bytes go straight into medsyn::Image). Text uses the
// Hershey simplex font with anti-aliasing; only ASCII is drawn (other bytes become '?').
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "medsyn/core/image.h"

namespace medsyn::reports::plot {

struct Color {
  int r = 0, g = 0, b = 0;
  cv::Scalar scalar() const { return cv::Scalar(r, g, b); }
};
inline constexpr Color kBlack{0, 0, 0}, kWhite{255, 255, 255}, kGrid{225, 225, 225}, kAxis{60, 60, 60},
    kText{30, 30, 30}, kMuted{110, 110, 110};
// Tableau-10 colours, in order.
Color palette(std::size_t i);

struct Axis {
  double lo = 0, hi = 1;
  bool log = false;  // log10 scale (lo, hi > 0)
  std::string label;
  std::vector<double> ticks;
  std::vector<std::string> tick_labels;
};
// "Nice" linear ticks (1/2/5 x 10^k) covering [lo, hi]; the axis is widened to whole ticks.
Axis linear_axis(double lo, double hi, const std::string& label, int target_ticks = 6);
// Log axis with a tick at each power of ten (and 2, 5 when there are fewer than 3 decades).
Axis log_axis(double lo, double hi, const std::string& label);
std::string format_tick(double v);      // 0.25, 10, 1e+12 -> "1e12", ...
std::string format_si(double v);        // 1.2e12 -> "1.2T", 3.4e6 -> "3.4M"

enum class Marker { circle, square, diamond, triangle };

struct LegendEntry {
  std::string label;
  Color color;
  enum Kind { patch, line, point, dashed, errorbar } kind = patch;
  Marker marker = Marker::circle;
  bool hollow = false;
};

struct LegendEntry;
class Figure;
// Pixels a legend box needs (place it outside the plot: right margin >= this + 15).
int legend_width(const std::vector<LegendEntry>& entries);

class Figure {
 public:
  Figure(int width, int height);
  // Margins around the plot area in pixels (left, top, right, bottom).
  void set_margins(int left, int top, int right, int bottom);
  void title(const std::string& text, const std::string& subtitle = "");
  // Draws grid, ticks, tick labels and axis labels. Category x axes: pass x.ticks with labels and
  // set `x_grid` false.
  void axes(const Axis& x, const Axis& y, bool x_grid = true);
  double px(double x) const;  // data -> pixel
  double py(double y) const;
  cv::Rect plot_rect() const { return plot_; }

  void line(double x0, double y0, double x1, double y1, Color c, int thickness = 2);
  void polyline(const std::vector<double>& xs, const std::vector<double>& ys, Color c, int thickness = 2);
  void dashed_px(cv::Point a, cv::Point b, Color c, int thickness = 1, int dash = 6, int gap = 4);
  void band(const std::vector<double>& xs, const std::vector<double>& lo, const std::vector<double>& hi, Color c,
            double alpha = 0.18);
  void error_bar(double x, double lo, double hi, Color c, int cap_px = 5, int thickness = 1);
  void bar(double x0, double x1, double y0, double y1, Color fill);
  void marker(double x, double y, Marker m, Color c, int size = 6, bool hollow = false);
  void marker_px(cv::Point p, Marker m, Color c, int size = 6, bool hollow = false);
  // Text at a pixel position; align: 0 left, 1 centre, 2 right; baseline at y (vcenter: centred).
  void text_px(const std::string& s, int x, int y, double scale, Color c, int align = 0, bool vcenter = false,
               int thickness = 1);
  static cv::Size text_size(const std::string& s, double scale, int thickness = 1);
  // Legend box; corner: 0 top-left, 1 top-right (inside the plot area), 2 outside right.
  void legend(const std::vector<LegendEntry>& entries, int corner = 1);

  cv::Mat& mat() { return mat_; }
  Image image() const;  // RGB float [0,1]

 private:
  cv::Mat mat_;
  cv::Rect plot_;
  Axis x_, y_;
  int ml_ = 90, mt_ = 60, mr_ = 30, mb_ = 70;
};

// Makes text drawable by the Hershey font (ASCII only).
std::string ascii(const std::string& s);

// Image <-> 8-bit RGB Mat.
cv::Mat to_mat_rgb(const Image& img);
Image from_mat_rgb(const cv::Mat& m);

}  // namespace medsyn::reports::plot
