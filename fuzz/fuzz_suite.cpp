// Suite files (suites/): strict JSON (duplicate keys, 1e400), schema + reference + file checks,
// the sample-size warnings, and load_suite's typed specs, as `suite validate` and `run` read them.
#include <string>

#include "fuzz_util.h"
#include "medsyn/core/error.h"
#include "medsyn/core/json.h"
#include "medsyn/suites/suite.h"
#include "medsyn/suites/validate.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto j = medsyn::parse_ordered_json_strict(text, "suite.json");
    (void)medsyn::suites::validate_suite(j, medsyn::fuzz::scratch_dir());
    (void)medsyn::suites::sample_size_warnings(j);
  } catch (const medsyn::InputError&) {
  }
  try {
    (void)medsyn::suites::load_suite(medsyn::fuzz::write_input(data, size, "suite.json"));
  } catch (const medsyn::InputError&) {
  }
  return 0;
}
