// medsyn_core's own raster codecs (core/src/codecs: libpng, libjpeg-turbo, libtiff, a BMP reader)
// against OpenCV's decoder, which they replaced: every case decodes to exactly the Image that
// cv::imdecode(IMREAD_UNCHANGED) + the old conversion gave (same channels, bit-identical floats).
// Files come from cv::imencode, from libjpeg/libtiff/zlib directly for what OpenCV cannot write
// (low-bit, palette, tRNS, gray+alpha and interlaced PNG; CMYK JPEG; tiled, palette, min-is-white,
// planar TIFF; palette BMP), and from the real images of python3-skimage.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <jpeglib.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <tiffio.h>
#include <zlib.h>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/image_io.h"
#include "package_files.h"
#include "test_support.h"

using namespace medsyn;
namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

namespace {

// Deterministic test pixels (a fixed LCG: the values only need to be varied, not random).
struct Lcg {
  std::uint32_t s;
  std::uint32_t next() { return s = s * 1664525u + 1013904223u; }
};

cv::Mat random_mat(int h, int w, int type, std::uint32_t seed) {
  cv::Mat m(h, w, type);
  Lcg g{seed};
  const int depth = CV_MAT_DEPTH(type);
  const std::size_t n = static_cast<std::size_t>(h) * w * CV_MAT_CN(type);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint32_t r = g.next() >> 8;
    if (depth == CV_8U) m.ptr<std::uint8_t>()[i] = static_cast<std::uint8_t>(r);
    else if (depth == CV_16U) m.ptr<std::uint16_t>()[i] = static_cast<std::uint16_t>(r);
    else m.ptr<float>()[i] = static_cast<float>(r % 100000) / 7919.f - 3.f;
  }
  return m;
}

// What image_io.cpp did with OpenCV's Mat before it had its own codecs.
Image reference_image(const cv::Mat& m_in) {
  cv::Mat m = m_in;
  const int ch = m.channels();
  if (ch == 3) cv::cvtColor(m_in, m, cv::COLOR_BGR2RGB);
  if (ch == 4) cv::cvtColor(m_in, m, cv::COLOR_BGRA2RGBA);
  Image img(ch, m.rows, m.cols);
  const std::size_t plane = static_cast<std::size_t>(m.rows) * m.cols;
  for (int y = 0; y < m.rows; ++y)
    for (int x = 0; x < m.cols; ++x)
      for (int c = 0; c < ch; ++c) {
        float v = 0;
        if (m.depth() == CV_8U) v = static_cast<float>(m.ptr<std::uint8_t>(y)[x * ch + c] / 255.0);
        else if (m.depth() == CV_16U) v = static_cast<float>(m.ptr<std::uint16_t>(y)[x * ch + c] / 65535.0);
        else if (m.depth() == CV_32F) v = m.ptr<float>(y)[x * ch + c];
        else FAIL("reference decoded an unexpected depth " << m.depth());
        img.data[c * plane + static_cast<std::size_t>(y) * m.cols + x] = v;
      }
  return img;
}

// decode_image(bytes) equals OpenCV's decode of the same bytes, exactly.
void check_same_as_opencv(const Bytes& bytes, const std::string& label) {
  INFO(label);
  const cv::Mat m = cv::imdecode(bytes, cv::IMREAD_UNCHANGED);
  REQUIRE_FALSE(m.empty());
  const Image ref = reference_image(m);
  const Image got = decode_image(bytes, label);
  REQUIRE(got.channels == ref.channels);
  REQUIRE(got.height == ref.height);
  REQUIRE(got.width == ref.width);
  std::size_t diff = 0, first = 0;
  for (std::size_t i = 0; i < got.data.size(); ++i)
    if (got.data[i] != ref.data[i] && diff++ == 0) first = i;
  INFO("first differing sample " << first << ": " << (diff ? got.data[first] : 0.f) << " vs " << (diff ? ref.data[first] : 0.f));
  CHECK(diff == 0);
}

Bytes cv_encode(const std::string& ext, const cv::Mat& m, const std::vector<int>& params = {}) {
  Bytes out;
  REQUIRE(cv::imencode(ext, m, out, params));
  return out;
}

// --- a minimal PNG writer (zlib only), for the colour types and options OpenCV cannot write ---

void put_be32(Bytes& b, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(v >> s));
}

