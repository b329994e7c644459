// Output files of the downstream experiments: results.json, table.md, table.csv,
// comparisons.csv, runs.csv and predictions/*.csv (see experiment.h). Every write is atomic.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <iomanip>
#include <map>
#include <sstream>

#include "experiment_internal.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/json.h"
#include "medsyn/core/provenance.h"

namespace fs = std::filesystem;

namespace medsyn::downstream {

namespace detail {

std::string format_number(double v) {
  if (!std::isfinite(v)) return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
  char buf[64];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

namespace {

// A CSV field: quoted when it holds a comma, quote or newline.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (const char ch : s) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

// Numbers in CSV: full precision, empty for NaN.
std::string csv_num(double v) { return std::isfinite(v) ? format_number(v) : ""; }

}  // namespace

void write_predictions(const DownstreamOptions& o, const LoadedData& d, const DownstreamResult& res,
                       const std::vector<ClassifierRun>& outputs) {
  const fs::path dir = o.out_dir / "predictions";
  ensure_dir(dir);
  const std::size_t k = static_cast<std::size_t>(d.num_classes);
  // (fraction, seed) -> arm -> run index, arms in canonical order
  std::map<std::pair<double, int>, std::vector<std::pair<std::string, std::size_t>>> groups;
  for (const auto& arm : all_arms())
    for (std::size_t i = 0; i < res.runs.size(); ++i)
      if (res.runs[i].arm == arm) groups[{res.runs[i].fraction, res.runs[i].seed}].emplace_back(arm, i);
  for (const auto& [key, runs] : groups) {
    std::ostringstream os;
    os << "index,path,label";
    for (const auto& [arm, idx] : runs) {
      if (k == 2) os << "," << arm;
      else
        for (std::size_t c = 0; c < k; ++c) os << "," << arm << ":p" << c;
    }
    os << "\n";
    for (std::size_t i = 0; i < d.test.size(); ++i) {
      os << i << "," << csv_field(d.test_paths[i]) << "," << d.test.labels[i];
      for (const auto& [arm, idx] : runs) {
        const auto& p = outputs[idx].test_probs;
        if (k == 2) os << "," << format_number(p[i * 2 + 1]);
        else
          for (std::size_t c = 0; c < k; ++c) os << "," << format_number(p[i * k + c]);
      }
      os << "\n";
    }
    char name[96];
    std::snprintf(name, sizeof name, "f%s_seed%02d.csv", format_number(key.first).c_str(), key.second);
    atomic_write_text(dir / name, os.str());
  }
}

}  // namespace detail

namespace {

using detail::csv_num;
using detail::format_number;

// The Estimate's metric object plus the keys this file always wrote: "mean" (= "value") and "sd".
json interval_json(const Estimate& e, double sd) {
  json j = json::parse(medsyn::to_json(e).dump());
  j["mean"] = finite_or_null(e.value);
  j["sd"] = finite_or_null(sd);
  return j;
}

json nums(const std::vector<double>& v) {
  json a = json::array();
  for (const double x : v) a.push_back(finite_or_null(x));
  return a;
}

// "0.812 ± 0.031" (half-width of the 95% CI), "0.812" for one seed, "–" for no runs.
std::string mean_pm(const Estimate& e) {
  if (e.n == 0) return "–";
  std::ostringstream os;
  os << std::fixed << std::setprecision(3) << e.value;
  if (std::isfinite(e.ci_high)) os << " ± " << std::setprecision(3) << (e.ci_high - e.value);
  return os.str();
}

std::string pval(double p) {
  if (!std::isfinite(p)) return "–";
  std::ostringstream os;
  if (p < 1e-4) os << std::scientific << std::setprecision(1) << p;
  else os << std::fixed << std::setprecision(4) << p;
  return os.str();
}

std::string signed3(double v) {
  if (!std::isfinite(v)) return "–";
  std::ostringstream os;
  os << std::showpos << std::fixed << std::setprecision(3) << v;
  return os.str();
}

}  // namespace

nlohmann::json downstream_json(const DownstreamOptions& o, const DownstreamResult& r) {
  json j;
  j["schema"] = kDownstreamSchema;
  j["kind"] = "downstream";
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
        {"synthetic",
         {{"dir", o.synthetic_dir.string()}, {"manifest_sha256", r.data.synthetic_manifest_sha256}}}}},
  });
  j["options"] = {
      {"modality", r.data.modality},
      {"label_field", o.label_field},
      {"fractions", o.fractions},
      {"arms", o.arms},
      {"synthetic_ratio", o.synthetic_ratio},
      {"seeds", o.seeds},
      {"seed_base", o.seed_base},
      {"adjust", o.adjust},
      {"test", o.test},
      {"alpha", o.alpha},
      {"control", to_string(o.control)},
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
        {"optimizer", "AdamW, cosine decay"},
        {"selection", "best validation AUROC over min(epochs, checkpoints) evenly spaced checkpoints"},
        {"device", o.classifier.device}}},
  };
  j["data"] = {
      {"modality", r.data.modality},
      {"classes", r.data.classes},
      {"class_names", r.data.class_names},
      {"n_train", r.data.n_train},
      {"n_val", r.data.n_val},
      {"n_test", r.data.n_test},
      {"n_synthetic", r.data.n_synthetic},
      {"n_synthetic_excluded", r.data.n_synthetic_excluded},
      {"image_shape_chw", {r.data.channels, r.data.height, r.data.width}},
      {"synthetic_converted", r.data.synthetic_resized},
      {"synthetic_preprocessing", "to_channels (ITU-R 601 luma / replication), resize area+antialias to the real shape"},
  };
  j["notes"] = r.notes;
  json summary = json::array();
  for (const auto& a : r.arms)
    summary.push_back({{"fraction", a.fraction},
                       {"arm", a.arm},
                       {"feasible", a.feasible},
                       {"n_real", a.n_real},
                       {"n_syn", a.n_syn},
                       {"auroc", interval_json(a.auroc, a.auroc_sd)},
                       {"accuracy", interval_json(a.accuracy, a.accuracy_sd)},
                       {"balanced_accuracy", interval_json(a.balanced_accuracy, a.balanced_accuracy_sd)},
                       {"f1", interval_json(a.f1, a.f1_sd)}});
  j["summary"] = summary;
  json comps = json::array();
  for (const auto& c : r.comparisons)
    comps.push_back({{"fraction", c.fraction},
                     {"a", c.a},
                     {"b", c.b},
                     {"metric", "test_auroc"},
                     {"n", c.n},
                     {"mean_a", finite_or_null(c.mean_a)},
                     {"mean_b", finite_or_null(c.mean_b)},
                     {"mean_diff", finite_or_null(c.mean_diff)},
                     {"ci_low", finite_or_null(c.ci_low)},
                     {"ci_high", finite_or_null(c.ci_high)},
                     {"t_test", {{"t", finite_or_null(c.t)}, {"df", finite_or_null(c.df)}, {"p", finite_or_null(c.p_t)},
                                 {"p_adjusted", finite_or_null(c.p_t_adjusted)}}},
                     {"wilcoxon", {{"w", finite_or_null(c.w)}, {"p", finite_or_null(c.p_wilcoxon)},
                                   {"method", c.wilcoxon_method}, {"p_adjusted", finite_or_null(c.p_wilcoxon_adjusted)}}},
                     {"delong", {{"p_per_seed", nums(c.delong_p)}, {"diff_per_seed", nums(c.delong_diff)},
                                 {"seeds_better", c.delong_better}, {"seeds_worse", c.delong_worse}}},
                     {"p_adjusted", finite_or_null(c.p_adjusted)},
                     {"adjust", o.adjust},
                     {"verdict_test", o.test},
                     {"verdict", c.verdict},
                     {"warnings", c.warnings}});
  j["comparisons"] = comps;
  json runs = json::array();
  for (const auto& x : r.runs)
    runs.push_back({{"fraction", x.fraction},
                    {"arm", x.arm},
                    {"seed", x.seed},
                    {"train_seed", x.train_seed},
                    {"n_real", x.n_real},
                    {"n_syn", x.n_syn},
                    {"class_counts", x.class_counts},
                    {"subset_sha256", x.subset_sha256},
                    {"test", {{"auroc", finite_or_null(x.test.auroc)}, {"accuracy", finite_or_null(x.test.accuracy)},
                              {"balanced_accuracy", finite_or_null(x.test.balanced_accuracy)},
                              {"f1", finite_or_null(x.test.f1)}}},
                    {"best_val_auroc", finite_or_null(x.best_val_auroc)},
                    {"best_checkpoint", x.best_checkpoint},
                    {"steps", x.steps},
                    {"seconds", x.seconds}});
  j["runs"] = runs;
  j["runtime"] = {{"seconds", r.seconds}, {"parallel_runs", r.jobs}, {"models", r.runs.size()}};
  return j;
}

