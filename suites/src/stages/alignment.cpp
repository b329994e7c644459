// Stage alignment: how well each generated image matches its prompt, as a CLIP-style score
// (metrics/clip_score.h) from the user's own image tower (any extractor spec) and prompt
// embeddings computed by the user's text tower (a file: no tokenizer here). One unit per
// (model, modality); the tower enters the key as its id (weights hash included) and the files as
// their sha256, so a new tower or embedding file recomputes, a moved one does not. Classes follow
// the suite's one rule (suites/classes.h, as in results.json's per_class): a generated image
// belongs to the class its prompt names, else to its own label; unlabelled real data: no classes.
#include <algorithm>

#include "medsyn/core/error.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/metrics/clip_score.h"
#include "medsyn/metrics/feature_extract.h"
#include "medsyn/suites/classes.h"
#include "medsyn/suites/validate.h"
#include "../run_context.h"

namespace fs = std::filesystem;

namespace medsyn::suites {

ojson compute_alignment(const UnitDescription& d, RunContext& c, const fs::path& w) {
  // The unit's spec holds only the scoring options: the tower and the files are planning fields
  // (their content is in the inputs, their paths in the locations).
  const int bootstrap = d.spec.at("bootstrap").get<int>();
  const double ci_level = d.spec.at("ci_level").get<double>();
  const std::string mod = d.inputs["modality"];
  const fs::path emb_file = c.resolve(d.locations.at("prompt_embeddings"));
  const fs::path prompts_file = d.locations.contains("prompts") ? c.resolve(d.locations.at("prompts")) : fs::path();
  // The files must still be the ones the key was made from (a unit computed later, elsewhere).
  for (const auto& [what, file, key] : {std::tuple{"prompt_embeddings", emb_file, "prompt_embeddings_sha256"},
                                        std::tuple{"prompts", prompts_file, "prompts_sha256"}})
    if (!file.empty() && d.inputs.contains(key) && sha256_file(file) != d.inputs[key].get<std::string>())
      throw InputError(std::string("alignment.") + what + ": " + file.string() + " changed since the run was planned; plan it again");
  try {
    const metrics::PromptEmbeddings pe = metrics::read_prompt_embeddings(emb_file, prompts_file);
    const fs::path syn = c.resolve(d.locations.at("synthetic"));
    const Dataset ds = load_dataset(syn);
    const std::vector<Record> recs = ds.select(mod, "");
    if (recs.empty()) throw InputError(syn.string() + ": no generated images of modality '" + mod + "'");
    for (const auto& r : recs) {
      if (r.prompt.empty()) throw InputError(syn.string() + ": " + r.path + ": the image has no prompt (manifest field 'prompt')");
      if (!pe.index.count(r.prompt))
        throw InputError("alignment.prompt_embeddings: " + pe.file.string() + " has no embedding for the prompt '" + r.prompt +
                         "' of generated image " + (syn / r.path).string());
    }
    FeatureExtractor& ex = c.extractor(d.locations.at("image_tower").get<std::string>());
    ExtractOptions eo;
    eo.use_cache = false;  // the unit itself is the cache
    eo.progress_label = "alignment features";
    const FeatureResult fr = extract_features(ds, recs, ex, eo);
    const Dataset real = load_dataset(c.resolve(d.locations.at("real")));
    const std::vector<ClassInfo> classes = real_classes(real.select(mod, ""));
    const ClassSplit split = split_synthetic(classes, real.select(mod, "train"), recs);
    metrics::ClipScoreInput in;
    in.features = fr.features;
    for (std::size_t i = 0; i < recs.size(); ++i) {
      in.prompts.push_back(recs[i].prompt);
      in.modalities.push_back(recs[i].modality);
      in.labels.push_back(split.of[i] >= 0 ? classes[static_cast<std::size_t>(split.of[i])].name : std::string());
      in.names.push_back((syn / recs[i].path).string());
    }
    metrics::ClipScoreOptions o;
    o.bootstrap = bootstrap;
    o.ci_level = ci_level;
    o.seed = d.inputs["seed"];
    ojson entry = ojson::object();
    ojson class_groups = ojson::object();
    for (const auto& g : metrics::clip_scores(in, pe, o)) {
      if (g.modality != mod) continue;
      if (g.label.empty())
        entry = ojson::parse(metrics::clip_score_group_to_json(g).dump());
      else
        class_groups[g.label] = ojson::parse(metrics::clip_score_group_to_json(g).dump());
    }
    entry["classes"] = class_groups;
    entry["image_tower"] = {{"id", ex.id()}, {"weights_sha256", ex.weights_hash()}, {"preprocessing", ex.input_spec().describe()}};
    entry["prompt_embeddings"] = {{"file", pe.file.string()}, {"sha256", d.inputs["prompt_embeddings_sha256"]}, {"dim", pe.dim},  // checked above
                                  {"prompts", pe.prompts.size()}};
    write_json_file(w / "alignment.json", entry);
    return ojson{{"ok", true}};
  } catch (const InputError& e) {  // recorded, never a number; the run goes on
    return ojson{{"ok", false}, {"reason", e.what()}};
  }
}

void plan_alignment(RunContext& c) {
  const AlignmentSpec& spec = *c.suite.evaluations.alignment;
  const fs::path embeddings = resolve_suite_path(spec.prompt_embeddings, c.suite.dir);
  const fs::path prompts = spec.prompts.empty() ? fs::path() : resolve_suite_path(spec.prompts, c.suite.dir);  // "": the sidecar
  for (const fs::path& f : {embeddings, prompts})
    if (!f.empty() && !fs::exists(f)) throw InputError("evaluations.alignment: " + f.string() + ": not found");
  // The tower's id names its weights' hash: the key follows the model, not its path.
  FeatureExtractor& ex = c.extractor(spec.image_tower);
  ojson common = {{"image_tower", ex.id()},
                  {"image_tower_preprocessing", ex.input_spec().describe()},
                  {"prompt_embeddings_sha256", sha256_file(embeddings)},
                  {"device", c.device}};
  if (!prompts.empty()) common["prompts_sha256"] = sha256_file(prompts);
  ojson locations = {{"image_tower", spec.image_tower}, {"prompt_embeddings", c.location(embeddings)}};
  if (!prompts.empty()) locations["prompts"] = c.location(prompts);
  std::vector<std::pair<std::string, std::string>> todo;
  for (const auto& model : c.suite.models)
    for (const auto& mod : model.modalities)
      if (!spec.modalities || std::find(spec.modalities->begin(), spec.modalities->end(), mod) != spec.modalities->end())
        todo.push_back({model.name, mod});
  const ojson unit_spec = unit_spec_json(spec, "alignment");
  Progress prog("stage alignment", static_cast<std::int64_t>(todo.size()), "sets");
  for (const auto& [model, mod] : todo) {
    const auto& g = c.generated.at(mm(model, mod));
    ojson in = common;
    in["synthetic"] = g.manifest_hash;
    in["real"] = c.real.at(mod).real_hash;  // the classes come from the real records' labels
    in["modality"] = mod;
    in["seed"] = c.seed_for("alignment:" + mm(model, mod));
    ojson loc = locations;
    loc["synthetic"] = c.location(g.unit.dir);
    loc["real"] = c.location(c.real.at(mod).real_dir);
    c.alignment[mm(model, mod)] = c.run(make_unit("alignment", model + "-" + mod, unit_spec, in, loc));
    prog.advance();
  }
}

}  // namespace medsyn::suites
