#include "codecs.h"

#include "medsyn/core/error.h"

namespace medsyn::codecs {

std::string too_many_pixels(std::uint64_t w, std::uint64_t h) {
  return "declares " + std::to_string(w) + " x " + std::to_string(h) + " pixels, more than the limit of " +
         std::to_string(kMaxPixels) + " per image";
}

void Raster::allocate(std::uint64_t w, std::uint64_t h, int ch, int bits, const std::string& name) {
  if (w == 0 || h == 0) throw InputError(at_file(name, "cannot decode image: zero width or height"));
  // w and h come from 32-bit header fields, so w * h cannot overflow 64 bits.
  if (w > 0xFFFFFFFFull || h > 0xFFFFFFFFull || w * h > kMaxPixels) throw InputError(at_file(name, too_many_pixels(w, h)));
  width = static_cast<int>(w);
  height = static_cast<int>(h);
  channels = ch;
  depth = bits;
  data.assign(w * h * static_cast<std::uint64_t>(ch) * (bits / 8), 0);
}

}  // namespace medsyn::codecs
