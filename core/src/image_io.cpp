#include "medsyn/core/image_io.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "codecs/codecs.h"
#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"

namespace fs = std::filesystem;

namespace medsyn {

namespace {

std::string lower_ext(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return std::tolower(c); });
  return e;
}

bool is_jpeg(const std::vector<std::uint8_t>& b) { return b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF; }
bool is_png(const std::vector<std::uint8_t>& b) {
  static const std::uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  return b.size() >= 8 && std::equal(sig, sig + 8, b.begin());
}

// libjpeg silently fills a truncated file with grey ("Premature end of JPEG file"); a complete
// JPEG ends with the EOI marker FF D9 (possibly followed by padding).
bool jpeg_has_eoi(const std::vector<std::uint8_t>& b) {
  std::size_t n = b.size();
  while (n > 2 && (b[n - 1] == 0x00 || b[n - 1] == 0x0A || b[n - 1] == 0x0D || b[n - 1] == 0x20)) --n;
  return n >= 2 && b[n - 2] == 0xFF && b[n - 1] == 0xD9;
}

// A complete PNG ends with an IEND chunk.
bool png_has_iend(const std::vector<std::uint8_t>& b) {
  static const std::uint8_t iend[8] = {'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
  return b.size() >= 20 && std::search(b.end() - 20, b.end(), iend, iend + 8) != b.end();
}

using codecs::kMaxPixels;

bool is_bmp(const std::vector<std::uint8_t>& b) { return b.size() >= 2 && b[0] == 'B' && b[1] == 'M'; }
// Classic TIFF (42) and BigTIFF (43), little or big endian.
bool is_tiff(const std::vector<std::uint8_t>& b) {
  return b.size() >= 4 && ((b[0] == 'I' && b[1] == 'I' && (b[2] == 42 || b[2] == 43) && b[3] == 0) ||
                           (b[0] == 'M' && b[1] == 'M' && b[2] == 0 && (b[3] == 42 || b[3] == 43)));
}

std::uint32_t be32(const std::uint8_t* p) { return (std::uint32_t(p[0]) << 24) | (p[1] << 16) | (p[2] << 8) | p[3]; }
std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }
std::uint32_t le32(const std::uint8_t* p) { return (std::uint32_t(p[3]) << 24) | (p[2] << 16) | (p[1] << 8) | p[0]; }

// Width and height declared in the header of a PNG, JPEG, BMP or TIFF (first image), read
// without decoding; {0, 0} when the header cannot be understood (the decoder then checks).
std::pair<std::uint64_t, std::uint64_t> declared_size(const std::vector<std::uint8_t>& b) {
  const std::size_t n = b.size();
  if (is_png(b) && n >= 24 && std::memcmp(b.data() + 12, "IHDR", 4) == 0) return {be32(&b[16]), be32(&b[20])};
  if (is_jpeg(b)) {
    std::size_t i = 2;
    while (i + 3 < n) {
      if (b[i] != 0xFF) return {0, 0};
      const std::uint8_t m = b[i + 1];
      if (m == 0xFF) {  // fill byte
        ++i;
        continue;
      }
      if (m == 0x01 || (m >= 0xD0 && m <= 0xD9)) {  // markers without a length
        i += 2;
        continue;
      }
      const std::size_t len = be16(&b[i + 2]);
      const bool sof = m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
      if (sof && i + 9 <= n) return {be16(&b[i + 7]), be16(&b[i + 5])};
      if (m == 0xDA || len < 2) return {0, 0};
      i += 2 + len;
    }
    return {0, 0};
  }
  if (n >= 26 && b[0] == 'B' && b[1] == 'M') {
    const auto w = static_cast<std::int32_t>(le32(&b[18])), h = static_cast<std::int32_t>(le32(&b[22]));
    return {static_cast<std::uint64_t>(std::llabs(w)), static_cast<std::uint64_t>(std::llabs(h))};
  }
  const bool ii = n >= 8 && b[0] == 'I' && b[1] == 'I' && b[2] == 42 && b[3] == 0;
  const bool mm = n >= 8 && b[0] == 'M' && b[1] == 'M' && b[2] == 0 && b[3] == 42;
  if (ii || mm) {
    auto u16 = [&](std::size_t o) -> std::uint32_t { return ii ? (b[o] | (b[o + 1] << 8)) : be16(&b[o]); };
    auto u32 = [&](std::size_t o) -> std::uint32_t { return ii ? le32(&b[o]) : be32(&b[o]); };
    const std::size_t ifd = u32(4);
    if (ifd + 2 > n) return {0, 0};
    const std::size_t count = u16(ifd);
    std::uint64_t w = 0, h = 0;
    for (std::size_t k = 0; k < count && ifd + 2 + 12 * (k + 1) <= n; ++k) {
      const std::size_t e = ifd + 2 + 12 * k;
      const std::uint32_t tag = u16(e), type = u16(e + 2);
      const std::uint64_t v = type == 3 ? u16(e + 8) : type == 4 ? u32(e + 8) : 0;
      if (tag == 256) w = v;
      if (tag == 257) h = v;
    }
    return {w, h};
  }
  return {0, 0};
}

// One conversion for every path (file decode and in-memory arrays): v / max computed in double,
// rounded once to float, so the same pixel always maps to the same float.
const std::vector<float>& lut_u8() {
  static const std::vector<float> lut = [] {
    std::vector<float> t(256);
    for (int v = 0; v < 256; ++v) t[v] = static_cast<float>(v / 255.0);
    return t;
  }();
  return lut;
}
const std::vector<float>& lut_u16() {
  static const std::vector<float> lut = [] {
    std::vector<float> t(65536);
    for (int v = 0; v < 65536; ++v) t[v] = static_cast<float>(v / 65535.0);
    return t;
  }();
  return lut;
}

