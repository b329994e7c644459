#pragma once
// Statistics for downstream experiments: AUROC with DeLong CIs and paired tests, paired t and
// Wilcoxon signed-rank tests, Mann-Whitney U, multiple-testing corrections, stratified bootstrap
// CIs, and classification metrics. Plain structs and free functions; no LibTorch.
//
// Conventions (stated once, here):
//  - Binary labels are ints in {0, 1}; 1 is the positive class ("case", pROC's second level),
//    0 the negative class ("control"). Scores are doubles; a HIGHER score means MORE LIKELY
//    POSITIVE. AUROC is the plain Mann-Whitney estimate P(s_case > s_control) + 0.5 P(tie), so it
//    can be below 0.5 (pROC with direction = "<", never the "auto" flip).
//  - Multi-class labels are ints in [0, K). Class probabilities are compact N x K row-major.
//  - Paired inputs (a, b) are paired by index; differences are always a - b.
//  - Every p-value is two-sided unless an Alternative says otherwise.
//  - `level` is the confidence level of every interval (default 0.95).
//  - Invalid input (size mismatch, empty input, non-finite values, labels outside {0,1} or [0,K),
//    a single class where two are needed, level outside (0,1)) throws medsyn::InputError with a
//    message that says what is wrong and at which index; callers that read files add the file
//    name (see stats_csv.h, which reports file:line).
//  - Results that are mathematically undefined (e.g. a t statistic when all differences are
//    equal) are NaN, with a human-readable entry in `warnings`; JSON writers should use
//    medsyn::finite_or_null.
//  - Everything is deterministic; the bootstrap takes an explicit seed and gives the same numbers
//    on every platform (own bounded sampler over std::mt19937_64, not std::uniform_int_distribution).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace medsyn::downstream::stats {

// ----------------------------------------------------------------------------------------------
// AUROC and DeLong (Sun & Xu 2014 fast midrank algorithm, O(N log N)); matches R pROC.

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

// ----------------------------------------------------------------------------------------------
// Paired tests over matched numbers (e.g. one AUROC per seed for two arms).

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
// midrank sum to an integer; we use the approximation there, as the issue asks and as later scipy
// releases do. Fixtures for tied data are scipy's method="approx".) All differences zero: w, p NaN.
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

// ----------------------------------------------------------------------------------------------
// Mann-Whitney U (for memorization: are synthetic-to-train distances smaller than holdout ones?).

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

// ----------------------------------------------------------------------------------------------
// Multiple testing, as R p.adjust. Inputs must be in [0, 1] (NaN rejected); order is preserved.

enum class AdjustMethod { holm, bh };
AdjustMethod parse_adjust_method(const std::string& name);  // "holm" | "bh" (also "BH", "fdr")
std::string to_string(AdjustMethod m);
std::vector<double> p_adjust(std::span<const double> p, AdjustMethod method);

// ----------------------------------------------------------------------------------------------
// Stratified bootstrap CIs for binary-classifier metrics.

enum class Metric { auc, accuracy, balanced_accuracy };
Metric parse_metric(const std::string& name);  // "auc" | "accuracy" | "balanced_accuracy"
std::string to_string(Metric m);

enum class CiMethod { percentile, bca };
CiMethod parse_ci_method(const std::string& name);  // "percentile" | "bca"
std::string to_string(CiMethod m);

// A binary metric on (labels, scores). accuracy and balanced_accuracy predict positive when
// score >= threshold.
double binary_metric(Metric metric, std::span<const int> labels, std::span<const double> scores,
                     double threshold = 0.5);

struct BootstrapOptions {
  int resamples = 2000;
  std::uint64_t seed = 0;
  CiMethod method = CiMethod::percentile;
  double level = 0.95;
  double threshold = 0.5;  // for accuracy / balanced_accuracy
};

struct BootstrapResult {
  double estimate = 0;          // metric on the original data
  double ci_low = 0, ci_high = 0;
  double level = 0.95;
  CiMethod method = CiMethod::percentile;
  Metric metric = Metric::auc;
  int resamples = 0;
  std::uint64_t seed = 0;
  double boot_mean = 0, boot_se = 0;  // mean and sd (n - 1) of the replicates
  double z0 = 0, acceleration = 0;    // BCa bias correction and acceleration (0 for percentile)
  std::size_t n_pos = 0, n_neg = 0;
  std::vector<double> replicates;     // the metric on each resample, in draw order
  std::vector<std::string> warnings;
};
// Stratified: each replicate draws n_pos cases and n_neg controls with replacement from their own
// class, so every replicate has both classes. Percentile CI = linear-interpolated quantiles
// (numpy's default) of the replicates. BCa as scipy.stats.bootstrap(method="BCa"): z0 from the
// fraction of replicates below the estimate, acceleration from the leave-one-out jackknife over
// all N observations (computed exactly in O(N log N) for every metric).
BootstrapResult stratified_bootstrap(std::span<const int> labels, std::span<const double> scores,
                                     Metric metric, const BootstrapOptions& options = {});

// Building blocks (exposed for tests and other modules' bootstraps).
// Linear-interpolated quantile (numpy.percentile default / R type 7), q in [0, 1].
double quantile_linear(std::vector<double> values, double q);
// Percentile interval of replicates.
void percentile_interval(std::span<const double> replicates, double level, double& low, double& high);
// BCa interval from the estimate, replicates and jackknife (leave-one-out) values, exactly as
// scipy.stats._resampling._bca_interval; also returns z0 and the acceleration.
void bca_interval(double estimate, std::span<const double> replicates, std::span<const double> jackknife,
                  double level, double& low, double& high, double& z0, double& acceleration);

// ----------------------------------------------------------------------------------------------
// Classification metrics (binary and multi-class), as scikit-learn's definitions.

double accuracy(std::span<const int> y_true, std::span<const int> y_pred);
// Mean recall over the classes present in y_true.
double balanced_accuracy(std::span<const int> y_true, std::span<const int> y_pred);
// F1 of class `positive` (sklearn average="binary"); 0 when precision + recall == 0.
double f1_binary(std::span<const int> y_true, std::span<const int> y_pred, int positive = 1);
// Unweighted mean of per-class F1 over the classes present in y_true or y_pred (sklearn
// average="macro", zero_division -> 0).
double macro_f1(std::span<const int> y_true, std::span<const int> y_pred);
// Macro one-vs-rest AUROC (sklearn roc_auc_score(multi_class="ovr", average="macro")): mean over
// classes k of auroc(y == k, probs[:, k]). Every class must occur in y_true and not be all of it.
double macro_ovr_auroc(std::span<const int> y_true, std::span<const double> probs, std::size_t num_classes);
// Row-wise argmax of N x K probabilities (first maximum wins).
std::vector<int> argmax_rows(std::span<const double> probs, std::size_t num_classes);

struct ClassificationMetrics {
  double auroc = 0;              // binary: auroc(y, probs[:,1]); K > 2: macro_ovr_auroc
  double accuracy = 0;           // predictions = argmax_rows(probs)
  double balanced_accuracy = 0;
  double f1 = 0;                 // binary: f1_binary(positive = 1); K > 2: macro_f1
  std::size_t n = 0, num_classes = 0;
};
// All four metrics from N x K probabilities (K >= 2; for K == 2 column 1 is the positive class).
ClassificationMetrics classification_metrics(std::span<const int> y_true, std::span<const double> probs,
                                             std::size_t num_classes);

}  // namespace medsyn::downstream::stats
