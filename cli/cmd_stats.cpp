// `medsynbench stats ...`: AUROC with DeLong CI, paired DeLong test, paired t / Wilcoxon tests,
// p-value adjustment and stratified bootstrap CIs. Thin wrappers over the medsyn_stats library
// (medsyn/stats/*.h); inputs are CSV / number-list files read by stats/csv.h (errors name
// file:line).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <sstream>

#include "commands.h"
#include "medsyn/core/error.h"
#include "medsyn/core/json.h"
#include "medsyn/stats/adjust.h"
#include "medsyn/stats/auc.h"
#include "medsyn/stats/classification.h"
#include "medsyn/stats/csv.h"
#include "medsyn/stats/intervals.h"
#include "medsyn/stats/results_json.h"
#include "medsyn/stats/tests.h"

namespace medsyn::cli {

namespace st = medsyn::stats;

namespace {

std::string fmt(double v, int digits = 4) {
  if (std::isnan(v)) return "nan";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string fmt_p(double p) {
  if (std::isnan(p)) return "nan";
  char buf[64];
  std::snprintf(buf, sizeof buf, p < 1e-4 ? "%.3g" : "%.4f", p);
  return buf;
}

std::string pct(double level) {
  std::ostringstream os;
  os << level * 100 << "%";
  return os.str();
}

void print_warnings(const std::vector<std::string>& w) {
  for (const auto& s : w) std::cerr << "warning: " << s << "\n";
}

// Rethrows a library InputError with the file name in front, so messages name the input.
template <class F>
auto with_file(const std::string& file, F&& f) {
  try {
    return f();
  } catch (const InputError& e) {
    const std::string msg = e.what();
    if (msg.rfind(file, 0) == 0) throw;
    throw InputError(at_file(file, msg));
  }
}

void check_level(double level) {
  if (!(level > 0 && level < 1)) throw InputError("--level must be between 0 and 1 (exclusive), got " + std::to_string(level));
}

struct Common {
  std::string scores, label_col = "y";
  double level = 0.95;
  bool json_out = false;
};

void add_scores_options(CLI::App* c, Common& o) {
  c->add_option("--scores", o.scores, "CSV file with a header line; one row per test image")->required();
  c->add_option("--label-col", o.label_col, "Column with the binary label (1 = positive, 0 = negative)")
      ->capture_default_str();
  c->add_option("--level", o.level, "Confidence level of the intervals")->capture_default_str();
  c->add_flag("--json", o.json_out, "Print JSON");
}

}  // namespace

void register_stats_commands(CLI::App& root) {
  auto* g = group(root, "stats", "Statistics: AUROC with DeLong CIs, paired tests, p-value adjustment, bootstrap CIs");

  // ---- stats auc
  {
    auto o = std::make_shared<Common>();
    auto score_col = std::make_shared<std::string>("s");
    auto* c = g->add_subcommand("auc", "AUROC with its DeLong confidence interval (as R pROC ci.auc)");
    add_scores_options(c, *o);
    c->add_option("--score-col", *score_col, "Column with the score (higher = more likely positive)")
        ->capture_default_str();
    c->callback([o, score_col] {
      check_level(o->level);
      const auto t = st::read_csv(o->scores);
      const auto y = t.binary_labels(o->label_col);
      const auto s = t.numeric(*score_col);
      const auto r = with_file(o->scores, [&] { return st::auc_delong_ci(y, s, o->level); });
      print_warnings(r.warnings);
      if (o->json_out) {
        json j = st::auc_json(r, y.size());
        j.update(json{{"command", "stats auc"}, {"scores", o->scores}, {"label_col", o->label_col}, {"score_col", *score_col}});
        print_json(j);
      } else {
        std::cout << "AUROC " << fmt(r.auc) << " (" << pct(r.level) << " CI " << fmt(r.ci_low) << " - "
                  << fmt(r.ci_high) << ", DeLong), n = " << y.size() << " (" << r.n_pos << " positive, "
                  << r.n_neg << " negative)\n";
      }
    });
  }

  // ---- stats delong
  {
    auto o = std::make_shared<Common>();
    auto a = std::make_shared<std::string>(), b = std::make_shared<std::string>();
    auto* c = g->add_subcommand(
        "delong", "Paired DeLong test of two correlated AUROCs (as R pROC roc.test, method = delong, paired)");
    add_scores_options(c, *o);
    c->add_option("--a", *a, "Score column of classifier A")->required();
    c->add_option("--b", *b, "Score column of classifier B")->required();
    c->callback([o, a, b] {
      check_level(o->level);
      const auto t = st::read_csv(o->scores);
      const auto y = t.binary_labels(o->label_col);
      const auto sa = t.numeric(*a);
      const auto sb = t.numeric(*b);
      const auto r = with_file(o->scores, [&] { return st::delong_paired_test(y, sa, sb, o->level); });
      print_warnings(r.warnings);
      if (o->json_out) {
        json j = st::delong_json(r, y.size());
        j.update(json{{"command", "stats delong"}, {"scores", o->scores}, {"label_col", o->label_col}, {"a", *a}, {"b", *b}});
        print_json(j);
      } else {
        std::cout << "AUROC " << *a << " = " << fmt(r.auc_a) << ", " << *b << " = " << fmt(r.auc_b)
                  << "; difference " << fmt(r.diff) << " (" << pct(r.level) << " CI " << fmt(r.ci_low) << " - "
                  << fmt(r.ci_high) << ")\nDeLong paired test: z = " << fmt(r.z, 3) << ", p = " << fmt_p(r.p)
                  << " (two-sided), n = " << y.size() << " (" << r.n_pos << " positive, " << r.n_neg
                  << " negative)\n";
      }
    });
  }

  // ---- stats paired
  {
    auto fa = std::make_shared<std::string>(), fb = std::make_shared<std::string>();
    auto level = std::make_shared<double>(0.95);
    auto json_out = std::make_shared<bool>(false);
    auto* c = g->add_subcommand("paired", "Paired t-test and Wilcoxon signed-rank test (one number per line, paired by line)");
    c->add_option("--a", *fa, "File with one number per line (arm A)")->required();
    c->add_option("--b", *fb, "File with one number per line (arm B), same count as --a")->required();
    c->add_option("--level", *level, "Confidence level of the mean-difference CI")->capture_default_str();
    c->add_flag("--json", *json_out, "Print JSON");
    c->callback([fa, fb, level, json_out] {
      check_level(*level);
      const auto a = st::read_number_list(*fa);
      const auto b = st::read_number_list(*fb);
      if (a.size() != b.size())
        throw InputError(*fa + " has " + std::to_string(a.size()) + " numbers but " + *fb + " has " +
                         std::to_string(b.size()) + "; the two files must be paired line by line");
      const auto r = st::paired_tests(a, b, *level);
      print_warnings(r.warnings);
      if (*json_out) {
        json j = st::paired_json(r);
        j.update(json{{"command", "stats paired"}, {"a", *fa}, {"b", *fb}});
        print_json(j);
      } else {
        std::cout << "n = " << r.n << " pairs; mean a = " << fmt(r.mean_a) << ", mean b = " << fmt(r.mean_b)
                  << "\nmean difference (a - b) " << fmt(r.t.mean_diff) << " (" << pct(r.t.level) << " CI "
                  << fmt(r.t.ci_low) << " - " << fmt(r.t.ci_high) << ")\npaired t-test: t = " << fmt(r.t.t, 3)
                  << ", df = " << fmt(r.t.df, 0) << ", p = " << fmt_p(r.t.p) << "\nWilcoxon signed-rank: W = "
                  << fmt(r.wilcoxon.w, 1) << ", p = " << fmt_p(r.wilcoxon.p) << " (" << r.wilcoxon.method << ")\n";
      }
    });
  }

  // ---- stats adjust
  {
    auto method = std::make_shared<std::string>("holm");
    auto values = std::make_shared<std::vector<std::string>>();
    auto json_out = std::make_shared<bool>(false);
    auto* c = g->add_subcommand("adjust", "Adjusted p-values for multiple comparisons (as R p.adjust)");
    c->add_option("--method", *method, "holm (family-wise error) or bh (Benjamini-Hochberg false discovery rate)")
        ->capture_default_str();
    c->add_option("pvalues", *values, "P-values, in [0, 1]")->required();
    c->add_flag("--json", *json_out, "Print JSON");
    c->callback([method, values, json_out] {
      const auto m = st::parse_adjust_method(*method);
      std::vector<double> p;
      for (std::size_t i = 0; i < values->size(); ++i) {
        const std::string& s = (*values)[i];
        char* end = nullptr;
        const double v = std::strtod(s.c_str(), &end);
        if (s.empty() || end != s.c_str() + s.size() || !(v >= 0.0 && v <= 1.0))
          throw InputError("p-value " + std::to_string(i + 1) + " '" + s + "' is not a number in [0, 1]");
        p.push_back(v);
      }
      const auto adj = st::p_adjust(p, m);
      if (*json_out) {
        print_json({{"command", "stats adjust"}, {"method", st::to_string(m)}, {"p", p}, {"adjusted", adj}});
      } else {
        std::cout << "p\tadjusted (" << st::to_string(m) << ")\n";
        for (std::size_t i = 0; i < p.size(); ++i) std::cout << (*values)[i] << "\t" << fmt_p(adj[i]) << "\n";
      }
    });
  }

  // ---- stats bootstrap
  {
    auto o = std::make_shared<Common>();
    auto score_col = std::make_shared<std::string>("s");
    auto metric = std::make_shared<std::string>();
    auto method = std::make_shared<std::string>("percentile");
    auto opt = std::make_shared<st::StratifiedBootstrapOptions>();
    auto* c = g->add_subcommand("bootstrap", "Stratified bootstrap CI of auc, accuracy or balanced_accuracy");
    add_scores_options(c, *o);
    c->add_option("--score-col", *score_col,
                  "Column with the score; accuracy metrics predict positive when score >= --threshold "
                  "(use a 0/1 prediction column for hard labels)")
        ->capture_default_str();
    c->add_option("--metric", *metric, "auc | accuracy | balanced_accuracy")->required();
    c->add_option("--resamples", opt->resamples, "Bootstrap resamples")->capture_default_str();
    c->add_option("--seed", opt->seed, "Random seed (same seed, same interval)")->capture_default_str();
    c->add_option("--method", *method, "percentile | bca")->capture_default_str();
    c->add_option("--threshold", opt->threshold, "Decision threshold for accuracy metrics")->capture_default_str();
    c->callback([o, score_col, metric, method, opt] {
      check_level(o->level);
      if (opt->resamples < 1) throw InputError("--resamples must be >= 1, got " + std::to_string(opt->resamples));
      const auto m = st::parse_metric(*metric);
      opt->method = st::parse_ci_method(*method);
      opt->level = o->level;
      const auto t = st::read_csv(o->scores);
      const auto y = t.binary_labels(o->label_col);
      const auto s = t.numeric(*score_col);
      const auto r = with_file(o->scores, [&] { return st::stratified_bootstrap(y, s, m, *opt); });
      const Estimate& e = r.estimate;
      print_warnings(r.warnings);
      if (o->json_out) {
        json j = st::stratified_bootstrap_json(r, y.size(), opt->threshold);
        j.update(json{{"command", "stats bootstrap"}, {"scores", o->scores}, {"label_col", o->label_col}, {"score_col", *score_col}});
        print_json(j);
      } else {
        std::cout << st::to_string(m) << " " << fmt(e.value) << " (" << pct(e.ci_level) << " CI " << fmt(e.ci_low)
                  << " - " << fmt(e.ci_high) << ", stratified bootstrap, " << st::to_string(r.method) << ", "
                  << e.replicates << " resamples, seed " << r.seed << "), n = " << y.size() << " (" << r.n_pos
                  << " positive, " << r.n_neg << " negative)\n";
      }
    });
  }
}

}  // namespace medsyn::cli
