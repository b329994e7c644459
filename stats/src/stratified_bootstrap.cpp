// Stratified bootstrap confidence intervals (percentile and BCa) for binary-classifier metrics,
// and the binary metrics themselves (classification.h).
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "common.h"
#include "medsyn/stats/auc.h"
#include "medsyn/stats/intervals.h"
#include "medsyn/stats/quantile.h"
#include "medsyn/stats/random.h"

namespace medsyn::stats {

Metric parse_metric(const std::string& name) {
  if (name == "auc") return Metric::auc;
  if (name == "accuracy") return Metric::accuracy;
  if (name == "balanced_accuracy") return Metric::balanced_accuracy;
  throw InputError("unknown metric '" + name + "' (expected auc, accuracy or balanced_accuracy)");
}

std::string to_string(Metric m) {
  switch (m) {
    case Metric::auc: return "auc";
    case Metric::accuracy: return "accuracy";
    case Metric::balanced_accuracy: return "balanced_accuracy";
  }
  return "?";
}

CiMethod parse_ci_method(const std::string& name) {
  if (name == "percentile") return CiMethod::percentile;
  if (name == "bca" || name == "BCa") return CiMethod::bca;
  throw InputError("unknown bootstrap CI method '" + name + "' (expected percentile or bca)");
}

std::string to_string(CiMethod m) { return m == CiMethod::percentile ? "percentile" : "bca"; }

namespace {

struct Confusion {
  double tp = 0, tn = 0, m = 0, n = 0;  // m cases, n controls
};

Confusion confusion(std::span<const int> labels, std::span<const double> scores, double threshold) {
  Confusion c;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const bool pred = scores[i] >= threshold;
    if (labels[i] == 1) {
      c.m += 1;
      c.tp += pred;
    } else {
      c.n += 1;
      c.tn += !pred;
    }
  }
  return c;
}

}  // namespace

double binary_metric(Metric metric, std::span<const int> labels, std::span<const double> scores, double threshold) {
  detail::check_binary_input(labels, scores);
  if (metric == Metric::auc) return auroc(labels, scores);
  const auto c = confusion(labels, scores, threshold);
  if (metric == Metric::accuracy) return (c.tp + c.tn) / (c.m + c.n);
  return 0.5 * (c.tp / c.m + c.tn / c.n);
}

