// The one stage list, stage names for the CLI, and compute_unit (run_context.h).
#include <algorithm>
#include <sstream>

#include "medsyn/core/error.h"
#include "run_context.h"

namespace medsyn::suites {

const std::vector<Stage>& stage_table() {
  static const std::vector<Stage> t = {
      {"data", "import each dataset; per modality the real splits (train, val, test) and the holdout", "", plan_data,
       compute_data},
      {"train", "train the models with source \"train\" (a killed unit resumes from its last checkpoint)", "", plan_train,
       compute_train},
      {"generate", "n_generate images per (model, modality)", "", plan_generate, compute_generate},
      {"features", "extractor features of the real split and of every synthetic set", "fidelity", plan_features,
       compute_features},
      {"fidelity", "FID, KID, precision, recall, density, coverage with bootstrap CIs", "fidelity", plan_fidelity,
       compute_fidelity},
      {"diversity", "mean pairwise MS-SSIM of each synthetic set (and of the real set)", "diversity", plan_diversity,
       compute_diversity},
      {"memorization", "nearest training images, calibrated on the holdout", "memorization", plan_memorization,
       compute_memorization},
      {"downstream", "data-limited classifiers: real vs real+syn vs syn vs 2xreal", "downstream", plan_downstream,
       compute_downstream},
      {"compute", "engine cost per model (params, FLOPs, wall time, steps, images/s)", "compute", plan_compute,
       compute_compute},
      {"report", "results.json and report/ (always rebuilt from the units)", "", nullptr, nullptr},
  };
  return t;
}

const std::vector<std::string>& stage_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& s : stage_table()) n.push_back(s.name);
    return n;
  }();
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

ojson compute_unit(const UnitDescription& d, RunContext& c, const std::filesystem::path& work) {
  for (const auto& s : stage_table())
    if (d.stage == s.name && s.compute) return s.compute(d, c, work);
  throw InputError("unit " + d.id() + ": no stage '" + d.stage + "' computes units");
}

}  // namespace medsyn::suites
