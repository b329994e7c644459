#pragma once
// AUROC and DeLong (Sun & Xu 2014 fast midrank algorithm, O(N log N)); matches R pROC.
//
// Conventions: binary labels are ints in {0, 1}; 1 is the positive class ("case", pROC's second
// level), 0 the negative class ("control"). Scores are doubles; a HIGHER score means MORE LIKELY
// POSITIVE. AUROC is the plain Mann-Whitney estimate P(s_case > s_control) + 0.5 P(tie), so it can
// be below 0.5 (pROC with direction = "<", never the "auto" flip). Invalid input (size mismatch,
// empty, non-finite scores, labels outside {0,1}, a single class, level outside (0,1)) throws
// medsyn::InputError naming the index; undefined results are NaN with an entry in `warnings`.
#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace medsyn::stats {

// Plain AUROC (Mann-Whitney, ties count one half). Needs both classes.
double auroc(std::span<const int> labels, std::span<const double> scores);

struct AucCi {
  double auc = 0;
  double variance = 0;  // DeLong variance of the AUC estimate
  double se = 0;        // sqrt(variance)
  double ci_low = 0;    // auc -/+ z_{1-(1-level)/2} * se, clipped to [0, 1] (as pROC ci.auc)
  double ci_high = 0;
  double level = 0.95;
  std::size_t n_pos = 0;  // cases (label 1)
  std::size_t n_neg = 0;  // controls (label 0)
  std::vector<std::string> warnings;  // e.g. a single case or control: variance and CI are NaN
};
// As R: ci.auc(roc(labels, scores, levels = c(0, 1), direction = "<"), method = "delong").
AucCi auc_delong_ci(std::span<const int> labels, std::span<const double> scores, double level = 0.95);

struct DelongTest {
  double auc_a = 0, auc_b = 0;
  double diff = 0;        // auc_a - auc_b
  double var_a = 0, var_b = 0, cov_ab = 0;
  double se_diff = 0;     // sqrt(var_a + var_b - 2 cov_ab)
  double z = 0;           // diff / se_diff; 0 when diff == 0 and se_diff == 0 (as pROC), else
                          // +/-inf when se_diff == 0 (see warnings)
  double p = 0;           // two-sided, 2 * (1 - Phi(|z|))
  double ci_low = 0;      // diff -/+ z_{1-(1-level)/2} * se_diff (not clipped), as pROC roc.test
  double ci_high = 0;
  double level = 0.95;
  std::size_t n_pos = 0, n_neg = 0;
  std::vector<std::string> warnings;
};
// Paired DeLong test of two correlated AUROCs on the same cases and controls, as R:
// roc.test(roc(y, a, levels=c(0,1), direction="<"), roc(y, b, ...), method="delong", paired=TRUE).
DelongTest delong_paired_test(std::span<const int> labels, std::span<const double> scores_a,
                              std::span<const double> scores_b, double level = 0.95);

}  // namespace medsyn::stats
