#include "medsyn/metrics/fid.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <lapacke.h>

#include <Eigen/Dense>

#include "medsyn/core/error.h"
#include "medsyn/core/json.h"
#include "medsyn/core/progress.h"

namespace medsyn::metrics {
namespace {

using Mat = Eigen::MatrixXd;  // column-major; our symmetric row-major data maps to it unchanged

struct TraceSqrt {
  double value = 0;
  double min_eig = 0;
  int clamped = 0;
};

double sum_sqrt_clamped(const Eigen::VectorXd& w, TraceSqrt& t) {
  t.min_eig = w.size() ? w.minCoeff() : 0.0;
  double s = 0;
  for (Eigen::Index i = 0; i < w.size(); ++i) {
    if (w[i] > 0)
      s += std::sqrt(w[i]);
    else if (w[i] < 0)
      ++t.clamped;
  }
  return s;
}

// Eigenvalues of a symmetric matrix (lower triangle used; `a` is destroyed). False on failure.
bool sym_eigenvalues(Mat& a, Eigen::VectorXd& w) {
  const lapack_int n = static_cast<lapack_int>(a.rows());
  w.resize(n);
  return LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'N', 'L', n, a.data(), n, w.data()) == 0;
}

// tr sqrt(F G) with F = L L^T: eigenvalues of L^T G L. False if F is not positive definite.
bool trace_sqrt_cholesky(const Mat& f, const Mat& g, TraceSqrt& t) {
  const lapack_int n = static_cast<lapack_int>(f.rows());
  Mat l = f;
  if (LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', n, l.data(), n) != 0) return false;
  Mat m = g;
  if (LAPACKE_dsygst(LAPACK_COL_MAJOR, 2, 'L', n, m.data(), n, l.data(), n) != 0) return false;
  Eigen::VectorXd w;
  if (!sym_eigenvalues(m, w)) return false;
  t.value = sum_sqrt_clamped(w, t);
  return std::isfinite(t.value);
}

// tr sqrt(F G) with the PSD square root of F from its eigendecomposition (negative eigenvalues
// of F clamped to 0): eigenvalues of F^1/2 G F^1/2. Exact for singular PSD F.
bool trace_sqrt_eigen(const Mat& f, const Mat& g, TraceSqrt& t) {
  const lapack_int n = static_cast<lapack_int>(f.rows());
  Mat v = f;
  Eigen::VectorXd lam(n);
  if (LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'L', n, v.data(), n, lam.data()) != 0) return false;
  Eigen::VectorXd s = lam.cwiseMax(0.0).cwiseSqrt();
  Mat fh = v * s.asDiagonal() * v.transpose();
  Mat m = fh * g * fh;
  m = 0.5 * (m + m.transpose()).eval();
  Eigen::VectorXd w;
  if (!sym_eigenvalues(m, w)) return false;
  t.value = sum_sqrt_clamped(w, t);
  return std::isfinite(t.value);
}

}  // namespace