void put_chunk(Bytes& png, const char* type, const Bytes& data) {
  put_be32(png, static_cast<std::uint32_t>(data.size()));
  const std::size_t start = png.size();
  png.insert(png.end(), type, type + 4);
  png.insert(png.end(), data.begin(), data.end());
  put_be32(png, static_cast<std::uint32_t>(crc32(0, png.data() + start, static_cast<uInt>(png.size() - start))));
}

struct PngSpec {
  int width, height, bit_depth, color_type;  // PNG colour type: 0 gray, 2 RGB, 3 palette, 4 GA, 6 RGBA
  bool interlaced = false;
  Bytes plte = {}, trns = {};  // raw chunk payloads, empty = absent
};

int png_samples(int color_type) { return color_type == 2 ? 3 : color_type == 4 ? 2 : color_type == 6 ? 4 : 1; }

// `values` holds width*height*samples sample values (each < 2^bit_depth), rows top to bottom.
Bytes make_png(const PngSpec& s, const std::vector<std::uint16_t>& values) {
  const int spp = png_samples(s.color_type);
  Bytes raw;  // filter byte 0 + packed samples, per row of each (Adam7) pass
  auto add_row = [&](int y, int x0, int dx) {
    raw.push_back(0);
    int acc = 0, nbits = 0;
    for (int x = x0; x < s.width; x += dx)
      for (int c = 0; c < spp; ++c) {
        const std::uint16_t v = values[(static_cast<std::size_t>(y) * s.width + x) * spp + c];
        if (s.bit_depth == 16) {
          raw.push_back(static_cast<std::uint8_t>(v >> 8));
          raw.push_back(static_cast<std::uint8_t>(v));
        } else {
          acc = (acc << s.bit_depth) | v;
          nbits += s.bit_depth;
          if (nbits == 8) raw.push_back(static_cast<std::uint8_t>(acc)), acc = 0, nbits = 0;
        }
      }
    if (nbits) raw.push_back(static_cast<std::uint8_t>(acc << (8 - nbits)));
  };
  if (!s.interlaced) {
    for (int y = 0; y < s.height; ++y) add_row(y, 0, 1);
  } else {
    static const int passes[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};
    for (const auto& p : passes)
      if (p[0] < s.width)
        for (int y = p[1]; y < s.height; y += p[3]) add_row(y, p[0], p[2]);
  }
  Bytes z(compressBound(static_cast<uLong>(raw.size())));
  uLongf zlen = static_cast<uLongf>(z.size());
  REQUIRE(compress2(z.data(), &zlen, raw.data(), static_cast<uLong>(raw.size()), 6) == Z_OK);
  z.resize(zlen);
  Bytes png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  Bytes ihdr;
  put_be32(ihdr, static_cast<std::uint32_t>(s.width));
  put_be32(ihdr, static_cast<std::uint32_t>(s.height));
  ihdr.insert(ihdr.end(), {static_cast<std::uint8_t>(s.bit_depth), static_cast<std::uint8_t>(s.color_type), 0, 0,
                           static_cast<std::uint8_t>(s.interlaced ? 1 : 0)});
  put_chunk(png, "IHDR", ihdr);
  if (!s.plte.empty()) put_chunk(png, "PLTE", s.plte);
  if (!s.trns.empty()) put_chunk(png, "tRNS", s.trns);
  put_chunk(png, "IDAT", z);
  put_chunk(png, "IEND", {});
  return png;
}

std::vector<std::uint16_t> random_samples(std::size_t n, int bits, std::uint32_t seed) {
  Lcg g{seed};
  std::vector<std::uint16_t> v(n);
  for (auto& x : v) x = static_cast<std::uint16_t>((g.next() >> 8) & ((1u << bits) - 1));
  return v;
}

// --- TIFF written with libtiff directly (tiles, palettes, photometrics OpenCV does not write) ---

struct TiffSpec {
  int width, height, bps, spp, photometric;
  int planar = PLANARCONFIG_CONTIG;
  int compression = COMPRESSION_NONE;
  int tile = 0;          // tile edge (multiple of 16), 0 = strips
  int rows_per_strip = 3;
  int orientation = ORIENTATION_TOPLEFT;
  bool alpha = false;    // last sample is unassociated alpha
  int sample_format = SAMPLEFORMAT_UINT;
};

