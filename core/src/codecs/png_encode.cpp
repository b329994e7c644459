// Raster -> PNG with libpng, using the settings OpenCV 4.6's PngEncoder applies by default
// (filter SUB, zlib level 1 = Z_BEST_SPEED, strategy Z_RLE, no extra chunks), so the bytes are
// identical to cv::imencode(".png") of the same pixels with the same libpng and zlib
// (tests/core/test_codecs.cpp checks this). Error handling as in png_decode.cpp: the setjmp frame
// (write_png) owns nothing with a destructor.
#include <png.h>
#include <zlib.h>

#include <csetjmp>
#include <cstdio>
#include <new>

#include "codecs.h"
#include "medsyn/core/error.h"

namespace medsyn::codecs {

namespace {

struct PngSink {
  const Raster* in = nullptr;
  std::vector<std::uint8_t>* out = nullptr;
  std::vector<png_bytep>* rows = nullptr;  // sized by the caller
  png_structp png = nullptr;
  png_infop info = nullptr;
  char message[256] = "";
};

void on_error(png_structp png, png_const_charp msg) {
  auto* sink = static_cast<PngSink*>(png_get_error_ptr(png));
  std::snprintf(sink->message, sizeof sink->message, "%s", msg ? msg : "libpng error");
  png_longjmp(png, 1);
}

void on_warning(png_structp, png_const_charp) {}

// An allocation failure becomes a libpng error: no C++ exception may unwind through libpng.
void on_write(png_structp png, png_bytep data, png_size_t n) {
  auto* sink = static_cast<PngSink*>(png_get_io_ptr(png));
  try {
    sink->out->insert(sink->out->end(), data, data + n);
  } catch (const std::bad_alloc&) {
    png_error(png, "out of memory");
  }
}

void on_flush(png_structp) {}

bool write_png(PngSink& sink) {
  if (setjmp(png_jmpbuf(sink.png))) return false;
  const Raster& r = *sink.in;
  png_structp png = sink.png;
  png_set_write_fn(png, &sink, on_write, on_flush);
  png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB);
  png_set_compression_level(png, Z_BEST_SPEED);
  png_set_compression_strategy(png, Z_RLE);
  const int color_type = r.channels == 1 ? PNG_COLOR_TYPE_GRAY : r.channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_RGBA;
  png_set_IHDR(png, sink.info, static_cast<png_uint_32>(r.width), static_cast<png_uint_32>(r.height), r.depth,
               color_type, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, sink.info);
  if (r.depth == 16) {
    const std::uint16_t one = 1;
    if (*reinterpret_cast<const std::uint8_t*>(&one) == 1) png_set_swap(png);  // host order -> big endian
  }
  png_write_image(png, sink.rows->data());
  png_write_end(png, sink.info);
  return true;
}

}  // namespace

std::vector<std::uint8_t> encode_png(const Raster& r) {
  if ((r.depth != 8 && r.depth != 16) || (r.channels != 1 && r.channels != 3 && r.channels != 4) || r.width <= 0 ||
      r.height <= 0)
    throw Error("encode_png: unsupported raster layout");
  std::vector<std::uint8_t> out;
  // libpng takes non-const row pointers but only reads the rows when writing.
  std::vector<png_bytep> rows(static_cast<std::size_t>(r.height));
  const std::size_t row_bytes = static_cast<std::size_t>(r.width) * r.channels * r.sample_bytes();
  for (int y = 0; y < r.height; ++y) rows[y] = const_cast<png_bytep>(r.data.data() + y * row_bytes);
  PngSink sink;
  sink.in = &r;
  sink.out = &out;
  sink.rows = &rows;
  sink.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &sink, on_error, on_warning);
  if (!sink.png) throw std::bad_alloc();
  struct Cleanup {
    PngSink& s;
    ~Cleanup() { png_destroy_write_struct(&s.png, s.info ? &s.info : nullptr); }
  } cleanup{sink};
  sink.info = png_create_info_struct(sink.png);
  if (!sink.info) throw std::bad_alloc();
  if (!write_png(sink)) throw Error(std::string("encode_png: libpng failed: ") + sink.message);
  return out;
}

}  // namespace medsyn::codecs