Image raster_to_image(const codecs::Raster& r, const std::string& name) {
  Image img(r.channels, r.height, r.width);
  const std::size_t plane = static_cast<std::size_t>(r.height) * r.width;
  const std::uint8_t* src = r.data.data();
  for (std::size_t i = 0; i < plane; ++i)
    for (int c = 0; c < r.channels; ++c) {  // interleaved -> planar
      const std::size_t k = i * r.channels + c;
      float v;
      if (r.depth == 8) {
        v = lut_u8()[src[k]];
      } else if (r.depth == 16) {
        std::uint16_t s;
        std::memcpy(&s, src + 2 * k, 2);
        v = lut_u16()[s];
      } else {
        std::memcpy(&v, src + 4 * k, 4);
        if (!std::isfinite(v)) throw InputError(at_file(name, "contains NaN or Inf pixel values"));
      }
      img.data[c * plane + i] = v;
    }
  return img;
}

}  // namespace

bool is_raster_image_file(const fs::path& path) {
  static const char* exts[] = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"};
  const std::string e = lower_ext(path);
  return std::any_of(std::begin(exts), std::end(exts), [&](const char* x) { return e == x; });
}

Image decode_image(const std::vector<std::uint8_t>& bytes, const std::string& name) {
  if (bytes.empty()) throw InputError(at_file(name, "empty file"));
  if (is_jpeg(bytes) && !jpeg_has_eoi(bytes))
    throw InputError(at_file(name, "truncated or corrupt JPEG (no end-of-image marker)"));
  if (is_png(bytes) && !png_has_iend(bytes))
    throw InputError(at_file(name, "truncated or corrupt PNG (no IEND chunk)"));
  const auto [dw, dh] = declared_size(bytes);
  if (dw * dh > kMaxPixels)  // both < 2^32: the product fits
    throw InputError(at_file(name, codecs::too_many_pixels(dw, dh)));
  codecs::Raster r;
  const std::uint8_t* p = bytes.data();
  if (is_png(bytes)) r = codecs::decode_png(p, bytes.size(), name);
  else if (is_jpeg(bytes)) r = codecs::decode_jpeg(p, bytes.size(), name);
  else if (is_tiff(bytes)) r = codecs::decode_tiff(p, bytes.size(), name);
  else if (is_bmp(bytes)) r = codecs::decode_bmp(p, bytes.size(), name);
  else throw InputError(at_file(name, "cannot decode image (not a PNG, JPEG, TIFF or BMP file)"));
  return raster_to_image(r, name);
}

Image read_image(const fs::path& path) {
  if (!is_raster_image_file(path))
    throw InputError(at_file(path.string(), "unknown image format '" + path.extension().string() +
                                                "' (expected .png, .jpg, .jpeg, .tif, .tiff or .bmp)"));
  return decode_image(read_file_bytes(path), path.string());
}

std::vector<std::uint8_t> to_u8_hwc(const Image& img) {
  const std::size_t plane = static_cast<std::size_t>(img.height) * img.width;
  std::vector<std::uint8_t> out(plane * img.channels);
  for (int c = 0; c < img.channels; ++c)
    for (std::size_t i = 0; i < plane; ++i) {
      float v = std::clamp(img.data[c * plane + i], 0.f, 1.f);
      out[i * img.channels + c] = static_cast<std::uint8_t>(std::lround(v * 255.f));
    }
  return out;
}

Image from_u8_hwc(const std::uint8_t* data, int height, int width, int channels) {
  Image img(channels, height, width);
  const std::size_t plane = static_cast<std::size_t>(height) * width;
  for (int c = 0; c < channels; ++c)
    for (std::size_t i = 0; i < plane; ++i) img.data[c * plane + i] = lut_u8()[data[i * channels + c]];
  return img;
}

std::vector<std::uint8_t> encode_png(const Image& img, int bit_depth) {
  if (img.empty()) throw InputError("encode_png: empty image");
  if (img.channels != 1 && img.channels != 3 && img.channels != 4)
    throw InputError("encode_png: PNG needs 1, 3 or 4 channels, got " + std::to_string(img.channels));
  // Quantisation as OpenCV's convertTo(CV_8U / CV_16U, scale) did before: clip to [0, 1], multiply
  // in float, round half to even (cvRound; std::nearbyint in the default rounding mode). NaN -> 0.
  const bool wide = bit_depth == 16;
  const float scale = wide ? 65535.f : 255.f;
  codecs::Raster r;
  r.width = img.width;
  r.height = img.height;
  r.channels = img.channels;
  r.depth = wide ? 16 : 8;
  const std::size_t plane = static_cast<std::size_t>(img.height) * img.width;
  r.data.resize(plane * img.channels * r.sample_bytes());
  for (int c = 0; c < img.channels; ++c)
    for (std::size_t i = 0; i < plane; ++i) {
      const float v = img.data[c * plane + i];
      const float clipped = v > 0.f ? (v < 1.f ? v : 1.f) : 0.f;
      const float q = std::nearbyint(clipped * scale);
      const std::size_t k = i * img.channels + c;
      if (wide) {
        const auto s = static_cast<std::uint16_t>(q);
        std::memcpy(&r.data[2 * k], &s, 2);
      } else {
        r.data[k] = static_cast<std::uint8_t>(q);
      }
    }
  return codecs::encode_png(r);
}

void write_png(const fs::path& path, const Image& img, int bit_depth) {
  atomic_write_bytes(path, encode_png(img, bit_depth));
}

}  // namespace medsyn
