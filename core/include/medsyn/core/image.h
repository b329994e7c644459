#pragma once
// In-memory image: float32, CHW (channel-major planes, row-major within a plane), values in [0,1].
// 16-bit sources keep their precision (float32 holds 16-bit values exactly) until written out.
#include <cstddef>
#include <string>
#include <vector>

namespace medsyn {

struct Image {
  int channels = 0;
  int height = 0;
  int width = 0;
  std::vector<float> data;  // size channels*height*width, CHW

  Image() = default;
  Image(int c, int h, int w, float fill = 0.f)
      : channels(c), height(h), width(w), data(static_cast<std::size_t>(c) * h * w, fill) {}

  std::size_t size() const { return data.size(); }
  bool empty() const { return data.empty(); }
  float& at(int c, int y, int x) { return data[(static_cast<std::size_t>(c) * height + y) * width + x]; }
  float at(int c, int y, int x) const { return data[(static_cast<std::size_t>(c) * height + y) * width + x]; }
  float* plane(int c) { return data.data() + static_cast<std::size_t>(c) * height * width; }
  const float* plane(int c) const { return data.data() + static_cast<std::size_t>(c) * height * width; }
};

// Resize filters. Recorded by name wherever a resize happens (feature sidecars, manifests).
enum class ResizeFilter { nearest, bilinear, bicubic, area, lanczos };
const char* to_string(ResizeFilter f);
ResizeFilter resize_filter_from_string(const std::string& name);  // throws InputError

// Resize in float (no 8-bit rounding). `antialias` low-pass filters when downsampling
// (PIL-style support scaling), which is what clean-fid's "bicubic, antialias" means.
Image resize(const Image& img, int height, int width, ResizeFilter filter, bool antialias = true);

// Channel conversions: 1 -> 3 replicates; 3/4 -> 1 uses ITU-R 601 luma (0.299, 0.587, 0.114);
// 4 -> 3 drops alpha.
Image to_channels(const Image& img, int channels);

}  // namespace medsyn
