// TIFF -> Raster with libtiff, first directory (page) only, read from the memory buffer through
// bounded read/seek procedures. Two paths, as in OpenCV 4.6's TiffDecoder:
//   * 16-bit unsigned and 32-bit float gray/RGB/RGBA (contiguous samples) are read as stored
//     (strips or tiles, any compression libtiff has): 16-bit stays 16-bit, float stays float.
//   * everything else that is at most 8 bits per sample (1/2/4/8-bit gray, RGB, RGBA, palette,
//     YCbCr, CMYK, separate planes, ...) goes through libtiff's RGBA interface (TIFFReadRGBA*),
//     giving 8-bit RGBA that is reduced to OpenCV's channel count: 1 for gray photometrics
//     (OpenCV's integer luma formula, exact for gray), 3 for palette and 3-sample colour, 4 for
//     4-sample colour. libtiff premultiplies unassociated alpha there, as it does for OpenCV.
// Where OpenCV 4.6 is wrong or undefined we differ on purpose (docs/data.md): 16-bit
// min-is-white is inverted, orientations are applied (transposing ones are refused), a corrupt
// strip is an error rather than silently zero pixels, 3-sample float keeps the file's RGB order.
#include <tiffio.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>

#include "codecs.h"
#include "medsyn/core/error.h"

namespace medsyn::codecs {

namespace {

struct MemFile {
  const std::uint8_t* data;
  std::uint64_t size;
  std::uint64_t pos = 0;
  char error[256] = "";  // libtiff's first error message
};

tmsize_t mem_read(thandle_t h, void* buf, tmsize_t n) {
  auto* f = static_cast<MemFile*>(h);
  if (n < 0) return -1;
  const std::uint64_t avail = f->pos < f->size ? f->size - f->pos : 0;
  const std::uint64_t k = std::min<std::uint64_t>(static_cast<std::uint64_t>(n), avail);
  if (k) std::memcpy(buf, f->data + f->pos, k);
  f->pos += k;
  return static_cast<tmsize_t>(k);
}

tmsize_t mem_write(thandle_t, void*, tmsize_t) { return -1; }  // read-only

// Positions beyond the end of the buffer are refused (libtiff then reports a read error).
toff_t mem_seek(thandle_t h, toff_t off, int whence) {
  auto* f = static_cast<MemFile*>(h);
  std::uint64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? f->pos : f->size;
  if (off > f->size || base + off > f->size) return static_cast<toff_t>(-1);
  f->pos = base + off;
  return f->pos;
}

int mem_close(thandle_t) { return 0; }
toff_t mem_size(thandle_t h) { return static_cast<MemFile*>(h)->size; }
// The buffer is offered as a memory-mapped file: libtiff then checks every strip and tile
// against its size before reading, and uncompressed tiles avoid a libtiff 4.5.0 bug in the
// unmapped path (it compares a rounded-up buffer size with the tile size, "Invalid tile byte
// count", and refuses every uncompressed tiled file; OpenCV 4.6 fails on them for that reason).
int mem_map(thandle_t h, void** base, toff_t* size) {
  auto* f = static_cast<MemFile*>(h);
  *base = const_cast<std::uint8_t*>(f->data);
  *size = f->size;
  return 1;
}
void mem_unmap(thandle_t, void*, toff_t) {}

int on_error(TIFF*, void* user, const char* module, const char* fmt, va_list ap) {
  auto* f = static_cast<MemFile*>(user);
  if (!f->error[0]) {
    char msg[200];
    std::vsnprintf(msg, sizeof msg, fmt, ap);
    std::snprintf(f->error, sizeof f->error, "%s%s%s", module ? module : "", module ? ": " : "", msg);
  }
  return 1;  // handled: nothing on stderr
}

int on_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

struct TiffCloser {
  void operator()(TIFF* t) const { TIFFClose(t); }
};

class Reader {
 public:
  Reader(TIFF* tif, MemFile& file, const std::string& name) : tif_(tif), file_(file), name_(name) {}
  Raster read();

 private:
  [[noreturn]] void fail(const std::string& what) const {
    std::string msg = "cannot decode TIFF: " + what;
    if (file_.error[0]) msg += std::string(" (") + file_.error + ")";
    throw InputError(at_file(name_, msg));
  }
  void read_rgba(Raster& out, bool gray, int channels);
  void read_raw(Raster& out, int spp);
  void apply_orientation(Raster& out) const;

