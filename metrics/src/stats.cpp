#include "medsyn/metrics/stats.h"

#include <algorithm>
#include <cmath>

#include <Eigen/Dense>

#include "medsyn/core/error.h"
#include "blas_products.h"

namespace medsyn::metrics {

using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

StatsAccumulator::StatsAccumulator(int dim) : dim_(dim) {
  if (dim < 1) throw InputError("feature statistics: dimension must be >= 1");
  mean_.assign(static_cast<std::size_t>(dim), 0.0);
  m2_.assign(static_cast<std::size_t>(dim) * dim, 0.0);
}

void StatsAccumulator::add(const float* data, std::int64_t rows) {
  if (rows <= 0) return;
  std::vector<double> b(data, data + rows * dim_);
  add_batch(b, rows);
}

void StatsAccumulator::add(const double* data, std::int64_t rows) {
  if (rows <= 0) return;
  std::vector<double> b(data, data + rows * dim_);
  add_batch(b, rows);
}

// Chan et al.: merge (n_a, mean_a, M2_a) with a batch (n_b, mean_b, M2_b):
//   delta = mean_b - mean_a; mean = mean_a + delta n_b / n; M2 = M2_a + M2_b + delta delta^T n_a n_b / n.
void StatsAccumulator::add_batch(const std::vector<double>& batch, std::int64_t rows) {
  const int d = dim_;
  Eigen::Map<RowMat> x(const_cast<double*>(batch.data()), rows, d);
  Eigen::VectorXd bmean = x.colwise().mean().transpose();
  RowMat centered = x.rowwise() - bmean.transpose();
  // M2 is symmetric; we keep the lower triangle of its column-major storage valid. The batch's
  // centred cross-products go straight into it (BLAS dsyrk, beta = 1).
  Eigen::Map<Eigen::MatrixXd> m2(m2_.data(), d, d);
  detail::syrk_lower_ata(centered.data(), static_cast<int>(rows), d, m2_.data());
  Eigen::Map<Eigen::VectorXd> mean(mean_.data(), d);
  const double na = static_cast<double>(n_), nb = static_cast<double>(rows), n = na + nb;
  Eigen::VectorXd delta = bmean - mean;
  if (n_ > 0) m2.selfadjointView<Eigen::Lower>().rankUpdate(delta, na * nb / n);
  mean += delta * (nb / n);
  n_ += rows;
}

void StatsAccumulator::merge(const StatsAccumulator& o) {
  if (o.dim_ != dim_)
    throw InputError("cannot merge feature statistics of dimension " + std::to_string(o.dim_) + " into " +
                     std::to_string(dim_));
  if (o.n_ == 0) return;
  if (n_ == 0) {
    *this = o;
    return;
  }
  const int d = dim_;
  Eigen::Map<Eigen::MatrixXd> m2(m2_.data(), d, d);
  Eigen::Map<const Eigen::MatrixXd> om2(o.m2_.data(), d, d);
  Eigen::Map<Eigen::VectorXd> mean(mean_.data(), d);
  Eigen::Map<const Eigen::VectorXd> omean(o.mean_.data(), d);
  const double na = static_cast<double>(n_), nb = static_cast<double>(o.n_), n = na + nb;
  Eigen::VectorXd delta = omean - mean;
  m2.triangularView<Eigen::Lower>() += om2;
  m2.selfadjointView<Eigen::Lower>().rankUpdate(delta, na * nb / n);
  mean += delta * (nb / n);
  n_ += o.n_;
}

GaussianStats StatsAccumulator::finish(const std::string& what) const {
  if (n_ < 2)
    throw InputError(what + ": need at least 2 samples for a covariance, got " + std::to_string(n_));
  GaussianStats s;
  s.n = n_;
  s.dim = dim_;
  s.mu = mean_;
  s.sigma.assign(m2_.size(), 0.0);
  const int d = dim_;
  const double inv = 1.0 / static_cast<double>(n_ - 1);
  // m2_ is col-major with the lower triangle valid: element (r, c), r >= c, at m2_[c*d + r].
  for (int r = 0; r < d; ++r)
    for (int c = 0; c <= r; ++c) {
      const double v = m2_[static_cast<std::size_t>(c) * d + r] * inv;
      s.sigma[static_cast<std::size_t>(r) * d + c] = v;
      s.sigma[static_cast<std::size_t>(c) * d + r] = v;
    }
  return s;
}

StatsAccumulator::State StatsAccumulator::state() const {
  const std::size_t d = static_cast<std::size_t>(dim_);
  State s;
  s.n = n_;
  s.mean = mean_;
  s.m2.assign(d * d, 0.0);
  for (std::size_t j = 0; j < d; ++j)
    for (std::size_t i = j; i < d; ++i) s.m2[i * d + j] = s.m2[j * d + i] = m2_[i + j * d];  // lower, column-major
  return s;
}

StatsAccumulator StatsAccumulator::from_state(int dim, const State& s) {
  StatsAccumulator acc(dim);
  const std::size_t d = static_cast<std::size_t>(dim);
  if (s.n < 0) throw InputError("feature statistics state: n must be >= 0, got " + std::to_string(s.n));
  if (s.mean.size() != d)
    throw InputError("feature statistics state: mean has " + std::to_string(s.mean.size()) + " values, expected " + std::to_string(d));
  if (s.m2.size() != d * d)
    throw InputError("feature statistics state: m2 has " + std::to_string(s.m2.size()) + " values, expected " +
                     std::to_string(d) + " x " + std::to_string(d));
  for (double v : s.mean)
    if (!std::isfinite(v)) throw InputError("feature statistics state: mean is not finite");
  for (std::size_t i = 0; i < d; ++i)
    for (std::size_t j = 0; j <= i; ++j) {
      const double a = s.m2[i * d + j], b = s.m2[j * d + i];
      if (!std::isfinite(a) || !std::isfinite(b)) throw InputError("feature statistics state: m2 is not finite");
      if (std::abs(a - b) > 1e-9 * std::max({1.0, std::abs(a), std::abs(b)}))
        throw InputError("feature statistics state: m2 is not symmetric at (" + std::to_string(i) + ", " + std::to_string(j) + ")");
      acc.m2_[i + j * d] = a;
    }
  acc.n_ = s.n;
  acc.mean_ = s.mean;
  return acc;
}

GaussianStats compute_stats(FeatureView f, const std::string& what, std::int64_t batch_rows) {
  if (f.cols < 1) throw InputError(what + ": features have no columns");
  StatsAccumulator acc(static_cast<int>(f.cols));
  batch_rows = std::max<std::int64_t>(batch_rows, 1);
  for (std::int64_t r = 0; r < f.rows; r += batch_rows)
    acc.add(f.row(r), std::min(batch_rows, f.rows - r));
  return acc.finish(what);
}

void write_stats_npz(const std::filesystem::path& path, const GaussianStats& s) {
  std::map<std::string, NpyArray> arrays;
  arrays["mu"] = make_npy(s.mu, {s.dim});
  arrays["sigma"] = make_npy(s.sigma, {s.dim, s.dim});
  if (s.n > 0) arrays["n"] = make_npy(std::vector<std::int64_t>{s.n}, {1});
  write_npz(path, arrays);
}

GaussianStats read_stats_npz(const std::filesystem::path& path) {
  const std::string name = path.string();
  auto arrays = read_npz(path);
  auto mu_it = arrays.find("mu");
  auto sg_it = arrays.find("sigma");
  if (mu_it == arrays.end()) throw InputError(at_file(name, "no array 'mu' (expected pytorch-fid statistics: mu, sigma)"));
  if (sg_it == arrays.end()) throw InputError(at_file(name, "no array 'sigma' (expected pytorch-fid statistics: mu, sigma)"));
  const auto& mu = mu_it->second;
  const auto& sg = sg_it->second;
  if (mu.shape.size() != 1 || mu.shape[0] < 1)
    throw InputError(at_file(name, "'mu' must be a 1-D array"));
  const std::int64_t d = mu.shape[0];
  if (sg.shape.size() != 2 || sg.shape[0] != d || sg.shape[1] != d)
    throw InputError(at_file(name, "'sigma' must be " + std::to_string(d) + " x " + std::to_string(d) +
                                       " to match 'mu'"));
  GaussianStats s;
  s.dim = static_cast<int>(d);
  s.mu = mu.as_f64();
  s.sigma = sg.as_f64();
  for (std::int64_t i = 0; i < d; ++i)
    if (!std::isfinite(s.mu[i])) throw InputError(at_file(name, "'mu' element " + std::to_string(i) + " is NaN or Inf"));
  for (std::int64_t r = 0; r < d; ++r)
    for (std::int64_t c = 0; c < d; ++c)
      if (!std::isfinite(s.sigma[r * d + c]))
        throw InputError(at_file(name, "'sigma' row " + std::to_string(r) + " contains NaN or Inf"));
  for (std::int64_t r = 0; r < d; ++r)
    for (std::int64_t c = 0; c < r; ++c) {
      const double a = s.sigma[r * d + c], b = s.sigma[c * d + r];
      const double scale = std::max({std::abs(a), std::abs(b),
                                     std::sqrt(std::abs(s.sigma[r * d + r] * s.sigma[c * d + c])), 1e-300});
      if (std::abs(a - b) > 1e-9 * scale)
        throw InputError(at_file(name, "'sigma' is not symmetric (element " + std::to_string(r) + "," +
                                           std::to_string(c) + ")"));
    }
  // A covariance has non-negative variances; sigma = -I would give a negative FID otherwise.
  for (std::int64_t r = 0; r < d; ++r)
    if (s.sigma[r * d + r] < 0)
      throw InputError(at_file(name, "'sigma' has a negative variance at (" + std::to_string(r) + "," +
                                         std::to_string(r) + "): not a covariance matrix"));
  auto n_it = arrays.find("n");
  if (n_it != arrays.end()) {
    auto n = n_it->second.as_i64();
    if (n.size() != 1 || n[0] < 0) throw InputError(at_file(name, "'n' must hold one non-negative integer"));
    s.n = n[0];
  }
  return s;
}

}  // namespace medsyn::metrics
