// Output files of the adherence scores (adherence.h): results.json, table.md, predictions/*.csv.
// Every write is atomic.
#include <cmath>
#include <iomanip>
#include <sstream>

#include "experiment_internal.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/json.h"
#include "medsyn/core/provenance.h"
#include "medsyn/downstream/adherence.h"

namespace fs = std::filesystem;

namespace medsyn::downstream {

namespace {

json est(const Estimate& e) { return json::parse(medsyn::to_json(e).dump()); }

json nums(const std::vector<double>& v) {
  json a = json::array();
  for (const double x : v) a.push_back(finite_or_null(x));
  return a;
}

json scores_json(const AdherenceScores& s) {
  json classes = json::array();
  for (const auto& c : s.classes)
    classes.push_back({{"label", c.label}, {"name", c.name}, {"n", c.n}, {"accuracy", est(c.accuracy)}, {"auroc", est(c.auroc)}});
  json j = {{"computed", s.computed},
            {"n", s.n},
            {"n_train", s.n_train},
            {"accuracy", est(s.accuracy)},
            {"balanced_accuracy", est(s.balanced_accuracy)},
            {"auroc", est(s.auroc)},
            {"auroc_delong", est(s.auroc_delong)},
            {"classes", classes},
            {"worst_class", s.worst_class >= 0 ? json(s.classes[static_cast<std::size_t>(s.worst_class)].name) : json(nullptr)},
            {"seed_accuracy", nums(s.seed_accuracy)},
            {"seed_auroc", nums(s.seed_auroc)}};
  return j;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (const char ch : s) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

// index,path,label,ensemble,seed0,... (binary: P(class 1); K > 2: <col>:p<c>).
void write_predictions_csv(const fs::path& file, const AdherenceScores& s, std::size_t k) {
  std::ostringstream os;
  os << "index,path,label";
  auto header = [&](const std::string& col) {
    if (k == 2) os << "," << col;
    else
      for (std::size_t c = 0; c < k; ++c) os << "," << col << ":p" << c;
  };
  header("ensemble");
  for (std::size_t seed = 0; seed < s.seed_probs.size(); ++seed) header("seed" + std::to_string(seed));
  os << "\n";
  auto row = [&](const std::vector<double>& p, std::size_t i) {
    if (k == 2) os << "," << detail::format_number(p[i * 2 + 1]);
    else
      for (std::size_t c = 0; c < k; ++c) os << "," << detail::format_number(p[i * k + c]);
  };
  for (std::size_t i = 0; i < s.n; ++i) {
    os << i << "," << csv_field(i < s.paths.size() ? s.paths[i] : "") << "," << s.labels[i];
    row(s.ensemble_probs, i);
    for (const auto& p : s.seed_probs) row(p, i);
    os << "\n";
  }
  atomic_write_text(file, os.str());
}

// "0.812 [0.781, 0.843]", "0.812", or the null reason.
std::string cell(const Estimate& e) {
  if (!e.has_value()) return e.note.empty() ? "–" : e.note;
  std::ostringstream os;
  os << std::fixed << std::setprecision(3) << e.value;
  if (e.has_ci()) os << " [" << e.ci_low << ", " << e.ci_high << "]";
  return os.str();
}

}  // namespace

nlohmann::json adherence_json(const AdherenceOptions& o, const AdherenceResult& r) {
  json j;
  j["schema"] = kAdherenceSchema;
  j["kind"] = "adherence";
  json seeds = json::array();
  for (int s = 0; s < o.seeds; ++s) seeds.push_back(s);
  j["provenance"] = provenance_json({
      {"command_line", o.command_line},
      {"device", o.classifier.device},
      {"seeds", seeds},
      {"seed_base", o.seed_base},
      {"started", r.started},
      {"finished", r.finished},
      {"inputs",
       {{"real", {{"dir", o.real_dir.string()}, {"manifest_sha256", r.data.real_manifest_sha256}}},
        {"synthetic", {{"dir", o.synthetic_dir.string()}, {"manifest_sha256", r.data.synthetic_manifest_sha256}}}}},
  });
  j["options"] = {
      {"modality", r.data.modality},
      {"label_field", o.label_field},
      {"seeds", o.seeds},
      {"seed_base", o.seed_base},
      {"reverse", o.reverse},
      {"ci_level", o.ci_level},
      {"classifier",
       {{"arch", o.classifier.arch},
        {"width", o.classifier.width},
        {"epochs", o.classifier.epochs},
        {"checkpoints", o.classifier.checkpoints},
        {"min_steps", o.classifier.min_steps},
        {"max_steps", o.classifier.max_steps},
        {"balanced_loss", o.classifier.balanced_loss},
        {"tta", o.classifier.tta ? "hflip average" : "none"},
        {"batch_size", o.classifier.batch_size},
        {"lr", o.classifier.lr},
        {"weight_decay", o.classifier.weight_decay},
        {"augment", o.classifier.augment ? "hflip+shift2" : "none"},
        {"selection", "best real validation AUROC over min(epochs, checkpoints) evenly spaced checkpoints"},
        {"device", o.classifier.device}}},
  };
  j["data"] = {
      {"modality", r.data.modality},
      {"classes", r.data.classes},
      {"class_names", r.data.class_names},
      {"n_train", r.data.n_train},
      {"n_val", r.data.n_val},
      {"n_test", r.data.n_test},
      {"n_synthetic_used", r.data.n_synthetic},
      {"image_shape_chw", {r.data.channels, r.data.height, r.data.width}},
      {"synthetic_converted", r.data.synthetic_resized},
  };
  const auto& s = r.sources;
  j["labels"] = {{"rule", "the class the prompt names (real training prompts of the modality, normalised), else the record's '" +
                              o.label_field + "', else excluded"},
                 {"records", s.records},
                 {"used", s.used()},
                 {"by_prompt", s.by_prompt},
                 {"by_label", s.by_label},
                 {"excluded_no_label", s.no_label},
                 {"excluded_split", s.split_excluded},
                 {"ambiguous_prompt", s.ambiguous_prompt},
                 {"conflicts", s.conflicts}};
  j["cas"] = scores_json(r.cas);
  j["real"] = scores_json(r.real);
  j["reverse"] = scores_json(r.reverse);
  j["notes"] = r.notes;
  j["runtime"] = {{"seconds", r.seconds}, {"jobs", r.jobs}};
  return j;
}

std::string adherence_markdown(const AdherenceOptions& o, const AdherenceResult& r) {
  std::ostringstream os;
  const std::string level = detail::format_number(o.ci_level * 100) + "%";
  os << "# Prompt adherence (CAS): " << r.data.modality << "\n\n";
  os << r.sources.used() << " of " << r.sources.records << " synthetic images have an intended class (" << r.sources.by_prompt
     << " by prompt, " << r.sources.by_label << " by '" << o.label_field << "'); " << o.seeds << " classifier seeds; "
     << level << " intervals (t over seeds; DeLong for the ensemble AUROC).\n\n";
  os << "| direction | trains on | tests on | accuracy | balanced accuracy | AUROC (seeds) | AUROC (ensemble, DeLong) | worst class |\n";
  os << "|---|---|---|---|---|---|---|---|\n";
  auto line = [&](const char* name, const char* train, const char* test, const AdherenceScores& s) {
    std::string worst = "–";
    if (s.worst_class >= 0) {
      const auto& c = s.classes[static_cast<std::size_t>(s.worst_class)];
      worst = c.name + ": " + cell(c.accuracy);
    }
    os << "| " << name << " | " << train << " | " << test << " | " << cell(s.accuracy) << " | " << cell(s.balanced_accuracy)
       << " | " << cell(s.auroc) << " | " << cell(s.auroc_delong) << " | " << worst << " |\n";
  };
  line("CAS", "real train", "synthetic", r.cas);
  line("real (reference)", "real train", "real test", r.real);
  line("reverse CAS", "synthetic", "real test", r.reverse);
  os << "\nPer class (CAS: recall of the class among the images prompted as it; one-vs-rest AUROC of the ensemble):\n\n";
  os << "| class | n synthetic | CAS accuracy | CAS AUROC | real-test accuracy | reverse accuracy |\n|---|---|---|---|---|---|\n";
  for (std::size_t c = 0; c < r.cas.classes.size(); ++c) {
    const auto& x = r.cas.classes[c];
    os << "| " << x.name << " | " << x.n << " | " << cell(x.accuracy) << " | " << cell(x.auroc) << " | "
       << (c < r.real.classes.size() ? cell(r.real.classes[c].accuracy) : "–") << " | "
       << (c < r.reverse.classes.size() ? cell(r.reverse.classes[c].accuracy) : "–") << " |\n";
  }
  if (!r.notes.empty()) {
    os << "\nNotes:\n";
    for (const auto& n : r.notes) os << "- " << n << "\n";
  }
  os << "\nRuntime: " << std::fixed << std::setprecision(1) << r.seconds << " s (" << r.jobs << " parallel).\n";
  return os.str();
}

void write_adherence_outputs(const AdherenceOptions& o, const AdherenceResult& r) {
  ensure_dir(o.out_dir);
  write_json_file(o.out_dir / "results.json", adherence_json(o, r));
  atomic_write_text(o.out_dir / "table.md", adherence_markdown(o, r));
  const fs::path dir = o.out_dir / "predictions";
  ensure_dir(dir);
  const std::size_t k = r.data.classes.size();
  if (r.cas.computed) write_predictions_csv(dir / "cas.csv", r.cas, k);
  if (r.real.computed) write_predictions_csv(dir / "real.csv", r.real, k);
  if (r.reverse.computed) write_predictions_csv(dir / "reverse.csv", r.reverse, k);
}

}  // namespace medsyn::downstream
