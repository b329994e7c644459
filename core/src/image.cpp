#include "medsyn/core/image.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "medsyn/core/error.h"

namespace medsyn {

const char* to_string(ResizeFilter f) {
  switch (f) {
    case ResizeFilter::nearest: return "nearest";
    case ResizeFilter::bilinear: return "bilinear";
    case ResizeFilter::bicubic: return "bicubic";
    case ResizeFilter::area: return "area";
    case ResizeFilter::lanczos: return "lanczos";
  }
  return "?";
}

ResizeFilter resize_filter_from_string(const std::string& name) {
  if (name == "nearest") return ResizeFilter::nearest;
  if (name == "bilinear") return ResizeFilter::bilinear;
  if (name == "bicubic") return ResizeFilter::bicubic;
  if (name == "area") return ResizeFilter::area;
  if (name == "lanczos") return ResizeFilter::lanczos;
  throw InputError("unknown resize filter '" + name + "' (expected nearest, bilinear, bicubic, area or lanczos)");
}

namespace {

// Separable resampling with the filter support widened by the downscale factor, as Pillow does
// (libImaging/Resample.c): this is the "antialiased" resize clean-fid relies on.
struct Kernel {
  double support;
  double (*fn)(double);
};
double box_fn(double x) { return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0; }
double triangle_fn(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}
double bicubic_fn(double x) {  // Keys cubic, a = -0.5 (Pillow)
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}
double sinc(double x) {
  if (x == 0.0) return 1.0;
  x *= M_PI;
  return std::sin(x) / x;
}
double lanczos_fn(double x) { return (x > -3.0 && x < 3.0) ? sinc(x) * sinc(x / 3.0) : 0.0; }

Kernel kernel_for(ResizeFilter f) {
  switch (f) {
    case ResizeFilter::bilinear: return {1.0, triangle_fn};
    case ResizeFilter::bicubic: return {2.0, bicubic_fn};
    case ResizeFilter::lanczos: return {3.0, lanczos_fn};
    default: return {0.5, box_fn};
  }
}

struct Coeffs {
  std::vector<int> start, count;
  std::vector<double> weights;  // out_size x ksize
  int ksize = 0;
};

Coeffs precompute(int in_size, int out_size, const Kernel& k) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = k.support * filterscale;
  Coeffs c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.start.resize(out_size);
  c.count.resize(out_size);
  c.weights.assign(static_cast<std::size_t>(out_size) * c.ksize, 0.0);
  for (int i = 0; i < out_size; ++i) {
    const double center = (i + 0.5) * scale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    const int n = xmax - xmin;
    double total = 0.0;
    double* w = &c.weights[static_cast<std::size_t>(i) * c.ksize];
    for (int x = 0; x < n; ++x) {
      w[x] = k.fn((x + xmin - center + 0.5) / filterscale);
      total += w[x];
    }
    if (total != 0.0)
      for (int x = 0; x < n; ++x) w[x] /= total;
    c.start[i] = xmin;
    c.count[i] = n;
  }
  return c;
}

Image resample(const Image& img, int out_h, int out_w, const Kernel& k) {
  // Horizontal pass then vertical pass, in double accumulation, float storage.
  Image tmp(img.channels, img.height, out_w);
  if (out_w != img.width) {
    const Coeffs cx = precompute(img.width, out_w, k);
    for (int c = 0; c < img.channels; ++c)
      for (int y = 0; y < img.height; ++y) {
        const float* row = img.plane(c) + static_cast<std::size_t>(y) * img.width;
        float* orow = tmp.plane(c) + static_cast<std::size_t>(y) * out_w;
        for (int x = 0; x < out_w; ++x) {
          const double* w = &cx.weights[static_cast<std::size_t>(x) * cx.ksize];
          double s = 0.0;
          for (int j = 0; j < cx.count[x]; ++j) s += w[j] * row[cx.start[x] + j];
          orow[x] = static_cast<float>(s);
        }
      }
  } else {
    tmp = img;
  }
  if (out_h == img.height) return tmp;
  Image out(img.channels, out_h, out_w);
  const Coeffs cy = precompute(img.height, out_h, k);
  for (int c = 0; c < img.channels; ++c)
    for (int y = 0; y < out_h; ++y) {
      const double* w = &cy.weights[static_cast<std::size_t>(y) * cy.ksize];
      float* orow = out.plane(c) + static_cast<std::size_t>(y) * out_w;
      for (int x = 0; x < out_w; ++x) {
        double s = 0.0;
        for (int j = 0; j < cy.count[y]; ++j)
          s += w[j] * tmp.plane(c)[static_cast<std::size_t>(cy.start[y] + j) * out_w + x];
        orow[x] = static_cast<float>(s);
      }
    }
  return out;
}

}  // namespace

