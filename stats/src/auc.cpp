// AUROC, DeLong confidence interval and the paired DeLong test (Sun & Xu 2014 midranks).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "common.h"
#include "medsyn/stats/quantile.h"
#include "medsyn/stats/auc.h"

namespace medsyn::stats {

namespace detail {

void check_binary_input(std::span<const int> labels, std::span<const double> scores) {
  require_same_size(labels.size(), scores.size(), "labels", "scores");
  if (labels.empty()) throw InputError("AUROC needs at least one case and one control; got no data");
  require_binary(labels);
  require_finite(scores, "scores");
  std::size_t pos = 0;
  for (int l : labels) pos += (l == 1);
  if (pos == 0 || pos == labels.size())
    throw InputError(std::string("AUROC needs both classes; all ") + std::to_string(labels.size()) +
                     " labels are " + (pos == 0 ? "0" : "1"));
}

Placements delong_placements(std::span<const int> labels, std::span<const double> scores) {
  check_binary_input(labels, scores);
  std::vector<double> x, y;  // cases, controls
  for (std::size_t i = 0; i < labels.size(); ++i) (labels[i] == 1 ? x : y).push_back(scores[i]);
  const std::size_t m = x.size(), n = y.size();
  std::vector<double> z(x);
  z.insert(z.end(), y.begin(), y.end());
  const auto tx = midranks(x), ty = midranks(y), tz = midranks(z);
  Placements p;
  p.v10.resize(m);
  p.v01.resize(n);
  for (std::size_t i = 0; i < m; ++i) p.v10[i] = (tz[i] - tx[i]) / static_cast<double>(n);
  for (std::size_t j = 0; j < n; ++j) p.v01[j] = 1.0 - (tz[m + j] - ty[j]) / static_cast<double>(m);
  p.auc = std::accumulate(p.v10.begin(), p.v10.end(), 0.0) / static_cast<double>(m);
  return p;
}

}  // namespace detail

namespace {

// Sample covariance (denominator k - 1) of two equally long vectors around their given means.
double cov(const std::vector<double>& a, double ma, const std::vector<double>& b, double mb) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += (a[i] - ma) * (b[i] - mb);
  return s / static_cast<double>(a.size() - 1);
}

}  // namespace

double auroc(std::span<const int> labels, std::span<const double> scores) {
  return detail::delong_placements(labels, scores).auc;
}

AucCi auc_delong_ci(std::span<const int> labels, std::span<const double> scores, double level) {
  detail::require_level(level);
  const auto p = detail::delong_placements(labels, scores);
  AucCi r;
  r.auc = p.auc;
  r.level = level;
  r.n_pos = p.v10.size();
  r.n_neg = p.v01.size();
  if (r.n_pos < 2 || r.n_neg < 2) {
    r.variance = r.se = r.ci_low = r.ci_high = NAN;
    r.warnings.push_back("DeLong variance needs at least 2 cases and 2 controls (have " +
                         std::to_string(r.n_pos) + " and " + std::to_string(r.n_neg) + "); no CI");
    return r;
  }
  const double m = static_cast<double>(r.n_pos), n = static_cast<double>(r.n_neg);
  r.variance = cov(p.v10, p.auc, p.v10, p.auc) / m + cov(p.v01, p.auc, p.v01, p.auc) / n;
  r.se = std::sqrt(r.variance);
  const double zc = normal_quantile(1.0 - (1.0 - level) / 2.0);
  r.ci_low = std::clamp(p.auc - zc * r.se, 0.0, 1.0);
  r.ci_high = std::clamp(p.auc + zc * r.se, 0.0, 1.0);
  if (r.auc == 1.0 || r.auc == 0.0)
    r.warnings.push_back("perfect separation: the DeLong variance is 0 and the CI degenerate");
  return r;
}

DelongTest delong_paired_test(std::span<const int> labels, std::span<const double> scores_a,
                              std::span<const double> scores_b, double level) {
  detail::require_level(level);
  detail::require_same_size(scores_a.size(), scores_b.size(), "scores a", "scores b");
  const auto pa = detail::delong_placements(labels, scores_a);
  const auto pb = detail::delong_placements(labels, scores_b);
  DelongTest r;
  r.level = level;
  r.auc_a = pa.auc;
  r.auc_b = pb.auc;
  r.diff = pa.auc - pb.auc;
  r.n_pos = pa.v10.size();
  r.n_neg = pa.v01.size();
  if (r.n_pos < 2 || r.n_neg < 2) {
    r.var_a = r.var_b = r.cov_ab = r.se_diff = r.z = r.p = r.ci_low = r.ci_high = NAN;
    r.warnings.push_back("DeLong test needs at least 2 cases and 2 controls (have " + std::to_string(r.n_pos) +
                         " and " + std::to_string(r.n_neg) + ")");
    return r;
  }
  const double m = static_cast<double>(r.n_pos), n = static_cast<double>(r.n_neg);
  r.var_a = cov(pa.v10, pa.auc, pa.v10, pa.auc) / m + cov(pa.v01, pa.auc, pa.v01, pa.auc) / n;
  r.var_b = cov(pb.v10, pb.auc, pb.v10, pb.auc) / m + cov(pb.v01, pb.auc, pb.v01, pb.auc) / n;
  r.cov_ab = cov(pa.v10, pa.auc, pb.v10, pb.auc) / m + cov(pa.v01, pa.auc, pb.v01, pb.auc) / n;
  const double var = r.var_a + r.var_b - 2.0 * r.cov_ab;
  r.se_diff = std::sqrt(std::max(var, 0.0));
  if (r.se_diff == 0.0) {
    if (r.diff == 0.0) {
      r.z = 0.0;  // pROC: identical curves give Z = 0
      r.warnings.push_back("the two AUROCs and their placements are identical (zero variance); z = 0, p = 1");
    } else {
      r.z = r.diff > 0 ? INFINITY : -INFINITY;
      r.warnings.push_back("zero variance of the AUROC difference; z is infinite");
    }
  } else {
    r.z = r.diff / r.se_diff;
  }
  r.p = std::min(1.0, 2.0 * normal_sf(std::fabs(r.z)));
  const double zc = normal_quantile(1.0 - (1.0 - level) / 2.0);
  r.ci_low = r.diff - zc * r.se_diff;
  r.ci_high = r.diff + zc * r.se_diff;
  return r;
}

}  // namespace medsyn::stats
