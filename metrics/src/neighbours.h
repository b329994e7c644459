#pragma once
// Private: exact nearest-neighbour distances in float64 shared by PRDC and AuthPct. Squared
// distances come from the Gram expansion |x|^2 + |y|^2 - 2 x.y (BLAS dgemm, row blocks); every
// comparison within kRelTol of a decision, and every candidate for a k-th neighbour, is recomputed
// as sum (x - y)^2 in a fixed order, so exact ties are decided exactly.
#include <algorithm>
#include <limits>
#include <vector>

#include <Eigen/Dense>

#include "blas_products.h"
#include "medsyn/core/npy.h"

namespace medsyn::metrics::detail {

inline constexpr double kRelTol = 1e-9;  // Gram-expansion error bound, relative to |x|^2 + |y|^2

// Squared distance in a fixed order: the definition used to decide ties.
inline double exact_d2(const RowMat& x, Eigen::Index i, const RowMat& y, Eigen::Index j) {
  const double* a = x.row(i).data();
  const double* b = y.row(j).data();
  double s = 0;
  for (Eigen::Index t = 0; t < x.cols(); ++t) {
    const double d = a[t] - b[t];
    s += d * d;
  }
  return s;
}

inline Eigen::Index block_rows(Eigen::Index cols) {
  const Eigen::Index budget = Eigen::Index{1} << 25;  // doubles per distance block (256 MiB)
  return std::clamp<Eigen::Index>(budget / std::max<Eigen::Index>(cols, 1), 1, 1024);
}

// Squared distance from each row of x to its k-th nearest other row (exact for ties).
inline std::vector<double> kth_radius2(const RowMat& x, const Eigen::VectorXd& norms, int k) {
  const Eigen::Index n = x.rows();
  std::vector<double> r2(static_cast<std::size_t>(n));
  const double max_norm = norms.maxCoeff();
  const Eigen::Index br = block_rows(n);
  std::vector<double> row(static_cast<std::size_t>(n));
  for (Eigen::Index b0 = 0; b0 < n; b0 += br) {
    const Eigen::Index nb = std::min(br, n - b0);
    const Eigen::MatrixXd g = detail::gemm_abt(x.row(b0).data(), static_cast<int>(nb), x.data(), static_cast<int>(n),
                                                static_cast<int>(x.cols()));
    for (Eigen::Index li = 0; li < nb; ++li) {
      const Eigen::Index i = b0 + li;
      for (Eigen::Index j = 0; j < n; ++j)
        row[j] = j == i ? std::numeric_limits<double>::infinity()
                        : std::max(0.0, norms[i] + norms[j] - 2.0 * g(li, j));
      std::vector<double> tmp = row;
      std::nth_element(tmp.begin(), tmp.begin() + (k - 1), tmp.end());
      const double v = tmp[static_cast<std::size_t>(k - 1)];
      const double tol = kRelTol * (norms[i] + max_norm) + 1e-300;
      std::vector<double> cand;
      for (Eigen::Index j = 0; j < n; ++j)
        if (j != i && row[j] <= v + 2 * tol) cand.push_back(exact_d2(x, i, x, j));
      std::nth_element(cand.begin(), cand.begin() + (k - 1), cand.end());
      r2[i] = cand[static_cast<std::size_t>(k - 1)];
    }
  }
  return r2;
}

}  // namespace medsyn::metrics::detail
