// PNG / JPEG / TIFF / BMP through the image reader (libpng, libjpeg-turbo, libtiff and our BMP
// reader behind our size checks and conversion; core/src/codecs/).
// The extension follows the input's magic bytes, as a user's file name would.
#include <cstring>

#include "fuzz_util.h"
#include "medsyn/core/error.h"
#include "medsyn/core/image_io.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const char* ext = ".png";
  if (size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff) ext = ".jpg";
  if (size >= 4 && (std::memcmp(data, "II*\0", 4) == 0 || std::memcmp(data, "MM\0*", 4) == 0)) ext = ".tif";
  const auto path = medsyn::fuzz::write_input(data, size, std::string("input") + ext);
  try {
    (void)medsyn::read_image(path);
  } catch (const medsyn::InputError&) {
  }
  return 0;
}
