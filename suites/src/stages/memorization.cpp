// Stage memorization: nearest training images of every synthetic set, calibrated on the
// modality's holdout (memorization::run_audit).
#include <cmath>

#include "medsyn/core/error.h"
#include "medsyn/core/json.h"
#include "medsyn/memorization/audit.h"
#include "medsyn/memorization/contrastive.h"
#include "../run_context.h"

namespace fs = std::filesystem;

namespace medsyn::suites {

ojson compute_memorization(const UnitDescription& d, RunContext& c, const fs::path& w) {
  memorization::register_extractors();
  memorization::AuditOptions o = to_options(memorization_spec_from_json(json::parse(d.spec.dump()), d.id() + " spec"));
  const std::string mod = d.inputs["modality"];
  o.train = c.resolve(d.locations.at("train"));
  o.train_split = "train";
  o.holdout = c.resolve(d.locations.at("holdout"));
  o.synthetic = c.resolve(d.locations.at("synthetic"));
  o.device = c.device;
  o.cache_dir = c.run_dir / "cache";
  o.seed = d.inputs["seed"];
  o.out_dir = w;
  // execution.shard_size: the training gallery searched shard by shard, top-k merged (the same
  // neighbours as one flat search; memorization/shards.h). Absent in units planned without it.
  o.gallery_shard_size = d.inputs.value("gallery_shard_size", std::int64_t{0});
  try {
    const auto r = memorization::run_audit(o);
    for (const auto& a : r.modalities)
      if (a.modality == mod) {
        std::size_t flagged = 0;
        for (const auto& s : a.synthetic) flagged += s.flagged ? 1 : 0;
        return ojson{{"ok", true},
                     {"n_synthetic", a.n_synthetic},
                     {"n_train", a.n_train},
                     {"n_holdout", a.n_holdout},
                     {"flagged", flagged},
                     {"tau", a.calibration.tau},
                     {"threshold_quantile", a.calibration.threshold_quantile},
                     {"exact_copies", a.synthetic_exact_copies},
                     {"authentic", a.authentic},
                     {"c_t", std::isfinite(a.c_t) ? ojson(a.c_t) : ojson(nullptr)},
                     {"c_t_note", a.c_t_note},
                     {"embedder", r.embedder_spec},
                     {"histogram_png", a.histogram_png.empty() ? "" : a.histogram_png.filename().string()},
                     {"pairs_png", a.pairs_png.empty() ? "" : a.pairs_png.filename().string()}};
      }
    std::string why = "modality not audited";
    for (const auto& s : r.skipped) why += "; " + s;
    return ojson{{"ok", false}, {"reason", why}};
  } catch (const InputError& e) {
    return ojson{{"ok", false}, {"reason", e.what()}};
  }
}

void plan_memorization(RunContext& c) {
  const ojson spec = unit_spec_json(*c.suite.evaluations.memorization, "memorization");
  Progress prog("stage memorization", static_cast<std::int64_t>(c.generated.size()), "sets");
  for (const auto& model : c.suite.models)
    for (const auto& mod : model.modalities) {
      const RealData& rd = c.real.at(mod);
      const auto& g = c.generated.at(mm(model.name, mod));
      ojson in = {{"train", rd.real_hash}, {"holdout", rd.holdout_hash}, {"synthetic", g.manifest_hash}, {"modality", mod},
                  {"seed", c.seed_for("memorization:" + model.name + ":" + mod)}, {"device", c.device}};
      if (c.suite.shard_size > 0) in["gallery_shard_size"] = c.suite.shard_size;  // unsharded keys unchanged
      const ojson where = {{"train", c.location(rd.real_dir)}, {"holdout", c.location(rd.holdout_dir)},
                           {"synthetic", c.location(g.unit.dir)}};
      c.memorization[mm(model.name, mod)] = c.run(make_unit("memorization", model.name + "-" + mod, spec, in, where));
      prog.advance();
    }
}

}  // namespace medsyn::suites
