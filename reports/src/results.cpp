#include "medsyn/reports/results.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "medsyn/core/error.h"
#include "medsyn/core/feature_space.h"
#include "medsyn/core/fs.h"

namespace medsyn::reports {

using ojson = nlohmann::ordered_json;

const char* to_string(Better b) {
  switch (b) {
    case Better::lower: return "lower";
    case Better::higher: return "higher";
    default: return "none";
  }
}

MetricInfo default_metric_info(const std::string& name) {
  static const std::map<std::string, MetricInfo> table = {
      {"fid", {"FID", Better::lower, 2}},
      {"fid_population", {"FID (population)", Better::lower, 2}},
      {"fid_real_floor", {"FID floor (real)", Better::lower, 2}},
      {"fid_real_floor_population", {"FID floor (real, population)", Better::lower, 2}},
      // The same Fréchet distance outside an Inception space (core/feature_space.h).
      {"fd", {"FD", Better::lower, 2}},
      {"fd_population", {"FD (population)", Better::lower, 2}},
      {"fd_real_floor", {"FD floor (real)", Better::lower, 2}},
      {"fd_real_floor_population", {"FD floor (real, population)", Better::lower, 2}},
      {"kid", {"KID", Better::lower, 4}},
      {"precision", {"Precision", Better::higher, 3}},
      {"recall", {"Recall", Better::higher, 3}},
      {"density", {"Density", Better::higher, 3}},
      {"coverage", {"Coverage", Better::higher, 3}},
      {"ms_ssim", {"MS-SSIM", Better::lower, 3, /*best_near_reference=*/true}},
      {"vendi", {"Vendi", Better::higher, 2, /*best_near_reference=*/true}},
      {"cmmd", {"CMMD", Better::lower, 3}},
      // prompt alignment from the user's CLIP-style model (metrics/clip_score.h)
      {"clip_score", {"CLIP score", Better::higher, 2}},
      {"clip_score_w25", {"CLIP-S (w=2.5)", Better::higher, 4}},
      {"cmmd_real_floor", {"CMMD floor (real)", Better::lower, 3}},
      {"fraction_memorized", {"Fraction memorized", Better::lower, 4}},
      {"authpct", {"AuthPct (%)", Better::higher, 1}},
      {"c_t", {"C_T", Better::higher, 2}},
      {"fraction_flagged", {"Replay: fraction flagged", Better::lower, 4}},
      {"fraction_train_copied", {"Replay: training images copied", Better::lower, 4}},
      {"auroc", {"AUROC", Better::higher, 3}},
      {"accuracy", {"Accuracy", Better::higher, 3}},
      {"balanced_accuracy", {"Balanced accuracy", Better::higher, 3}},
      {"f1", {"F1", Better::higher, 3}},
      // prompt adherence ("adherence.<name>" in compare and gates)
      {"cas_accuracy", {"CAS accuracy", Better::higher, 3}},
      {"cas_balanced_accuracy", {"CAS balanced accuracy", Better::higher, 3}},
      {"cas_auroc", {"CAS AUROC", Better::higher, 3}},
      {"cas_auroc_delong", {"CAS AUROC (ensemble)", Better::higher, 3}},
      {"cas_worst_class_accuracy", {"CAS worst-class accuracy", Better::higher, 3}},
      {"real_accuracy", {"Real-test accuracy", Better::higher, 3}},
      {"real_auroc", {"Real-test AUROC", Better::higher, 3}},
      {"reverse_accuracy", {"Reverse CAS accuracy", Better::higher, 3}},
      {"reverse_balanced_accuracy", {"Reverse CAS balanced accuracy", Better::higher, 3}},
      {"reverse_auroc", {"Reverse CAS AUROC", Better::higher, 3}},
      {"reverse_auroc_delong", {"Reverse CAS AUROC (ensemble)", Better::higher, 3}},
  };
  if (auto it = table.find(name); it != table.end()) return it->second;
  return {name, Better::none, 3};
}

const AdherenceClass* AdherenceScoresEntry::worst() const {
  for (const auto& c : classes)
    if (!worst_class.empty() && c.name == worst_class) return &c;
  return nullptr;
}

std::vector<std::pair<std::string, Estimate>> AdherenceEntry::metrics() const {
  std::vector<std::pair<std::string, Estimate>> out;
  auto put = [&](const std::string& name, const Estimate& e) {
    if (e.has_value() || !e.note.empty()) out.emplace_back(name, e);
  };
  put("cas_accuracy", cas.accuracy);
  put("cas_balanced_accuracy", cas.balanced_accuracy);
  put("cas_auroc", cas.auroc);
  put("cas_auroc_delong", cas.auroc_delong);
  if (const auto* w = cas.worst()) put("cas_worst_class_accuracy", w->accuracy);
  put("real_accuracy", real.accuracy);
  put("real_auroc", real.auroc);
  put("reverse_accuracy", reverse.accuracy);
  put("reverse_balanced_accuracy", reverse.balanced_accuracy);
  put("reverse_auroc", reverse.auroc);
  put("reverse_auroc_delong", reverse.auroc_delong);
  return out;
}

bool ModelInfo::covers(const std::string& modality) const {
  return std::find(modalities.begin(), modalities.end(), modality) != modalities.end();
}

const ModelInfo* Results::model(const std::string& name) const {
  for (const auto& m : models)
    if (m.name == name) return &m;
  return nullptr;
}

const ModalityInfo* Results::modality(const std::string& name) const {
  for (const auto& m : modalities)
    if (m.name == name) return &m;
  return nullptr;
}

const Estimate* Results::find(const std::string& model, const std::string& modality, const std::string& metric) const {
  auto a = results.find(model);
  if (a == results.end()) return nullptr;
  auto b = a->second.find(modality);
  if (b == a->second.end()) return nullptr;
  auto c = b->second.find(metric);
  return c == b->second.end() ? nullptr : &c->second;
}

MetricInfo Results::metric_info(const std::string& name) const {
  if (auto it = metric_overrides.find(name); it != metric_overrides.end()) return it->second;
  return default_metric_info(name);
}

std::vector<std::string> Results::metric_names() const {
  static const std::vector<std::string> canonical = {"fid", "fd", "fid_population", "fd_population", "kid", "cmmd",
                                                     "precision", "recall", "density", "coverage", "ms_ssim", "vendi",
                                                     "clip_score", "clip_score_w25", "fid_real_floor", "fd_real_floor", "fid_real_floor_population",
                                                     "fd_real_floor_population", "cmmd_real_floor"};
  std::set<std::string> present;
  for (const auto& [model, mods] : results)
    for (const auto& [mod, metrics] : mods)
      for (const auto& [name, m] : metrics) present.insert(name);
  std::vector<std::string> out;
  for (const auto& c : canonical)
    if (present.erase(c)) out.push_back(c);
  out.insert(out.end(), present.begin(), present.end());
  return out;
}

std::vector<const ModelInfo*> Results::generalists() const {
  std::vector<const ModelInfo*> out;
  for (const auto& m : models)
    if (m.is_generalist()) out.push_back(&m);
  return out;
}

std::vector<const ModelInfo*> Results::specialists() const {
  std::vector<const ModelInfo*> out;
  for (const auto& m : models)
    if (!m.is_generalist()) out.push_back(&m);
  return out;
}

int worst_class_index(const std::vector<PerClassRow>& classes, const std::string& metric, Better better) {
  if (better == Better::none) return -1;
  int worst = -1;
  for (std::size_t k = 0; k < classes.size(); ++k) {
    const auto it = classes[k].metrics.find(metric);
    if (it == classes[k].metrics.end() || !it->second.has_value()) continue;
    const double v = it->second.value;
    if (worst < 0) {
      worst = static_cast<int>(k);
      continue;
    }
    const double w = classes[static_cast<std::size_t>(worst)].metrics.at(metric).value;
    if (better == Better::lower ? v > w : v < w) worst = static_cast<int>(k);  // strict: ties keep the first
  }
  return worst;
}

std::vector<std::string> PerClassEntry::metric_names() const {
  static const std::vector<std::string> canonical = {"fid", "fd", "fid_population", "fd_population", "kid", "cmmd",
                                                     "precision", "recall", "density", "coverage", "vendi", "ms_ssim",
                                                     "fraction_memorized"};
  std::set<std::string> present;
  for (const auto& c : classes)
    for (const auto& [name, e] : c.metrics) present.insert(name);
  std::vector<std::string> out;
  for (const auto& c : canonical)
    if (present.erase(c)) out.push_back(c);
  out.insert(out.end(), present.begin(), present.end());
  return out;
}

const PerClassRow* PerClassEntry::row(const std::string& name) const {
  for (const auto& c : classes)
    if (c.name == name) return &c;
  return nullptr;
}

const PerClassRow* PerClassEntry::worst(const std::string& metric) const {
  const auto it = worst_class.find(metric);
  return it == worst_class.end() ? nullptr : row(it->second);
}

namespace {

double num(const ojson& j, const char* key) {
  auto it = j.find(key);
  return (it != j.end() && it->is_number()) ? it->get<double>() : kNaN;
}
long long integer(const ojson& j, const char* key, long long fallback = -1) {
  auto it = j.find(key);
  return (it != j.end() && it->is_number()) ? static_cast<long long>(it->get<double>()) : fallback;
}
std::string str(const ojson& j, const char* key) {
  auto it = j.find(key);
  return (it != j.end() && it->is_string()) ? it->get<std::string>() : std::string();
}
std::optional<double> opt(const ojson& j, const char* key) {
  auto it = j.find(key);
  if (it != j.end() && it->is_number()) return it->get<double>();
  return std::nullopt;
}

// A metric object (already schema-checked) as an Estimate; `where` = "FILE: $.json.path", named by
// the InputError should a field still have the wrong type.
Estimate metric_from(const ojson& j, const std::string& where) { return estimate_from_json(nlohmann::json(j), where); }

// The range a metric's value and bounds can take (hand-edited or foreign results files: a FID of -5
// or a precision of 7.5 must be an error, not a bold "best"). Unknown metrics: no range.
bool metric_range(const std::string& name, double& lo, double& hi) {
  static const std::set<std::string> non_negative = {"fid", "fid_population", "fid_real_floor",
                                                     "fid_real_floor_population", "fd", "fd_population",
                                                     "fd_real_floor", "fd_real_floor_population", "density", "vendi",
                                                     "cmmd", "cmmd_real_floor"};
  static const std::set<std::string> fraction = {"precision", "recall", "coverage", "fraction_memorized",
                                                 "fraction_flagged", "fraction_train_copied",
                                                 "auroc", "accuracy", "balanced_accuracy", "f1"};
  lo = -std::numeric_limits<double>::infinity();
  hi = std::numeric_limits<double>::infinity();
  if (non_negative.count(name)) lo = 0;
  else if (fraction.count(name)) lo = 0, hi = 1;
  else if (name == "ms_ssim") lo = -1, hi = 1;
  else if (name == "authpct") lo = 0, hi = 100;  // a percentage
  else return false;
  return true;
}

void check_metric(const ojson& j, const std::string& path, std::vector<SchemaError>& errs, const std::string& name) {
  if (!j.is_object()) return;
  double min = 0, max = 0;
  if (metric_range(name, min, max))
    for (const char* key : {"value", "ci_low", "ci_high"})
      if (auto v = j.find(key); v != j.end() && v->is_number() && !(v->get<double>() >= min && v->get<double>() <= max))
        errs.push_back({json_path_key(path, key), v->dump() + " is outside the range of " + name + " [" +
                                                      ojson(min).dump() + ", " +
                                                      (std::isfinite(max) ? ojson(max).dump() : std::string("inf")) + "]"});
  auto lo = j.find("ci_low"), hi = j.find("ci_high");
  if (lo == j.end() || hi == j.end()) return;
  if (lo->is_null() != hi->is_null()) {
    errs.push_back({json_path_key(path, lo->is_null() ? "ci_low" : "ci_high"),
                    "is null while " + std::string(lo->is_null() ? "ci_high" : "ci_low") +
                        " is a number (give both bounds or neither)"});
  } else if (lo->is_number() && hi->is_number() && lo->get<double>() > hi->get<double>()) {
    errs.push_back({json_path_key(path, "ci_low"), "is greater than ci_high (" + lo->dump() + " > " + hi->dump() + ")"});
  }
}

// Checks `section` (model -> modality -> ...) refers to declared models and covered modalities.
void check_model_modality_map(const ojson& root, const char* section, std::vector<SchemaError>& errs) {
  auto s = root.find(section);
  if (s == root.end() || !s->is_object()) return;
  const auto& models = root.at("models");
  for (auto m = s->begin(); m != s->end(); ++m) {
    const std::string mpath = json_path_key(json_path_key("$", section), m.key());
    auto decl = models.find(m.key());
    if (decl == models.end()) {
      errs.push_back({mpath, "model '" + m.key() + "' is not declared in $.models"});
      continue;
    }
    if (!m->is_object() || !decl->is_object() || !decl->contains("modalities") || !(*decl)["modalities"].is_array())
      continue;
    std::set<std::string> covered;
    for (const auto& x : (*decl)["modalities"])
      if (x.is_string()) covered.insert(x.get<std::string>());
    for (auto mod = m->begin(); mod != m->end(); ++mod)
      if (!covered.count(mod.key()))
        errs.push_back({json_path_key(mpath, mod.key()), "modality '" + mod.key() + "' is not covered by model '" +
                                                            m.key() + "' (" + json_path_key(json_path_key("$.models", m.key()), "modalities") + ")"});
  }
}

}  // namespace

std::vector<SchemaError> validate_results(const ojson& j) {
  std::vector<SchemaError> errs = validate_json_schema(j, results_schema());
  if (!j.is_object() || !j.contains("models") || !j["models"].is_object()) return errs;

  // Metric objects: bounds consistent.
  if (auto r = j.find("results"); r != j.end() && r->is_object())
    for (auto m = r->begin(); m != r->end(); ++m)
      if (m->is_object())
        for (auto mod = m->begin(); mod != m->end(); ++mod)
          if (mod->is_object())
            for (auto met = mod->begin(); met != mod->end(); ++met)
              check_metric(*met, json_path_key(json_path_key(json_path_key("$.results", m.key()), mod.key()), met.key()), errs,
                           met.key());
  if (auto r = j.find("reference"); r != j.end() && r->is_object())
    for (auto mod = r->begin(); mod != r->end(); ++mod)
      if (mod->is_object())
        for (auto met = mod->begin(); met != mod->end(); ++met)
          check_metric(*met, json_path_key(json_path_key("$.reference", mod.key()), met.key()), errs, met.key());
  if (auto r = j.find("memorization"); r != j.end() && r->is_object())
    for (auto m = r->begin(); m != r->end(); ++m)
      if (m->is_object())
        for (auto mod = m->begin(); mod != m->end(); ++mod)
          if (mod->is_object()) {
            for (const char* name : {"fraction_memorized", "authpct", "c_t"})
              if (mod->contains(name))
                check_metric((*mod)[name], json_path_key(json_path_key(json_path_key("$.memorization", m.key()), mod.key()), name),
                             errs, name);
            if (auto rp = mod->find("replay"); rp != mod->end() && rp->is_object())
              for (const char* name : {"fraction_flagged", "fraction_train_copied"})
                if (rp->contains(name))
                  check_metric((*rp)[name],
                               json_path_key(json_path_key(json_path_key(json_path_key("$.memorization", m.key()), mod.key()), "replay"), name),
                               errs, name);
          }
  if (auto r = j.find("downstream"); r != j.end() && r->is_object())
    for (auto m = r->begin(); m != r->end(); ++m)
      if (m->is_object())
        for (auto mod = m->begin(); mod != m->end(); ++mod) {
          if (!mod->is_object() || !mod->contains("arms") || !(*mod)["arms"].is_object()) continue;
          const std::string base = json_path_key(json_path_key(json_path_key("$.downstream", m.key()), mod.key()), "arms");
          for (auto arm = (*mod)["arms"].begin(); arm != (*mod)["arms"].end(); ++arm) {
            if (!arm->is_array()) continue;
            double prev = -1;
            for (std::size_t i = 0; i < arm->size(); ++i) {
              const auto& p = (*arm)[i];
              const std::string ppath = json_path_index(json_path_key(base, arm.key()), i);
              check_metric(p, ppath, errs, mod->value("metric", std::string()));
              if (p.is_object() && p.contains("fraction") && p["fraction"].is_number()) {
                const double f = p["fraction"].get<double>();
                if (f <= prev)
                  errs.push_back({json_path_key(ppath, "fraction"), "fractions must increase within an arm (" +
                                                                        p["fraction"].dump() + " after " + nlohmann::json(prev).dump() + ")"});
                prev = f;
              }
            }
          }
        }

  if (auto r = j.find("adherence"); r != j.end() && r->is_object())
    for (auto m = r->begin(); m != r->end(); ++m)
      if (m->is_object())
        for (auto mod = m->begin(); mod != m->end(); ++mod) {
          if (!mod->is_object()) continue;
          const std::string base = json_path_key(json_path_key("$.adherence", m.key()), mod.key());
          for (const char* dir : {"cas", "real", "reverse"}) {
            if (!mod->contains(dir) || !(*mod)[dir].is_object()) continue;
            const auto& sc = (*mod)[dir];
            const std::string dpath = json_path_key(base, dir);
            for (const char* name : {"accuracy", "balanced_accuracy", "auroc", "auroc_delong"})
              if (sc.contains(name)) check_metric(sc[name], json_path_key(dpath, name), errs, name == std::string("auroc_delong") ? "auroc" : name);
            if (sc.contains("classes") && sc["classes"].is_array())
              for (std::size_t i = 0; i < sc["classes"].size(); ++i)
                for (const char* name : {"accuracy", "auroc"})
                  if (sc["classes"][i].is_object() && sc["classes"][i].contains(name))
                    check_metric(sc["classes"][i][name], json_path_key(json_path_index(json_path_key(dpath, "classes"), i), name), errs,
                                 name);
          }
        }

  if (auto r = j.find("per_class"); r != j.end() && r->is_object())
    for (auto m = r->begin(); m != r->end(); ++m)
      if (m->is_object())
        for (auto mod = m->begin(); mod != m->end(); ++mod) {
          if (!mod->is_object() || !mod->contains("classes") || !(*mod)["classes"].is_array()) continue;
          const std::string base = json_path_key(json_path_key(json_path_key("$.per_class", m.key()), mod.key()), "classes");
          const auto& cls = (*mod)["classes"];
          std::set<std::string> names;
          for (std::size_t i = 0; i < cls.size(); ++i) {
            if (!cls[i].is_object()) continue;
            const std::string cp = json_path_index(base, i);
            if (cls[i].contains("name") && cls[i]["name"].is_string() && !names.insert(cls[i]["name"].get<std::string>()).second)
              errs.push_back({json_path_key(cp, "name"), "class '" + cls[i]["name"].get<std::string>() + "' is listed twice"});
            for (const char* part : {"metrics", "reference"})
              if (cls[i].contains(part) && cls[i][part].is_object())
                for (auto met = cls[i][part].begin(); met != cls[i][part].end(); ++met)
                  check_metric(*met, json_path_key(json_path_key(cp, part), met.key()), errs, met.key());
          }
          if (auto w = mod->find("worst_class"); w != mod->end() && w->is_object())
            for (auto it = w->begin(); it != w->end(); ++it)
              if (it->is_string() && !names.count(it->get<std::string>()))
                errs.push_back({json_path_key(json_path_key(json_path_key(json_path_key("$.per_class", m.key()), mod.key()), "worst_class"), it.key()),
                                "class '" + it->get<std::string>() + "' is not one of the entry's classes"});
        }

  for (const char* section : {"results", "samples", "samples_real", "intensity", "memorization", "downstream", "adherence",
                              "alignment", "per_class"})
    check_model_modality_map(j, section, errs);
  if (auto c = j.find("compute"); c != j.end() && c->is_object() && c->contains("models") && (*c)["models"].is_object())
    for (auto m = (*c)["models"].begin(); m != (*c)["models"].end(); ++m)
      if (!j["models"].contains(m.key()))
        errs.push_back({json_path_key("$.compute.models", m.key()), "model '" + m.key() + "' is not declared in $.models"});

  // Modalities a model covers must be declared when a modalities section exists; no duplicates.
  const bool have_modalities = j.contains("modalities") && j["modalities"].is_object();
  for (auto m = j["models"].begin(); m != j["models"].end(); ++m) {
    if (!m->is_object() || !m->contains("modalities") || !(*m)["modalities"].is_array()) continue;
    std::set<std::string> seen;
    const auto& mods = (*m)["modalities"];
    for (std::size_t i = 0; i < mods.size(); ++i) {
      if (!mods[i].is_string()) continue;
      const std::string name = mods[i].get<std::string>();
      const std::string p = json_path_index(json_path_key(json_path_key("$.models", m.key()), "modalities"), i);
      if (!seen.insert(name).second) errs.push_back({p, "modality '" + name + "' is listed twice"});
      if (have_modalities && !j["modalities"].contains(name))
        errs.push_back({p, "modality '" + name + "' is not declared in $.modalities"});
    }
  }
  return errs;
}

std::string format_errors(const std::string& file, const std::vector<SchemaError>& errors) {
  std::string msg = file + ": " + std::to_string(errors.size()) + " problem" + (errors.size() == 1 ? "" : "s") + ":";
  for (const auto& e : errors) msg += "\n  " + e.str();
  return msg;
}

namespace {

// Files written before the FID/FD rule (core/feature_space.h) name every Fréchet distance "fid".
// When such a file records a non-Inception extractor (provenance.extractor.id) and has no "fd"
// entries, its fid* metrics are read as fd* (with a note), so old and new runs of one suite
// compare entry by entry and a pixel-space value is never shown as a FID. Files without a
// recorded extractor keep their names.
void apply_frechet_naming(Results& r) {
  std::string id;
  if (r.provenance.is_object() && r.provenance.contains("extractor") && r.provenance["extractor"].is_object() &&
      r.provenance["extractor"].contains("id") && r.provenance["extractor"]["id"].is_string())
    id = r.provenance["extractor"]["id"].get<std::string>();
  if (is_inception_feature_space(id)) return;
  bool has_fd = false, has_fid = false;
  auto scan = [&](const std::map<std::string, Estimate>& metrics) {
    for (const auto& [n, e] : metrics) {
      if (n.rfind("fd", 0) == 0 && !other_frechet_spelling(n).empty()) has_fd = true;
      if (is_fid_metric_name(n)) has_fid = true;
    }
  };
  for (const auto& [model, mods] : r.results)
    for (const auto& [mod, metrics] : mods) scan(metrics);
  for (const auto& [mod, metrics] : r.reference) scan(metrics);
  if (has_fd || !has_fid) return;
  auto rename = [&](std::map<std::string, Estimate>& metrics) {
    for (const char* n : {"fid", "fid_population", "fid_real_floor", "fid_real_floor_population"})
      if (auto it = metrics.find(n); it != metrics.end()) {
        metrics[frechet_metric_name(n, id)] = it->second;
        metrics.erase(n);
      }
  };
  for (auto& [model, mods] : r.results)
    for (auto& [mod, metrics] : mods) rename(metrics);
  for (auto& [mod, metrics] : r.reference) rename(metrics);
  for (const char* n : {"fid", "fid_population", "fid_real_floor", "fid_real_floor_population"})
    if (auto it = r.metric_overrides.find(n); it != r.metric_overrides.end()) {
      r.metric_overrides[frechet_metric_name(n, id)] = it->second;
      r.metric_overrides.erase(n);
    }
  r.notes.push_back("this file names its Fréchet distances fid, but its feature space is " + id +
                    " (not Inception): they are read as fd, fd_population, fd_real_floor (docs/metrics.md, FID or FD)");
}

}  // namespace

Results results_from_json(const ojson& j, const std::string& name) {
  const auto errs = validate_results(j);
  if (!errs.empty()) throw InputError(format_errors(name, errs));

  Results r;
  r.schema_version = j["schema_version"].get<int>();
  r.suite_name = j["suite"]["name"].get<std::string>();
  r.suite_hash = j["suite"]["hash"].get<std::string>();
  r.provenance = j["provenance"];

  if (auto ms = j.find("modalities"); ms != j.end())
    for (auto it = ms->begin(); it != ms->end(); ++it) {
      ModalityInfo info{it.key(), str(*it, "specialty"), str(*it, "label")};
      if (info.label.empty()) info.label = info.name;
      r.modalities.push_back(info);
    }
  for (auto it = j["models"].begin(); it != j["models"].end(); ++it) {
    ModelInfo m;
    m.name = it.key();
    m.kind = (*it)["kind"].get<std::string>();
    m.label = str(*it, "label");
    if (m.label.empty()) m.label = m.name;
    for (const auto& x : (*it)["modalities"]) m.modalities.push_back(x.get<std::string>());
    r.models.push_back(m);
  }
  for (const auto& m : r.models)
    for (const auto& mod : m.modalities)
      if (!r.modality(mod)) r.modalities.push_back({mod, "", mod});

  if (auto ms = j.find("metrics"); ms != j.end())
    for (auto it = ms->begin(); it != ms->end(); ++it) {
      MetricInfo info = default_metric_info(it.key());
      if (it->contains("label")) info.label = (*it)["label"].get<std::string>();
      if (it->contains("digits")) info.digits = (*it)["digits"].get<int>();
      if (it->contains("better")) {
        const auto b = (*it)["better"].get<std::string>();
        info.better = b == "lower" ? Better::lower : b == "higher" ? Better::higher : Better::none;
      }
      r.metric_overrides[it.key()] = info;
    }

  for (auto m = j["results"].begin(); m != j["results"].end(); ++m)
    for (auto mod = m->begin(); mod != m->end(); ++mod)
      for (auto met = mod->begin(); met != mod->end(); ++met) {
        r.results[m.key()][mod.key()][met.key()] =
            metric_from(*met, name + ": " + json_path_key(json_path_key(json_path_key("$.results", m.key()), mod.key()), met.key()));
        if (auto f = met->find("features"); f != met->end() && f->is_object() && f->contains("real") &&
                                            f->contains("synthetic") && (*f)["real"].is_string() &&
                                            (*f)["synthetic"].is_string())
          r.features[m.key()][mod.key()] = {(*f)["real"].get<std::string>(), (*f)["synthetic"].get<std::string>(),
                                            f->value("real_key", std::string())};
      }
  if (auto ref = j.find("reference"); ref != j.end())
    for (auto mod = ref->begin(); mod != ref->end(); ++mod)
      for (auto met = mod->begin(); met != mod->end(); ++met)
        r.reference[mod.key()][met.key()] = metric_from(*met, name + ": " + json_path_key(json_path_key("$.reference", mod.key()), met.key()));
  if (auto s = j.find("samples"); s != j.end())
    for (auto m = s->begin(); m != s->end(); ++m)
      for (auto mod = m->begin(); mod != m->end(); ++mod)
        r.samples[m.key()][mod.key()] = mod->get<std::vector<std::string>>();
  if (auto s = j.find("samples_real"); s != j.end())
    for (auto m = s->begin(); m != s->end(); ++m)
      for (auto mod = m->begin(); mod != m->end(); ++mod)
        r.samples_real[m.key()][mod.key()] = mod->get<std::vector<std::string>>();
  if (auto s = j.find("intensity"); s != j.end())
    for (auto m = s->begin(); m != s->end(); ++m)
      for (auto mod = m->begin(); mod != m->end(); ++mod) {
        const std::string base = json_path_key(json_path_key("$.intensity", m.key()), mod.key());
        IntensityEntry e;
        e.channels = (*mod)["channels"].get<int>();
        e.n_real = (*mod)["n_real"].get<long long>();
        e.n_generated = (*mod)["n_generated"].get<long long>();
        e.bins = (*mod)["bins"].get<int>();
        const auto& rows = (*mod)["rows"];
        for (std::size_t i = 0; i < rows.size(); ++i) {
          const auto& x = rows[i];
          const std::string rp = name + ": " + json_path_index(json_path_key(base, "rows"), i);
          IntensityRow row;
          row.channel = x["channel"].get<std::string>();
          row.real_mean = metric_from(x["real_mean"], rp + ".real_mean");
          row.generated_mean = metric_from(x["generated_mean"], rp + ".generated_mean");
          row.mean_diff = metric_from(x["mean_diff"], rp + ".mean_diff");
          row.real_std = metric_from(x["real_std"], rp + ".real_std");
          row.generated_std = metric_from(x["generated_std"], rp + ".generated_std");
          row.wasserstein = num(x, "wasserstein");
          row.real_hist = x["real_hist"].get<std::vector<double>>();
          row.generated_hist = x["generated_hist"].get<std::vector<double>>();
          e.rows.push_back(std::move(row));
        }
        const auto& b = (*mod)["background"];
        e.corner = b["corner"].get<int>();
        e.has_background = b["has_background"].get<bool>();
        e.real_background = metric_from(b["real"], name + ": " + base + ".background.real");
        e.generated_background = metric_from(b["generated"], name + ": " + base + ".background.generated");
        r.intensity[m.key()][mod.key()] = std::move(e);
      }
  if (auto s = j.find("memorization"); s != j.end())
    for (auto m = s->begin(); m != s->end(); ++m)
      for (auto mod = m->begin(); mod != m->end(); ++mod) {
        MemorizationEntry e;
        e.fraction_memorized = metric_from(
            (*mod)["fraction_memorized"], name + ": " + json_path_key(json_path_key(json_path_key("$.memorization", m.key()), mod.key()), "fraction_memorized"));
        if (mod->contains("authpct"))
          e.authpct = metric_from((*mod)["authpct"],
                                  name + ": " + json_path_key(json_path_key(json_path_key("$.memorization", m.key()), mod.key()), "authpct"));
        if (mod->contains("c_t"))
          e.c_t = metric_from((*mod)["c_t"],
                              name + ": " + json_path_key(json_path_key(json_path_key("$.memorization", m.key()), mod.key()), "c_t"));
        if (auto rp = mod->find("replay"); rp != mod->end() && rp->is_object()) {
          const std::string base = json_path_key(json_path_key(json_path_key("$.memorization", m.key()), mod.key()), "replay");
          e.replay_fraction_flagged = metric_from((*rp)["fraction_flagged"], name + ": " + base + ".fraction_flagged");
          e.replay_fraction_train_copied = metric_from((*rp)["fraction_train_copied"], name + ": " + base + ".fraction_train_copied");
          e.replay_prompts = integer(*rp, "prompts");
          e.replay_generated = integer(*rp, "n_generated");
        }
        e.n_synthetic = integer(*mod, "n_synthetic");
        e.n_train = integer(*mod, "n_train");
        e.n_holdout = integer(*mod, "n_holdout");
        e.exact_copies = integer(*mod, "exact_copies");
        e.tau = num(*mod, "tau");
        e.threshold_quantile = num(*mod, "threshold_quantile");
        e.embedder = str(*mod, "embedder");
        e.histogram_png = str(*mod, "histogram_png");
        e.pairs_png = str(*mod, "pairs_png");
        r.memorization[m.key()][mod.key()] = e;
      }
  if (auto s = j.find("downstream"); s != j.end())
    for (auto m = s->begin(); m != s->end(); ++m)
      for (auto mod = m->begin(); mod != m->end(); ++mod) {
        DownstreamEntry e;
        e.metric = (*mod)["metric"].get<std::string>();
        const std::string base = json_path_key(json_path_key(json_path_key("$.downstream", m.key()), mod.key()), "arms");
        for (auto arm = (*mod)["arms"].begin(); arm != (*mod)["arms"].end(); ++arm) {
          std::vector<DownstreamPoint> pts;
          for (std::size_t i = 0; i < arm->size(); ++i) {
            const auto& p = (*arm)[i];
            pts.push_back({p["fraction"].get<double>(), metric_from(p, name + ": " + json_path_index(json_path_key(base, arm.key()), i)),
                           integer(p, "n_real"), integer(p, "n_syn")});
          }
          e.arms.emplace_back(arm.key(), std::move(pts));
        }
        if (auto c = mod->find("comparisons"); c != mod->end())
          for (const auto& x : *c) {
            const double level = num(x, "ci_level");
            e.comparisons.push_back({x["fraction"].get<double>(), str(x, "a"), str(x, "b"), str(x, "verdict"),
                                     num(x, "mean_diff"), num(x, "ci_low"), num(x, "ci_high"), num(x, "p_adjusted"),
                                     std::isfinite(level) ? level : 0.95, str(x, "ci_method")});
          }
        r.downstream[m.key()][mod.key()] = std::move(e);
      }
  if (auto s = j.find("adherence"); s != j.end())
    for (auto m = s->begin(); m != s->end(); ++m)
      for (auto mod = m->begin(); mod != m->end(); ++mod) {
        const std::string base = name + ": " + json_path_key(json_path_key("$.adherence", m.key()), mod.key());
        AdherenceEntry e;
        e.label_field = str(*mod, "label_field");
        e.results_json = str(*mod, "results_json");
        e.seeds = integer(*mod, "seeds");
        e.n_synthetic = integer(*mod, "n_synthetic");
        e.n_used = integer(*mod, "n_used");
        auto scores = [&](const char* dir, AdherenceScoresEntry& out) {
          const auto& x = (*mod)[dir];
          const std::string p = base + "." + dir;
          out.n = integer(x, "n");
          out.n_train = integer(x, "n_train");
          out.accuracy = metric_from(x["accuracy"], p + ".accuracy");
          out.auroc = metric_from(x["auroc"], p + ".auroc");
          if (x.contains("balanced_accuracy")) out.balanced_accuracy = metric_from(x["balanced_accuracy"], p + ".balanced_accuracy");
          if (x.contains("auroc_delong")) out.auroc_delong = metric_from(x["auroc_delong"], p + ".auroc_delong");
          out.worst_class = str(x, "worst_class");
          for (std::size_t i = 0; i < x["classes"].size(); ++i) {
            const auto& c = x["classes"][i];
            const std::string cp = p + ".classes[" + std::to_string(i) + "]";
            AdherenceClass ac;
            ac.name = str(c, "name");
            ac.label = integer(c, "label");
            ac.n = integer(c, "n");
            ac.accuracy = metric_from(c["accuracy"], cp + ".accuracy");
            if (c.contains("auroc")) ac.auroc = metric_from(c["auroc"], cp + ".auroc");
            out.classes.push_back(std::move(ac));
          }
        };
        scores("cas", e.cas);
        scores("real", e.real);
        scores("reverse", e.reverse);
        r.adherence[m.key()][mod.key()] = std::move(e);
      }
  if (auto s = j.find("per_class"); s != j.end())
    for (auto m = s->begin(); m != s->end(); ++m)
      for (auto mod = m->begin(); mod != m->end(); ++mod) {
        const std::string base = name + ": " + json_path_key(json_path_key("$.per_class", m.key()), mod.key());
        PerClassEntry e;
        e.label_field = str(*mod, "label_field");
        const auto& cls = (*mod)["classes"];
        for (std::size_t i = 0; i < cls.size(); ++i) {
          const auto& c = cls[i];
          const std::string cp = base + ".classes[" + std::to_string(i) + "]";
          PerClassRow row;
          row.name = str(c, "name");
          row.label = integer(c, "label");
          row.n_real = integer(c, "n_real");
          row.n_synthetic = integer(c, "n_synthetic");
          if (auto x = c.find("metrics"); x != c.end())
            for (auto met = x->begin(); met != x->end(); ++met) row.metrics[met.key()] = metric_from(*met, cp + ".metrics." + met.key());
          if (auto x = c.find("reference"); x != c.end())
            for (auto met = x->begin(); met != x->end(); ++met)
              row.reference[met.key()] = metric_from(*met, cp + ".reference." + met.key());
          e.classes.push_back(std::move(row));
        }
        // The file's worst classes; computed by the same rule for a metric it does not name.
        if (auto w = mod->find("worst_class"); w != mod->end())
          for (auto it = w->begin(); it != w->end(); ++it)
            if (it->is_string()) e.worst_class[it.key()] = it->get<std::string>();
        for (const auto& met : e.metric_names())
          if (!e.worst_class.count(met) && !(mod->contains("worst_class") && (*mod)["worst_class"].contains(met)))
            if (const int k = worst_class_index(e.classes, met, r.metric_info(met).better); k >= 0)
              e.worst_class[met] = e.classes[static_cast<std::size_t>(k)].name;
        r.per_class[m.key()][mod.key()] = std::move(e);
      }
  if (auto c = j.find("compute"); c != j.end()) {
    r.compute_device = str(*c, "device");
    for (auto m = (*c)["models"].begin(); m != (*c)["models"].end(); ++m)
      r.compute[m.key()] = {opt(*m, "params"), opt(*m, "training_flops"), opt(*m, "wall_time_s"), opt(*m, "steps"),
                            opt(*m, "images_per_s"), str(*m, "device")};
  }
  if (auto n = j.find("notes"); n != j.end()) r.notes = n->get<std::vector<std::string>>();
  apply_frechet_naming(r);
  return r;
}

ojson read_ordered_json_file(const std::filesystem::path& file) {
  const std::string text = read_file_text(file);
  try {
    return ojson::parse(text);
  } catch (const ojson::parse_error& e) {
    throw InputError(at_file(file.string(), std::string("invalid JSON: ") + e.what()));
  }
}

Results load_results(const std::filesystem::path& file) {
  Results r = results_from_json(read_ordered_json_file(file), file.string());
  r.file = file;
  r.base_dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  for (auto& [model, mods] : r.features)
    for (auto& [mod, f] : mods) {  // relative to the results file's folder
      f.real = r.base_dir / f.real;
      f.synthetic = r.base_dir / f.synthetic;
    }
  return r;
}

}  // namespace medsyn::reports
