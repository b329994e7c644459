// Stage features: extractor features of each modality's real role (fidelity.real_split) and of
// every synthetic set; the input of the fidelity stage.
#include "medsyn/core/manifest.h"
#include "medsyn/memorization/contrastive.h"
#include "medsyn/metrics/feature_extract.h"
#include "../run_context.h"

namespace fs = std::filesystem;

namespace medsyn::suites {

ojson compute_features(const UnitDescription& d, RunContext& c, const fs::path& w) {
  const std::string spec = d.spec["extractor"], modality = d.inputs["modality"], split = d.inputs["split"];
  FeatureExtractor& ex = c.extractor(spec);
  const Dataset ds = load_dataset(c.resolve(d.locations.at("dataset")));
  const auto recs = ds.select(modality, split);
  ExtractOptions eo;
  eo.use_cache = false;  // the unit is the cache
  eo.progress_label = "features " + d.name;
  const auto r = extract_features(ds, recs, ex, eo);
  write_features(w / "features.npy", r, feature_sidecar(r, ex, spec, c.device, ds, modality, split));
  return ojson{{"rows", r.features.rows}, {"dim", r.features.cols}, {"seconds", r.seconds}};
}

void plan_features(RunContext& c) {
  const FidelitySpec& fs_ = *c.suite.evaluations.fidelity;
  memorization::register_extractors();
  FeatureExtractor& ex = c.extractor(fs_.extractor);
  c.extractor_id = ex.id();
  c.extractor_pre = ex.input_spec().describe();
  // The extractor's identity is an input: a spec naming a file (weights) changes with the file.
  const ojson exin = {{"id", c.extractor_id}, {"preprocessing", c.extractor_pre}, {"device", c.device}};
  const ojson spec = {{"extractor", fs_.extractor}};
  auto unit = [&](const std::string& name, const fs::path& dir, const std::string& hash, const std::string& modality,
                  const std::string& split) {
    return c.run(make_unit("features", name, spec,
                           {{"extractor", exin}, {"dataset", hash}, {"modality", modality}, {"split", split}},
                           {{"dataset", c.location(dir)}}));
  };
  for_each_image_set(
      c, "stage features", /*with_real=*/true,
      [&](const std::string& m) {
        c.real_features[m] = unit("real-" + m, c.real.at(m).real_dir, c.real.at(m).real_hash, m, fs_.real_split);
      },
      [&](const std::string& model, const std::string& mod, const Generated& g) {
        c.syn_features[mm(model, mod)] = unit(model + "-" + mod, g.unit.dir, g.manifest_hash, mod, "");
      });
}

}  // namespace medsyn::suites