  TIFF* tif_;
  MemFile& file_;
  const std::string& name_;
  std::uint32_t width_ = 0, height_ = 0;
  std::uint16_t orientation_ = ORIENTATION_TOPLEFT;
};

Raster Reader::read() {
  std::uint16_t photometric = 0, bps = 1, spp = 1, format = SAMPLEFORMAT_UINT, planar = PLANARCONFIG_CONTIG;
  if (!TIFFGetField(tif_, TIFFTAG_IMAGEWIDTH, &width_) || !TIFFGetField(tif_, TIFFTAG_IMAGELENGTH, &height_))
    fail("no image width or height");
  if (!TIFFGetField(tif_, TIFFTAG_PHOTOMETRIC, &photometric)) fail("no PhotometricInterpretation tag");
  TIFFGetFieldDefaulted(tif_, TIFFTAG_BITSPERSAMPLE, &bps);
  TIFFGetFieldDefaulted(tif_, TIFFTAG_SAMPLESPERPIXEL, &spp);
  TIFFGetFieldDefaulted(tif_, TIFFTAG_SAMPLEFORMAT, &format);
  TIFFGetFieldDefaulted(tif_, TIFFTAG_PLANARCONFIG, &planar);
  TIFFGetFieldDefaulted(tif_, TIFFTAG_ORIENTATION, &orientation_);
  if (std::uint64_t{width_} * height_ > kMaxPixels) throw InputError(at_file(name_, too_many_pixels(width_, height_)));
  if (orientation_ < ORIENTATION_TOPLEFT || orientation_ > ORIENTATION_BOTLEFT)
    fail("orientation " + std::to_string(orientation_) + " (rotated by 90 degrees) is not supported");
  const bool gray = photometric == PHOTOMETRIC_MINISBLACK || photometric == PHOTOMETRIC_MINISWHITE;
  const bool plain = photometric <= PHOTOMETRIC_RGB && (spp == 1 || spp == 3 || spp == 4) && (gray == (spp == 1));

  Raster out;
  if (bps <= 8) {
    if (format != SAMPLEFORMAT_UINT && format != SAMPLEFORMAT_VOID)
      fail("signed or floating-point " + std::to_string(bps) + "-bit samples are not supported");
    const int channels = gray ? 1 : photometric == PHOTOMETRIC_PALETTE ? 3 : spp >= 4 ? 4 : 3;
    read_rgba(out, gray, channels);
    return out;
  }
  if (!plain && bps == 16) {  // 16-bit palette, YCbCr, CMYK, gray + alpha: reduced to 8 bits, as OpenCV does
    read_rgba(out, gray, gray ? 1 : photometric == PHOTOMETRIC_PALETTE ? 3 : spp >= 4 ? 4 : 3);
    return out;
  }
  const bool u16 = bps == 16 && (format == SAMPLEFORMAT_UINT || format == SAMPLEFORMAT_VOID);
  const bool f32 = bps == 32 && format == SAMPLEFORMAT_IEEEFP;
  if (!u16 && !f32)
    fail(std::to_string(bps) + "-bit " + (format == SAMPLEFORMAT_IEEEFP ? "floating-point" : format == SAMPLEFORMAT_INT ? "signed" : "unsigned") +
         " samples are not supported (expected at most 8-bit, 16-bit unsigned or 32-bit float)");
  if (!plain) fail("photometric " + std::to_string(photometric) + " with " + std::to_string(spp) + " samples per pixel is not supported at " + std::to_string(bps) + " bits");
  if (planar != PLANARCONFIG_CONTIG && spp > 1) fail("separate colour planes are not supported at " + std::to_string(bps) + " bits");
  out.allocate(width_, height_, spp, bps, name_);
  read_raw(out, spp);
  if (u16 && photometric == PHOTOMETRIC_MINISWHITE) {
    auto* p = reinterpret_cast<std::uint16_t*>(out.data.data());
    for (std::size_t i = 0, n = out.data.size() / 2; i < n; ++i) p[i] = static_cast<std::uint16_t>(65535 - p[i]);
  }
  apply_orientation(out);
  return out;
}

// OpenCV's icvCvt_BGRA2Gray_8u_C4C1R weights (imgcodecs/src/utils.cpp): exact for R = G = B.
std::uint8_t luma(const std::uint8_t* rgba) {
  constexpr int kR = 4899, kG = 9617, kB = (1 << 14) - kR - kG;
  return static_cast<std::uint8_t>((rgba[0] * kR + rgba[1] * kG + rgba[2] * kB + (1 << 13)) >> 14);
}

void Reader::read_rgba(Raster& out, bool gray, int channels) {
  char why[1024] = "";
  if (!TIFFRGBAImageOK(tif_, why)) fail(why);
  // libtiff fills one packed RGBA word a pixel, oriented top-left (it handles strips, tiles and
  // flipped orientations alike). The words are read into out.data itself, then narrowed in place
  // to `channels` bytes a pixel (pixel i only ever moves down to i * channels <= 4 * i), so the
  // peak is 4 bytes a pixel: at most 1 GiB under kMaxPixels.
  out.allocate(width_, height_, 4, 8, name_);
  auto* words = reinterpret_cast<std::uint32_t*>(out.data.data());  // vector storage: suitably aligned
  if (!TIFFReadRGBAImageOriented(tif_, width_, height_, words, ORIENTATION_TOPLEFT, /*stop_on_error=*/1))
    fail("corrupt or unreadable image data");
  const std::size_t n = static_cast<std::size_t>(width_) * height_;
  std::uint8_t* dst = out.data.data();
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t px;
    std::memcpy(&px, out.data.data() + 4 * i, 4);
    const std::uint8_t p[4] = {static_cast<std::uint8_t>(TIFFGetR(px)), static_cast<std::uint8_t>(TIFFGetG(px)),
                               static_cast<std::uint8_t>(TIFFGetB(px)), static_cast<std::uint8_t>(TIFFGetA(px))};
    if (gray) *dst++ = luma(p);
    else
      for (int c = 0; c < channels; ++c) *dst++ = p[c];
  }
  out.channels = channels;
  out.data.resize(n * channels);
}

void Reader::read_raw(Raster& out, int spp) {
  const std::size_t px_bytes = static_cast<std::size_t>(spp) * out.sample_bytes();
  const std::size_t row_bytes = px_bytes * width_;
  std::uint8_t* img = out.data.data();
  if (TIFFIsTiled(tif_)) {
    std::uint32_t tw = 0, th = 0;
    if (!TIFFGetField(tif_, TIFFTAG_TILEWIDTH, &tw) || !TIFFGetField(tif_, TIFFTAG_TILELENGTH, &th) || tw == 0 || th == 0)
      fail("tiled image without tile size");
    // A tile larger than the image is legal; one far larger only makes us allocate for nothing.
    if (std::uint64_t{tw} * th > std::max<std::uint64_t>(4ull * width_ * height_, 1ull << 24))
      fail("tile " + std::to_string(tw) + " x " + std::to_string(th) + " is far larger than the image");
    const std::size_t tile_row = px_bytes * tw, tile_bytes = tile_row * th;
    if (static_cast<std::uint64_t>(TIFFTileSize64(tif_)) != tile_bytes) fail("inconsistent tile size");
    std::vector<std::uint8_t> tile(tile_bytes);
    for (std::uint32_t y = 0; y < height_; y += th)
      for (std::uint32_t x = 0; x < width_; x += tw) {
        if (TIFFReadEncodedTile(tif_, TIFFComputeTile(tif_, x, y, 0, 0), tile.data(), static_cast<tmsize_t>(tile_bytes)) !=
            static_cast<tmsize_t>(tile_bytes))
          fail("corrupt or truncated tile at (" + std::to_string(x) + ", " + std::to_string(y) + ")");
        const std::uint32_t rows = std::min(th, height_ - y), cols = std::min(tw, width_ - x);
        for (std::uint32_t r = 0; r < rows; ++r)
          std::memcpy(img + (y + r) * row_bytes + x * px_bytes, tile.data() + r * tile_row, cols * px_bytes);
      }
    return;
  }
  std::uint32_t rps = 0;
  TIFFGetFieldDefaulted(tif_, TIFFTAG_ROWSPERSTRIP, &rps);
  rps = std::clamp<std::uint32_t>(rps, 1, height_);
  for (std::uint32_t y = 0, strip = 0; y < height_; y += rps, ++strip) {
    const std::uint32_t rows = std::min(rps, height_ - y);
    const tmsize_t want = static_cast<tmsize_t>(rows * row_bytes);
    // Decoded straight into the image: each strip covers whole rows, contiguous in both.
    if (TIFFReadEncodedStrip(tif_, strip, img + y * row_bytes, want) != want)
      fail("corrupt or truncated strip " + std::to_string(strip));
  }
}

// TIFF orientations 1-4 are flips of the stored rows (5-8, transposed, are refused in read()).
void Reader::apply_orientation(Raster& out) const {
  const bool flip_x = orientation_ == ORIENTATION_TOPRIGHT || orientation_ == ORIENTATION_BOTRIGHT;
  const bool flip_y = orientation_ == ORIENTATION_BOTRIGHT || orientation_ == ORIENTATION_BOTLEFT;
  const std::size_t px = out.channels * out.sample_bytes(), row = px * out.width;
  std::uint8_t* d = out.data.data();
  if (flip_y)
    for (int y = 0; y < out.height / 2; ++y) std::swap_ranges(d + y * row, d + (y + 1) * row, d + (out.height - 1 - y) * row);
  if (flip_x)
    for (int y = 0; y < out.height; ++y)
      for (int x = 0; x < out.width / 2; ++x)
        std::swap_ranges(d + y * row + x * px, d + y * row + (x + 1) * px, d + y * row + (out.width - 1 - x) * px);
}

}  // namespace

Raster decode_tiff(const std::uint8_t* data, std::size_t size, const std::string& name) {
  MemFile file{data, size};
  TIFFOpenOptions* opts = TIFFOpenOptionsAlloc();
  if (!opts) throw std::bad_alloc();
  TIFFOpenOptionsSetErrorHandlerExtR(opts, on_error, &file);
  TIFFOpenOptionsSetWarningHandlerExtR(opts, on_warning, &file);
  TIFF* raw = TIFFClientOpenExt(name.c_str(), "r", &file, mem_read, mem_write, mem_seek, mem_close, mem_size, mem_map,
                                mem_unmap, opts);
  TIFFOpenOptionsFree(opts);
  if (!raw)
    throw InputError(at_file(name, std::string("cannot decode TIFF: ") + (file.error[0] ? file.error : "not a readable TIFF")));
  std::unique_ptr<TIFF, TiffCloser> tif(raw);
  return Reader(tif.get(), file, name).read();
}

}  // namespace medsyn::codecs
