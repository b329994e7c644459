// NIfTI-1 (.nii, and .nii.gz when the input starts with the gzip magic): header sizes, overflow
// checks, bounded inflation (core/medical_io.h).
#include "fuzz_util.h"
#include "medsyn/core/error.h"
#include "medsyn/core/medical_io.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const bool gz = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  const auto path = medsyn::fuzz::write_input(data, size, gz ? "input.nii.gz" : "input.nii");
  try {
    (void)medsyn::read_nifti(path);
  } catch (const medsyn::InputError&) {
  }
  return 0;
}
