// Uncompressed Windows BMP -> Raster, read by hand (no library needed), matching OpenCV 4.6's
// BmpDecoder with IMREAD_UNCHANGED:
//   1/4/8-bit palette -> 1 channel when every palette entry is gray (R = G = B), else RGB
//   24-bit            -> RGB
//   32-bit BI_RGB     -> RGB (the fourth byte is ignored, as OpenCV does)
//   32-bit BI_BITFIELDS with the standard masks -> RGBA
// Bottom-up (positive height) and top-down (negative height) rows. Refused with an InputError:
// RLE4/RLE8 compression, 16-bit, bit fields other than 8-bit B, G, R, A, OS/2 (12-byte) headers,
// JPEG/PNG-in-BMP. Every offset and size is checked against the buffer before it is read.
#include <cstring>

#include "codecs.h"
#include "medsyn/core/error.h"

namespace medsyn::codecs {

namespace {

std::uint32_t le32(const std::uint8_t* p) { return p[0] | (p[1] << 8) | (p[2] << 16) | (std::uint32_t(p[3]) << 24); }
std::uint16_t le16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }

constexpr std::uint32_t kRgb = 0, kBitFields = 3;

}  // namespace

Raster decode_bmp(const std::uint8_t* data, std::size_t size, const std::string& name) {
  auto fail = [&](const std::string& what) -> InputError { return InputError(at_file(name, "cannot decode BMP: " + what)); };
  if (size < 18 || data[0] != 'B' || data[1] != 'M') throw fail("too short for a BMP header");
  const std::uint32_t offset = le32(data + 10), header = le32(data + 14);
  if (header == 12) throw fail("OS/2 bitmaps (12-byte header) are not supported");
  if (header < 36 || 14ull + header > size) throw fail("bad or truncated info header (" + std::to_string(header) + " bytes)");
  const auto width = static_cast<std::int32_t>(le32(data + 18)), height = static_cast<std::int32_t>(le32(data + 22));
  const int bpp = le16(data + 28);
  const std::uint32_t compression = le32(data + 30), colors_used = le32(data + 46);
  if (width <= 0 || height == 0 || height == INT32_MIN) throw fail("bad size " + std::to_string(width) + " x " + std::to_string(height));
  const bool bitfields32 = bpp == 32 && compression == kBitFields;
  if (compression != kRgb && !bitfields32)
    throw fail("compression type " + std::to_string(compression) + " (RLE, JPEG, PNG or 16-bit bit fields) is not supported");
  if (bpp != 1 && bpp != 4 && bpp != 8 && bpp != 24 && bpp != 32) throw fail(std::to_string(bpp) + "-bit pixels are not supported");
  if (bitfields32) {  // masks follow the 40-byte core of the header (inside a V4/V5 header, or after it)
    if (14ull + 40 + 12 > size) throw fail("truncated bit-field masks");
    const std::uint8_t* m = data + 14 + 40;
    if (le32(m) != 0x00FF0000u || le32(m + 4) != 0x0000FF00u || le32(m + 8) != 0x000000FFu)
      throw fail("bit fields other than 8-bit B, G, R, A are not supported");
  }

  std::uint8_t palette[256][4] = {};  // B, G, R, reserved; unused entries black, as in OpenCV
  bool color = true;
  if (bpp <= 8) {
    if (colors_used > 256) throw fail("palette of " + std::to_string(colors_used) + " colours");
    const std::uint64_t entries = colors_used ? colors_used : 1u << bpp;
    if (14ull + header + entries * 4 > size) throw fail("truncated palette");
    std::memcpy(palette, data + 14 + header, entries * 4);
    color = false;
    for (int i = 0; i < (1 << bpp); ++i) color |= palette[i][0] != palette[i][1] || palette[i][0] != palette[i][2];
  }

  const std::uint64_t w = static_cast<std::uint64_t>(width), h = height < 0 ? 0ull - static_cast<std::int64_t>(height) : height;
  const int channels = bpp <= 8 ? (color ? 3 : 1) : bitfields32 ? 4 : 3;
  if (w * h > kMaxPixels) throw InputError(at_file(name, too_many_pixels(w, h)));
  const std::uint64_t pitch = ((w * bpp + 7) / 8 + 3) & ~std::uint64_t{3};  // rows padded to 4 bytes
  if (offset > size || pitch * h > size - offset) throw fail("truncated pixel data");
  Raster out;
  out.allocate(w, h, channels, 8, name);
  for (std::uint64_t y = 0; y < h; ++y) {
    const std::uint8_t* src = data + offset + y * pitch;
    std::uint8_t* dst = out.data.data() + (height > 0 ? h - 1 - y : y) * w * channels;  // positive height: bottom-up
    for (std::uint64_t x = 0; x < w; ++x, dst += channels) {
      if (bpp <= 8) {
        const int shift = 8 - bpp - static_cast<int>((x * bpp) % 8);  // leftmost pixel in the high bits
        const int index = (src[x * bpp / 8] >> shift) & ((1 << bpp) - 1);
        const std::uint8_t* p = palette[index];
        if (channels == 1) dst[0] = p[0];
        else dst[0] = p[2], dst[1] = p[1], dst[2] = p[0];
      } else {
        const std::uint8_t* p = src + x * (bpp / 8);
        dst[0] = p[2], dst[1] = p[1], dst[2] = p[0];
        if (channels == 4) dst[3] = p[3];
      }
    }
  }
  return out;
}

}  // namespace medsyn::codecs