Bytes make_tiff(const test::TempDir& tmp, const TiffSpec& s, const Bytes& pixels /* contiguous, host order */) {
  const fs::path path = tmp / "t.tif";
  TIFF* t = TIFFOpen(path.c_str(), "w");
  REQUIRE(t);
  TIFFSetField(t, TIFFTAG_IMAGEWIDTH, s.width);
  TIFFSetField(t, TIFFTAG_IMAGELENGTH, s.height);
  TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, s.bps);
  TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, s.spp);
  TIFFSetField(t, TIFFTAG_PHOTOMETRIC, s.photometric);
  TIFFSetField(t, TIFFTAG_PLANARCONFIG, s.planar);
  TIFFSetField(t, TIFFTAG_COMPRESSION, s.compression);
  TIFFSetField(t, TIFFTAG_ORIENTATION, s.orientation);
  TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, s.sample_format);
  if (s.alpha) {
    const std::uint16_t extra = EXTRASAMPLE_UNASSALPHA;
    TIFFSetField(t, TIFFTAG_EXTRASAMPLES, 1, &extra);
  }
  if (s.photometric == PHOTOMETRIC_PALETTE) {
    const int n = 1 << s.bps;
    std::vector<std::uint16_t> r(n), g(n), b(n);
    for (int i = 0; i < n; ++i) r[i] = static_cast<std::uint16_t>(i * 257 * 3), g[i] = static_cast<std::uint16_t>(65535 - i * 99), b[i] = static_cast<std::uint16_t>(i * 4099);
    TIFFSetField(t, TIFFTAG_COLORMAP, r.data(), g.data(), b.data());
  }
  const std::size_t row_bits = static_cast<std::size_t>(s.width) * s.spp * s.bps;
  const std::size_t row_bytes = (row_bits + 7) / 8;
  if (s.tile) {
    TIFFSetField(t, TIFFTAG_TILEWIDTH, s.tile);
    TIFFSetField(t, TIFFTAG_TILELENGTH, s.tile);
    REQUIRE(s.bps % 8 == 0);
    const std::size_t px = static_cast<std::size_t>(s.spp) * s.bps / 8;
    Bytes tile(static_cast<std::size_t>(s.tile) * s.tile * px);
    for (int y = 0; y < s.height; y += s.tile)
      for (int x = 0; x < s.width; x += s.tile) {
        std::fill(tile.begin(), tile.end(), 0);
        for (int r = 0; r < s.tile && y + r < s.height; ++r)
          for (int c = 0; c < s.tile && x + c < s.width; ++c)
            std::memcpy(&tile[(static_cast<std::size_t>(r) * s.tile + c) * px], &pixels[(y + r) * row_bytes + (x + c) * px], px);
        REQUIRE(TIFFWriteTile(t, tile.data(), x, y, 0, 0) >= 0);
      }
  } else if (s.planar == PLANARCONFIG_SEPARATE) {
    REQUIRE(s.bps == 8);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, s.rows_per_strip);
    Bytes line(s.width);
    for (int c = 0; c < s.spp; ++c)
      for (int y = 0; y < s.height; ++y) {
        for (int x = 0; x < s.width; ++x) line[x] = pixels[y * row_bytes + x * s.spp + c];
        REQUIRE(TIFFWriteScanline(t, line.data(), y, static_cast<std::uint16_t>(c)) == 1);
      }
  } else {
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, s.rows_per_strip);
    for (int y = 0; y < s.height; ++y)
      REQUIRE(TIFFWriteScanline(t, const_cast<std::uint8_t*>(&pixels[y * row_bytes]), y, 0) == 1);
  }
  TIFFClose(t);
  return read_file_bytes(path);
}

Bytes random_bytes(std::size_t n, std::uint32_t seed) {
  Lcg g{seed};
  Bytes b(n);
  for (auto& x : b) x = static_cast<std::uint8_t>(g.next() >> 24);
  return b;
}

// --- BMP written by hand (palettes and bit fields OpenCV's encoder does not produce) ---

