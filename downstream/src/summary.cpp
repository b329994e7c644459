// Per-arm summaries and the family of paired comparisons of the downstream experiments.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>

#include "experiment_internal.h"
#include "medsyn/stats/adjust.h"
#include "medsyn/stats/auc.h"
#include "medsyn/stats/tests.h"

namespace medsyn::downstream::detail {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::size_t fraction_index(const DownstreamOptions& o, double f) {
  for (std::size_t i = 0; i < o.fractions.size(); ++i)
    if (o.fractions[i] == f) return i;
  return o.fractions.size();
}

}  // namespace

void summarize(const DownstreamOptions& o, const LoadedData& d, const std::vector<ClassifierRun>& outputs,
               DownstreamResult& res) {
  // (fraction index, arm) -> seed -> run index
  std::map<std::pair<std::size_t, std::string>, std::map<int, std::size_t>> cell;
  for (std::size_t i = 0; i < res.runs.size(); ++i) {
    const auto& r = res.runs[i];
    cell[{fraction_index(o, r.fraction), r.arm}][r.seed] = i;
  }
  std::vector<std::string> arms;
  for (const auto& a : all_arms())
    if (std::find(o.arms.begin(), o.arms.end(), a) != o.arms.end()) arms.push_back(a);
  const auto has = [&](const std::string& a) { return std::find(arms.begin(), arms.end(), a) != arms.end(); };

  res.arms.clear();
  res.comparisons.clear();
  for (std::size_t fi = 0; fi < o.fractions.size(); ++fi) {
    for (const auto& arm : arms) {
      ArmSummary s;
      s.fraction = o.fractions[fi];
      s.arm = arm;
      const auto it = cell.find({fi, arm});
      std::vector<double> auc, acc, bacc, f1;
      if (it != cell.end()) {
        for (const auto& [seed, idx] : it->second) {
          const auto& r = res.runs[idx];
          auc.push_back(r.test.auroc);
          acc.push_back(r.test.accuracy);
          bacc.push_back(r.test.balanced_accuracy);
          f1.push_back(r.test.f1);
          s.n_real = r.n_real;
          s.n_syn = r.n_syn;
        }
      }
      s.feasible = !auc.empty();
      std::tie(s.auroc, s.auroc_sd) = seed_metric(auc);
      std::tie(s.accuracy, s.accuracy_sd) = seed_metric(acc);
      std::tie(s.balanced_accuracy, s.balanced_accuracy_sd) = seed_metric(bacc);
      std::tie(s.f1, s.f1_sd) = seed_metric(f1);
      res.arms.push_back(s);
    }

    std::vector<std::pair<std::string, std::string>> pairs;
    for (const char* a : {kArmRealSyn, kArmSyn, kArmTwiceReal})
      if (has(a) && has(kArmReal)) pairs.emplace_back(a, kArmReal);
    if (has(kArmRealSyn) && has(kArmTwiceReal)) pairs.emplace_back(kArmRealSyn, kArmTwiceReal);
    for (const auto& [a, b] : pairs) {
      const auto ia = cell.find({fi, a});
      const auto ib = cell.find({fi, b});
      if (ia == cell.end() || ib == cell.end()) continue;  // infeasible cell (noted in res.notes)
      Comparison c;
      c.fraction = o.fractions[fi];
      c.a = a;
      c.b = b;
      std::vector<double> va, vb;
      std::vector<std::pair<std::size_t, std::size_t>> run_pairs;
      for (const auto& [seed, idx_a] : ia->second) {
        const auto jb = ib->second.find(seed);
        if (jb == ib->second.end()) continue;
        va.push_back(res.runs[idx_a].test.auroc);
        vb.push_back(res.runs[jb->second].test.auroc);
        run_pairs.emplace_back(idx_a, jb->second);
      }
      c.n = va.size();
      c.mean_a = seed_metric(va).first.value;
      c.mean_b = seed_metric(vb).first.value;
      c.mean_diff = c.mean_a - c.mean_b;
      c.ci_low = c.ci_high = c.t = c.df = c.p_t = c.w = c.p_wilcoxon = kNaN;
      c.p_adjusted = c.p_t_adjusted = c.p_wilcoxon_adjusted = kNaN;
      if (c.n >= 2) {
        const auto pt = stats::paired_tests(va, vb);
        c.mean_diff = pt.t.mean_diff;
        c.ci_low = pt.t.ci_low;
        c.ci_high = pt.t.ci_high;
        if (pt.t.sd_diff == 0) c.ci_low = c.ci_high = c.mean_diff;
        c.t = pt.t.t;
        c.df = pt.t.df;
        c.p_t = pt.t.p;
        c.w = pt.wilcoxon.w;
        c.p_wilcoxon = pt.wilcoxon.p;
        c.wilcoxon_method = pt.wilcoxon.method;
        c.warnings = pt.warnings;
      } else {
        c.warnings.push_back("paired tests need at least 2 seeds");
      }
      if (d.num_classes == 2) {
        const auto& labels = d.test.labels;  // class 1 is the positive class
        const std::size_t n = labels.size();
        std::vector<double> sa(n), sb(n);
        for (const auto& [ra, rb] : run_pairs) {
          for (std::size_t i = 0; i < n; ++i) {
            sa[i] = outputs[ra].test_probs[i * 2 + 1];
            sb[i] = outputs[rb].test_probs[i * 2 + 1];
          }
          const auto dl = stats::delong_paired_test(labels, sa, sb);
          c.delong_p.push_back(dl.p);
          c.delong_diff.push_back(dl.diff);
          if (dl.p < o.alpha && dl.diff > 0) ++c.delong_better;
          if (dl.p < o.alpha && dl.diff < 0) ++c.delong_worse;
        }
      } else {
        c.warnings.push_back("paired DeLong is defined for binary tasks; not computed for " +
                             std::to_string(d.num_classes) + " classes (macro one-vs-rest AUROC)");
      }
      res.comparisons.push_back(std::move(c));
    }
  }

  // Multiple-testing correction across the whole family (every fraction and comparison).
  const auto method = stats::parse_adjust_method(o.adjust);
  auto adjust = [&](auto get, auto set) {
    std::vector<double> p;
    std::vector<std::size_t> where;
    for (std::size_t i = 0; i < res.comparisons.size(); ++i) {
      const double v = get(res.comparisons[i]);
      if (std::isfinite(v)) {
        p.push_back(v);
        where.push_back(i);
      }
    }
    if (p.empty()) return;
    const auto adj = stats::p_adjust(p, method);
    for (std::size_t j = 0; j < where.size(); ++j) set(res.comparisons[where[j]], adj[j]);
  };
  adjust([](const Comparison& c) { return c.p_t; }, [](Comparison& c, double v) { c.p_t_adjusted = v; });
  adjust([](const Comparison& c) { return c.p_wilcoxon; }, [](Comparison& c, double v) { c.p_wilcoxon_adjusted = v; });
  for (auto& c : res.comparisons) {
    c.p_adjusted = o.test == "t" ? c.p_t_adjusted : c.p_wilcoxon_adjusted;
    if (c.n < 2) c.verdict = "not tested";
    else if (std::isfinite(c.p_adjusted) && c.p_adjusted < o.alpha) c.verdict = c.mean_diff > 0 ? "better" : "worse";
    else c.verdict = "no significant difference";
  }
}

}  // namespace medsyn::downstream::detail
