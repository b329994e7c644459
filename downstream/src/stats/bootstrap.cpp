// Stratified bootstrap confidence intervals (percentile and BCa) for binary-classifier metrics.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "common.h"
#include "medsyn/downstream/stats.h"

namespace medsyn::downstream::stats {

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

// Uniform integer in [0, n) from mt19937_64 by rejection: the same on every platform.
std::size_t draw(std::mt19937_64& rng, std::size_t n) {
  const std::uint64_t un = n;
  const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % un;
  for (;;) {
    const std::uint64_t x = rng();
    if (x < limit) return static_cast<std::size_t>(x % un);
  }
}

}  // namespace

double binary_metric(Metric metric, std::span<const int> labels, std::span<const double> scores, double threshold) {
  detail::check_binary_input(labels, scores);
  if (metric == Metric::auc) return auroc(labels, scores);
  const auto c = confusion(labels, scores, threshold);
  if (metric == Metric::accuracy) return (c.tp + c.tn) / (c.m + c.n);
  return 0.5 * (c.tp / c.m + c.tn / c.n);
}

double quantile_linear(std::vector<double> values, double q) {
  if (values.empty()) throw InputError("quantile of an empty set");
  if (!(q >= 0.0 && q <= 1.0)) throw InputError("quantile must be in [0, 1], got " + std::to_string(q));
  std::sort(values.begin(), values.end());
  const double h = (static_cast<double>(values.size()) - 1.0) * q;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  if (lo + 1 >= values.size()) return values.back();
  const double t = h - static_cast<double>(lo);
  const double a = values[lo], b = values[lo + 1];
  // numpy's _lerp: symmetric formulation for t >= 0.5
  return t >= 0.5 ? b - (b - a) * (1.0 - t) : a + (b - a) * t;
}

void percentile_interval(std::span<const double> replicates, double level, double& low, double& high) {
  detail::require_level(level);
  const double alpha = (1.0 - level) / 2.0;
  std::vector<double> v(replicates.begin(), replicates.end());
  low = quantile_linear(v, alpha);
  high = quantile_linear(v, 1.0 - alpha);
}

void bca_interval(double estimate, std::span<const double> replicates, std::span<const double> jackknife,
                  double level, double& low, double& high, double& z0, double& acceleration) {
  detail::require_level(level);
  if (replicates.empty()) throw InputError("BCa interval needs bootstrap replicates");
  if (jackknife.size() < 2) throw InputError("BCa interval needs at least 2 jackknife values");
  const double b = static_cast<double>(replicates.size());
  double below = 0, below_eq = 0;
  for (double v : replicates) {
    below += v < estimate;
    below_eq += v <= estimate;
  }
  z0 = detail::normal_quantile(std::clamp((below + below_eq) / (2.0 * b), 0.0, 1.0));
  if (std::isnan(z0)) z0 = 0;  // unreachable with clamping; kept for safety
  // acceleration from the jackknife, as scipy (Efron & Tibshirani eq. 14.15)
  const double nj = static_cast<double>(jackknife.size());
  const double mean = std::accumulate(jackknife.begin(), jackknife.end(), 0.0) / nj;
  double num = 0, den = 0;
  for (double v : jackknife) {
    const double u = (nj - 1.0) * (mean - v);
    num += u * u * u;
    den += u * u;
  }
  num /= nj * nj * nj;
  den /= nj * nj;
  acceleration = den > 0 ? num / (6.0 * std::pow(den, 1.5)) : NAN;
  const double alpha = (1.0 - level) / 2.0;
  const double za = detail::normal_quantile(alpha);
  const double n1 = z0 + za, n2 = z0 - za;
  const double a1 = detail::normal_cdf(z0 + n1 / (1.0 - acceleration * n1));
  const double a2 = detail::normal_cdf(z0 + n2 / (1.0 - acceleration * n2));
  if (std::isnan(a1) || std::isnan(a2)) {
    low = high = NAN;
    return;
  }
  std::vector<double> v(replicates.begin(), replicates.end());
  low = quantile_linear(v, a1);
  high = quantile_linear(v, a2);
}

BootstrapResult stratified_bootstrap(std::span<const int> labels, std::span<const double> scores, Metric metric,
                                     const BootstrapOptions& options) {
  detail::require_level(options.level);
  if (options.resamples < 1) throw InputError("bootstrap resamples must be >= 1, got " + std::to_string(options.resamples));
  if (!std::isfinite(options.threshold)) throw InputError("bootstrap threshold must be finite");
  BootstrapResult r;
  r.estimate = binary_metric(metric, labels, scores, options.threshold);  // validates the input
  r.level = options.level;
  r.method = options.method;
  r.metric = metric;
  r.resamples = options.resamples;
  r.seed = options.seed;
  std::vector<std::size_t> pos, neg;
  for (std::size_t i = 0; i < labels.size(); ++i) (labels[i] == 1 ? pos : neg).push_back(i);
  r.n_pos = pos.size();
  r.n_neg = neg.size();

  std::mt19937_64 rng(options.seed);
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
      for (std::size_t i = 0; i < r.n_pos; ++i) gp[group[pos[draw(rng, r.n_pos)]]] += 1;
      for (std::size_t j = 0; j < r.n_neg; ++j) gn[group[neg[draw(rng, r.n_neg)]]] += 1;
      double num = 0, below = 0;
      for (std::size_t g = 0; g < groups; ++g) {
        num += gp[g] * (below + 0.5 * gn[g]);
        below += gn[g];
      }
      rep = num / pairs;
    }
  } else {
    for (auto& rep : reps) {
      for (std::size_t i = 0; i < r.n_pos; ++i) bs[i] = scores[pos[draw(rng, r.n_pos)]];
      for (std::size_t j = 0; j < r.n_neg; ++j) bs[r.n_pos + j] = scores[neg[draw(rng, r.n_neg)]];
      rep = binary_metric(metric, bl, bs, options.threshold);
    }
  }
  r.boot_mean = std::accumulate(reps.begin(), reps.end(), 0.0) / static_cast<double>(reps.size());
  double ss = 0;
  for (double v : reps) ss += (v - r.boot_mean) * (v - r.boot_mean);
  r.boot_se = reps.size() > 1 ? std::sqrt(ss / static_cast<double>(reps.size() - 1)) : NAN;

  if (options.method == CiMethod::percentile) {
    percentile_interval(reps, options.level, r.ci_low, r.ci_high);
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
    bca_interval(r.estimate, reps, jack, options.level, r.ci_low, r.ci_high, r.z0, r.acceleration);
    if (std::isnan(r.acceleration)) {
      // Every leave-one-out value is equal: no skewness information; BCa reduces to bias correction.
      r.acceleration = 0;
      const double alpha = (1.0 - options.level) / 2.0;
      const double za = detail::normal_quantile(alpha);
      r.ci_low = quantile_linear(reps, detail::normal_cdf(2 * r.z0 + za));
      r.ci_high = quantile_linear(reps, detail::normal_cdf(2 * r.z0 - za));
      r.warnings.push_back("all jackknife values are equal: BCa acceleration set to 0");
    }
  }
  const bool degenerate = std::all_of(reps.begin(), reps.end(), [&](double v) { return v == reps[0]; });
  if (degenerate) r.warnings.push_back("every bootstrap replicate has the same value; the CI is degenerate");
  r.replicates = std::move(reps);
  return r;
}

}  // namespace medsyn::downstream::stats