void put_le(Bytes& b, std::size_t at, std::uint32_t v, int n) {
  for (int i = 0; i < n; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

Bytes make_bmp(int w, int h /* negative: top-down */, int bpp, const Bytes& palette_bgra, const Bytes& rows,
               std::uint32_t compression = 0, const Bytes& masks = {}) {
  const std::size_t header = 14 + 40 + masks.size() + palette_bgra.size();
  Bytes b(header);
  b[0] = 'B', b[1] = 'M';
  put_le(b, 2, static_cast<std::uint32_t>(header + rows.size()), 4);
  put_le(b, 10, static_cast<std::uint32_t>(header), 4);
  put_le(b, 14, 40, 4);
  put_le(b, 18, static_cast<std::uint32_t>(w), 4);
  put_le(b, 22, static_cast<std::uint32_t>(h), 4);
  put_le(b, 26, 1, 2);
  put_le(b, 28, static_cast<std::uint32_t>(bpp), 2);
  put_le(b, 30, compression, 4);
  put_le(b, 46, static_cast<std::uint32_t>(palette_bgra.size() / 4), 4);
  std::copy(masks.begin(), masks.end(), b.begin() + 54);
  std::copy(palette_bgra.begin(), palette_bgra.end(), b.begin() + 54 + masks.size());
  b.insert(b.end(), rows.begin(), rows.end());
  return b;
}

template <class F>
void expect_input_error(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
    FAIL("no InputError");
  } catch (const InputError& e) {
    const std::string msg = e.what();
    for (const auto& p : parts) CHECK_THAT(msg, Catch::Matchers::Contains(p));
  }
}

}  // namespace

TEST_CASE("PNG written by OpenCV decodes exactly as OpenCV decodes it", "[core][codecs]") {
  const std::vector<std::vector<int>> params = {
      {}, {cv::IMWRITE_PNG_COMPRESSION, 0}, {cv::IMWRITE_PNG_COMPRESSION, 9},
      {cv::IMWRITE_PNG_STRATEGY, cv::IMWRITE_PNG_STRATEGY_FILTERED}, {cv::IMWRITE_PNG_STRATEGY, cv::IMWRITE_PNG_STRATEGY_HUFFMAN_ONLY}};
  std::uint32_t seed = 1;
  for (int type : {CV_8UC1, CV_8UC3, CV_8UC4, CV_16UC1, CV_16UC3, CV_16UC4})
    for (auto [h, w] : {std::pair{1, 1}, {7, 5}, {33, 17}})
      for (const auto& p : params) {
        const cv::Mat m = random_mat(h, w, type, seed++);
        check_same_as_opencv(cv_encode(".png", m, p), "png type " + std::to_string(type) + " " + std::to_string(h) + "x" +
                                                         std::to_string(w) + " params " + std::to_string(p.size()));
      }
  // 1-bit gray (OpenCV's bilevel option)
  cv::Mat bw = random_mat(9, 13, CV_8UC1, 99);
  cv::threshold(bw, bw, 127, 255, cv::THRESH_BINARY);
  check_same_as_opencv(cv_encode(".png", bw, {cv::IMWRITE_PNG_BILEVEL, 1}), "png bilevel");
}

TEST_CASE("PNG colour types, low bit depths, tRNS and interlacing decode as OpenCV does", "[core][codecs]") {
  Bytes palette;
  for (int i = 0; i < 256; ++i) palette.insert(palette.end(), {static_cast<std::uint8_t>(i), static_cast<std::uint8_t>(255 - i), static_cast<std::uint8_t>(i * 7)});
  std::uint32_t seed = 100;
  for (bool interlaced : {false, true})
    for (auto [h, w] : {std::pair{1, 1}, {5, 3}, {17, 11}}) {
      std::vector<std::pair<PngSpec, std::string>> specs;
      for (int bits : {1, 2, 4, 8, 16}) {
        specs.push_back({{w, h, bits, 0}, "gray" + std::to_string(bits)});
        specs.push_back({{w, h, bits, 0, false, {}, {0, static_cast<std::uint8_t>(bits == 1 ? 1 : 2)}}, "gray+tRNS" + std::to_string(bits)});
      }
      for (int bits : {8, 16}) {
        specs.push_back({{w, h, bits, 4}, "gray+alpha" + std::to_string(bits)});
        specs.push_back({{w, h, bits, 2}, "rgb" + std::to_string(bits)});
        specs.push_back({{w, h, bits, 2, false, {}, {0, 1, 0, 2, 0, 3}}, "rgb+tRNS" + std::to_string(bits)});
        specs.push_back({{w, h, bits, 6}, "rgba" + std::to_string(bits)});
      }
      for (int bits : {1, 2, 4, 8}) {
        const Bytes plte(palette.begin(), palette.begin() + 3 * (1 << bits));
        specs.push_back({{w, h, bits, 3, false, plte}, "palette" + std::to_string(bits)});
        specs.push_back({{w, h, bits, 3, false, plte, {0, 128, 255}}, "palette+tRNS" + std::to_string(bits)});
      }
      for (auto& [spec, label] : specs) {
        spec.interlaced = interlaced;
        const std::size_t n = static_cast<std::size_t>(w) * h * png_samples(spec.color_type);
        check_same_as_opencv(make_png(spec, random_samples(n, spec.bit_depth, seed++)),
                             label + (interlaced ? " interlaced " : " ") + std::to_string(h) + "x" + std::to_string(w));
      }
    }
}

