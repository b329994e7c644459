// .npz (zip of .npy): zip parsing, bounded decompression, duplicate members (core/npy.h), and the
// feature-matrix and FID-statistics readers on top of it.
#include "fuzz_util.h"
#include "medsyn/core/error.h"
#include "medsyn/core/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = medsyn::fuzz::write_input(data, size, "input.npz");
  try {
    (void)medsyn::read_npz_info(path);
    (void)medsyn::read_npz(path);
  } catch (const medsyn::InputError&) {
  }
  return 0;
}
