// Stage fidelity: FID / KID / precision / recall / density / coverage with bootstrap CIs, from
// the features stage's matrices.
#include "medsyn/core/error.h"
#include "medsyn/core/json.h"
#include "medsyn/metrics/feature_extract.h"
#include "medsyn/metrics/fidelity.h"
#include "../run_context.h"

namespace fs = std::filesystem;

namespace medsyn::suites {

ojson compute_fidelity(const UnitDescription& d, RunContext& c, const fs::path& w) {
  metrics::FidelityOptions o = to_options(fidelity_spec_from_json(json::parse(d.spec.dump()), d.id() + " spec"));
  o.device = c.device;
  o.kid_subset_size = d.inputs["kid_subset_size"];
  o.seed = d.inputs["seed"];
  const std::string mod = d.inputs["modality"];
  const Matrix32 real = read_feature_matrix(c.resolve(d.locations.at("real")) / "features.npy");
  const Matrix32 syn = read_feature_matrix(c.resolve(d.locations.at("synthetic")) / "features.npy");
  try {
    const auto r = metrics::fidelity_from_features(mod, real, syn, o);
    write_json_file(w / "fidelity.json", metrics::modality_fidelity_to_json(r, o));
    return ojson{{"ok", true}};
  } catch (const InputError& e) {  // too few images for a metric: recorded, never a number
    return ojson{{"ok", false}, {"reason", e.what()}};
  }
}

void plan_fidelity(RunContext& c) {
  const FidelitySpec& spec = *c.suite.evaluations.fidelity;
  Progress prog("stage fidelity", static_cast<std::int64_t>(c.syn_features.size()), "sets");
  for (const auto& model : c.suite.models)
    for (const auto& mod : model.modalities) {
      const Unit& rf = require_complete(c.real_features.at(mod), "features/real-" + mod);  // its row count is an input
      const Unit& sf = require_complete(c.syn_features.at(mm(model.name, mod)), "features/" + model.name + "-" + mod);
      const long n_min = std::min(rf.meta.value("rows", 0L), sf.meta.value("rows", 0L));
      const ojson in = {{"real", rf.key}, {"synthetic", sf.key}, {"modality", mod},
                        {"kid_subset_size", std::max<long>(2, std::min<long>(spec.kid_subset_size, n_min))},
                        {"seed", c.seed_for("fidelity:" + mod)}};  // per modality: the real floor is the same for every model
      c.fidelity[mm(model.name, mod)] =
          c.run(make_unit("fidelity", model.name + "-" + mod, unit_spec_json(spec, "fidelity"), in,
                          {{"real", c.location(rf.dir)}, {"synthetic", c.location(sf.dir)}}));
      prog.advance();
    }
}

}  // namespace medsyn::suites