TEST_CASE("encode_png writes the same bytes as cv::imencode did", "[core][codecs]") {
  // The old implementation: clip, convertTo (float multiply, round half to even), merge, imencode.
  auto old_encode = [](const Image& img, int bits) {
    std::vector<cv::Mat> planes;
    for (int c = 0; c < img.channels; ++c) {
      cv::Mat p(img.height, img.width, CV_32F, const_cast<float*>(img.plane(c)));
      cv::Mat clipped = cv::max(cv::min(p, 1.0), 0.0), q;
      clipped.convertTo(q, bits == 16 ? CV_16U : CV_8U, bits == 16 ? 65535.0 : 255.0);
      planes.push_back(q);
    }
    cv::Mat merged;
    cv::merge(planes, merged);
    if (img.channels == 3) cv::cvtColor(merged, merged, cv::COLOR_RGB2BGR);
    if (img.channels == 4) cv::cvtColor(merged, merged, cv::COLOR_RGBA2BGRA);
    Bytes buf;
    REQUIRE(cv::imencode(".png", merged, buf));
    return buf;
  };
  std::uint32_t seed = 7;
  for (int ch : {1, 3, 4})
    for (int bits : {8, 16})
      for (auto [h, w] : {std::pair{1, 1}, {9, 14}, {64, 48}}) {
        Image img(ch, h, w);
        Lcg g{seed++};
        for (std::size_t i = 0; i < img.data.size(); ++i) {
          const std::uint32_t r = g.next() >> 8;
          // out-of-range values, exact levels, exact half-way points (ties round to even) and noise
          switch (r % 4) {
            case 0: img.data[i] = static_cast<float>(r % 1000) / 400.f - 0.8f; break;
            case 1: img.data[i] = static_cast<float>((r >> 2) % 256) / 255.f; break;
            case 2: img.data[i] = (static_cast<float>((r >> 2) % 255) + 0.5f) / 255.f; break;
            default: img.data[i] = static_cast<float>(r % 65536) / 65535.f;
          }
        }
        INFO("channels " << ch << " bits " << bits << " " << h << "x" << w);
        CHECK(encode_png(img, bits) == old_encode(img, bits));
      }
}

TEST_CASE("JPEG decodes exactly as OpenCV decodes it, CMYK included", "[core][codecs]") {
  std::uint32_t seed = 300;
  for (int type : {CV_8UC1, CV_8UC3})
    for (auto [h, w] : {std::pair{1, 1}, {15, 9}, {40, 33}})
      for (const std::vector<int>& p : std::vector<std::vector<int>>{
               {}, {cv::IMWRITE_JPEG_QUALITY, 40}, {cv::IMWRITE_JPEG_QUALITY, 100}, {cv::IMWRITE_JPEG_PROGRESSIVE, 1},
               {cv::IMWRITE_JPEG_OPTIMIZE, 1}, {cv::IMWRITE_JPEG_RST_INTERVAL, 2}}) {
        cv::Mat m = random_mat(h, w, type, seed++);
        cv::GaussianBlur(m, m, cv::Size(3, 3), 0);  // smoother than noise, as photos are
        check_same_as_opencv(cv_encode(".jpg", m, p), "jpeg type " + std::to_string(type) + " " + std::to_string(h) + "x" + std::to_string(w));
      }
  // CMYK and YCCK (4 components), written with libjpeg: OpenCV's CMYK -> BGR formula, in RGB order.
  for (J_COLOR_SPACE space : {JCS_CMYK, JCS_YCCK}) {
    const int w = 19, h = 11;
    const Bytes px = random_bytes(static_cast<std::size_t>(w) * h * 4, seed++);
    jpeg_compress_struct c{};
    jpeg_error_mgr err{};
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    unsigned char* buf = nullptr;
    unsigned long len = 0;
    jpeg_mem_dest(&c, &buf, &len);
    c.image_width = w, c.image_height = h, c.input_components = 4, c.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_colorspace(&c, space);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
      JSAMPROW row = const_cast<std::uint8_t*>(&px[c.next_scanline * w * 4]);
      jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    const Bytes jpg(buf, buf + len);
    std::free(buf);
    check_same_as_opencv(jpg, space == JCS_CMYK ? "jpeg cmyk" : "jpeg ycck");
  }
}