StratifiedBootstrapResult stratified_bootstrap(std::span<const int> labels, std::span<const double> scores, Metric metric,
                                               const StratifiedBootstrapOptions& options) {
  detail::require_level(options.level);
  if (options.resamples < 1) throw InputError("bootstrap resamples must be >= 1, got " + std::to_string(options.resamples));
  if (!std::isfinite(options.threshold)) throw InputError("bootstrap threshold must be finite");
  StratifiedBootstrapResult r;
  Estimate& e = r.estimate;
  e.value = binary_metric(metric, labels, scores, options.threshold);  // validates the input
  e.ci_level = options.level;
  e.ci_method = options.method == CiMethod::percentile ? "percentile bootstrap" : "bca bootstrap";
  e.replicates = options.resamples;
  r.method = options.method;
  r.metric = metric;
  r.seed = options.seed;
  std::vector<std::size_t> pos, neg;
  for (std::size_t i = 0; i < labels.size(); ++i) (labels[i] == 1 ? pos : neg).push_back(i);
  r.n_pos = pos.size();
  r.n_neg = neg.size();
  e.n = static_cast<long long>(labels.size());

  Rng rng(options.seed);
  const std::size_t n = labels.size();
  std::vector<int> bl(n);
  std::vector<double> bs(n);
  for (std::size_t i = 0; i < r.n_pos; ++i) bl[i] = 1;
  for (std::size_t i = r.n_pos; i < n; ++i) bl[i] = 0;
  std::vector<double> reps(static_cast<std::size_t>(options.resamples));
  if (metric == Metric::auc) {
    // O(N) per replicate: rank the scores once into tie groups, then count how often each group
    // is drawn among cases and controls; AUC = sum over groups of cases x (controls below + half
    // the tied controls), all in exact integer-valued doubles.
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
    std::vector<std::size_t> group(n);
    std::size_t groups = 0;
    for (std::size_t k = 0; k < n; ++k) {
      if (k > 0 && scores[order[k]] != scores[order[k - 1]]) ++groups;
      group[order[k]] = groups;
    }
    ++groups;
    std::vector<double> gp(groups), gn(groups);
    const double pairs = static_cast<double>(r.n_pos) * static_cast<double>(r.n_neg);
    for (auto& rep : reps) {
      std::fill(gp.begin(), gp.end(), 0.0);
      std::fill(gn.begin(), gn.end(), 0.0);
      for (std::size_t i = 0; i < r.n_pos; ++i) gp[group[pos[random_below(rng, r.n_pos)]]] += 1;
      for (std::size_t j = 0; j < r.n_neg; ++j) gn[group[neg[random_below(rng, r.n_neg)]]] += 1;
      double num = 0, below = 0;
      for (std::size_t g = 0; g < groups; ++g) {
        num += gp[g] * (below + 0.5 * gn[g]);
        below += gn[g];
      }
      rep = num / pairs;
    }
  } else {
    for (auto& rep : reps) {
      for (std::size_t i = 0; i < r.n_pos; ++i) bs[i] = scores[pos[random_below(rng, r.n_pos)]];
      for (std::size_t j = 0; j < r.n_neg; ++j) bs[r.n_pos + j] = scores[neg[random_below(rng, r.n_neg)]];
      rep = binary_metric(metric, bl, bs, options.threshold);
    }
  }
  r.boot_mean = std::accumulate(reps.begin(), reps.end(), 0.0) / static_cast<double>(reps.size());
  double ss = 0;
  for (double v : reps) ss += (v - r.boot_mean) * (v - r.boot_mean);
  e.se = reps.size() > 1 ? std::sqrt(ss / static_cast<double>(reps.size() - 1)) : NAN;

  if (options.method == CiMethod::percentile) {
    percentile_interval(reps, options.level, e.ci_low, e.ci_high);
  } else {
    if (r.n_pos < 2 || r.n_neg < 2)
      throw InputError("BCa needs at least 2 cases and 2 controls for its jackknife (have " +
                       std::to_string(r.n_pos) + " and " + std::to_string(r.n_neg) + ")");
    // Leave-one-out values over all n observations, in closed form.
    std::vector<double> jack;
    jack.reserve(n);
    if (metric == Metric::auc) {
      const auto p = detail::delong_placements(labels, scores);
      const double m = static_cast<double>(r.n_pos), nn = static_cast<double>(r.n_neg);
      for (double v : p.v10) jack.push_back((m * p.auc - v) / (m - 1.0));
      for (double v : p.v01) jack.push_back((nn * p.auc - v) / (nn - 1.0));
    } else {
      const auto c = confusion(labels, scores, options.threshold);
      for (std::size_t i = 0; i < n; ++i) {
        const bool pred = scores[i] >= options.threshold;
        const bool is_pos = labels[i] == 1;
        const double correct = is_pos ? pred : !pred;
        if (metric == Metric::accuracy) {
          jack.push_back((c.tp + c.tn - correct) / (c.m + c.n - 1.0));
        } else if (is_pos) {
          jack.push_back(0.5 * ((c.tp - correct) / (c.m - 1.0) + c.tn / c.n));
        } else {
          jack.push_back(0.5 * (c.tp / c.m + (c.tn - correct) / (c.n - 1.0)));
        }
      }
    }
    bca_interval(e.value, reps, jack, options.level, e.ci_low, e.ci_high, r.z0, r.acceleration);
    if (std::isnan(r.acceleration)) {
      // Every leave-one-out value is equal: no skewness information; BCa reduces to bias correction.
      r.acceleration = 0;
      const double alpha = (1.0 - options.level) / 2.0;
      const double za = normal_quantile(alpha);
      e.ci_low = quantile_linear(reps, normal_cdf(2 * r.z0 + za));
      e.ci_high = quantile_linear(reps, normal_cdf(2 * r.z0 - za));
      r.warnings.push_back("all jackknife values are equal: BCa acceleration set to 0");
    }
  }
  const bool degenerate = std::all_of(reps.begin(), reps.end(), [&](double v) { return v == reps[0]; });
  if (degenerate) r.warnings.push_back("every bootstrap replicate has the same value; the CI is degenerate");
  r.replicates = std::move(reps);
  return r;
}

}  // namespace medsyn::stats
