// DICOM through DCMTK and our pixel/rescale handling (core/medical_io.h).
#include "fuzz_util.h"
#include "medsyn/core/error.h"
#include "medsyn/core/medical_io.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = medsyn::fuzz::write_input(data, size, "input.dcm");
  try {
    (void)medsyn::read_dicom(path);
  } catch (const medsyn::InputError&) {
  }
  return 0;
}
