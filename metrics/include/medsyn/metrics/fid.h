#pragma once
// Frechet Inception Distance between two Gaussians (mu_a, S_a) and (mu_b, S_b):
//   FID = |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr sqrt(S_a S_b)
//
// How the trace term is computed (float64 throughout, no general matrix square root):
//   S_a = L L^T (Cholesky, LAPACK dpotrf); M = L^T S_b L (dsygst); M is symmetric PSD and similar
//   to S_a S_b, so tr sqrt(S_a S_b) = sum_i sqrt(lambda_i(M)) with the eigenvalues from dsyevd
//   (values only). Roundoff can make tiny eigenvalues negative: they are clamped to 0 and counted
//   in the diagnostics. If S_a is not positive definite the roles are swapped (S_b = L L^T).
//
// Rank-deficient covariances (n <= dim for a set, or neither covariance positive definite):
//   like pytorch-fid's fallback, eps = 1e-6 is added to both diagonals (and therefore to both
//   traces) and the result is reported with diagnostics.regularized = true, a warning on stderr and
//   the reason. The unregularised value from the exact PSD square root of S_a (eigendecomposition,
//   negative eigenvalues clamped) is reported as diagnostics.fid_unregularized.
// Never throws for numerical reasons; throws InputError for dimension mismatches / bad values.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "medsyn/metrics/stats.h"

namespace medsyn::metrics {

struct FidOptions {
  double eps = 1e-6;  // diagonal regularisation for rank-deficient covariances
  bool compute_unregularized = true;  // also report the eigen-sqrt value when regularising
  bool warn = true;  // log the regularisation warning (bootstrap replicates count them instead)
};

struct FidDiagnostics {
  double mean_term = 0;     // |mu_a - mu_b|^2
  double trace_a = 0, trace_b = 0;  // traces actually used (including eps when regularised)
  double trace_sqrt = 0;    // tr sqrt(S_a S_b)
  std::string method;       // "cholesky_a", "cholesky_b", "eigen_sqrt_a"
  bool regularized = false;
  double eps = 0;
  std::string reason;       // why it was regularised ("" if not)
  bool rank_deficient_a = false, rank_deficient_b = false;  // n <= dim
  double min_eigenvalue = 0;      // smallest eigenvalue of M before clamping
  int clamped_eigenvalues = 0;    // negative eigenvalues of M set to 0
  double fid_unregularized = 0;   // only meaningful when regularized (NaN otherwise)
  std::vector<std::string> warnings;
};

struct FidResult {
  double fid = 0;
  std::int64_t n_a = 0, n_b = 0;  // 0 = unknown (stats file without n)
  int dim = 0;
  FidDiagnostics diagnostics;
};

FidResult frechet_distance(const GaussianStats& a, const GaussianStats& b, const FidOptions& opt = {});

// JSON {"fid", "n_a", "n_b", "dim", "diagnostics": {...}} (n_* null when unknown).
nlohmann::json fid_to_json(const FidResult& r);

}  // namespace medsyn::metrics
