#include "medsyn/metrics/vendi.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <lapacke.h>

#include <Eigen/Dense>
#include <nlohmann/json.hpp>

#include "blas_products.h"
#include "medsyn/core/error.h"
#include "medsyn/core/json.h"

namespace medsyn::metrics {

VendiResult vendi_score(FeatureView x, const VendiOptions& opt, const std::string& name) {
  if (std::isnan(opt.q) || opt.q < 0) throw InputError("Vendi score: q must be >= 0 (or inf), got " + std::to_string(opt.q));
  if (x.rows < 1) throw InputError(at_file(name, "no rows"));
  if (x.cols < 1) throw InputError(at_file(name, "features have no columns"));
  VendiResult r;
  r.q = opt.q;
  r.n = x.rows;
  r.dim = static_cast<int>(x.cols);
  // Rows L2-normalised in float64 (sklearn.preprocessing.normalize: a zero row stays zero).
  detail::RowMat m = detail::to_f64(x);
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    const double norm = m.row(i).norm();
    if (norm > 0) m.row(i) /= norm;
    else ++r.zero_rows;
  }
  const double n = static_cast<double>(x.rows);
  const int k = static_cast<int>(std::min<std::int64_t>(x.rows, x.cols));
  Eigen::MatrixXd s;  // k x k, column-major, lower triangle filled
  if (x.cols <= x.rows) {  // dual: X^T X / n (d x d)
    r.method = "dual (d x d)";
    s = Eigen::MatrixXd::Zero(k, k);
    detail::syrk_lower_ata(m.data(), static_cast<int>(m.rows()), k, s.data());
  } else {  // primal: X X^T / n (n x n)
    r.method = "primal (n x n)";
    s = Eigen::MatrixXd::Zero(k, k);
    detail::syrk_lower_aat(m.data(), k, static_cast<int>(m.cols()), 1.0, s);
  }
  s /= n;
  std::vector<double> w(static_cast<std::size_t>(k));
  if (LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'N', 'L', k, s.data(), k, w.data()) != 0)
    throw Error("Vendi score: the eigenvalue solver failed on " + name);
  const double wmax = *std::max_element(w.begin(), w.end());
  double entropy = 0;
  if (std::isinf(opt.q)) {
    entropy = -std::log(wmax);
  } else if (opt.q == 1.0) {
    for (double v : w)
      if (v > 0) entropy -= v * std::log(v);
  } else {
    double sum = 0;
    for (double v : w)
      if (v > (opt.q == 0.0 ? 1e-12 * wmax : 0.0)) sum += std::pow(v, opt.q);
    entropy = std::log(sum) / (1.0 - opt.q);
  }
  r.score = std::exp(entropy);
  return r;
}

nlohmann::json to_json(const VendiResult& r) {
  nlohmann::json q = std::isinf(r.q) ? nlohmann::json("inf") : nlohmann::json(r.q);
  return {{"vendi", finite_or_null(r.score)}, {"q", q},           {"n", r.n},
          {"dim", r.dim},                     {"kernel", "cosine"}, {"method", r.method},
          {"zero_rows", r.zero_rows}};
}

}  // namespace medsyn::metrics