FidResult frechet_distance(const GaussianStats& a, const GaussianStats& b, const FidOptions& opt) {
  if (a.dim != b.dim)
    throw InputError("FID: A has dimension " + std::to_string(a.dim) + " but B has " + std::to_string(b.dim));
  if (a.dim < 1) throw InputError("FID: empty statistics");
  if (!(opt.eps >= 0) || !std::isfinite(opt.eps))
    throw InputError("FID: the regularisation eps must be finite and >= 0, got " + std::to_string(opt.eps));
  const int d = a.dim;
  if (a.mu.size() != static_cast<std::size_t>(d) || b.mu.size() != static_cast<std::size_t>(d) ||
      a.sigma.size() != static_cast<std::size_t>(d) * d || b.sigma.size() != static_cast<std::size_t>(d) * d)
    throw InputError("FID: statistics arrays do not match their dimension");
  FidResult r;
  r.n_a = a.n;
  r.n_b = b.n;
  r.dim = d;
  auto& dg = r.diagnostics;
  dg.fid_unregularized = std::numeric_limits<double>::quiet_NaN();

  double mean_term = 0;
  for (int i = 0; i < d; ++i) {
    const double df = a.mu[i] - b.mu[i];
    mean_term += df * df;
  }
  dg.mean_term = mean_term;

  // Symmetrise (guards against asymmetric roundoff in files written elsewhere).
  Mat sa = Eigen::Map<const Mat>(a.sigma.data(), d, d);
  Mat sb = Eigen::Map<const Mat>(b.sigma.data(), d, d);
  sa = 0.5 * (sa + sa.transpose()).eval();
  sb = 0.5 * (sb + sb.transpose()).eval();
  const double tr_a = sa.trace(), tr_b = sb.trace();

  dg.rank_deficient_a = a.n > 0 && a.n <= d;
  dg.rank_deficient_b = b.n > 0 && b.n <= d;
  TraceSqrt t;
  bool ok = false;
  if (!dg.rank_deficient_a && !dg.rank_deficient_b) {
    if (trace_sqrt_cholesky(sa, sb, t)) {
      ok = true;
      dg.method = "cholesky_a";
    } else if (trace_sqrt_cholesky(sb, sa, t)) {
      ok = true;
      dg.method = "cholesky_b";
    } else {
      dg.reason = "neither covariance is positive definite";
    }
  } else {
    std::string which = dg.rank_deficient_a && dg.rank_deficient_b ? "A and B" : (dg.rank_deficient_a ? "A" : "B");
    dg.reason = "rank-deficient covariance (n <= dim) for " + which;
  }

  if (ok) {
    dg.trace_a = tr_a;
    dg.trace_b = tr_b;
  } else {
    // pytorch-fid's fallback: add eps to both diagonals.
    dg.regularized = true;
    dg.eps = opt.eps;
    std::string w = "FID: " + dg.reason + "; adding eps=" + std::to_string(opt.eps) +
                    " to the diagonal of both covariances (as pytorch-fid does)";
    dg.warnings.push_back(w);
    if (opt.warn) log_warn(w);
    if (opt.compute_unregularized) {
      TraceSqrt tu;
      if (trace_sqrt_eigen(sa, sb, tu))
        dg.fid_unregularized = mean_term + tr_a + tr_b - 2.0 * tu.value;
    }
    Mat ra = sa, rb = sb;
    ra.diagonal().array() += opt.eps;
    rb.diagonal().array() += opt.eps;
    if (trace_sqrt_cholesky(ra, rb, t)) {
      dg.method = "cholesky_a";
    } else if (trace_sqrt_cholesky(rb, ra, t)) {
      dg.method = "cholesky_b";
    } else if (trace_sqrt_eigen(ra, rb, t)) {
      dg.method = "eigen_sqrt_a";
    } else {
      throw InputError("FID: the eigen-solver failed on the regularised covariances (are the values finite?)");
    }
    dg.trace_a = ra.trace();
    dg.trace_b = rb.trace();
  }
  dg.trace_sqrt = t.value;
  dg.min_eigenvalue = t.min_eig;
  dg.clamped_eigenvalues = t.clamped;
  r.fid = mean_term + dg.trace_a + dg.trace_b - 2.0 * t.value;
  if (r.fid < 0 && r.fid > -1e-9 * (dg.trace_a + dg.trace_b + 1e-300)) {
    dg.warnings.push_back("FID was -" + std::to_string(-r.fid) + " from roundoff; reported as 0");
    r.fid = 0;
  }
  return r;
}

nlohmann::json fid_to_json(const FidResult& r) {
  const auto& dg = r.diagnostics;
  json diag = {{"mean_term", dg.mean_term},
               {"trace_a", dg.trace_a},
               {"trace_b", dg.trace_b},
               {"trace_sqrt", dg.trace_sqrt},
               {"method", dg.method},
               {"regularized", dg.regularized},
               {"eps", dg.eps},
               {"reason", dg.reason},
               {"rank_deficient_a", dg.rank_deficient_a},
               {"rank_deficient_b", dg.rank_deficient_b},
               {"min_eigenvalue", dg.min_eigenvalue},
               {"clamped_eigenvalues", dg.clamped_eigenvalues},
               {"fid_unregularized", finite_or_null(dg.fid_unregularized)},
               {"warnings", dg.warnings}};
  json j = {{"fid", finite_or_null(r.fid)},
            {"n_a", r.n_a > 0 ? json(r.n_a) : json(nullptr)},
            {"n_b", r.n_b > 0 ? json(r.n_b) : json(nullptr)},
            {"dim", r.dim},
            {"diagnostics", diag}};
  return j;
}

}  // namespace medsyn::metrics
