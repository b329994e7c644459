#pragma once
// The coverage study behind docs/uncertainty.md: how often the shipped intervals (calibrated.h)
// contain what they claim to, measured on feature sets drawn from Gaussians with known
// parameters. `medsynbench metrics coverage-study` runs it.
//
// Each setting (d, n, scenario) draws `draws` pairs (A, B) of n rows each:
//   A ~ N(0, diag(s)),  s = linspace(0.2, 2.0, d)
//   scenario "identical":           B ~ N(0, diag(s))                  (distance 0)
//   scenario "mean shift":          B ~ N(1/sqrt(d) * ones, diag(s))   (|mu_a - mu_b|^2 = 1)
//   scenario "covariance differs":  B ~ N(0, diag(reverse(s)))         (the model's covariance differs)
// and computes every estimate with the shipped defaults (bootstrap replicates, level, PRDC k,
// KID on the full sets). Truths:
//   fid_population  closed form: |mu_a - mu_b|^2 + sum_i (sqrt(s_a,i) - sqrt(s_b,i))^2 (diagonal)
//   kid             closed form: population MMD^2 of the cubic polynomial kernel, from the moments of
//                   x.y for independent Gaussians with diagonal covariances
//   fid (plug-in), precision, recall, density, coverage: their expectation at this n (and k),
//                   estimated by the mean of the point estimates over the draws
//                   ("mean over draws": Monte Carlo error ~ sd / sqrt(draws)).
// Draw i of a setting uses stats::Rng(derive_seed(derive_seed(seed, setting), i)); draws run in
// parallel (OpenMP) and the numbers do not depend on the thread count.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace medsyn::metrics {

struct CoverageStudyOptions {
  int draws = 200;
  int bootstrap = 100;  // replicates per interval (the shipped default)
  double ci_level = 0.95;
  int k = 5;            // PRDC neighbourhood (the shipped default)
  std::uint64_t seed = 0;
  std::vector<int> dims = {16, 64};
  std::vector<int> sizes = {100, 300, 1000};
  std::vector<std::string> scenarios = {"identical", "mean shift", "covariance differs"};
};

struct CoverageRow {
  int d = 0, n = 0;
  std::string scenario, metric, estimand, truth_source;
  double truth = 0;
  int draws = 0;             // draws with an interval
  int covered = 0;           // intervals containing the truth
  int contains_estimate = 0; // intervals containing their own point estimate
  double coverage = 0;       // covered / draws
  double median_width = 0;
  bool target_applies = false;  // FID population and KID at n >= 300 and n > d, d <= 64
  bool meets_target = false;    // coverage in [0.92, 0.99]
};

// Throws InputError naming the option when draws < 2, bootstrap < 1, a dim/size < 2 or a scenario
// is unknown.
std::vector<CoverageRow> run_coverage_study(const CoverageStudyOptions& opt);

// Closed-form truths (exposed for tests).
double gaussian_frechet_distance_diagonal(const std::vector<double>& mu_a, const std::vector<double>& var_a,
                                          const std::vector<double>& mu_b, const std::vector<double>& var_b);
double gaussian_cubic_mmd2_diagonal(const std::vector<double>& mu_a, const std::vector<double>& var_a,
                                    const std::vector<double>& mu_b, const std::vector<double>& var_b);

// {"schema": "medsynbench.coverage-study/1", "options": {...}, "rows": [...], "target": {...}}
nlohmann::ordered_json coverage_study_to_json(const CoverageStudyOptions& opt, const std::vector<CoverageRow>& rows);
// A Markdown table (setting, metric, coverage, median width, truth source), as in the docs.
std::string coverage_study_markdown(const std::vector<CoverageRow>& rows);

}  // namespace medsyn::metrics
