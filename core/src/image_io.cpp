#include "medsyn/core/image_io.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

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

// Largest raster decoded: 2^28 pixels (16384 x 16384). OpenCV's own limit (2^30) would let a
// 100-byte PNG make it allocate gigabytes before the truncated data is noticed.
constexpr std::uint64_t kMaxPixels = 1ull << 28;

std::uint32_t be32(const std::uint8_t* p) { return (std::uint32_t(p[0]) << 24) | (p[1] << 16) | (p[2] << 8) | p[3]; }
std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }
std::uint32_t le32(const std::uint8_t* p) { return (std::uint32_t(p[3]) << 24) | (p[2] << 16) | (p[1] << 8) | p[0]; }

// Width and height declared in the header of a PNG, JPEG, BMP or TIFF (first image), read
// without decoding; {0, 0} when the header cannot be understood (OpenCV then decides).
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

Image mat_to_image(const cv::Mat& m_in, const std::string& name) {
  const int depth = m_in.depth();
  if (depth != CV_8U && depth != CV_16U && depth != CV_32F)
    throw InputError(at_file(name, "unsupported pixel depth (expected 8-bit, 16-bit or float)"));
  const int ch = m_in.channels();
  if (ch != 1 && ch != 3 && ch != 4 && ch != 2)
    throw InputError(at_file(name, "unsupported channel count " + std::to_string(ch)));
  cv::Mat m = m_in;
  if (ch == 3) cv::cvtColor(m_in, m, cv::COLOR_BGR2RGB);
  if (ch == 4) cv::cvtColor(m_in, m, cv::COLOR_BGRA2RGBA);
  Image img(ch, m.rows, m.cols);
  const std::size_t plane = static_cast<std::size_t>(m.rows) * m.cols;
  for (int y = 0; y < m.rows; ++y) {
    for (int x = 0; x < m.cols; ++x) {
      const std::size_t i = static_cast<std::size_t>(y) * m.cols + x;
      for (int c = 0; c < ch; ++c) {
        float v;
        if (depth == CV_8U) v = lut_u8()[m.ptr<std::uint8_t>(y)[x * ch + c]];
        else if (depth == CV_16U) v = lut_u16()[m.ptr<std::uint16_t>(y)[x * ch + c]];
        else {
          v = m.ptr<float>(y)[x * ch + c];
          if (!std::isfinite(v)) throw InputError(at_file(name, "contains NaN or Inf pixel values"));
        }
        img.data[c * plane + i] = v;
      }
    }
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
    throw InputError(at_file(name, "declares " + std::to_string(dw) + " x " + std::to_string(dh) +
                                       " pixels, more than the limit of " + std::to_string(kMaxPixels) + " per image"));
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
  cv::Mat m;
  try {
    m = cv::imdecode(bytes, cv::IMREAD_UNCHANGED | cv::IMREAD_ANYDEPTH | cv::IMREAD_ANYCOLOR);
  } catch (const cv::Exception& e) {
    throw InputError(at_file(name, std::string("cannot decode image: ") + e.what()));
  }
  if (m.empty()) throw InputError(at_file(name, "cannot decode image (corrupt, truncated or unsupported format)"));
  return mat_to_image(m, name);
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
  const int depth = bit_depth == 16 ? CV_16U : CV_8U;
  const double maxv = bit_depth == 16 ? 65535.0 : 255.0;
  std::vector<cv::Mat> planes;
  for (int c = 0; c < img.channels; ++c) {
    cv::Mat p(img.height, img.width, CV_32F, const_cast<float*>(img.plane(c)));
    cv::Mat clipped = cv::max(cv::min(p, 1.0), 0.0);
    cv::Mat q;
    clipped.convertTo(q, depth, maxv);  // rounds to nearest
    planes.push_back(q);
  }
  cv::Mat merged;
  cv::merge(planes, merged);
  if (img.channels == 3) cv::cvtColor(merged, merged, cv::COLOR_RGB2BGR);
  if (img.channels == 4) cv::cvtColor(merged, merged, cv::COLOR_RGBA2BGRA);
  std::vector<std::uint8_t> buf;
  if (!cv::imencode(".png", merged, buf)) throw Error("encode_png: OpenCV failed to encode");
  return buf;
}

void write_png(const fs::path& path, const Image& img, int bit_depth) {
  atomic_write_bytes(path, encode_png(img, bit_depth));
}

}  // namespace medsyn