TEST_CASE("TIFF written by OpenCV decodes exactly as OpenCV decodes it", "[core][codecs]") {
  std::uint32_t seed = 500;
  for (int type : {CV_8UC1, CV_8UC3, CV_8UC4, CV_16UC1, CV_16UC3, CV_16UC4, CV_32FC1})
    for (auto [h, w] : {std::pair{1, 1}, {13, 7}, {70, 45}})
      for (int compression : {1, 5, 8, 32773}) {  // none, LZW, deflate, PackBits
        const cv::Mat m = random_mat(h, w, type, seed++);
        check_same_as_opencv(cv_encode(".tiff", m, {cv::IMWRITE_TIFF_COMPRESSION, compression}),
                             "tiff type " + std::to_string(type) + " " + std::to_string(h) + "x" + std::to_string(w) +
                                 " compression " + std::to_string(compression));
      }
}

TEST_CASE("TIFF tiles, palettes, photometrics and planes decode as OpenCV does", "[core][codecs]") {
  test::TempDir tmp;
  std::uint32_t seed = 700;
  auto pixels = [&](const TiffSpec& s) {
    return random_bytes((static_cast<std::size_t>(s.width) * s.spp * s.bps + 7) / 8 * s.height, seed++);
  };
  std::vector<std::pair<TiffSpec, std::string>> cases = {
      {{32, 48, 8, 1, PHOTOMETRIC_MINISBLACK, PLANARCONFIG_CONTIG, COMPRESSION_PACKBITS, 16}, "tiled gray8"},
      {{32, 32, 8, 3, PHOTOMETRIC_RGB, PLANARCONFIG_CONTIG, COMPRESSION_LZW, 16}, "tiled rgb8 lzw"},
      {{48, 32, 16, 1, PHOTOMETRIC_MINISBLACK, PLANARCONFIG_CONTIG, COMPRESSION_ADOBE_DEFLATE, 16}, "tiled gray16"},
      {{32, 16, 16, 3, PHOTOMETRIC_RGB, PLANARCONFIG_CONTIG, COMPRESSION_LZW, 16}, "tiled rgb16"},
      {{21, 10, 8, 1, PHOTOMETRIC_PALETTE}, "palette8"},
      {{21, 10, 1, 1, PHOTOMETRIC_MINISWHITE}, "miniswhite1"},
      {{21, 10, 1, 1, PHOTOMETRIC_MINISBLACK}, "minisblack1"},
      {{21, 10, 8, 1, PHOTOMETRIC_MINISWHITE}, "miniswhite8"},
      {{21, 10, 8, 3, PHOTOMETRIC_RGB, PLANARCONFIG_SEPARATE}, "separate rgb8"},
      {{21, 10, 8, 4, PHOTOMETRIC_RGB, PLANARCONFIG_CONTIG, COMPRESSION_PACKBITS, 0, 4, ORIENTATION_TOPLEFT, true}, "rgba8 unassociated alpha"},
      {{21, 10, 8, 2, PHOTOMETRIC_MINISBLACK, PLANARCONFIG_CONTIG, COMPRESSION_NONE, 0, 4, ORIENTATION_TOPLEFT, true}, "gray+alpha8"},
      {{21, 10, 8, 4, PHOTOMETRIC_SEPARATED}, "cmyk8"},
      {{21, 10, 8, 3, PHOTOMETRIC_RGB, PLANARCONFIG_CONTIG, COMPRESSION_NONE, 0, 3, ORIENTATION_BOTLEFT}, "rgb8 bottom-up"},
      {{21, 10, 8, 1, PHOTOMETRIC_MINISBLACK, PLANARCONFIG_CONTIG, COMPRESSION_NONE, 0, 3, ORIENTATION_TOPRIGHT}, "gray8 mirrored"},
  };
  for (const auto& [spec, label] : cases) check_same_as_opencv(make_tiff(tmp, spec, pixels(spec)), "tiff " + label);
}

