// Stage fidelity: FID / KID / precision / recall / density / coverage with bootstrap CIs, from
// the features stage's matrices; and the intensity/colour comparison of the images themselves
// (metrics/intensity.h: per-channel mean and std with intervals, Wasserstein distance, histograms,
// corner/background means), written as intensity.json next to fidelity.json. Where the modality's
// records carry labels (input "per_class"), the same metrics per class (classes.h) into
// fidelity_classes.json: the rows of each class in both feature matrices, same options.
#include <algorithm>

#include "medsyn/core/error.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/metrics/feature_extract.h"
#include "medsyn/metrics/fidelity.h"
#include "medsyn/metrics/intensity.h"
#include "medsyn/metrics/stats.h"
#include "medsyn/stats/random.h"
#include "medsyn/suites/classes.h"
#include "../run_context.h"

namespace fs = std::filesystem;

namespace medsyn::suites {

namespace {

Matrix32 take_rows(const Matrix32& m, const std::vector<std::int64_t>& rows) {
  Matrix32 out;
  out.rows = static_cast<std::int64_t>(rows.size());
  out.cols = m.cols;
  out.data.reserve(static_cast<std::size_t>(out.rows * out.cols));
  for (const auto r : rows) out.data.insert(out.data.end(), m.data.begin() + r * m.cols, m.data.begin() + (r + 1) * m.cols);
  return out;
}

// fidelity_classes.json: per class of the modality, fidelity_from_features on that class's rows
// of both matrices (the real rows are the records of real_split, the synthetic rows every
// generated record, in manifest order: the features stage's row order). A class's own seed
// (derived from the unit's seed and its label) drives its bootstrap; the KID subset size is capped
// at the class's smaller set. Too few rows: the library's null estimates with their reasons.
ojson fidelity_per_class(const UnitDescription& d, RunContext& c, const Matrix32& real, const Matrix32& syn,
                         metrics::FidelityOptions o) {
  const std::string mod = d.inputs["modality"];
  const Dataset rd = load_dataset(c.resolve(d.locations.at("real_images")));
  const Dataset sd = load_dataset(c.resolve(d.locations.at("synthetic_images")));
  const auto classes = real_classes(rd.select(mod, ""));
  const auto real_recs = rd.select(mod, d.inputs["real_split"].get<std::string>());
  const auto syn_recs = sd.select(mod, "");
  if (classes.empty()) return ojson{{"ok", false}, {"reason", "the real records of " + mod + " carry no class labels"}};
  if (static_cast<std::int64_t>(real_recs.size()) != real.rows || static_cast<std::int64_t>(syn_recs.size()) != syn.rows)
    return ojson{{"ok", false}, {"reason", "feature rows do not match the manifests' records (real " + std::to_string(real.rows) +
                                               " vs " + std::to_string(real_recs.size()) + ", synthetic " +
                                               std::to_string(syn.rows) + " vs " + std::to_string(syn_recs.size()) + ")"}};
  const ClassSplit rs = split_real(classes, real_recs);
  const ClassSplit ss = split_synthetic(classes, rd.select(mod, "train"), syn_recs);
  const std::int64_t kid_cap = o.kid_subset_size;
  o.real_stats = o.synthetic_stats = nullptr;  // merged shard statistics are for all rows only
  ojson out = ojson::array();
  for (int k = 0; k < static_cast<int>(classes.size()); ++k) {
    const auto rrows = rs.rows(k), srows = ss.rows(k);
    ojson e = {{"label", classes[k].label}, {"name", classes[k].name}, {"n_real", rrows.size()}, {"n_synthetic", srows.size()}};
    o.seed = stats::derive_seed(d.inputs["seed"].get<std::uint64_t>(), static_cast<std::uint64_t>(classes[k].label));
    o.kid_subset_size = std::max<std::int64_t>(2, std::min<std::int64_t>({kid_cap, static_cast<std::int64_t>(rrows.size()),
                                                                           static_cast<std::int64_t>(srows.size())}));
    try {
      if (rrows.empty() || srows.empty())
        throw InputError(rrows.empty() ? "no real image of this class" : "no synthetic image of this class");
      const auto r = metrics::fidelity_from_features(mod + "/" + classes[k].name, take_rows(real, rrows), take_rows(syn, srows), o);
      e["fidelity"] = ojson::parse(metrics::modality_fidelity_to_json(r, o).dump());
    } catch (const InputError& err) {
      e["reason"] = err.what();
    }
    out.push_back(e);
  }
  return ojson{{"ok", true},
               {"sources", {{"by_prompt", ss.by_prompt}, {"by_label", ss.by_label}, {"no_class", ss.none}}},
               {"classes", out}};
}

}  // namespace

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
  if (d.inputs.contains("per_class")) {
    try {
      const ojson pc = fidelity_per_class(d, c, real, syn, o);
      write_json_file(w / "fidelity_classes.json", pc);
      meta["per_class"] = pc.value("ok", false);
      if (!pc.value("ok", false)) meta["per_class_reason"] = pc["reason"];
    } catch (const InputError& e) {
      meta["per_class"] = false;
      meta["per_class_reason"] = e.what();
    }
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
      ojson in = {{"real", rf.key}, {"synthetic", sf.key}, {"modality", mod},
                        {"kid_subset_size", std::max<long>(2, std::min<long>(spec.kid_subset_size, n_min))},
                        {"seed", c.seed_for("fidelity:" + mod)},  // per modality: the real floor is the same for every model
                        {"real_images", c.real.at(mod).real_hash}, {"real_split", spec.real_split},
                        {"synthetic_images", g.manifest_hash}};
      // Labelled modality: per-class metrics too (an input, so units without them are not reused).
      if (c.real.at(mod).labelled) in["per_class"] = "label";
      c.fidelity[mm(model.name, mod)] =
          c.run(make_unit("fidelity", model.name + "-" + mod, unit_spec_json(spec, "fidelity"), in,
                          {{"real", c.location(rf.dir)}, {"synthetic", c.location(sf.dir)},
                           {"real_images", c.location(c.real.at(mod).real_dir)}, {"synthetic_images", c.location(g.unit.dir)}}));
      prog.advance();
    }
}

}  // namespace medsyn::suites
