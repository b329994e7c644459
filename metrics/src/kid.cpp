#include "medsyn/metrics/kid.h"

#include <cmath>

#include <Eigen/Dense>

#include "medsyn/core/error.h"
#include "medsyn/core/json.h"
#include "medsyn/core/progress.h"
#include "medsyn/stats/random.h"
#include "blas_products.h"

namespace medsyn::metrics {
namespace {

using detail::RowMat;
using detail::gather;
using detail::to_f64;

double cube_kernel(double g, double inv_d) {
  const double v = g * inv_d + 1.0;
  return v * v * v;
}

// Sum over i != j of k(x_i, x_j) from the Gram matrix X X^T (lower triangle, doubled).
double offdiag_kernel_sum(const Eigen::MatrixXd& gram, double inv_d) {
  double s = 0;
  const Eigen::Index n = gram.rows();
  for (Eigen::Index c = 0; c < n; ++c)
    for (Eigen::Index r = c + 1; r < n; ++r) s += cube_kernel(gram(r, c), inv_d);
  return 2.0 * s;
}

double mmd2_from_rows(const RowMat& x, const RowMat& y) {
  const double inv_d = 1.0 / static_cast<double>(x.cols());
  const double m = static_cast<double>(x.rows()), n = static_cast<double>(y.rows());
  const int d = static_cast<int>(x.cols()), nx = static_cast<int>(x.rows()), ny = static_cast<int>(y.rows());
  Eigen::MatrixXd gxx = Eigen::MatrixXd::Zero(nx, nx);
  detail::syrk_lower_aat(x.data(), nx, d, 1.0, gxx);
  Eigen::MatrixXd gyy = Eigen::MatrixXd::Zero(ny, ny);
  detail::syrk_lower_aat(y.data(), ny, d, 1.0, gyy);
  const Eigen::MatrixXd gxy = detail::gemm_abt(x.data(), nx, y.data(), ny, d);
  double sxy = 0;
  for (Eigen::Index c = 0; c < gxy.cols(); ++c)
    for (Eigen::Index r = 0; r < gxy.rows(); ++r) sxy += cube_kernel(gxy(r, c), inv_d);
  return offdiag_kernel_sum(gxx, inv_d) / (m * (m - 1)) + offdiag_kernel_sum(gyy, inv_d) / (n * (n - 1)) -
         2.0 * sxy / (m * n);
}

// Subsets indexing precomputed kernel matrices (used when the full Gram matrices are cheaper).
double mmd2_from_kernels(const Eigen::MatrixXd& kxx, const Eigen::MatrixXd& kyy, const Eigen::MatrixXd& kxy,
                         const std::vector<std::int64_t>& ia, const std::vector<std::int64_t>& ib) {
  const double m = static_cast<double>(ia.size()), n = static_cast<double>(ib.size());
  double sxx = 0, syy = 0, sxy = 0;
  for (std::size_t p = 0; p < ia.size(); ++p)
    for (std::size_t q = p + 1; q < ia.size(); ++q) {
      const auto i = std::max(ia[p], ia[q]), j = std::min(ia[p], ia[q]);
      sxx += kxx(i, j);
    }
  for (std::size_t p = 0; p < ib.size(); ++p)
    for (std::size_t q = p + 1; q < ib.size(); ++q) {
      const auto i = std::max(ib[p], ib[q]), j = std::min(ib[p], ib[q]);
      syy += kyy(i, j);
    }
  for (auto j : ib)
    for (auto i : ia) sxy += kxy(i, j);
  return 2.0 * sxx / (m * (m - 1)) + 2.0 * syy / (n * (n - 1)) - 2.0 * sxy / (m * n);
}

Eigen::MatrixXd kernel_lower(const RowMat& x) {
  const double inv_d = 1.0 / static_cast<double>(x.cols());
  const int n = static_cast<int>(x.rows());
  Eigen::MatrixXd g = Eigen::MatrixXd::Zero(n, n);
  detail::syrk_lower_aat(x.data(), n, static_cast<int>(x.cols()), 1.0, g);
  for (Eigen::Index c = 0; c < g.cols(); ++c)
    for (Eigen::Index r = c; r < g.rows(); ++r) g(r, c) = cube_kernel(g(r, c), inv_d);
  return g;
}

void check_inputs(FeatureView a, FeatureView b, const std::string& na, const std::string& nb) {
  if (a.cols != b.cols)
    throw InputError(na + " has dimension " + std::to_string(a.cols) + " but " + nb + " has " + std::to_string(b.cols));
  if (a.rows < 2) throw InputError(at_file(na, "need at least 2 samples, got " + std::to_string(a.rows)));
  if (b.rows < 2) throw InputError(at_file(nb, "need at least 2 samples, got " + std::to_string(b.rows)));
}

}  // namespace

double kid_mmd2(FeatureView a, FeatureView b) {
  check_inputs(a, b, "A", "B");
  return mmd2_from_rows(to_f64(a), to_f64(b));
}

KidResult kid(FeatureView a, FeatureView b, const KidOptions& opt, const std::string& name_a,
              const std::string& name_b) {
  check_inputs(a, b, name_a, name_b);
  if (opt.subsets < 1) throw InputError("KID: --subsets must be >= 1");
  if (opt.subset_size < 2) throw InputError("KID: --subset-size must be >= 2");
  KidResult r;
  r.n_a = a.rows;
  r.n_b = b.rows;
  r.dim = static_cast<int>(a.cols);
  const RowMat x = to_f64(a), y = to_f64(b);
  if (opt.subset_size >= a.rows && opt.subset_size >= b.rows) {
    r.full_sets = true;
    r.subsets = 1;
    r.subset_size = a.rows;
    r.values = {mmd2_from_rows(x, y)};
  } else {
    std::int64_t m = opt.subset_size;
    if (m > a.rows || m > b.rows) {
      m = std::min(a.rows, b.rows);
      std::string w = "KID: subset size " + std::to_string(opt.subset_size) + " exceeds the smaller set (" +
                      std::to_string(m) + " rows); using subsets of " + std::to_string(m);
      r.warnings.push_back(w);
      log_warn(w);
    }
    r.subset_size = m;
    r.subsets = opt.subsets;
    stats::Rng rng(opt.seed);
    // Cost model (multiply-adds): full Gram matrices d (na^2/2 + nb^2/2 + na nb) once, versus
    // per subset d (2 m^2/2 + m^2). Precompute when cheaper and the kernels fit in ~1 GiB.
    const double d = static_cast<double>(a.cols);
    const double na = static_cast<double>(a.rows), nb = static_cast<double>(b.rows), mm = static_cast<double>(m);
    const double full_cost = d * (0.5 * na * na + 0.5 * nb * nb + na * nb);
    const double subset_cost = static_cast<double>(opt.subsets) * d * 2.0 * mm * mm;
    const double bytes = 8.0 * (na * na + nb * nb + na * nb);
    if (full_cost < subset_cost && bytes < 1024.0 * 1024.0 * 1024.0) {
      const Eigen::MatrixXd kxx = kernel_lower(x), kyy = kernel_lower(y);
      Eigen::MatrixXd kxy = detail::gemm_abt(x.data(), static_cast<int>(a.rows), y.data(), static_cast<int>(b.rows),
                                             static_cast<int>(a.cols));
      const double inv_d = 1.0 / d;
      kxy = kxy.unaryExpr([inv_d](double g) { return cube_kernel(g, inv_d); });
      for (int s = 0; s < opt.subsets; ++s) {
        auto ia = stats::sample_without_replacement(rng, a.rows, m);
        auto ib = stats::sample_without_replacement(rng, b.rows, m);
        r.values.push_back(mmd2_from_kernels(kxx, kyy, kxy, ia, ib));
      }
    } else {
      for (int s = 0; s < opt.subsets; ++s) {
        auto ia = stats::sample_without_replacement(rng, a.rows, m);
        auto ib = stats::sample_without_replacement(rng, b.rows, m);
        r.values.push_back(mmd2_from_rows(gather(x, ia), gather(y, ib)));
      }
    }
  }
  double mean = 0;
  for (double v : r.values) mean += v;
  mean /= static_cast<double>(r.values.size());
  double ss = 0;
  for (double v : r.values) ss += (v - mean) * (v - mean);
  r.kid_mean = mean;
  r.kid_std = std::sqrt(ss / static_cast<double>(r.values.size()));
  return r;
}

nlohmann::json kid_to_json(const KidResult& r) {
  return json{{"kid_mean", finite_or_null(r.kid_mean)},
              {"kid_std", finite_or_null(r.kid_std)},
              {"subsets", r.subsets},
              {"subset_size", r.subset_size},
              {"full_sets", r.full_sets},
              {"n_a", r.n_a},
              {"n_b", r.n_b},
              {"dim", r.dim},
              {"warnings", r.warnings}};
}

}  // namespace medsyn::metrics
