// Score/label CSV files and number lists read by `medsynbench stats` (stats/csv.h): quoting, line
// numbers, numeric and 0/1 label columns.
#include <string>

#include "medsyn/core/error.h"
#include "medsyn/stats/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto t = medsyn::stats::parse_csv(text, "fuzz.csv");
    for (const auto& c : t.columns) {
      try {
        (void)t.numeric(c);
        (void)t.binary_labels(c);
      } catch (const medsyn::InputError&) {
      }
    }
  } catch (const medsyn::InputError&) {
  }
  try {
    (void)medsyn::stats::parse_number_list(text, "fuzz.txt");
  } catch (const medsyn::InputError&) {
  }
  return 0;
}
