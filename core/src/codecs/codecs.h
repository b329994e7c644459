#pragma once
// Private to medsyn_core: the raster codecs behind image_io.cpp, one format per file, each a thin
// layer over the Debian library for it (libpng, libjpeg-turbo, libtiff; BMP is read by hand).
// Decoders follow OpenCV 4.6's cv::imdecode(IMREAD_UNCHANGED) channel rules (so files decode as
// they did when OpenCV read them), except that colour comes out in RGB(A) order; the exceptions
// are listed in docs/data.md. Every failure throws InputError naming the file (`name`).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace medsyn::codecs {

// Largest raster decoded: 2^28 pixels (16384 x 16384). OpenCV's own limit (2^30) would let a
// 100-byte PNG make it allocate gigabytes before the truncated data is noticed. Checked from the
// header by image_io.cpp and again by each decoder from what its library parsed, before allocating.
constexpr std::uint64_t kMaxPixels = 1ull << 28;

// A decoded image: rows top to bottom, samples interleaved in R, G, B, A order (1 channel: gray),
// `depth` bits per sample: 8 or 16 (unsigned, host byte order) or 32 (IEEE float).
struct Raster {
  int width = 0, height = 0, channels = 0, depth = 8;
  std::vector<std::uint8_t> data;  // width * height * channels * depth / 8 bytes

  std::size_t sample_bytes() const { return static_cast<std::size_t>(depth / 8); }
  // Sizes `data` after checking the pixel limit; `name` is the file for the error message.
  void allocate(std::uint64_t w, std::uint64_t h, int ch, int bits, const std::string& name);
};

Raster decode_png(const std::uint8_t* data, std::size_t size, const std::string& name);
Raster decode_jpeg(const std::uint8_t* data, std::size_t size, const std::string& name);
Raster decode_tiff(const std::uint8_t* data, std::size_t size, const std::string& name);
Raster decode_bmp(const std::uint8_t* data, std::size_t size, const std::string& name);

// PNG of an 8- or 16-bit Raster with 1, 3 or 4 channels, with OpenCV 4.6's default settings so
// the bytes equal cv::imencode(".png") of the same pixels.
std::vector<std::uint8_t> encode_png(const Raster& r);

// "W x H pixels, more than the limit of N per image" (shared wording of the size checks).
std::string too_many_pixels(std::uint64_t w, std::uint64_t h);

}  // namespace medsyn::codecs
