// Pillow 8-bit resampling (see pil_resample8.h). Follows libImaging/Resample.c (Pillow 9.x):
// precompute_coeffs, normalize_coeffs_8bpc, ImagingResampleHorizontal_8bpc / Vertical_8bpc.
#include "pil_resample8.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "medsyn/core/error.h"

namespace medsyn::detail {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // Pillow's PRECISION_BITS

double bilinear(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}
double bicubic(double x) {  // Keys, a = -0.5 (Pillow's bicubic_filter)
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}
double sinc(double x) {
  if (x == 0.0) return 1.0;
  x = x * M_PI;
  return std::sin(x) / x;
}
double lanczos(double x) { return (-3.0 <= x && x < 3.0) ? sinc(x) * sinc(x / 3) : 0.0; }

struct Filter {
  double (*fn)(double);
  double support;
};

Filter filter_for(ResizeFilter f) {
  switch (f) {
    case ResizeFilter::bilinear: return {bilinear, 1.0};
    case ResizeFilter::bicubic: return {bicubic, 2.0};
    case ResizeFilter::lanczos: return {lanczos, 3.0};
    default:
      throw InputError(std::string("8-bit (Pillow) resampling supports the filters bilinear, bicubic and lanczos, not ") +
                       to_string(f));
  }
}

// Fixed-point coefficients of one axis: for output i, weights k[i*ksize + j] apply to input
// start[i] + j, j < count[i].
struct Coeffs {
  int ksize = 0;
  std::vector<int> start, count;
  std::vector<std::int32_t> k;
};

Coeffs precompute(int in_size, int out_size, const Filter& f) {
  double filterscale = static_cast<double>(in_size) / out_size;
  const double scale = filterscale;
  if (filterscale < 1.0) filterscale = 1.0;
  const double support = f.support * filterscale;
  Coeffs c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.start.resize(out_size);
  c.count.resize(out_size);
  c.k.assign(static_cast<std::size_t>(out_size) * c.ksize, 0);
  std::vector<double> w(c.ksize);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      w[x] = f.fn((x + xmin - center + 0.5) * ss);
      ww += w[x];
    }
    for (int x = 0; x < xmax; ++x) {
      const double v = ww != 0.0 ? w[x] / ww : w[x];
      // normalize_coeffs_8bpc: round half away from zero to 22 fraction bits.
      c.k[static_cast<std::size_t>(xx) * c.ksize + x] =
          static_cast<std::int32_t>(v < 0 ? -0.5 + v * (1 << kPrecisionBits) : 0.5 + v * (1 << kPrecisionBits));
    }
    c.start[xx] = xmin;
    c.count[xx] = xmax;
  }
  return c;
}

inline std::uint8_t clip8(std::int32_t ss) {
  const std::int32_t v = ss >> kPrecisionBits;  // arithmetic shift (floor), as in C
  return static_cast<std::uint8_t>(std::clamp<std::int32_t>(v, 0, 255));
}

// One plane of bytes, h x w.
using Plane = std::vector<std::uint8_t>;

Plane horizontal(const Plane& in, int h, int w, int out_w, const Coeffs& c) {
  Plane out(static_cast<std::size_t>(h) * out_w);
  for (int y = 0; y < h; ++y) {
    const std::uint8_t* row = &in[static_cast<std::size_t>(y) * w];
    for (int xx = 0; xx < out_w; ++xx) {
      const std::int32_t* k = &c.k[static_cast<std::size_t>(xx) * c.ksize];
      std::int32_t ss = 1 << (kPrecisionBits - 1);
      for (int x = 0; x < c.count[xx]; ++x) ss += row[c.start[xx] + x] * k[x];
      out[static_cast<std::size_t>(y) * out_w + xx] = clip8(ss);
    }
  }
  return out;
}

Plane vertical(const Plane& in, int w, int out_h, const Coeffs& c) {
  Plane out(static_cast<std::size_t>(out_h) * w);
  for (int yy = 0; yy < out_h; ++yy) {
    const std::int32_t* k = &c.k[static_cast<std::size_t>(yy) * c.ksize];
    for (int x = 0; x < w; ++x) {
      std::int32_t ss = 1 << (kPrecisionBits - 1);
      for (int y = 0; y < c.count[yy]; ++y) ss += in[static_cast<std::size_t>(c.start[yy] + y) * w + x] * k[y];
      out[static_cast<std::size_t>(yy) * w + x] = clip8(ss);
    }
  }
  return out;
}

std::uint8_t to_u8(float v) {
  if (!(v > 0.f)) return 0;  // NaN too
  if (v >= 1.f) return 255;
  return static_cast<std::uint8_t>(std::lround(static_cast<double>(v) * 255.0));
}

}  // namespace

void quantize_uint8(Image& img) {
  for (float& v : img.data) v = static_cast<float>(to_u8(v)) / 255.f;
}

Image pil_resize_uint8(const Image& img, int height, int width, ResizeFilter filter) {
  if (height <= 0 || width <= 0) throw InputError("resize: target size must be positive");
  if (img.empty()) throw InputError("resize: empty image");
  const Filter f = filter_for(filter);
  const bool need_h = width != img.width, need_v = height != img.height;
  Coeffs cx, cy;
  if (need_h) cx = precompute(img.width, width, f);
  if (need_v) cy = precompute(img.height, height, f);
  Image out(img.channels, height, width);
  const std::size_t plane = static_cast<std::size_t>(img.height) * img.width;
  for (int c = 0; c < img.channels; ++c) {
    Plane p(plane);
    const float* src = img.plane(c);
    for (std::size_t i = 0; i < plane; ++i) p[i] = to_u8(src[i]);
    if (need_h) p = horizontal(p, img.height, img.width, width, cx);
    if (need_v) p = vertical(p, width, height, cy);
    float* dst = out.plane(c);
    for (std::size_t i = 0; i < p.size(); ++i) dst[i] = static_cast<float>(p[i]) / 255.f;
  }
  return out;
}

}  // namespace medsyn::detail