std::string downstream_markdown(const DownstreamOptions& o, const DownstreamResult& r) {
  std::vector<std::string> arms;
  for (const auto& a : all_arms())
    if (std::find(o.arms.begin(), o.arms.end(), a) != o.arms.end()) arms.push_back(a);
  std::ostringstream md;
  md << "# Downstream utility: " << r.data.modality << "\n\n";
  md << "Real: `" << o.real_dir.string() << "` (" << r.data.n_train << " train / " << r.data.n_val << " val / "
     << r.data.n_test << " test); ";
  if (o.control != Control::none) md << "synthetic: control " << to_string(o.control) << " (" << r.data.n_synthetic << " held-out real training images)";
  else if (!o.synthetic_dir.empty()) md << "synthetic: `" << o.synthetic_dir.string() << "` (" << r.data.n_synthetic << " images)";
  else md << "no synthetic images";
  md << ". " << r.data.classes.size() << " classes, " << o.seeds << " seeds, classifier " << o.classifier.arch << " (width "
     << o.classifier.width << ", " << o.classifier.epochs << " epochs), synthetic ratio " << format_number(o.synthetic_ratio)
     << ".\n\n";
  auto metric_table = [&](const char* title, const Estimate ArmSummary::*m) {
    md << "## " << title << " (mean ± 95% CI half-width over seeds)\n\n| fraction | n real |";
    for (const auto& a : arms) md << " " << a << " |";
    md << "\n|---|---|";
    for (std::size_t i = 0; i < arms.size(); ++i) md << "---|";
    md << "\n";
    for (const double f : o.fractions) {
      std::size_t n_real = 0;
      for (const auto& s : r.arms)
        if (s.fraction == f && s.arm == kArmReal) n_real = s.n_real;
      md << "| " << format_number(f) << " | " << (n_real ? std::to_string(n_real) : "–") << " |";
      for (const auto& a : arms)
        for (const auto& s : r.arms)
          if (s.fraction == f && s.arm == a) md << " " << (s.feasible ? mean_pm(s.*m) : "n/a") << " |";
      md << "\n";
    }
    md << "\n";
  };
  metric_table("Test AUROC", &ArmSummary::auroc);
  metric_table("Test balanced accuracy", &ArmSummary::balanced_accuracy);
  if (!r.comparisons.empty()) {
    md << "## Comparisons on test AUROC (paired over seeds; " << (o.adjust == "holm" ? "Holm" : "BH")
       << "-adjusted p of the " << (o.test == "t" ? "paired t-test" : "Wilcoxon signed-rank test")
       << " across all " << r.comparisons.size() << " comparisons; alpha " << format_number(o.alpha) << ")\n\n";
    md << "| fraction | comparison | Δ AUROC [95% CI] | t-test p | Wilcoxon p | adjusted p | DeLong seeds +/− | verdict |\n";
    md << "|---|---|---|---|---|---|---|---|\n";
    for (const auto& c : r.comparisons) {
      md << "| " << format_number(c.fraction) << " | " << c.a << " vs " << c.b << " | " << signed3(c.mean_diff);
      if (std::isfinite(c.ci_low)) md << " [" << signed3(c.ci_low) << ", " << signed3(c.ci_high) << "]";
      md << " | " << pval(c.p_t) << " | " << pval(c.p_wilcoxon) << " | " << pval(c.p_adjusted) << " | ";
      if (c.delong_p.empty()) md << "–";
      else md << c.delong_better << "/" << c.delong_worse << " of " << c.delong_p.size();
      md << " | " << c.verdict << " |\n";
    }
    md << "\nDeLong seeds +/−: seeds whose paired DeLong test (p < " << format_number(o.alpha)
       << ", unadjusted) favours the first / second arm.\n\n";
  }
  if (!r.notes.empty()) {
    md << "## Notes\n\n";
    for (const auto& n : r.notes) md << "- " << n << "\n";
    md << "\n";
  }
  std::ostringstream rt;
  rt << std::fixed << std::setprecision(1) << r.seconds;
  md << "Runtime: " << rt.str() << " s for " << r.runs.size() << " models (" << r.jobs << " in parallel, "
     << o.classifier.device << ").\n";
  return md.str();
}

