// Stage memorization: nearest training images of every synthetic set, calibrated on the
// modality's holdout (memorization::run_audit). Where the modality's records carry labels (input
// "per_class"), the summary also counts synthetic and flagged images per class (classes.h); the
// threshold stays the modality's calibrated tau.
#include <cmath>
#include <cstdio>
#include <map>

#include "medsyn/core/error.h"
#include "medsyn/core/json.h"
#include "medsyn/memorization/audit.h"
#include "medsyn/core/manifest.h"
#include "medsyn/engine/engine.h"
#include "medsyn/memorization/contrastive.h"
#include "medsyn/memorization/replay.h"
#include "medsyn/metrics/feature_extract.h"
#include "medsyn/suites/classes.h"
#include "../run_context.h"

namespace fs = std::filesystem;

namespace medsyn::suites {

namespace {

// The replay audit of one (model, modality): the embedder's vectors of the modality's training and
// holdout images and of the replayed images; each replayed image belongs to the record whose part
// ("parts/pNNN/...") produced it. Writes replay.json (every query) and returns the counts.
ojson compute_replay(const UnitDescription& d, RunContext& c, const fs::path& w) {
  memorization::register_extractors();
  const std::string mod = d.inputs["modality"], spec = d.spec["embedder"];
  FeatureExtractor& ex = c.extractor(spec);
  ExtractOptions eo;
  eo.cache_dir = c.run_dir / "cache";  // the audit embeds the same training images: shared cache
  auto embed = [&](const Dataset& ds, const std::vector<Record>& recs, const std::string& what) {
    eo.progress_label = "replay " + what + " " + d.name;
    return extract_features(ds, recs, ex, eo).features;
  };
  const Dataset real = load_dataset(c.resolve(d.locations.at("train")));
  const Dataset hold = load_dataset(c.resolve(d.locations.at("holdout")));
  const Dataset gen = load_dataset(c.resolve(d.locations.at("generated")));
  const auto train = real.select(mod, "train");
  const auto holdout = hold.select(mod, "");
  if (train.empty() || holdout.empty())
    return ojson{{"ok", false}, {"reason", "no training or holdout images of " + mod}};
  std::vector<std::string> train_prompts;
  std::map<std::string, std::int64_t> row_of;
  for (std::size_t i = 0; i < train.size(); ++i) {
    train_prompts.push_back(engine::normalise_prompt(train[i].prompt.empty() ? mod : train[i].prompt));
    row_of[train[i].path] = static_cast<std::int64_t>(i);
  }
  const ojson& prompts = d.inputs["prompts"];
  const ojson& sources = d.inputs["replay_sources"];
  std::vector<memorization::ReplayQuery> queries;
  for (std::size_t q = 0; q < prompts.size(); ++q) {
    const auto it = row_of.find(sources[q].get<std::string>());
    queries.push_back({engine::normalise_prompt(prompts[q][0].get<std::string>()), it == row_of.end() ? -1 : it->second});
  }
  std::vector<Record> generated;
  std::vector<std::size_t> which;
  for (const auto& r : gen.records) {
    std::size_t q = 0;
    if (r.path.rfind("parts/p", 0) != 0 || std::sscanf(r.path.c_str() + 7, "%zu", &q) != 1 || q >= queries.size())
      throw Error(gen.root.string() + ": record " + r.path + " is not in a replay part");
    generated.push_back(r);
    which.push_back(q);
  }
  if (generated.empty()) return ojson{{"ok", false}, {"reason", "the generator returned no image for the replayed prompts"}};
  const auto a = memorization::replay_audit(embed(real, train, "train"), train_prompts, embed(hold, holdout, "holdout"),
                                            embed(gen, generated, "generated"), which, queries,
                                            d.spec["threshold_quantile"].get<double>());
  auto num = [](double v) { return std::isfinite(v) ? ojson(v) : ojson(nullptr); };
  ojson items = ojson::array();
  for (std::size_t q = 0; q < a.items.size(); ++q) {
    const auto& it = a.items[q];
    items.push_back({{"prompt", prompts[q][0]}, {"source", sources[q]}, {"images", it.n_images},
                     {"train_same_prompt", it.n_same_prompt_train}, {"max_similarity_same_prompt", num(it.max_similarity_same_prompt)},
                     {"max_similarity_gallery", num(it.max_similarity_gallery)}, {"max_similarity_source", num(it.max_similarity_source)},
                     {"flagged", it.flagged}});
  }
  ojson copied = ojson::array();
  for (const auto r : a.copied_train_rows) copied.push_back(train[static_cast<std::size_t>(r)].path);
  write_json_file(w / "replay.json", ojson{{"modality", mod}, {"embedder", ex.id()}, {"tau", a.calibration.tau},
                                            {"threshold_quantile", a.calibration.threshold_quantile}, {"items", items},
                                            {"copied_train_images", copied}});
  return ojson{{"ok", true}, {"n_generated", a.n_generated}, {"flagged", a.n_flagged}, {"n_train", a.n_train},
               {"train_copied", a.n_train_copied}, {"tau", a.calibration.tau}, {"prompts", a.items.size()}};
}

}  // namespace

ojson compute_memorization(const UnitDescription& d, RunContext& c, const fs::path& w) {
  if (d.inputs.contains("replay_sources")) {
    try {
      return compute_replay(d, c, w);
    } catch (const InputError& e) {
      return ojson{{"ok", false}, {"reason", e.what()}};
    }
  }
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
        ojson classes = nullptr;
        if (d.inputs.contains("per_class")) {
          // The audited images are the synthetic records of the modality: class by record path.
          const Dataset real = load_dataset(o.train), syn = load_dataset(o.synthetic);
          const auto cls = real_classes(real.select(mod, ""));
          const auto recs = syn.select(mod, "");
          const ClassSplit split = split_synthetic(cls, real.select(mod, "train"), recs);
          std::map<std::string, int> class_of;
          for (std::size_t i = 0; i < recs.size(); ++i) class_of[recs[i].path] = split.of[i];
          std::vector<long> n(cls.size(), 0), f(cls.size(), 0);
          for (const auto& s : a.synthetic)
            if (const auto it = class_of.find(s.path); it != class_of.end() && it->second >= 0) {
              ++n[static_cast<std::size_t>(it->second)];
              f[static_cast<std::size_t>(it->second)] += s.flagged ? 1 : 0;
            }
          classes = ojson::array();
          for (std::size_t k = 0; k < cls.size(); ++k)
            classes.push_back({{"label", cls[k].label}, {"name", cls[k].name}, {"n_synthetic", n[k]}, {"flagged", f[k]}});
        }
        return ojson{{"ok", true},
                     {"classes", classes},
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
      if (rd.labelled) in["per_class"] = "label";  // counts per class: units without them are not reused
      const ojson where = {{"train", c.location(rd.real_dir)}, {"holdout", c.location(rd.holdout_dir)},
                           {"synthetic", c.location(g.unit.dir)}};
      c.memorization[mm(model.name, mod)] = c.run(make_unit("memorization", model.name + "-" + mod, spec, in, where));
      prog.advance();
    }
  // Prompt replay: one unit per replayed (model, modality) set (memorization.replay).
  const MemorizationSpec& ms = *c.suite.evaluations.memorization;
  if (!ms.replay) return;
  const ojson rspec = {{"embedder", ms.embedder}, {"threshold_quantile", ms.threshold_quantile},
                       {"prompts", ms.replay->prompts}, {"images_per_prompt", ms.replay->images_per_prompt}};
  for (const auto& [key, g] : c.replay_generated) {
    const Unit& gu = require_complete(g.unit, "generate/" + g.unit.dir.filename().string());
    const ojson& gin = c.replay_inputs.at(key);
    const std::string mod = gin["modality"];
    const RealData& rd = c.real.at(mod);
    const ojson in = {{"train", rd.real_hash}, {"holdout", rd.holdout_hash}, {"generated", g.manifest_hash}, {"modality", mod},
                      {"prompts", gin["prompts"]}, {"replay_sources", gin["replay_sources"]}};
    const ojson where = {{"train", c.location(rd.real_dir)}, {"holdout", c.location(rd.holdout_dir)}, {"generated", c.location(gu.dir)}};
    c.replay[key] = c.run(make_unit("memorization", "replay-" + gin["model_name"].get<std::string>() + "-" + mod, rspec, in, where));
  }
}

}  // namespace medsyn::suites
