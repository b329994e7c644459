#include "medsyn/stats/results_json.h"

#include <nlohmann/json.hpp>

#include "medsyn/core/json.h"
#include "medsyn/stats/classification.h"

namespace medsyn::stats {

namespace {
using nlohmann::json;
json num(double v) { return finite_or_null(v); }
}  // namespace

json auc_json(const AucCi& r, std::size_t n) {
  return {{"n", n}, {"n_pos", r.n_pos}, {"n_neg", r.n_neg}, {"auc", num(r.auc)},
          {"ci_low", num(r.ci_low)}, {"ci_high", num(r.ci_high)}, {"level", r.level},
          {"variance", num(r.variance)}, {"se", num(r.se)}, {"ci_method", "delong"},
          {"estimand", "AUROC of the population the cases and controls were drawn from"},
          {"warnings", r.warnings}};
}

json delong_json(const DelongTest& r, std::size_t n) {
  return {{"n", n}, {"n_pos", r.n_pos}, {"n_neg", r.n_neg},
          {"auc_a", num(r.auc_a)}, {"auc_b", num(r.auc_b)}, {"diff", num(r.diff)},
          {"var_a", num(r.var_a)}, {"var_b", num(r.var_b)}, {"cov_ab", num(r.cov_ab)},
          {"se_diff", num(r.se_diff)}, {"z", num(r.z)}, {"p", num(r.p)},
          {"ci_low", num(r.ci_low)}, {"ci_high", num(r.ci_high)}, {"level", r.level},
          {"alternative", "two-sided"},
          {"estimand", "difference of population AUROCs of two scores on the same cases (paired)"},
          {"warnings", r.warnings}};
}

json paired_json(const PairedResult& r) {
  return {{"n", r.n}, {"mean_a", num(r.mean_a)}, {"mean_b", num(r.mean_b)},
          {"mean_diff", num(r.t.mean_diff)}, {"sd_diff", num(r.t.sd_diff)},
          {"ci_low", num(r.t.ci_low)}, {"ci_high", num(r.t.ci_high)}, {"level", r.t.level},
          {"estimand", "population mean of the paired difference a - b"},
          {"t_test", {{"t", num(r.t.t)}, {"df", num(r.t.df)}, {"p", num(r.t.p)}}},
          {"wilcoxon", {{"w", num(r.wilcoxon.w)}, {"p", num(r.wilcoxon.p)},
                        {"method", r.wilcoxon.method}, {"z", num(r.wilcoxon.z)},
                        {"r_plus", num(r.wilcoxon.r_plus)}, {"r_minus", num(r.wilcoxon.r_minus)},
                        {"n_zero", r.wilcoxon.n_zero}, {"ties", r.wilcoxon.has_ties}}},
          {"difference", "a - b"}, {"warnings", r.warnings}};
}

json stratified_bootstrap_json(const StratifiedBootstrapResult& r, std::size_t n, double threshold) {
  const Estimate& e = r.estimate;
  json j = {{"metric", to_string(r.metric)}, {"n", n},
            {"n_pos", r.n_pos}, {"n_neg", r.n_neg}, {"estimate", num(e.value)},
            {"ci_low", num(e.ci_low)}, {"ci_high", num(e.ci_high)}, {"level", e.ci_level},
            {"method", to_string(r.method)}, {"resamples", e.replicates}, {"seed", r.seed},
            {"estimand", "the metric in the population the cases and controls were drawn from"},
            {"stratified", true}, {"boot_mean", num(r.boot_mean)}, {"boot_se", num(e.se)},
            {"warnings", r.warnings}};
  if (r.metric != Metric::auc) j["threshold"] = threshold;
  if (r.method == CiMethod::bca) {
    j["z0"] = num(r.z0);
    j["acceleration"] = num(r.acceleration);
  }
  return j;
}

}  // namespace medsyn::stats
