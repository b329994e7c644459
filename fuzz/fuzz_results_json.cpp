// results.json (reports/results.h): strict JSON parsing (duplicate keys, 1e400), JSON Schema and
// semantic validation, conversion to the report model; also the metric object reader.
#include <string>

#include "medsyn/core/error.h"
#include "medsyn/core/estimate.h"
#include "medsyn/core/json.h"
#include "medsyn/reports/results.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto j = medsyn::parse_ordered_json_strict(text, "fuzz.json");
    (void)medsyn::reports::results_from_json(j, "fuzz.json");
  } catch (const medsyn::InputError&) {
  }
  try {
    (void)medsyn::estimate_from_json(medsyn::parse_json_strict(text, "fuzz.json"), "fuzz.json");
  } catch (const medsyn::InputError&) {
  }
  return 0;
}