void write_downstream_outputs(const DownstreamOptions& o, const DownstreamResult& r) {
  ensure_dir(o.out_dir);
  write_json_file(o.out_dir / "results.json", downstream_json(o, r));
  atomic_write_text(o.out_dir / "table.md", downstream_markdown(o, r));

  std::ostringstream t;
  t << "fraction,arm,feasible,n_real,n_syn,n_seeds";
  for (const char* m : {"auroc", "accuracy", "balanced_accuracy", "f1"})
    t << "," << m << "_mean," << m << "_ci_low," << m << "_ci_high," << m << "_sd";
  t << "\n";
  for (const auto& a : r.arms) {
    t << format_number(a.fraction) << "," << a.arm << "," << (a.feasible ? 1 : 0) << "," << a.n_real << "," << a.n_syn
      << "," << a.auroc.n;
    for (const auto& [e, sd] : {std::pair<const Estimate*, double>{&a.auroc, a.auroc_sd},
                                {&a.accuracy, a.accuracy_sd},
                                {&a.balanced_accuracy, a.balanced_accuracy_sd},
                                {&a.f1, a.f1_sd}})
      t << "," << csv_num(e->value) << "," << csv_num(e->ci_low) << "," << csv_num(e->ci_high) << "," << csv_num(sd);
    t << "\n";
  }
  atomic_write_text(o.out_dir / "table.csv", t.str());

  std::ostringstream c;
  c << "fraction,a,b,n,mean_a,mean_b,mean_diff,ci_low,ci_high,t,df,p_t,p_t_adjusted,w,p_wilcoxon,p_wilcoxon_adjusted,"
       "wilcoxon_method,delong_seeds_better,delong_seeds_worse,adjust,verdict_test,verdict\n";
  for (const auto& x : r.comparisons)
    c << format_number(x.fraction) << "," << x.a << "," << x.b << "," << x.n << "," << csv_num(x.mean_a) << ","
      << csv_num(x.mean_b) << "," << csv_num(x.mean_diff) << "," << csv_num(x.ci_low) << "," << csv_num(x.ci_high) << ","
      << csv_num(x.t) << "," << csv_num(x.df) << "," << csv_num(x.p_t) << "," << csv_num(x.p_t_adjusted) << ","
      << csv_num(x.w) << "," << csv_num(x.p_wilcoxon) << "," << csv_num(x.p_wilcoxon_adjusted) << ","
      << x.wilcoxon_method << "," << x.delong_better << "," << x.delong_worse << "," << o.adjust << "," << o.test << ","
      << x.verdict << "\n";
  atomic_write_text(o.out_dir / "comparisons.csv", c.str());

  std::ostringstream rr;
  rr << "fraction,arm,seed,n_real,n_syn,class_counts,auroc,accuracy,balanced_accuracy,f1,best_val_auroc,best_checkpoint,"
        "steps,seconds,subset_sha256\n";
  for (const auto& x : r.runs) {
    std::string cc;
    for (std::size_t i = 0; i < x.class_counts.size(); ++i) cc += (i ? ";" : "") + std::to_string(x.class_counts[i]);
    rr << format_number(x.fraction) << "," << x.arm << "," << x.seed << "," << x.n_real << "," << x.n_syn << "," << cc
       << "," << csv_num(x.test.auroc) << "," << csv_num(x.test.accuracy) << "," << csv_num(x.test.balanced_accuracy)
       << "," << csv_num(x.test.f1) << "," << csv_num(x.best_val_auroc) << "," << x.best_checkpoint << "," << x.steps
       << "," << csv_num(x.seconds) << "," << x.subset_sha256 << "\n";
  }
  atomic_write_text(o.out_dir / "runs.csv", rr.str());
}

}  // namespace medsyn::downstream
