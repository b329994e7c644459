// What each stage does (planning and computing its units), in the order of stage_names()
// (stage_names.cpp, the one stage list), and compute_unit (run_context.h).
#include "medsyn/core/error.h"
#include "medsyn/suites/runner.h"
#include "run_context.h"

namespace medsyn::suites {

const std::vector<Stage>& stage_table() {
  static const std::vector<Stage> t = [] {
    const std::vector<Stage> table = {
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
      {"adherence", "prompt adherence: CAS on the synthetic images and the reverse CAS on the real test split",
       "adherence", plan_adherence, compute_adherence},
      {"alignment", "prompt alignment: CLIP score of each generated image with its prompt (the user's image tower and prompt embeddings)",
       "alignment", plan_alignment, compute_alignment},
      {"compute", "engine cost per model (params, FLOPs, wall time, steps, images/s)", "compute", plan_compute,
       compute_compute},
      {"report", "results.json and report/ (always rebuilt from the units)", "", nullptr, nullptr},
    };
    // The torch-free `suite validate` and `run --only` read stage_names(); this table must follow it.
    bool same = table.size() == stage_names().size();
    for (std::size_t i = 0; same && i < table.size(); ++i) same = stage_names()[i] == table[i].name;
    if (!same) throw Error("internal: stage_table() does not follow stage_names() (suites/src/stage_names.cpp)");
    return table;
  }();
  return t;
}

ojson compute_unit(const UnitDescription& d, RunContext& c, const std::filesystem::path& work) {
  for (const auto& s : stage_table())
    if (d.stage == s.name && s.compute) return s.compute(d, c, work);
  throw InputError("unit " + d.id() + ": no stage '" + d.stage + "' computes units");
}

}  // namespace medsyn::suites
