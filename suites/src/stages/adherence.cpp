// Stage adherence: prompt adherence per (model, modality) with labels: the Classification
// Accuracy Score (real-trained classifiers on the synthetic images, against the classes their
// prompts name), the same classifiers on the real test split, and the reverse CAS
// (downstream/adherence.h). One unit per (model, modality); the real-trained classifiers of a
// modality use the same seeds for every model, so CAS differences between models are paired.
#include <algorithm>

#include "medsyn/core/error.h"
#include "medsyn/core/estimate.h"
#include "medsyn/core/json.h"
#include "medsyn/downstream/adherence.h"
#include "../run_context.h"

namespace fs = std::filesystem;

namespace medsyn::suites {

namespace {

// One direction as results.json's adherence entry holds it (reports/schema/results.schema.json).
ojson scores_entry(const downstream::AdherenceScores& s) {
  ojson classes = ojson::array();
  for (const auto& c : s.classes)
    classes.push_back({{"name", c.name}, {"label", c.label}, {"n", c.n}, {"accuracy", to_json(c.accuracy)},
                       {"auroc", to_json(c.auroc)}});
  return ojson{{"n", s.n},
               {"n_train", s.n_train},
               {"accuracy", to_json(s.accuracy)},
               {"balanced_accuracy", to_json(s.balanced_accuracy)},
               {"auroc", to_json(s.auroc)},
               {"auroc_delong", to_json(s.auroc_delong)},
               {"classes", classes},
               {"worst_class", s.worst_class >= 0 ? ojson(s.classes[static_cast<std::size_t>(s.worst_class)].name) : ojson(nullptr)}};
}

}  // namespace

ojson compute_adherence(const UnitDescription& d, RunContext& c, const fs::path& w) {
  downstream::AdherenceOptions o = to_options(adherence_spec_from_json(json::parse(d.spec.dump()), d.id() + " spec"));
  o.real_dir = c.resolve(d.locations.at("real"));
  o.synthetic_dir = c.resolve(d.locations.at("synthetic"));
  o.modality = d.inputs["modality"];
  o.seed_base = d.inputs["seed"];
  o.classifier.device = c.device;
  o.command_line = c.opt.command_line;
  o.out_dir = w;
  try {
    downstream::validate(o);
    const auto r = downstream::run_adherence(o);
    const auto& src = r.sources;
    const ojson entry = {{"label_field", o.label_field},
                         {"seeds", o.seeds},
                         {"n_synthetic", src.records},
                         {"n_used", src.used()},
                         {"labels", {{"by_prompt", src.by_prompt}, {"by_label", src.by_label}, {"excluded_no_label", src.no_label},
                                     {"excluded_split", src.split_excluded}, {"conflicts", src.conflicts}}},
                         {"cas", scores_entry(r.cas)},
                         {"real", scores_entry(r.real)},
                         {"reverse", scores_entry(r.reverse)}};
    return ojson{{"ok", true}, {"entry", entry}, {"notes", r.notes}, {"seconds", r.seconds}};
  } catch (const InputError& e) {
    return ojson{{"ok", false}, {"reason", e.what()}};
  }
}

void plan_adherence(RunContext& c) {
  const AdherenceSpec& spec = *c.suite.evaluations.adherence;
  std::vector<std::string> mods;
  if (spec.modalities) {
    mods = *spec.modalities;
  } else {
    for (const auto& m : c.suite.modalities)
      if (c.real.at(m.name).labelled) mods.push_back(m.name);
  }
  std::vector<std::pair<std::string, std::string>> todo;
  for (const auto& model : c.suite.models)
    for (const auto& mod : model.modalities)
      if (std::find(mods.begin(), mods.end(), mod) != mods.end()) todo.push_back({model.name, mod});
  const ojson unit_spec = unit_spec_json(spec, "adherence");
  Progress prog("stage adherence", static_cast<std::int64_t>(todo.size()), "sets");
  for (const auto& [model, mod] : todo) {
    const RealData& rd = c.real.at(mod);
    const auto& g = c.generated.at(mm(model, mod));
    const ojson in = {{"real", rd.real_hash}, {"synthetic", g.manifest_hash}, {"modality", mod},
                      {"seed", c.seed_for("adherence:" + mod)},  // per modality: the CAS classifiers are shared
                      {"device", c.device}};
    c.adherence[mm(model, mod)] = c.run(make_unit("adherence", model + "-" + mod, unit_spec, in,
                                                  {{"real", c.location(rd.real_dir)}, {"synthetic", c.location(g.unit.dir)}}));
    prog.advance();
  }
}

}  // namespace medsyn::suites
