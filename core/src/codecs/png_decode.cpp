// PNG -> Raster with libpng, channel rules as OpenCV 4.6's PngDecoder with IMREAD_UNCHANGED:
//   gray (any bit depth, with or without tRNS)   -> 1 channel (1/2/4-bit expanded to 8, tRNS ignored)
//   gray + alpha                                  -> 4 channels (gray replicated, alpha kept)
//   RGB / palette                                 -> 3 channels, or 4 when a tRNS chunk is present
//   RGBA                                          -> 4 channels
// 16-bit stays 16-bit; no gamma or colour-space conversion; interlaced images are de-interlaced.
//
// libpng reports errors with longjmp. The function that calls setjmp (read_pixels) holds nothing
// with a destructor, and everything it fills lives in the caller's frame, so a longjmp skips no
// destructor; the caller turns a failed read into InputError and frees libpng's structs.
#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <new>

#include "codecs.h"
#include "medsyn/core/error.h"

namespace medsyn::codecs {

namespace {

struct PngSource {
  const std::uint8_t* data;
  std::size_t size;
  std::size_t pos = 0;
  png_structp png = nullptr;
  png_infop info = nullptr;
  Raster* out = nullptr;
  std::vector<png_bytep>* rows = nullptr;
  const std::string* name = nullptr;
  char message[256] = "";
};

void on_error(png_structp png, png_const_charp msg) {
  auto* src = static_cast<PngSource*>(png_get_error_ptr(png));
  std::snprintf(src->message, sizeof src->message, "%s", msg ? msg : "libpng error");
  png_longjmp(png, 1);
}

// Warnings (a bad CRC in an ancillary chunk, an unknown chunk) do not stop OpenCV either.
void on_warning(png_structp, png_const_charp) {}

// Reads only inside the buffer: running past its end is a libpng error, never an out-of-bounds read.
void on_read(png_structp png, png_bytep dst, png_size_t n) {
  auto* src = static_cast<PngSource*>(png_get_io_ptr(png));
  if (n > src->size - src->pos) png_error(png, "unexpected end of data");
  std::memcpy(dst, src->data + src->pos, n);
  src->pos += n;
}

// Returns false after a libpng error (message in src.message) or a refused size.
bool read_pixels(PngSource& src) {
  if (setjmp(png_jmpbuf(src.png))) return false;
  png_structp png = src.png;
  png_infop info = src.info;
  png_read_info(png, info);
  png_uint_32 w = 0, h = 0;
  int bit_depth = 0, color_type = 0;
  png_get_IHDR(png, info, &w, &h, &bit_depth, &color_type, nullptr, nullptr, nullptr);

  int channels = 1;
  if (color_type == PNG_COLOR_TYPE_RGB || color_type == PNG_COLOR_TYPE_PALETTE) {
    png_bytep trans = nullptr;
    int num_trans = 0;
    png_color_16p trans_values = nullptr;
    png_get_tRNS(png, info, &trans, &num_trans, &trans_values);
    channels = num_trans > 0 ? 4 : 3;
  } else if (color_type == PNG_COLOR_TYPE_GRAY_ALPHA || color_type == PNG_COLOR_TYPE_RGB_ALPHA) {
    channels = 4;
  }
  const int depth = bit_depth == 16 ? 16 : 8;
  if (std::uint64_t{w} * h > kMaxPixels) {
    std::snprintf(src.message, sizeof src.message, "%s", too_many_pixels(w, h).c_str());
    return false;
  }

  // The same transformations, in the same order, as OpenCV (minus png_set_bgr: we want RGB).
  if (depth == 16) {
    const std::uint16_t one = 1;
    std::uint8_t first = 0;
    std::memcpy(&first, &one, 1);
    if (first == 1) png_set_swap(png);  // PNG stores big endian; samples are kept in host order
  }
  if (channels < 4) png_set_strip_alpha(png);
  else png_set_tRNS_to_alpha(png);
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if ((color_type & PNG_COLOR_MASK_COLOR) == 0 && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if ((color_type & PNG_COLOR_MASK_COLOR) == 0 && channels > 1) png_set_gray_to_rgb(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);

  const std::size_t row_bytes = static_cast<std::size_t>(w) * channels * (depth / 8);
  if (png_get_rowbytes(png, info) != row_bytes || png_get_channels(png, info) != channels) {
    std::snprintf(src.message, sizeof src.message, "unexpected row layout after conversion");
    return false;
  }
  src.out->allocate(w, h, channels, depth, *src.name);
  src.rows->resize(h);
  for (png_uint_32 y = 0; y < h; ++y) (*src.rows)[y] = src.out->data.data() + y * row_bytes;
  png_read_image(png, src.rows->data());
  png_read_end(png, nullptr);  // checks the remaining chunks' CRCs, as OpenCV does
  return true;
}

}  // namespace

Raster decode_png(const std::uint8_t* data, std::size_t size, const std::string& name) {
  Raster out;
  std::vector<png_bytep> rows;
  PngSource src{data, size};
  src.out = &out;
  src.rows = &rows;
  src.name = &name;
  src.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, on_error, on_warning);
  if (!src.png) throw std::bad_alloc();
  struct Cleanup {
    PngSource& s;
    ~Cleanup() { png_destroy_read_struct(&s.png, s.info ? &s.info : nullptr, nullptr); }
  } cleanup{src};
  src.info = png_create_info_struct(src.png);
  if (!src.info) throw std::bad_alloc();
  png_set_read_fn(src.png, &src, on_read);
  if (!read_pixels(src)) throw InputError(at_file(name, std::string("cannot decode PNG: ") + src.message));
  return out;
}

}  // namespace medsyn::codecs