TEST_CASE("TIFF: where OpenCV 4.6 is wrong, the reader follows the TIFF specification", "[core][codecs]") {
  test::TempDir tmp;
  // Uncompressed tiles that overhang the image: OpenCV 4.6 refuses every uncompressed tiled file
  // (libtiff 4.5.0's unmapped read path, see core/src/codecs/tiff_decode.cpp).
  const TiffSpec tiled{37, 29, 8, 3, PHOTOMETRIC_RGB, PLANARCONFIG_CONTIG, COMPRESSION_NONE, 16};
  const Bytes px = random_bytes(37 * 29 * 3, 1);
  const Image a = decode_image(make_tiff(tmp, tiled, px), "tiled.tif");
  TiffSpec strips = tiled;
  strips.tile = 0;
  const Image b = decode_image(make_tiff(tmp, strips, px), "strips.tif");
  CHECK(a.data == b.data);
  CHECK(a.data == decode_image(cv_encode(".png", [&] {
                                 cv::Mat m(29, 37, CV_8UC3, const_cast<std::uint8_t*>(px.data()));
                                 cv::Mat bgr;
                                 cv::cvtColor(m, bgr, cv::COLOR_RGB2BGR);
                                 return bgr;
                               }()), "same.png").data);
  // 4-bit palette (OpenCV 4.6: "Invalid bitsperpixel"): the same as the 8-bit palette file with
  // the same indices, whose decoding the test above compares with OpenCV's.
  Bytes idx8(21 * 10), idx4(11 * 10);
  Lcg g{3};
  for (int y = 0; y < 10; ++y)
    for (int x = 0; x < 21; ++x) {
      const auto v = static_cast<std::uint8_t>((g.next() >> 8) & 15);
      idx8[y * 21 + x] = v;
      idx4[y * 11 + x / 2] |= static_cast<std::uint8_t>(x % 2 ? v : v << 4);
    }
  CHECK(decode_image(make_tiff(tmp, {21, 10, 4, 1, PHOTOMETRIC_PALETTE}, idx4), "p4.tif").data ==
        decode_image(make_tiff(tmp, {21, 10, 8, 1, PHOTOMETRIC_PALETTE}, idx8), "p8.tif").data);
  // 16-bit min-is-white is inverted (OpenCV returns the stored values).
  const TiffSpec white{5, 4, 16, 1, PHOTOMETRIC_MINISWHITE};
  Bytes w16(5 * 4 * 2);
  for (int i = 0; i < 20; ++i) {
    const std::uint16_t v = static_cast<std::uint16_t>(i * 3000);
    std::memcpy(&w16[2 * i], &v, 2);
  }
  const Image inv = decode_image(make_tiff(tmp, white, w16), "white16.tif");
  for (int i = 0; i < 20; ++i) CHECK(inv.data[i] == static_cast<float>((65535 - i * 3000) / 65535.0));
  // 16-bit bottom-up rows are flipped (OpenCV 4.6 applies the orientation to 8-bit images only).
  TiffSpec up{5, 4, 16, 1, PHOTOMETRIC_MINISBLACK};
  up.orientation = ORIENTATION_BOTLEFT;
  const Image flipped = decode_image(make_tiff(tmp, up, w16), "up16.tif");
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 5; ++x) CHECK(flipped.data[y * 5 + x] == static_cast<float>(((3 - y) * 5 + x) * 3000 / 65535.0));
  // 3-channel float keeps the file's R, G, B order (OpenCV 4.6 returns it as if it were B, G, R).
  const TiffSpec rgbf{2, 1, 32, 3, PHOTOMETRIC_RGB, PLANARCONFIG_CONTIG, COMPRESSION_NONE, 0, 1, ORIENTATION_TOPLEFT, false, SAMPLEFORMAT_IEEEFP};
  const float fv[6] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};
  Bytes fb(sizeof fv);
  std::memcpy(fb.data(), fv, sizeof fv);
  const Image f = decode_image(make_tiff(tmp, rgbf, fb), "rgb.tif");
  CHECK(f.data == std::vector<float>{0.1f, 0.4f, 0.2f, 0.5f, 0.3f, 0.6f});  // planar: R plane, G plane, B plane
}

