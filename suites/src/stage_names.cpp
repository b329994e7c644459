// The one stage list (names, in order), for the CLI and suite files. No LibTorch: the torch-free
// medsynbench prints it in `run --help` and checks `--only`; stages.cpp attaches the work.
#include <algorithm>
#include <sstream>

#include "medsyn/core/error.h"
#include "medsyn/suites/runner.h"

namespace medsyn::suites {

const std::vector<std::string>& stage_names() {
  static const std::vector<std::string> names = {"data",         "train",      "generate",  "features", "fidelity",
                                                 "diversity",    "memorization", "downstream", "adherence", "alignment", "compute",
                                                 "report"};
  return names;
}

std::string stage_list(const std::string& separator) {
  std::string out;
  for (const auto& s : stage_names()) out += (out.empty() ? "" : separator) + s;
  return out;
}

std::vector<std::string> parse_stage_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    const auto& all = stage_names();
    if (std::find(all.begin(), all.end(), item) == all.end())
      throw InputError("unknown stage '" + item + "' (stages: " + stage_list(", ") + ")");
    out.push_back(item);
  }
  if (out.empty()) throw InputError("give at least one stage (stages: " + stage_list(", ") + ")");
  return out;
}

}  // namespace medsyn::suites
