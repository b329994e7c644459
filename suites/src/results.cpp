// results.json from the planned units (reports/schema/results.schema.json): suite, provenance,
// modalities, models, per-model metrics, reference values, samples, memorization, downstream,
// adherence, per_class, compute. Every metric object is a medsyn::Estimate written with to_json.
#include <map>
#include <cmath>
#include <limits>
#include <sstream>

#include "medsyn/core/estimate.h"
#include "medsyn/core/feature_space.h"
#include "medsyn/stats/intervals.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/core/provenance.h"
#include "medsyn/metrics/sample_size.h"
#include "medsyn/reports/report.h"
#include "medsyn/reports/results.h"
#include "run_context.h"

namespace fs = std::filesystem;

namespace medsyn::suites {

namespace {

// A metric object from a metric a unit stored (value, interval, level, se, replicates, failed),
// with the sample size and interval method the runner states.
// The stored estimate (fidelity.json) with n = the synthetic (or, for floors, real) image count;
// estimand, method and note come from the metrics library (metrics/calibrated.h).
ojson metric_json(const json& stored, long long n, const std::string& where) {
  Estimate e = estimate_from_json(stored, where);
  e.n = n;
  return to_json(e);
}

ojson num_or_null(const json& j, const std::string& ptr) {
  const json::json_pointer p(ptr);
  if (!j.contains(p) || !j.at(p).is_number()) return nullptr;
  return ojson(j.at(p).get<double>());
}

std::string rel(const RunContext& c, const fs::path& p) { return fs::relative(p, c.run_dir).generic_string(); }

ojson provenance(RunContext& c, const std::string& started) {
  const auto& suite = c.suite;
  ojson inputs = ojson::object();
  for (const auto& d : suite.datasets) inputs["dataset:" + d.name] = c.source_hash.count(d.name) ? c.source_hash.at(d.name) : "";
  for (const auto& [m, rd] : c.real) {
    inputs["real:" + m] = rd.real_hash;
    inputs["holdout:" + m] = rd.holdout_hash;
  }
  json extra = {{"device", c.device}, {"suite_hash", suite.hash}, {"suite_file", suite.file.string()},
                {"command_line", c.opt.command_line}, {"limit", c.opt.limit ? json(*c.opt.limit) : json(nullptr)},
                {"inputs", json::parse(inputs.dump())}, {"seeds", json::parse(ojson{{"suite", suite.seed}}.dump())}};
  for (auto it = c.seeds.begin(); it != c.seeds.end(); ++it) extra["seeds"][it.key()] = it.value().get<std::uint64_t>();
  if (!c.extractor_id.empty()) extra["extractor"] = {{"id", c.extractor_id}, {"preprocessing", c.extractor_pre}};
  if (!c.extractor_id.empty() && !c.extractor_weights.empty()) extra["extractor"]["weights_sha256"] = c.extractor_weights;
  if (!c.extractor_training.is_null()) extra["extractor"]["trained_by_suite"] = json::parse(c.extractor_training.dump());
  ojson prov = ojson::parse(provenance_json(extra).dump());
  prov["libraries"] = prov.contains("library_versions") ? prov["library_versions"] : ojson::object();
  if (c.store && !c.store->unit_threads().empty()) prov["unit_threads"] = c.store->unit_threads();
  prov["started"] = started;
  prov["finished"] = utc_now_iso8601();
  return prov;
}

ojson models_json(const RunContext& c) {
  ojson models = ojson::object();
  for (const auto& m : c.suite.models) {
    ojson mj = {{"kind", m.kind}, {"label", m.label}, {"modalities", m.modalities}, {"source", m.source}};
    if (m.source == "train") {
      mj["checkpoint"] = rel(c, c.trained.at(m.name).dir);
      mj["weights_sha256"] = c.trained.at(m.name).meta.value("weights_sha256", "");
    } else if (m.source == "native") {
      mj["checkpoint"] = m.path.string();
    } else if (m.source == "folder") {
      mj["folder"] = m.path.string();
    } else {
      mj["command"] = m.command;
    }
    models[m.name] = mj;
  }
  return models;
}

// results (per model and modality), reference (real floors) and samples.
void add_metrics(RunContext& c, ojson& r) {
  ojson results = ojson::object(), reference = ojson::object(), samples = ojson::object();
  ojson intensity = ojson::object(), samples_real = ojson::object(), alignment = ojson::object();
  const int per_grid = c.suite.report.value("samples_per_grid", 16);
  // A suite that redacts real images (memorization.redact_real) gets no real sample rows either.
  const bool redact = c.suite.evaluations.memorization && c.suite.evaluations.memorization->redact_real;
  if (redact) c.notes.push_back("samples: no real images next to the generated ones (memorization.redact_real)");
  auto ref = [&](const std::string& mod) -> ojson& {
    if (!reference.contains(mod)) reference[mod] = ojson::object();
    return reference[mod];
  };
  if (!c.fidelity.empty() && !is_inception_feature_space(c.extractor_id))
    c.notes.push_back("fidelity: Fréchet distances are in the feature space of " + c.extractor_id +
                      ", not Inception: reported as fd, fd_population and fd_real_floor (FID is reserved for "
                      "Inception features; docs/metrics.md)");
  for (const auto& m : c.suite.models) {
    results[m.name] = ojson::object();
    for (const auto& mod : m.modalities) {
      ojson mets = ojson::object();
      const std::string k = mm(m.name, mod);
      if (c.fidelity.count(k)) {
        const Unit& u = c.fidelity.at(k);
        if (u.meta.value("ok", false)) {
          const fs::path file = u.dir / "fidelity.json";
          const json f = read_json_file(file);
          const long long ns = f.value("n_synthetic", 0LL), nr = f.value("n_real", 0LL);
          std::map<std::string, std::vector<std::string>> null_metrics;  // reason -> metrics (one note each)
          // The unit's fidelity.json keeps the historical key "fid"; results.json names a Fréchet
          // distance outside an Inception space "fd" and records the space (core/feature_space.h).
          auto out_name = [&](const char* name) { return frechet_metric_name(name, c.extractor_id); };
          auto mark_space = [&](ojson& mt, const std::string& out) {
            if (out.rfind("fd", 0) == 0) mt["feature_space"] = c.extractor_id;
          };
          for (const char* name :
               {"fid", "fid_population", "kid", "cmmd", "precision", "recall", "density", "coverage", "vendi"}) {
            if (!f.contains(name)) continue;
            const std::string out = out_name(name);
            ojson mt = metric_json(f[name], ns, file.string() + ": " + name);
            mt["n_real"] = nr;
            mark_space(mt, out);
            // Feature files for compare's paired FID difference (reports/compare.h).
            if (std::string(name) == "fid_population" && c.real_features.count(mod) && c.syn_features.count(k))
              mt["features"] = {{"real", rel(c, c.real_features.at(mod).dir / "features.npy")},
                                {"synthetic", rel(c, c.syn_features.at(k).dir / "features.npy")},
                                {"real_key", c.real_features.at(mod).key}};
            if (mt["value"].is_null() && mt.contains("note")) null_metrics[mt["note"].get<std::string>()].push_back(out);
            mets[out] = mt;
          }
          for (const auto& [reason, names] : null_metrics) {
            std::string list;
            for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
            c.notes.push_back("fidelity " + m.name + "/" + mod + ": " + list + (names.size() > 1 ? " are" : " is") +
                              " null: " + reason);
          }
          for (const char* name : {"fid_real_floor", "fid_real_floor_population", "cmmd_real_floor"}) {
            const std::string out = out_name(name);
            if (!ref(mod).contains(out) && f.contains(name)) {
              ref(mod)[out] = metric_json(f[name], nr, file.string() + ": " + name);
              mark_space(ref(mod)[out], out);
            }
          }
          if (!ref(mod).contains("vendi") && f.contains("vendi_real"))  // the real set's own, as for MS-SSIM
            ref(mod)["vendi"] = metric_json(f["vendi_real"], nr, file.string() + ": vendi_real");
          for (const auto& wmsg : f.value("warnings", std::vector<std::string>{}))
            c.notes.push_back("fidelity " + m.name + "/" + mod + ": " + wmsg);
        } else {
          c.notes.push_back("fidelity of " + m.name + " on " + mod + " not computed: " + u.meta.value("reason", ""));
        }
      }
      if (c.diversity.count(k)) {
        const Unit& u = c.diversity.at(k);
        if (u.meta.value("ok", false)) {
          const json d = read_json_file(u.dir / "diversity.json");
          mets["ms_ssim"] = to_json(estimate_from_json(d["ms_ssim"], (u.dir / "diversity.json").string()));
          mets["ms_ssim"]["n_pairs"] = d.value("n_pairs", 0LL);
        } else {
          c.notes.push_back("diversity of " + m.name + " on " + mod + " not computed: " + u.meta.value("reason", ""));
        }
      }
      if (c.alignment.count(k)) {  // CLIP score of the images with their prompts (stage alignment)
        const Unit& u = c.alignment.at(k);
        if (u.meta.value("ok", false)) {
          const fs::path file = u.dir / "alignment.json";
          ojson a = reports::read_ordered_json_file(file);  // read once: the metrics and the section
          for (const char* name : {"clip_score", "clip_score_w25"}) {
            mets[name] = to_json(estimate_from_json(json::parse(a.at(name).dump()), file.string() + ": " + name));
            mets[name]["feature_space"] = a["image_tower"].value("id", "");
          }
          if (!alignment.contains(m.name)) alignment[m.name] = ojson::object();
          alignment[m.name][mod] = std::move(a);
        } else {
          c.notes.push_back("alignment of " + m.name + " on " + mod + " not computed: " + u.meta.value("reason", ""));
        }
      }
      results[m.name][mod] = mets;
      if (c.fidelity.count(k) && c.fidelity.at(k).meta.value("intensity", false)) {
        if (!intensity.contains(m.name)) intensity[m.name] = ojson::object();
        intensity[m.name][mod] = reports::read_ordered_json_file(c.fidelity.at(k).dir / "intensity.json");
      } else if (c.fidelity.count(k) && c.fidelity.at(k).meta.contains("intensity_reason")) {
        c.notes.push_back("intensity of " + m.name + " on " + mod + " not computed: " +
                          c.fidelity.at(k).meta.value("intensity_reason", ""));
      }
      if (c.generated.count(k)) {
        const Dataset ds = load_dataset(c.generated.at(k).unit.dir);
        ojson list = ojson::array(), real_list = ojson::array();
        std::vector<const Record*> shown;
        for (std::size_t i = 0; i < ds.records.size() && static_cast<int>(i) < per_grid; ++i) {
          list.push_back(rel(c, ds.image_path(ds.records[i])));
          shown.push_back(&ds.records[i]);
        }
        if (!samples.contains(m.name)) samples[m.name] = ojson::object();
        samples[m.name][mod] = list;
        // Real images of the same modality and class, one per shown sample (the report draws them
        // as a row under the generated ones): the next unused real train image with the sample's
        // label, any of the modality when the sample or the data has none.
        if (!redact && c.real.count(mod)) {
          const Dataset rd = load_dataset(c.real.at(mod).real_dir);
          const auto pool = rd.select(mod, "train");
          std::vector<bool> used(pool.size(), false);
          for (const Record* g : shown) {
            std::size_t pick = pool.size();
            for (std::size_t j = 0; j < pool.size() && pick == pool.size(); ++j)
              if (!used[j] && g->label && pool[j].label == g->label) pick = j;
            for (std::size_t j = 0; j < pool.size() && pick == pool.size(); ++j)
              if (!used[j]) pick = j;
            if (pick == pool.size()) break;
            used[pick] = true;
            real_list.push_back(rel(c, rd.image_path(pool[pick])));
          }
          if (!real_list.empty()) {
            if (!samples_real.contains(m.name)) samples_real[m.name] = ojson::object();
            samples_real[m.name][mod] = real_list;
          }
        }
      }
    }
  }
  for (const auto& [mod, u] : c.real_diversity) {
    if (!u.meta.value("ok", false)) {
      c.notes.push_back("diversity of the real " + mod + " images not computed: " + u.meta.value("reason", ""));
      continue;
    }
    const json d = read_json_file(u.dir / "diversity.json");
    ref(mod)["ms_ssim"] = to_json(estimate_from_json(d["ms_ssim"], (u.dir / "diversity.json").string()));
  }
  r["results"] = results;
  if (!alignment.empty()) r["alignment"] = alignment;
  if (!reference.empty()) r["reference"] = reference;
  if (!samples.empty()) r["samples"] = samples;
  if (!samples_real.empty()) r["samples_real"] = samples_real;
  if (!intensity.empty()) r["intensity"] = intensity;
}

ojson memorization_json(RunContext& c) {
  ojson mem = ojson::object();
  const double level = 0.95;
  for (const auto& m : c.suite.models)
    for (const auto& mod : m.modalities) {
      const std::string k = mm(m.name, mod);
      if (!c.memorization.count(k)) continue;
      const Unit& u = c.memorization.at(k);
      if (!u.meta.value("ok", false)) {
        c.notes.push_back("memorization of " + m.name + " on " + mod + " not computed: " + u.meta.value("reason", ""));
        continue;
      }
      const double n = u.meta.value("n_synthetic", 0.0), flagged = u.meta.value("flagged", 0.0);
      Estimate frac = stats::wilson_interval(flagged, n, level);
      frac.estimand = "probability that a synthetic image of this model is flagged as a memorized copy";
      ojson e = {{"fraction_memorized", to_json(frac)},
                 {"n_synthetic", u.meta["n_synthetic"]}, {"n_train", u.meta["n_train"]}, {"n_holdout", u.meta["n_holdout"]},
                 {"tau", u.meta["tau"]}, {"threshold_quantile", u.meta["threshold_quantile"]},
                 {"exact_copies", u.meta["exact_copies"]}, {"embedder", u.meta["embedder"]}};
      if (const long long authentic = u.meta.value("authentic", -1LL); authentic >= 0 && n > 0) {
        // AuthPct as a percentage with the Wilson interval of the authentic fraction (x 100).
        Estimate ap = stats::wilson_interval(static_cast<double>(authentic), n, level);
        for (double* v : {&ap.value, &ap.ci_low, &ap.ci_high}) *v *= 100.0;
        if (std::isfinite(ap.se)) ap.se *= 100.0;
        ap.estimand = "percentage of this model's synthetic images that are authentic (AuthPct, Alaa et al. 2022: "
                      "farther from their nearest training image than that image is from its own nearest)";
        e["authpct"] = to_json(ap);
      }
      if (u.meta.contains("c_t")) {  // a test statistic: a point value, null with the reason
        Estimate ct = u.meta["c_t"].is_number() ? Estimate::point(u.meta["c_t"].get<double>(), static_cast<long long>(n))
                                                : Estimate::null_because(u.meta.value("c_t_note", std::string()),
                                                                         static_cast<long long>(n));
        ct.estimand = "C_T data-copying statistic (Meehan et al. 2020): << 0 when synthetic images are closer to the "
                      "training set than held-out real images are";
        e["c_t"] = to_json(ct);
      }
      for (const char* f : {"histogram_png", "pairs_png"})
        if (!u.meta.value(f, std::string()).empty() && fs::exists(u.dir / u.meta.value(f, std::string())))
          e[f] = rel(c, u.dir / u.meta.value(f, std::string()));
      if (fs::exists(u.dir / "summary.json")) e["summary_json"] = rel(c, u.dir / "summary.json");
      if (const auto rp = c.replay.find(k); rp != c.replay.end()) {
        const Unit& ru = rp->second;
        if (!ru.meta.value("ok", false)) {
          c.notes.push_back("prompt replay of " + m.name + " on " + mod + " not computed: " + ru.meta.value("reason", ""));
        } else {
          const double ng = ru.meta.value("n_generated", 0.0), nt = ru.meta.value("n_train", 0.0);
          Estimate ff = stats::wilson_interval(ru.meta.value("flagged", 0.0), ng, level);
          ff.estimand = "probability that an image generated from a replayed training prompt is flagged as a memorized copy";
          Estimate tc = stats::wilson_interval(ru.meta.value("train_copied", 0.0), nt, level);
          tc.estimand = "fraction of training images that are the nearest neighbour of a flagged replayed image "
                        "(\"patients copied\"; the interval treats training images as the sample)";
          e["replay"] = {{"fraction_flagged", to_json(ff)}, {"fraction_train_copied", to_json(tc)},
                         {"prompts", ru.meta["prompts"]}, {"n_generated", ru.meta["n_generated"]},
                         {"train_copied", ru.meta["train_copied"]}, {"tau", ru.meta["tau"]},
                         {"details_json", rel(c, ru.dir / "replay.json")}};
        }
      }
      if (!mem.contains(m.name)) mem[m.name] = ojson::object();
      mem[m.name][mod] = e;
    }
  return mem;
}

ojson downstream_json(RunContext& c) {
  ojson down = ojson::object();
  for (const auto& m : c.suite.models)
    for (const auto& mod : m.modalities) {
      const std::string k = mm(m.name, mod);
      if (!c.downstream.count(k)) continue;
      const Unit& u = c.downstream.at(k);
      if (!u.meta.value("ok", false) || u.meta["arms"].empty()) {
        c.notes.push_back("downstream of " + m.name + " on " + mod + " not computed: " + u.meta.value("reason", "no feasible arm"));
        continue;
      }
      ojson e = {{"metric", "auroc"}, {"arms", u.meta["arms"]}, {"comparisons", u.meta["comparisons"]}};
      if (fs::exists(u.dir / "results.json")) e["results_json"] = rel(c, u.dir / "results.json");
      for (const auto& n : u.meta.value("notes", std::vector<std::string>{})) c.notes.push_back("downstream " + k + ": " + n);
      if (!down.contains(m.name)) down[m.name] = ojson::object();
      down[m.name][mod] = e;
    }
  return down;
}

// adherence: model -> modality -> the unit's entry (CAS, real reference, reverse CAS) plus the
// unit's own results file.
ojson adherence_section(RunContext& c) {
  ojson out = ojson::object();
  for (const auto& m : c.suite.models)
    for (const auto& mod : m.modalities) {
      const std::string k = mm(m.name, mod);
      if (!c.adherence.count(k)) continue;
      const Unit& u = c.adherence.at(k);
      if (!u.meta.value("ok", false)) {
        c.notes.push_back("adherence of " + m.name + " on " + mod + " not computed: " + u.meta.value("reason", ""));
        continue;
      }
      ojson e = u.meta["entry"];
      if (fs::exists(u.dir / "results.json")) e["results_json"] = rel(c, u.dir / "results.json");
      for (const auto& n : u.meta.value("notes", std::vector<std::string>{})) c.notes.push_back("adherence " + k + ": " + n);
      if (!out.contains(m.name)) out[m.name] = ojson::object();
      out[m.name][mod] = e;
    }
  return out;
}

// per_class: model -> modality -> the per-class figures of the fidelity, diversity and
// memorization units of a labelled modality (docs/metrics.md, Per-class breakdowns), with the
// worst class per metric (reports::worst_class_index: the rule the report states).
ojson per_class_json(RunContext& c) {
  ojson out = ojson::object();
  const double level = 0.95;
  for (const auto& m : c.suite.models)
    for (const auto& mod : m.modalities) {
      const std::string k = mm(m.name, mod);
      if (!c.real.count(mod) || !c.real.at(mod).labelled) continue;
      // label -> class object, in class order (every unit lists the real data's classes).
      std::map<long, ojson> rows;
      ojson sources = nullptr;
      auto row = [&](const json& x) -> ojson& {
        const long label = x["label"].get<long>();
        if (!rows.count(label))
          rows[label] = {{"name", x["name"]}, {"label", label}, {"metrics", ojson::object()}, {"reference", ojson::object()}};
        return rows[label];
      };
      if (c.fidelity.count(k) && c.fidelity.at(k).meta.value("per_class", false)) {
        const fs::path file = c.fidelity.at(k).dir / "fidelity_classes.json";
        const json f = read_json_file(file);
        sources = ojson::parse(f["sources"].dump());
        auto out_name = [&](const char* name) { return frechet_metric_name(name, c.extractor_id); };
        for (const auto& x : f["classes"]) {
          ojson& r = row(x);
          const long long ns = x["n_synthetic"].get<long long>(), nr = x["n_real"].get<long long>();
          r["n_real"] = nr;
          r["n_synthetic"] = ns;
          const std::string where = file.string() + ": class " + x["name"].get<std::string>();
          for (const char* name : {"fid", "fid_population", "kid", "cmmd", "precision", "recall", "density", "coverage", "vendi"}) {
            const std::string on = out_name(name);
            ojson mt = x.contains("fidelity") ? metric_json(x["fidelity"].value(name, json::object()), ns, where + ": " + name)
                                              : to_json(Estimate::null_because(x.value("reason", std::string("not computed")), ns));
            mt["n_real"] = nr;
            if (on.rfind("fd", 0) == 0) mt["feature_space"] = c.extractor_id;
            r["metrics"][on] = mt;
          }
          if (x.contains("fidelity") && x["fidelity"].contains("fid_real_floor")) {
            const std::string on = out_name("fid_real_floor");
            r["reference"][on] = metric_json(x["fidelity"]["fid_real_floor"], nr, where + ": fid_real_floor");
            if (on.rfind("fd", 0) == 0) r["reference"][on]["feature_space"] = c.extractor_id;
          }
        }
      } else if (c.fidelity.count(k) && c.fidelity.at(k).meta.contains("per_class_reason")) {
        c.notes.push_back("per-class fidelity of " + m.name + " on " + mod + " not computed: " +
                          c.fidelity.at(k).meta.value("per_class_reason", ""));
      }
      auto diversity_classes = [&](const Unit& u, const char* part) {
        if (!u.meta.value("ok", false)) return;
        const fs::path file = u.dir / "diversity.json";
        const json d = read_json_file(file);
        if (!d.contains("classes")) return;
        for (const auto& x : d["classes"]) {
          ojson& r = row(x);
          r[part]["ms_ssim"] = to_json(estimate_from_json(x["ms_ssim"], file.string() + ": class " + x["name"].get<std::string>()));
          if (x.contains("n_pairs")) r[part]["ms_ssim"]["n_pairs"] = x["n_pairs"];
          if (std::string(part) == "metrics" && !r.contains("n_synthetic")) r["n_synthetic"] = x["n"];
        }
      };
      if (c.diversity.count(k)) diversity_classes(c.diversity.at(k), "metrics");
      if (c.real_diversity.count(mod)) diversity_classes(c.real_diversity.at(mod), "reference");
      if (c.memorization.count(k) && c.memorization.at(k).meta.value("ok", false) &&
          c.memorization.at(k).meta.value("classes", ojson()).is_array()) {
        for (const auto& x : c.memorization.at(k).meta["classes"]) {
          ojson& r = row(json::parse(x.dump()));
          const long long n = x["n_synthetic"].get<long long>();
          Estimate frac;
          if (n < metrics::kMinImages) {  // the convention of metrics/sample_size.h: no fraction of a handful
            frac = Estimate::null_because("n too small: " + std::to_string(n) + " synthetic images of this class, needs at least " +
                                              std::to_string(metrics::kMinImages),
                                          n);
          } else {
            frac = stats::wilson_interval(x["flagged"].get<double>(), static_cast<double>(n), level);
            frac.n = n;
          }
          frac.estimand = "probability that a synthetic image of this model and class is flagged as a memorized copy "
                          "(the modality's calibrated threshold)";
          r["metrics"]["fraction_memorized"] = to_json(frac);
          r["metrics"]["fraction_memorized"]["flagged"] = x["flagged"];
          if (!r.contains("n_synthetic")) r["n_synthetic"] = n;
        }
      }
      if (rows.empty()) continue;
      ojson classes = ojson::array();
      for (auto& [label, r] : rows) {
        if (r["reference"].empty()) r.erase("reference");
        classes.push_back(r);
      }
      ojson e = {{"label_field", "label"}};
      if (!sources.is_null()) e["sources"] = sources;
      e["classes"] = classes;
      // The worst class per metric, by the reports library's rule (the one the report states).
      reports::PerClassEntry pe;
      for (const auto& x : classes) {
        reports::PerClassRow pr;
        pr.name = x["name"].get<std::string>();
        for (auto it = x["metrics"].begin(); it != x["metrics"].end(); ++it)
          pr.metrics[it.key()] = estimate_from_json(json::parse(it.value().dump()), "per_class");
        pe.classes.push_back(std::move(pr));
      }
      ojson worst = ojson::object();
      for (const auto& met : pe.metric_names()) {
        const reports::Better b = reports::default_metric_info(met).better;
        if (b == reports::Better::none) continue;
        const int w = reports::worst_class_index(pe.classes, met, b);
        worst[met] = w >= 0 ? ojson(pe.classes[static_cast<std::size_t>(w)].name) : ojson(nullptr);
      }
      e["worst_class"] = worst;
      if (!out.contains(m.name)) out[m.name] = ojson::object();
      out[m.name][mod] = e;
    }
  return out;
}

ojson compute_json(const RunContext& c) {
  ojson cm = ojson::object();
  ojson cnotes = ojson::array();
  for (const auto& m : c.suite.models) {
    ojson e = {{"params", nullptr}, {"training_flops", nullptr}, {"wall_time_s", nullptr}, {"steps", nullptr}, {"images_per_s", nullptr}};
    double imgs = 0, secs = 0;
    for (const auto& mod : m.modalities)
      if (c.generated.count(mm(m.name, mod))) {
        imgs += c.generated.at(mm(m.name, mod)).n;
        secs += c.generated.at(mm(m.name, mod)).seconds;
      }
    if (secs > 0 && m.source != "folder") e["images_per_s"] = imgs / secs;  // a folder generates nothing
    if (c.compute.count(m.name)) {
      const Unit& u = c.compute.at(m.name);
      const json cost = read_json_file(u.dir / "cost.json");
      if (cost.contains("/params/total"_json_pointer)) e["params"] = static_cast<long long>(std::llround(cost["params"]["total"].get<double>()));
      e["training_flops"] = num_or_null(cost, "/training/total_flops");
      e["sampling_flops_per_image"] = num_or_null(cost, "/sampling/flops_per_image");
      if (m.source == "train") {
        e["steps"] = c.trained.at(m.name).meta.value("steps", 0);
      } else if (cost.contains("/training/steps"_json_pointer)) {
        e["steps"] = cost["training"]["steps"];
      }
      e["wall_time_s"] = num_or_null(cost, "/measured/train_wall_s");
      if (e["wall_time_s"].is_null() && m.source == "train") e["wall_time_s"] = c.trained.at(m.name).meta.value("seconds", 0.0);
      e["device"] = c.device;
      e["cost_json"] = rel(c, u.dir / "cost.json");
    } else {
      cnotes.push_back(m.name + " (" + m.source + "): no training cost is known for this source");
    }
    cm[m.name] = e;
  }
  ojson out = {{"device", c.device}, {"models", cm}};
  if (!cnotes.empty()) out["notes"] = cnotes;
  return out;
}

// Generalist vs the sum of specialists, in words (the report renders the table and figure).
void add_compute_notes(ojson& r) {
  if (!r.contains("compute")) return;
  const auto res = reports::results_from_json(r, "results.json");
  const auto cmp = reports::compute_comparison(res);
  ojson notes = r["compute"].value("notes", ojson::array());
  for (const auto& row : cmp.rows) {
    if (row.role != "ratio") continue;
    std::ostringstream os;
    os << row.label << " (ratio):";
    const char* sep = " ";
    auto put = [&](const char* what, const std::optional<double>& v) {
      if (v) os << sep << what << " " << reports::format_value(*v, 3);
      if (v) sep = ", ";
    };
    put("params", row.params);
    put("training FLOPs", row.training_flops);
    put("wall time", row.wall_time_s);
    put("steps", row.steps);
    put("images/s", row.images_per_s);
    for (std::size_t i = 0; i < cmp.modalities.size() && i < row.quality.size(); ++i)
      if (row.quality[i]) os << "; " << cmp.quality_metric << "(" << cmp.modalities[i] << ") " << reports::format_value(*row.quality[i], 3);
    os << " (quality ratio = generalist / the modality's specialist)";
    notes.push_back(os.str());
  }
  for (const auto& n : cmp.notes) notes.push_back(n);
  if (!notes.empty()) r["compute"]["notes"] = notes;
}

}  // namespace

ojson build_results(RunContext& c, const std::string& started) {
  const auto& suite = c.suite;
  ojson r;
  r["schema_version"] = 1;
  r["suite"] = {{"name", suite.name}, {"hash", suite.hash}, {"path", suite.file.string()}};
  if (!suite.description.empty()) r["suite"]["description"] = suite.description;
  r["provenance"] = provenance(c, started);
  ojson mods = ojson::object();
  const std::string role = suite.evaluations.fidelity ? suite.evaluations.fidelity->real_split : "train";
  for (const auto& m : suite.modalities) {
    const auto& rd = c.real.at(m.name);
    mods[m.name] = {{"specialty", m.specialty}, {"label", m.label}, {"dataset", m.dataset},
                    {"n_real", rd.counts.count(role) ? rd.counts.at(role) : 0},
                    {"n_train", rd.counts.count("train") ? rd.counts.at("train") : 0}};
  }
  r["modalities"] = mods;
  r["models"] = models_json(c);
  add_metrics(c, r);
  if (!c.memorization.empty()) r["memorization"] = memorization_json(c);
  if (!c.downstream.empty()) {
    const ojson down = downstream_json(c);
    if (!down.empty()) r["downstream"] = down;
  }
  if (!c.adherence.empty()) {
    const ojson adh = adherence_section(c);
    if (!adh.empty()) r["adherence"] = adh;
  }
  {
    const ojson pc = per_class_json(c);
    if (!pc.empty()) r["per_class"] = pc;
  }
  if (suite.has_evaluation("compute")) r["compute"] = compute_json(c);
  add_compute_notes(r);
  if (!c.notes.empty()) r["notes"] = c.notes;
  return r;
}

}  // namespace medsyn::suites
