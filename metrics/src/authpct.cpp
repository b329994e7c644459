#include "medsyn/metrics/authpct.h"

#include <nlohmann/json.hpp>

#include "medsyn/core/error.h"
#include "neighbours.h"

namespace medsyn::metrics {

AuthPctResult authpct(FeatureView train, FeatureView generated, const std::string& name_train,
                      const std::string& name_generated) {
  if (train.cols != generated.cols)
    throw InputError(name_train + " has dimension " + std::to_string(train.cols) + " but " + name_generated + " has " +
                     std::to_string(generated.cols));
  if (train.rows < 2) throw InputError(at_file(name_train, "need at least 2 samples, got " + std::to_string(train.rows)));
  if (generated.rows < 1) throw InputError(at_file(name_generated, "no rows"));
  using detail::RowMat;
  const RowMat x = detail::to_f64(train), y = detail::to_f64(generated);
  const Eigen::VectorXd nx = x.rowwise().squaredNorm(), ny = y.rowwise().squaredNorm();
  const std::vector<double> own = detail::kth_radius2(x, nx, 1);  // nearest other training sample
  const Eigen::Index n = x.rows(), m = y.rows();
  const double max_nx = nx.maxCoeff();
  AuthPctResult r;
  r.n_train = n;
  r.n_generated = m;
  r.dim = static_cast<int>(train.cols);
  const Eigen::Index br = detail::block_rows(n);
  std::vector<double> row(static_cast<std::size_t>(n));
  for (Eigen::Index b0 = 0; b0 < m; b0 += br) {
    const Eigen::Index nb = std::min(br, m - b0);
    const Eigen::MatrixXd g =
        detail::gemm_abt(y.row(b0).data(), static_cast<int>(nb), x.data(), static_cast<int>(n), static_cast<int>(y.cols()));
    for (Eigen::Index lj = 0; lj < nb; ++lj) {
      const Eigen::Index j = b0 + lj;
      double best = std::numeric_limits<double>::infinity();
      for (Eigen::Index i = 0; i < n; ++i) {
        row[i] = std::max(0.0, ny[j] + nx[i] - 2.0 * g(lj, i));
        best = std::min(best, row[i]);
      }
      // Candidates within the expansion's error of the minimum, decided exactly (lowest index wins a tie).
      const double tol = detail::kRelTol * (ny[j] + max_nx) + 1e-300;
      Eigen::Index nearest = -1;
      double d1 = std::numeric_limits<double>::infinity();
      for (Eigen::Index i = 0; i < n; ++i)
        if (row[i] <= best + 2 * tol) {
          const double e = detail::exact_d2(y, j, x, i);
          if (e < d1) {
            d1 = e;
            nearest = i;
          }
        }
      if (own[static_cast<std::size_t>(nearest)] < d1) ++r.authentic;
    }
  }
  r.authpct = 100.0 * static_cast<double>(r.authentic) / static_cast<double>(m);
  return r;
}

nlohmann::json to_json(const AuthPctResult& r) {
  return {{"authpct", r.authpct},
          {"authentic", r.authentic},
          {"n_train", r.n_train},
          {"n_generated", r.n_generated},
          {"dim", r.dim},
          {"rule", "authentic when the nearest training sample's own nearest-other distance < its distance to the generated sample"}};
}

}  // namespace medsyn::metrics
