#include "medsyn/metrics/cmmd.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "blas_products.h"
#include "medsyn/core/error.h"
#include "medsyn/core/json.h"
#include "medsyn/stats/intervals.h"
#include "medsyn/stats/random.h"

namespace medsyn::metrics {

namespace {

using nlohmann::json;
using detail::RowMat;
using detail::to_f64;
constexpr std::uint64_t kCmmdStream = 0x434D4D44;  // "CMMD"
constexpr std::int64_t kBlockRows = 512;           // 512 x n doubles per Gram block


// Sum of exp(-gamma |x_i - y_j|^2) over a Gram block g (g(i, j) = x_i . y_j, |x_i|^2 = xn[i],
// |y_j|^2 = yn[j]): columns j < split and columns j >= split separately.
std::pair<double, double> block_kernel_sums(const Eigen::MatrixXd& g, const double* xn, const double* yn,
                                            std::int64_t split, double gamma) {
  double before = 0, after = 0;
  for (Eigen::Index j = 0; j < g.cols(); ++j) {
    double col = 0;
    for (Eigen::Index i = 0; i < g.rows(); ++i) col += std::exp(-gamma * std::max(0.0, xn[i] + yn[j] - 2 * g(i, j)));
    (j < split ? before : after) += col;
  }
  return {before, after};
}

// sum over row blocks of x of block_sum(b0, nb), blocks in parallel and added in block order, so
// the thread count never changes the value.
template <typename BlockSum>
double sum_over_blocks(std::int64_t n, const BlockSum& block_sum) {
  const std::int64_t blocks = (n + kBlockRows - 1) / kBlockRows;
  std::vector<double> sums(static_cast<std::size_t>(blocks), 0.0);
#pragma omp parallel for schedule(dynamic)
  for (std::int64_t bi = 0; bi < blocks; ++bi)
    sums[static_cast<std::size_t>(bi)] = block_sum(bi * kBlockRows, std::min(kBlockRows, n - bi * kBlockRows));
  double total = 0;
  for (double v : sums) total += v;
  return total;
}

// mean over all (i, j) of exp(-gamma |x_i - y_j|^2).
double mean_kernel(const RowMat& x, const Eigen::VectorXd& xn, const RowMat& y, const Eigen::VectorXd& yn, double gamma) {
  const int d = static_cast<int>(x.cols()), m = static_cast<int>(y.rows());
  const double total = sum_over_blocks(x.rows(), [&](std::int64_t b0, std::int64_t nb) {
    const Eigen::MatrixXd g = detail::gemm_abt(x.row(b0).data(), static_cast<int>(nb), y.data(), m, d);
    return block_kernel_sums(g, xn.data() + b0, yn.data(), m, gamma).first;
  });
  return total / (static_cast<double>(x.rows()) * static_cast<double>(m));
}

// The same for y = x: the kernel matrix is symmetric, so a row block pairs only with itself and the
// rows after it (counted twice): 2/3 of the products of mean_kernel(x, x).
double mean_kernel_self(const RowMat& x, const Eigen::VectorXd& xn, double gamma) {
  const std::int64_t n = x.rows();
  const int d = static_cast<int>(x.cols());
  const double total = sum_over_blocks(n, [&](std::int64_t b0, std::int64_t nb) {
    const Eigen::MatrixXd g = detail::gemm_abt(x.row(b0).data(), static_cast<int>(nb), x.row(b0).data(),
                                               static_cast<int>(n - b0), d);
    const auto [diagonal_block, after] = block_kernel_sums(g, xn.data() + b0, xn.data() + b0, nb, gamma);
    return diagonal_block + 2 * after;
  });
  return total / (static_cast<double>(n) * static_cast<double>(n));
}

double cmmd_f64(const RowMat& a, const RowMat& b, const CmmdOptions& opt) {
  const Eigen::VectorXd an = a.rowwise().squaredNorm(), bn = b.rowwise().squaredNorm();
  const double gamma = 1.0 / (2.0 * opt.sigma * opt.sigma);
  const double kxx = mean_kernel_self(a, an, gamma), kyy = mean_kernel_self(b, bn, gamma),
               kxy = mean_kernel(a, an, b, bn, gamma);
  return opt.scale * (kxx + kyy - 2 * kxy);
}

void check(FeatureView a, FeatureView b, const CmmdOptions& opt, const std::string& na, const std::string& nb) {
  if (!(opt.sigma > 0) || !std::isfinite(opt.sigma)) throw InputError("CMMD: sigma must be > 0");
  if (!(opt.scale > 0) || !std::isfinite(opt.scale)) throw InputError("CMMD: scale must be > 0");
  if (a.cols != b.cols)
    throw InputError(na + " has dimension " + std::to_string(a.cols) + " but " + nb + " has " + std::to_string(b.cols));
  if (a.rows < 1) throw InputError(at_file(na, "no rows"));
  if (b.rows < 1) throw InputError(at_file(nb, "no rows"));
}

}  // namespace

double cmmd(FeatureView a, FeatureView b, const CmmdOptions& opt, const std::string& name_a, const std::string& name_b) {
  check(a, b, opt, name_a, name_b);
  return cmmd_f64(to_f64(a), to_f64(b), opt);
}

CmmdReport cmmd_report(FeatureView a, FeatureView b, const CmmdOptions& opt, const IntervalOptions& interval,
                       const std::string& name_a, const std::string& name_b) {
  validate(interval);
  check(a, b, opt, name_a, name_b);
  CmmdReport r;
  r.options = opt;
  r.interval = interval;
  r.n_a = a.rows;
  r.n_b = b.rows;
  r.dim = static_cast<int>(a.cols);
  const RowMat fa = to_f64(a), fb = to_f64(b);
  r.value = cmmd_f64(fa, fb, opt);
  r.estimate = Estimate::point(r.value, a.rows + b.rows);
  r.estimate.estimand = "expected CMMD (biased MMD^2 estimator, Gaussian RBF kernel) at n_a, n_b";
  if (interval.bootstrap == 0) return r;
  stats::Rng rng(stats::derive_seed(interval.seed, kCmmdStream));
  std::vector<double> reps;
  reps.reserve(static_cast<std::size_t>(interval.bootstrap));
  for (int rep = 0; rep < interval.bootstrap; ++rep) {
    const auto ia = stats::resample_indices(rng, a.rows), ib = stats::resample_indices(rng, b.rows);
    reps.push_back(cmmd_f64(detail::gather(fa, ia), detail::gather(fb, ib), opt));
  }
  stats::finish_reflected_interval(r.value, std::move(reps), interval.ci_level, kReflectedIntervalMethod, r.estimate, 0.0);
  return r;
}

json to_json(const CmmdReport& r) {
  return {{"cmmd", finite_or_null(r.value)},
          {"n_a", r.n_a},
          {"n_b", r.n_b},
          {"dim", r.dim},
          {"sigma", r.options.sigma},
          {"scale", r.options.scale},
          {"estimator", "biased (V-statistic) MMD^2, all pairs including i = j, as the reference code"},
          {"estimates", {{"cmmd", json::parse(medsyn::to_json(r.estimate).dump())}}},
          {"bootstrap", r.interval.bootstrap},
          {"seed", r.interval.seed}};
}

}  // namespace medsyn::metrics
