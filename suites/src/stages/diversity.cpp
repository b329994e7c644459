// Stage diversity: mean pairwise MS-SSIM of each synthetic set and (reference) of each modality's
// real training images; where the modality's records carry labels (input "per_class"), the same
// per class (classes.h) into diversity.json's "classes".
#include <algorithm>

#include "medsyn/core/error.h"
#include "medsyn/core/estimate.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/metrics/diversity.h"
#include "medsyn/stats/random.h"
#include "medsyn/suites/classes.h"
#include "../run_context.h"

namespace fs = std::filesystem;

namespace medsyn::suites {

namespace {

// The results.json metric object of a diversity result (the one place that reads its interval).
Estimate diversity_estimate(const metrics::DiversityResult& r) {
  Estimate e = r.ci;  // the library's estimate: interval, method, estimand; null below 10 images
  e.n = r.n_images;
  return e;
}

}  // namespace

ojson compute_diversity(const UnitDescription& d, RunContext& c, const fs::path& w) {
  const DiversitySpec spec = diversity_spec_from_json(json::parse(d.spec.dump()), d.id() + " spec");
  metrics::DiversityOptions o = to_options(spec);
  o.seed = d.inputs["seed"];
  o.bootstrap.seed = o.seed + 1;
  const Dataset ds = load_dataset(c.resolve(d.locations.at("dataset")));
  const auto recs = ds.select(d.inputs["modality"].get<std::string>(), d.inputs["split"].get<std::string>());
  std::vector<std::string> names;
  for (const auto& r : recs) names.push_back(ds.image_path(r).string());
  int min_side = 1 << 30;
  for (const auto& r : recs) {
    const Image img = read_image(ds.image_path(r));
    min_side = std::min({min_side, img.height, img.width});
  }
  if (spec.scales <= 0) {  // automatic: as many scales as the image size allows, up to the library's default
    o.ms_ssim.scales = metrics::MsSsimOptions{}.scales;
    while (o.ms_ssim.scales > 1 && metrics::ms_ssim_min_side(o.ms_ssim.ssim.win_size, o.ms_ssim.scales) > min_side) --o.ms_ssim.scales;
  }
  // Per class: the same options (scales from the whole set's smallest image), a class's own seed
  // (derived from the unit's and its label) for its pairs and bootstrap; fewer than 2 images: null
  // with the reason, fewer than 10: the library's null estimate (metrics/sample_size.h).
  ojson classes = nullptr;
  if (d.inputs.contains("per_class")) {
    const Dataset real = load_dataset(c.resolve(d.locations.at("classes_real")));
    const std::string mod = d.inputs["modality"];
    const auto cls = real_classes(real.select(mod, ""));
    const ClassSplit split = d.inputs["split"].get<std::string>().empty() ? split_synthetic(cls, real.select(mod, "train"), recs)
                                                                          : split_real(cls, recs);
    classes = ojson::array();
    for (int k = 0; k < static_cast<int>(cls.size()); ++k) {
      const auto rows = split.rows(k);
      ojson e = {{"label", cls[k].label}, {"name", cls[k].name}, {"n", rows.size()}};
      metrics::DiversityOptions ko = o;
      ko.seed = stats::derive_seed(o.seed, static_cast<std::uint64_t>(cls[k].label));
      ko.bootstrap.seed = ko.seed + 1;
      std::vector<std::string> kn;
      for (const auto i : rows) kn.push_back(names[static_cast<std::size_t>(i)]);
      try {
        if (rows.size() < 2) throw InputError(std::to_string(rows.size()) + " image(s) of this class (MS-SSIM needs pairs)");
        const auto r = metrics::diversity_of_images(
            static_cast<std::int64_t>(rows.size()),
            [&](std::int64_t i) { return read_image(ds.image_path(recs[static_cast<std::size_t>(rows[static_cast<std::size_t>(i)])])); },
            kn, ko);
        e["ms_ssim"] = to_json(diversity_estimate(r));
        e["n_pairs"] = r.n_pairs;
      } catch (const InputError& err) {
        e["ms_ssim"] = to_json(Estimate::null_because(err.what(), static_cast<long long>(rows.size())));
      }
      classes.push_back(e);
    }
  }
  try {
    const auto r = metrics::diversity_of_images(
        static_cast<std::int64_t>(recs.size()), [&](std::int64_t i) { return read_image(ds.image_path(recs[i])); }, names, o);
    ojson j = ojson::parse(metrics::diversity_to_json(r).dump());
    j["scales"] = o.ms_ssim.scales;
    j["win_size"] = o.ms_ssim.ssim.win_size;
    j["ms_ssim"] = to_json(diversity_estimate(r));
    if (!classes.is_null()) j["classes"] = classes;
    write_json_file(w / "diversity.json", j);
    return ojson{{"ok", true}};
  } catch (const InputError& e) {
    return ojson{{"ok", false}, {"reason", e.what()}};
  }
}

void plan_diversity(RunContext& c) {
  const DiversitySpec& spec = *c.suite.evaluations.diversity;
  const ojson unit_spec = unit_spec_json(spec, "diversity");
  auto unit = [&](const std::string& name, const fs::path& dir, const std::string& hash, const std::string& modality,
                  const std::string& split) {
    ojson in = {{"dataset", hash}, {"modality", modality}, {"split", split}, {"seed", c.seed_for("diversity:" + name)}};
    ojson where = {{"dataset", c.location(dir)}};
    // Labelled modality: per class too, classes (and prompts naming them) from the real data.
    if (const RealData& rd = c.real.at(modality); rd.labelled) {
      in["per_class"] = {{"field", "label"}, {"real", rd.real_hash}};
      where["classes_real"] = c.location(rd.real_dir);
    }
    return c.run(make_unit("diversity", name, unit_spec, in, where));
  };
  for_each_image_set(
      c, "stage diversity", /*with_real=*/spec.reference,
      [&](const std::string& m) {
        c.real_diversity[m] = unit("real-" + m, c.real.at(m).real_dir, c.real.at(m).real_hash, m, "train");
      },
      [&](const std::string& model, const std::string& mod, const Generated& g) {
        c.diversity[mm(model, mod)] = unit(model + "-" + mod, g.unit.dir, g.manifest_hash, mod, "");
      });
}

}  // namespace medsyn::suites