TEST_CASE("BMP decodes exactly as OpenCV decodes it", "[core][codecs]") {
  std::uint32_t seed = 900;
  for (int type : {CV_8UC1, CV_8UC3, CV_8UC4})
    for (auto [h, w] : {std::pair{1, 1}, {6, 5}, {19, 23}})
      check_same_as_opencv(cv_encode(".bmp", random_mat(h, w, type, seed++)), "bmp type " + std::to_string(type));
  for (int bpp : {1, 4, 8})
    for (bool gray : {false, true})
      for (int h : {7, -7}) {
        const int w = 13, n = 1 << bpp;
        Bytes pal;
        Lcg g{seed++};
        for (int i = 0; i < (bpp == 8 ? 200 : n); ++i) {  // 8-bit: a short palette, indices past it are black
          const auto v = static_cast<std::uint8_t>(g.next() >> 24);
          pal.insert(pal.end(), {v, gray ? v : static_cast<std::uint8_t>(v ^ 0x5A), gray ? v : static_cast<std::uint8_t>(v + 17), 0});
        }
        const std::size_t pitch = ((w * bpp + 7) / 8 + 3) & ~std::size_t{3};
        const Bytes rows = random_bytes(pitch * 7, seed++);
        check_same_as_opencv(make_bmp(w, h, bpp, pal, rows), "bmp " + std::to_string(bpp) + "-bit " + (gray ? "gray" : "colour") +
                                                                 " palette height " + std::to_string(h));
      }
  // 32-bit with bit fields: B, G, R, A
  Bytes masks(12);
  put_le(masks, 0, 0x00FF0000, 4), put_le(masks, 4, 0x0000FF00, 4), put_le(masks, 8, 0x000000FF, 4);
  check_same_as_opencv(make_bmp(6, 3, 32, {}, random_bytes(6 * 3 * 4, 5), 3, masks), "bmp bitfields 32");
  check_same_as_opencv(make_bmp(6, -3, 24, {}, random_bytes(20 * 3, 6)), "bmp 24 top-down");
}

TEST_CASE("real images (python3-skimage data) decode exactly as OpenCV decodes them", "[core][codecs]") {
  const fs::path dir = test::package_file("python3-skimage", "usr/lib/python3/dist-packages/skimage/data/camera.png").parent_path();
  int compared = 0;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (is_raster_image_file(e.path())) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    const Bytes bytes = read_file_bytes(f);
    if (cv::imdecode(bytes, cv::IMREAD_UNCHANGED).empty()) {
      WARN("OpenCV cannot decode " << f.filename().string());
      CHECK_THROWS_AS(decode_image(bytes, f.string()), InputError);
      continue;
    }
    check_same_as_opencv(bytes, f.string());
    ++compared;
  }
  CHECK(compared >= 30);
}

TEST_CASE("codec errors name the file and say what is wrong", "[core][codecs]") {
  // PNG whose image data is corrupt (the IEND chunk is there, so it does not look truncated)
  Bytes png = make_png({4, 4, 8, 0}, random_samples(16, 8, 1));
  png[png.size() - 12 - 6] ^= 0xFF;  // inside IDAT: bad CRC
  expect_input_error([&] { decode_image(png, "bad_crc.png"); }, {"bad_crc.png", "cannot decode PNG"});
  // JPEG: SOI, garbage, EOI
  expect_input_error([&] { decode_image({0xFF, 0xD8, 0xFF, 0x00, 0x12, 0xFF, 0xD9}, "junk.jpg"); }, {"junk.jpg", "cannot decode JPEG"});
  // TIFF: header pointing at an IFD beyond the end
  expect_input_error([&] { decode_image({'I', 'I', 42, 0, 0xF0, 0, 0, 0}, "junk.tif"); }, {"junk.tif", "cannot decode TIFF"});
  // TIFF: 12-bit samples
  {
    test::TempDir tmp;
    const Bytes t = make_tiff(tmp, {4, 2, 12, 1, PHOTOMETRIC_MINISBLACK}, Bytes(12, 7));
    expect_input_error([&] { decode_image(t, "12bit.tif"); }, {"12bit.tif", "12-bit", "not supported"});
  }
  // BMP: RLE8, 16-bit and truncated pixel data
  expect_input_error([&] { decode_image(make_bmp(4, 4, 8, Bytes(16, 0), Bytes(8, 0), 1), "rle.bmp"); }, {"rle.bmp", "compression type 1"});
  expect_input_error([&] { decode_image(make_bmp(4, 4, 16, {}, Bytes(32, 0)), "565.bmp"); }, {"565.bmp", "16-bit"});
  expect_input_error([&] { decode_image(make_bmp(4, 4, 24, {}, Bytes(40, 0)), "short.bmp"); }, {"short.bmp", "truncated pixel data"});
  // Anything else
  expect_input_error([&] { decode_image({'G', 'I', 'F', '8', '9', 'a'}, "x.png"); }, {"x.png", "cannot decode image"});
}
