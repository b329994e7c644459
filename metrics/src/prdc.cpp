#include "medsyn/metrics/prdc.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/Dense>

#include "medsyn/core/error.h"
#include "medsyn/core/json.h"
#include "blas_products.h"
#include "neighbours.h"

namespace medsyn::metrics {

using detail::block_rows;
using detail::exact_d2;
using detail::kRelTol;
using detail::kth_radius2;
using detail::RowMat;
using detail::to_f64;

PrdcResult prdc(FeatureView real, FeatureView fake, int k, const std::string& name_real,
                const std::string& name_fake) {
  if (real.cols != fake.cols)
    throw InputError(name_real + " has dimension " + std::to_string(real.cols) + " but " + name_fake + " has " +
                     std::to_string(fake.cols));
  if (k < 1) throw InputError("PRDC: --k must be >= 1");
  for (const auto* m : {&real, &fake}) {
    const std::string& nm = m == &real ? name_real : name_fake;
    if (m->rows < 2) throw InputError(at_file(nm, "need at least 2 samples, got " + std::to_string(m->rows)));
    if (m->rows <= k)
      throw InputError(at_file(nm, "PRDC with --k " + std::to_string(k) + " needs more than " + std::to_string(k) +
                                       " samples, got " + std::to_string(m->rows)));
  }
  const RowMat x = to_f64(real), y = to_f64(fake);
  const Eigen::VectorXd nx = x.rowwise().squaredNorm(), ny = y.rowwise().squaredNorm();
  const std::vector<double> rr = kth_radius2(x, nx, k);
  const std::vector<double> rf = kth_radius2(y, ny, k);
  const Eigen::Index n = x.rows(), m = y.rows();

  std::vector<std::int64_t> fake_in_count(static_cast<std::size_t>(m), 0);  // # real balls holding fake j
  std::vector<char> real_covered(static_cast<std::size_t>(n), 0), real_recalled(static_cast<std::size_t>(n), 0);
  const Eigen::Index br = block_rows(m);
  for (Eigen::Index b0 = 0; b0 < n; b0 += br) {
    const Eigen::Index nb = std::min(br, n - b0);
    const Eigen::MatrixXd g = detail::gemm_abt(x.row(b0).data(), static_cast<int>(nb), y.data(), static_cast<int>(m),
                                                static_cast<int>(x.cols()));
    for (Eigen::Index li = 0; li < nb; ++li) {
      const Eigen::Index i = b0 + li;
      for (Eigen::Index j = 0; j < m; ++j) {
        const double approx = std::max(0.0, nx[i] + ny[j] - 2.0 * g(li, j));
        const double tol = kRelTol * (nx[i] + ny[j]) + 1e-300;
        double exact = -1;  // computed lazily
        auto inside = [&](double r2) {
          if (approx < r2 - tol) return true;
          if (approx > r2 + tol) return false;
          if (exact < 0) exact = exact_d2(x, i, y, j);
          return exact <= r2;
        };
        if (inside(rr[i])) {
          ++fake_in_count[j];
          real_covered[i] = 1;
        }
        if (!real_recalled[i] && inside(rf[j])) real_recalled[i] = 1;
      }
    }
  }
  PrdcResult r;
  r.k = k;
  r.n_real = n;
  r.n_fake = m;
  r.dim = static_cast<int>(real.cols);
  std::int64_t prec = 0, dens = 0, cov = 0, rec = 0;
  for (auto c : fake_in_count) {
    prec += c > 0;
    dens += c;
  }
  for (Eigen::Index i = 0; i < n; ++i) {
    cov += real_covered[i];
    rec += real_recalled[i];
  }
  r.precision = static_cast<double>(prec) / static_cast<double>(m);
  r.recall = static_cast<double>(rec) / static_cast<double>(n);
  r.density = static_cast<double>(dens) / (static_cast<double>(k) * static_cast<double>(m));
  r.coverage = static_cast<double>(cov) / static_cast<double>(n);
  return r;
}

nlohmann::json prdc_to_json(const PrdcResult& r) {
  return json{{"precision", r.precision}, {"recall", r.recall}, {"density", r.density}, {"coverage", r.coverage},
              {"k", r.k},                 {"n_a", r.n_real},    {"n_b", r.n_fake},      {"dim", r.dim},
              {"tie_rule", "distance <= radius is inside; k-th neighbour excludes the point itself"}};
}

}  // namespace medsyn::metrics