Image resize(const Image& img, int height, int width, ResizeFilter filter, bool antialias) {
  if (height <= 0 || width <= 0) throw InputError("resize: target size must be positive");
  if (img.empty()) throw InputError("resize: empty image");
  if (height == img.height && width == img.width) return img;
  if (filter == ResizeFilter::nearest) {
    Image out(img.channels, height, width);
    for (int c = 0; c < img.channels; ++c)
      for (int y = 0; y < height; ++y) {
        const int sy = std::min(img.height - 1, static_cast<int>((y + 0.5) * img.height / height));
        for (int x = 0; x < width; ++x) {
          const int sx = std::min(img.width - 1, static_cast<int>((x + 0.5) * img.width / width));
          out.at(c, y, x) = img.at(c, sy, sx);
        }
      }
    return out;
  }
  if (antialias || filter == ResizeFilter::area) {
    if (filter == ResizeFilter::area) {
      Image out(img.channels, height, width);
      for (int c = 0; c < img.channels; ++c) {
        cv::Mat src(img.height, img.width, CV_32F, const_cast<float*>(img.plane(c)));
        cv::Mat dst(height, width, CV_32F, out.plane(c));
        cv::resize(src, dst, dst.size(), 0, 0, cv::INTER_AREA);
      }
      return out;
    }
    return resample(img, height, width, kernel_for(filter));
  }
  // Plain interpolation without low-pass filtering (OpenCV; its bicubic uses a = -0.75).
  const int interp = filter == ResizeFilter::bilinear  ? cv::INTER_LINEAR
                     : filter == ResizeFilter::bicubic ? cv::INTER_CUBIC
                                                       : cv::INTER_LANCZOS4;
  Image out(img.channels, height, width);
  for (int c = 0; c < img.channels; ++c) {
    cv::Mat src(img.height, img.width, CV_32F, const_cast<float*>(img.plane(c)));
    cv::Mat dst(height, width, CV_32F, out.plane(c));
    cv::resize(src, dst, dst.size(), 0, 0, interp);
  }
  return out;
}

Image to_channels(const Image& img, int channels) {
  if (img.channels == channels) return img;
  if (channels != 1 && channels != 3)
    throw InputError("to_channels: can convert only to 1 or 3 channels, asked for " + std::to_string(channels));
  const std::size_t plane = static_cast<std::size_t>(img.height) * img.width;
  Image out(channels, img.height, img.width);
  if (img.channels == 1) {
    for (int c = 0; c < channels; ++c) std::copy(img.data.begin(), img.data.end(), out.plane(c));
    return out;
  }
  if (img.channels == 3 || img.channels == 4) {
    if (channels == 3) {
      std::copy(img.data.begin(), img.data.begin() + 3 * plane, out.data.begin());
      return out;
    }
    for (std::size_t i = 0; i < plane; ++i)
      out.data[i] = 0.299f * img.data[i] + 0.587f * img.data[plane + i] + 0.114f * img.data[2 * plane + i];
    return out;
  }
  if (img.channels == 2 && channels == 1) {  // gray + alpha
    std::copy(img.data.begin(), img.data.begin() + plane, out.data.begin());
    return out;
  }
  if (img.channels == 2 && channels == 3) {
    for (int c = 0; c < 3; ++c) std::copy(img.data.begin(), img.data.begin() + plane, out.plane(c));
    return out;
  }
  throw InputError("to_channels: unsupported channel count " + std::to_string(img.channels));
}

}  // namespace medsyn
