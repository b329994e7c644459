// Stage fidelity: FID / KID / precision / recall / density / coverage with bootstrap CIs, from
// the features stage's matrices; and the intensity/colour comparison of the images themselves
// (metrics/intensity.h: per-channel mean and std with intervals, Wasserstein distance, histograms,
// corner/background means), written as intensity.json next to fidelity.json.
#include "medsyn/core/error.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/metrics/feature_extract.h"
#include "medsyn/metrics/fidelity.h"
#include "medsyn/metrics/intensity.h"
#include "medsyn/metrics/stats.h"
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
  // A set extracted in shards carries its statistics merged from the shards' (features.cpp): the
  // FID point estimate uses them; every other metric reads the concatenated rows.
  for (const auto& [which, stats] : {std::pair{"real", &o.real_stats}, std::pair{"synthetic", &o.synthetic_stats}})
    if (const fs::path f = c.resolve(d.locations.at(which)) / "fid_stats.npz"; fs::exists(f))
      *stats = std::make_shared<const metrics::GaussianStats>(metrics::read_stats_npz(f));
  ojson meta;
  try {
    const auto r = metrics::fidelity_from_features(mod, real, syn, o);
    write_json_file(w / "fidelity.json", metrics::modality_fidelity_to_json(r, o));
    meta = ojson{{"ok", true}};
  } catch (const InputError& e) {  // too few images for a metric: recorded, never a number
    meta = ojson{{"ok", false}, {"reason", e.what()}};
  }
  if (d.locations.contains("real_images")) {  // units planned before intensity existed have none
    try {
      // The images as stored (no extractor preprocessing): drift in brightness and colour is what
      // a reader sees first. Real: the modality's fidelity.real_split; synthetic: the whole set.
      auto load = [&](const fs::path& dir, const std::string& split) {
        const Dataset ds = load_dataset(dir);
        std::vector<Image> imgs;
        for (const auto& r : ds.select(mod, split)) imgs.push_back(read_image(ds.image_path(r)));
        return imgs;
      };
      metrics::IntensityOptions io;
      io.bootstrap.seed = o.seed + 2;
      const auto ic = metrics::compare_intensity(mod, load(c.resolve(d.locations.at("real_images")), d.inputs["real_split"].get<std::string>()),
                                                 load(c.resolve(d.locations.at("synthetic_images")), ""), io);
      write_json_file(w / "intensity.json", metrics::intensity_to_json(ic));
      meta["intensity"] = true;
    } catch (const InputError& e) {
      meta["intensity"] = false;
      meta["intensity_reason"] = e.what();
    }
  }
  return meta;
}

void plan_fidelity(RunContext& c) {
  const FidelitySpec& spec = *c.suite.evaluations.fidelity;
  Progress prog("stage fidelity", static_cast<std::int64_t>(c.syn_features.size()), "sets");
  for (const auto& model : c.suite.models)
    for (const auto& mod : model.modalities) {
      const Unit& rf = require_complete(c.real_features.at(mod), "features/real-" + mod);  // its row count is an input
      const Unit& sf = require_complete(c.syn_features.at(mm(model.name, mod)), "features/" + model.name + "-" + mod);
      const long n_min = std::min(rf.meta.value("rows", 0L), sf.meta.value("rows", 0L));
      const Generated& g = c.generated.at(mm(model.name, mod));
      const ojson in = {{"real", rf.key}, {"synthetic", sf.key}, {"modality", mod},
                        {"kid_subset_size", std::max<long>(2, std::min<long>(spec.kid_subset_size, n_min))},
                        {"seed", c.seed_for("fidelity:" + mod)},  // per modality: the real floor is the same for every model
                        {"real_images", c.real.at(mod).real_hash}, {"real_split", spec.real_split},
                        {"synthetic_images", g.manifest_hash}};
      c.fidelity[mm(model.name, mod)] =
          c.run(make_unit("fidelity", model.name + "-" + mod, unit_spec_json(spec, "fidelity"), in,
                          {{"real", c.location(rf.dir)}, {"synthetic", c.location(sf.dir)},
                           {"real_images", c.location(c.real.at(mod).real_dir)}, {"synthetic_images", c.location(g.unit.dir)}}));
      prog.advance();
    }
}

}  // namespace medsyn::suites
