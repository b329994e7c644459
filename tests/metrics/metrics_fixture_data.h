#pragma once
// Inputs of the metric golden tests, built from real MedMNIST images exactly as
// scripts/fixtures/metrics_fixtures.py builds them (see its docstring), plus golden.json access.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "medsyn/core/image.h"
#include "medsyn/core/json.h"
#include "medsyn/core/npy.h"
#include "test_support.h"

namespace medsyn::test::metrics_data {

// u8 images (N, 28, 28[, 3]) of one split of a MedMNIST file.
inline const NpyArray& images(const std::string& dataset, const std::string& key) {
  static std::map<std::string, NpyArray> cache;
  const std::string id = dataset + "/" + key;
  auto it = cache.find(id);
  if (it == cache.end()) {
    auto arrays = read_npz(medmnist_file(dataset));
    it = cache.emplace(id, arrays.at(key)).first;
  }
  return it->second;
}

inline float u8f(std::uint8_t v) { return static_cast<float>(v) / 255.0f; }

// Pixel features of grayscale images [start, stop): sub16 (rows/cols 5+6i, i<4) or sub64 (3+3i, i<8).
inline Matrix32 pixel_features(const std::string& dataset, const std::string& key, int start, int stop, int dim) {
  const auto& a = images(dataset, key);
  const int side = dim == 16 ? 4 : 8, first = dim == 16 ? 5 : 3, step = dim == 16 ? 6 : 3;
  Matrix32 m;
  m.rows = stop - start;
  m.cols = dim;
  for (int n = start; n < stop; ++n)
    for (int i = 0; i < side; ++i)
      for (int j = 0; j < side; ++j) {
        const int r = first + step * i, c = first + step * j;
        m.data.push_back(u8f(a.bytes[static_cast<std::size_t>(n) * 784 + r * 28 + c]));
      }
  return m;
}

inline Image image(const std::string& dataset, const std::string& key, int n) {
  const auto& a = images(dataset, key);
  const int ch = a.shape.size() == 4 ? static_cast<int>(a.shape[3]) : 1;
  Image img(ch, 28, 28);
  const std::size_t base = static_cast<std::size_t>(n) * 784 * ch;
  for (int y = 0; y < 28; ++y)
    for (int x = 0; x < 28; ++x)
      for (int c = 0; c < ch; ++c) img.at(c, y, x) = u8f(a.bytes[base + (y * 28 + x) * ch + c]);
  return img;
}

// 7 x 7 tiles of images [start, start + 49) -> 196 x 196.
inline Image mosaic(const std::string& dataset, const std::string& key, int start) {
  Image first = image(dataset, key, start);
  Image out(first.channels, 196, 196);
  for (int t = 0; t < 49; ++t) {
    const Image tile = image(dataset, key, start + t);
    const int r = t / 7, q = t % 7;
    for (int c = 0; c < out.channels; ++c)
      for (int y = 0; y < 28; ++y)
        for (int x = 0; x < 28; ++x) out.at(c, 28 * r + y, 28 * q + x) = tile.at(c, y, x);
  }
  return out;
}

inline Image blend(const Image& x, const Image& y) {
  Image o = x;
  for (std::size_t i = 0; i < o.data.size(); ++i) o.data[i] = x.data[i] * 0.75f + y.data[i] * 0.25f;
  return o;
}

inline Image crop(const Image& x, int y0, int y1, int x0, int x1) {
  Image o(x.channels, y1 - y0, x1 - x0);
  for (int c = 0; c < x.channels; ++c)
    for (int y = y0; y < y1; ++y)
      for (int xx = x0; xx < x1; ++xx) o.at(c, y - y0, xx - x0) = x.at(c, y, xx);
  return o;
}

inline const json& golden() {
  static const json g = read_json_file(fixtures_dir() / "metrics" / "golden.json");
  return g;
}

inline double rel_err(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-300); }

}  // namespace medsyn::test::metrics_data
