// manifest.jsonl lines (core/manifest.h): JSON per line, paths that must stay inside the dataset,
// NUL bytes, duplicate keys, huge numbers.
#include "fuzz_util.h"
#include "medsyn/core/error.h"
#include "medsyn/core/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto dir = medsyn::fuzz::scratch_dir() / "dataset";
  std::filesystem::create_directories(dir);
  medsyn::fuzz::write_input(data, size, "dataset/manifest.jsonl");
  try {
    const auto ds = medsyn::load_dataset(dir);
    (void)ds.modalities();
  } catch (const medsyn::InputError&) {
  }
  return 0;
}
