#pragma once
// Agreement between raters (readers) and the exact binomial test, for reader studies and any
// other "several people judged the same items" data.
//
//  - binomial_test: exact test of k successes in n trials against p, as scipy.stats.binomtest
//    (two-sided: the sum of the probabilities of every outcome no more likely than k, with
//    scipy's relative tolerance 1e-7 on "no more likely").
//  - cohen_kappa: two raters, a square contingency table (rater A in rows, rater B in columns).
//    Unweighted kappa with the large-sample variance of Fleiss, Cohen & Everitt (1969), exactly
//    as statsmodels' cohens_kappa (var_kappa) and R psych::cohen.kappa (var.kappa); the interval
//    is kappa -/+ z var^(1/2) ("asymptotic (Fleiss, Cohen, Everitt 1969)").
//  - fleiss_kappa: m >= 2 raters per item, a subjects x categories table of counts (every row
//    sums to the same m), as statsmodels' fleiss_kappa(method="fleiss"). Its interval is left to
//    the caller (a bootstrap over items: the published variances hold under kappa = 0 only).
//  - krippendorff_alpha: any number of raters, missing values allowed; a units x raters matrix
//    of values (NaN = missing), computed from the coincidence matrix (Krippendorff 2011,
//    "Computing Krippendorff's alpha-reliability") with the nominal, ordinal or interval
//    difference function. Units with fewer than two values are not pairable and are dropped.
//
// Invalid input (empty or ragged tables, negative counts, k outside [0, n]) throws
// medsyn::InputError naming the quantity; an undefined coefficient (no expected disagreement:
// every rating in one category) is NaN with the reason in `note`.
#include <cstdint>
#include <string>
#include <vector>

#include "medsyn/stats/tests.h"

namespace medsyn::stats {

// p-value of the exact binomial test (scipy.stats.binomtest(k, n, p, alternative).pvalue).
// InputError unless 0 <= k <= n, n >= 1 and 0 <= p <= 1.
double binomial_test(std::int64_t k, std::int64_t n, double p = 0.5, Alternative alternative = Alternative::two_sided);

struct KappaResult {
  double kappa = 0;
  double var = 0;         // large-sample variance of kappa (Fleiss, Cohen, Everitt 1969)
  double var0 = 0;        // variance under kappa = 0
  double se = 0;          // sqrt(var)
  double ci_low = 0, ci_high = 0;  // kappa -/+ z_{1-(1-level)/2} se
  double z = 0, p = 0;    // kappa / sqrt(var0), two-sided normal p
  double p_observed = 0, p_expected = 0;  // observed and chance agreement
  double level = 0.95;
  long long n = 0;        // items (table total)
  std::string note;       // why kappa is NaN
};
// Square table of counts; table[i][j] = items rater A put in category i and rater B in j.
KappaResult cohen_kappa(const std::vector<std::vector<double>>& table, double level = 0.95);
// Same from two label vectors (categories 0..n_categories-1, one entry per item rated by both).
KappaResult cohen_kappa(const std::vector<int>& a, const std::vector<int>& b, int n_categories, double level = 0.95);

struct FleissResult {
  double kappa = 0;
  double p_observed = 0, p_expected = 0;  // mean agreement per item, chance agreement
  long long n_items = 0, n_raters = 0;
  std::string note;
};
// counts[i][c] = raters that put item i in category c; every row has the same total m >= 2.
FleissResult fleiss_kappa(const std::vector<std::vector<double>>& counts);

enum class AlphaMetric { nominal, ordinal, interval };
AlphaMetric parse_alpha_metric(const std::string& name);  // "nominal" | "ordinal" | "interval"
const char* to_string(AlphaMetric m);

struct AlphaResult {
  double alpha = 0;
  double d_observed = 0, d_expected = 0;  // observed and expected disagreement
  long long n_pairable = 0;               // values in pairable units (n.. of the coincidence matrix)
  long long n_units = 0;                  // pairable units
  std::string note;
};
// values[u][r]: the value rater r gave unit u, NaN when missing. The categories are the distinct
// values (sorted: the order the ordinal metric uses).
AlphaResult krippendorff_alpha(const std::vector<std::vector<double>>& values, AlphaMetric metric);

}  // namespace medsyn::stats
