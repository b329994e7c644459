#pragma once
// Hypothesis tests: paired t and Wilcoxon signed-rank tests over matched numbers (e.g. one AUROC
// per seed for two arms) and Mann-Whitney U (e.g. synthetic-to-train vs holdout distances).
// The AUROC tests (DeLong) are in auc.h, multiple-testing corrections in adjust.h.
//
// Conventions: paired inputs (a, b) are paired by index and differences are a - b; p-values are
// two-sided unless an Alternative says otherwise; `level` is the confidence level of an interval.
// Invalid input (size mismatch, empty input, non-finite values, level outside (0,1)) throws
// medsyn::InputError; undefined results (e.g. t when all differences are equal) are NaN with a
// human-readable entry in `warnings` (JSON writers use medsyn::finite_or_null).
#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace medsyn::stats {

struct TTestResult {
  std::size_t n = 0;
  double mean_diff = 0;  // mean of a - b
  double sd_diff = 0;    // sample standard deviation (n - 1) of a - b
  double se = 0;         // sd_diff / sqrt(n)
  double t = 0, df = 0, p = 0;     // as scipy.stats.ttest_rel(a, b) / R t.test(paired = TRUE)
  double ci_low = 0, ci_high = 0;  // mean_diff -/+ t_{df, 1-(1-level)/2} * se
  double level = 0.95;
  std::vector<std::string> warnings;
};
TTestResult paired_t_test(std::span<const double> a, std::span<const double> b, double level = 0.95);

struct WilcoxonResult {
  std::size_t n = 0;        // pairs given
  std::size_t n_zero = 0;   // zero differences (dropped: zero_method = "wilcox")
  std::size_t n_used = 0;   // n - n_zero
  bool has_ties = false;    // tied |differences| among the used ones
  double w = 0;             // min(R+, R-) (scipy's two-sided statistic)
  double r_plus = 0, r_minus = 0;
  double z = 0;             // normal approximation only (NaN for exact)
  double p = 0;             // two-sided
  std::string method;       // "exact" or "approx"
  std::vector<std::string> warnings;
};
// Wilcoxon signed-rank test as scipy.stats.wilcoxon(a, b) with its defaults
// (zero_method="wilcox", correction=False, alternative="two-sided"): zero differences are
// dropped; the exact null distribution is used when n <= 50 and there are no zeros and no ties
// among |differences|, otherwise the normal approximation with the tie-corrected variance and no
// continuity correction. (scipy 1.10's mode="auto" also goes exact with ties, truncating the
// midrank sum to an integer; we use the approximation there, as later scipy releases do.
// Fixtures for tied data are scipy's method="approx".) All differences zero: w, p NaN.
WilcoxonResult wilcoxon_signed_rank(std::span<const double> a, std::span<const double> b);

struct PairedResult {
  std::size_t n = 0;
  double mean_a = 0, mean_b = 0;
  TTestResult t;          // mean difference and its CI live here
  WilcoxonResult wilcoxon;
  std::vector<std::string> warnings;  // union of both, plus "n < 6: ..." when n < 6
};
// Both tests on the same pairs. Warns when n < 6: an exact two-sided Wilcoxon test cannot reach
// p < 0.05 below six pairs.
PairedResult paired_tests(std::span<const double> a, std::span<const double> b, double level = 0.95);

enum class Alternative { two_sided, less, greater };  // "less": x tends to be smaller than y

struct MannWhitneyResult {
  double u = 0;          // U statistic of x (scipy's `statistic`): #(x_i > y_j) + 0.5 #(ties)
  double p = 0;
  double z = 0;          // normal approximation only (NaN for exact)
  std::string method;    // "exact" or "approx"
  std::size_t n_x = 0, n_y = 0;
  bool has_ties = false;
};
// As scipy.stats.mannwhitneyu(x, y, alternative=..., use_continuity=True, method="auto") in
// scipy 1.10: exact when min(n_x, n_y) <= 8 and there are no ties (exact 128-bit counts; for
// C(n_x + n_y, min) > 1e37, i.e. the other sample beyond ~2e5, the approximation is used),
// otherwise the normal approximation with tie correction and continuity correction.
MannWhitneyResult mann_whitney_u(std::span<const double> x, std::span<const double> y,
                                 Alternative alternative = Alternative::two_sided);

}  // namespace medsyn::stats
