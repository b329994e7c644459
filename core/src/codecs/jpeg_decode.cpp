// JPEG -> Raster with libjpeg-turbo, as OpenCV 4.6's JpegDecoder with IMREAD_UNCHANGED: library
// defaults (DCT method, fancy upsampling), 1 component -> gray, 3 (YCbCr or RGB) -> RGB,
// 4 (CMYK or YCCK, converted to CMYK by libjpeg) -> RGB with OpenCV's CMYK formula.
// Corrupt-data warnings do not stop decoding (as in OpenCV); image_io.cpp refuses a JPEG without
// its end-of-image marker beforehand, which is what libjpeg's "premature end" warning would be.
//
// libjpeg reports errors through error_exit, which must not return: it longjmps back into
// read_pixels, whose frame holds nothing with a destructor; the caller frees libjpeg's state.
#include <cstdio>  // jpeglib.h needs FILE and size_t first
#include <jpeglib.h>

#include <csetjmp>
#include <cstring>

#include "codecs.h"
#include "medsyn/core/error.h"

namespace medsyn::codecs {

namespace {

struct JpegSource {
  jpeg_decompress_struct cinfo{};
  jpeg_error_mgr err{};
  std::jmp_buf jump{};
  volatile bool rows_done = false;
  Raster* out = nullptr;
  const std::string* name = nullptr;
  char message[JMSG_LENGTH_MAX] = "";
};

void on_error_exit(j_common_ptr cinfo) {
  auto* src = static_cast<JpegSource*>(cinfo->client_data);
  (*cinfo->err->format_message)(cinfo, src->message);
  std::longjmp(src->jump, 1);
}

void on_output_message(j_common_ptr) {}  // no warnings on stderr

// OpenCV's icvCvt_CMYK2BGR_8u_C4C3R (imgcodecs/src/utils.cpp), written to RGB order.
void cmyk_to_rgb(const std::uint8_t* cmyk, std::uint8_t* rgb, JDIMENSION width) {
  for (JDIMENSION i = 0; i < width; ++i, cmyk += 4, rgb += 3) {
    const int k = cmyk[3];
    for (int c = 0; c < 3; ++c) rgb[c] = static_cast<std::uint8_t>(k - (((255 - cmyk[c]) * k) >> 8));
  }
}

// Errors after the last row (in jpeg_finish_decompress, e.g. garbage after the final scan) are
// ignored, as OpenCV ignores them: every pixel has been decoded by then.
bool read_pixels(JpegSource& src, const std::uint8_t* data, std::size_t size) {
  if (setjmp(src.jump)) return src.rows_done;
  j_decompress_ptr cinfo = &src.cinfo;
  jpeg_create_decompress(cinfo);
  jpeg_mem_src(cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(cinfo, TRUE);
  const bool cmyk = cinfo->num_components == 4;
  const int channels = cinfo->num_components > 1 ? 3 : 1;
  cinfo->out_color_space = cmyk ? JCS_CMYK : channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
  jpeg_calc_output_dimensions(cinfo);
  if (std::uint64_t{cinfo->output_width} * cinfo->output_height > kMaxPixels) {
    std::snprintf(src.message, sizeof src.message, "%s",
                  too_many_pixels(cinfo->output_width, cinfo->output_height).c_str());
    return false;
  }
  jpeg_start_decompress(cinfo);
  if (cinfo->output_components != (cmyk ? 4 : channels)) {
    std::snprintf(src.message, sizeof src.message, "unexpected component count %d", cinfo->output_components);
    return false;
  }
  src.out->allocate(cinfo->output_width, cinfo->output_height, channels, 8, *src.name);
  const std::size_t row_bytes = static_cast<std::size_t>(cinfo->output_width) * channels;
  // The CMYK row buffer belongs to libjpeg's memory pool, freed by jpeg_destroy_decompress.
  JSAMPARRAY cmyk_row =
      cmyk ? (*cinfo->mem->alloc_sarray)(reinterpret_cast<j_common_ptr>(cinfo), JPOOL_IMAGE, cinfo->output_width * 4, 1)
           : nullptr;
  while (cinfo->output_scanline < cinfo->output_height) {
    std::uint8_t* dst = src.out->data.data() + cinfo->output_scanline * row_bytes;
    JSAMPROW row = cmyk ? cmyk_row[0] : dst;
    if (jpeg_read_scanlines(cinfo, &row, 1) != 1) {  // only a suspending source returns 0; ours does not
      std::snprintf(src.message, sizeof src.message, "decoder stopped before the last row");
      return false;
    }
    if (cmyk) cmyk_to_rgb(cmyk_row[0], dst, cinfo->output_width);
  }
  src.rows_done = true;
  jpeg_finish_decompress(cinfo);
  return true;
}

}  // namespace

Raster decode_jpeg(const std::uint8_t* data, std::size_t size, const std::string& name) {
  Raster out;
  JpegSource src;
  src.out = &out;
  src.name = &name;
  src.cinfo.err = jpeg_std_error(&src.err);
  src.err.error_exit = on_error_exit;
  src.err.output_message = on_output_message;
  src.cinfo.client_data = &src;
  struct Cleanup {
    JpegSource& s;
    ~Cleanup() { jpeg_destroy_decompress(&s.cinfo); }  // safe on a struct never created (mem == NULL)
  } cleanup{src};
  if (!read_pixels(src, data, size)) throw InputError(at_file(name, std::string("cannot decode JPEG: ") + src.message));
  return out;
}

}  // namespace medsyn::codecs
