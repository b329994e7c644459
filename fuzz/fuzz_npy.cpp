// .npy bytes: header parsing, shape overflow, dtype and order handling (core/npy.h).
#include <cstdint>
#include <vector>

#include "medsyn/core/error.h"
#include "medsyn/core/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto a = medsyn::parse_npy(std::vector<std::uint8_t>(data, data + size), "fuzz.npy");
    (void)a.as_f64();
  } catch (const medsyn::InputError&) {
  }
  return 0;
}
