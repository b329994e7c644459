#pragma once
// Private: float64 matrix products of the metrics through the BLAS that LAPACK links (OpenBLAS in
// our builds; runtime-dispatched AVX2/AVX-512 kernels, 5-10x Eigen's portable SSE2 build). Each
// output element is one dot product whose order does not depend on the thread count.
#include <cstdint>
#include <vector>

#include <Eigen/Dense>

#include "medsyn/core/npy.h"

extern "C" {
void dgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k, const double* alpha,
            const double* a, const int* lda, const double* b, const int* ldb, const double* beta, double* c,
            const int* ldc);
void dsyrk_(const char* uplo, const char* trans, const int* n, const int* k, const double* alpha, const double* a,
            const int* lda, const double* beta, double* c, const int* ldc);
}

namespace medsyn::metrics::detail {

using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// A float64 row-major copy of float32 features (the metrics compute in float64).
inline RowMat to_f64(FeatureView m) {
  return Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(m.data, m.rows, m.cols)
      .cast<double>();
}

// Rows idx of x (indices may repeat: bootstrap resamples).
inline RowMat gather(const RowMat& x, const std::vector<std::int64_t>& idx) {
  RowMat out(static_cast<Eigen::Index>(idx.size()), x.cols());
  for (std::size_t i = 0; i < idx.size(); ++i) out.row(static_cast<Eigen::Index>(i)) = x.row(idx[i]);
  return out;
}

// C (m x n, column-major) = A B^T for row-major A (m x k at `a`) and B (n x k at `b`).
inline Eigen::MatrixXd gemm_abt(const double* a, int m, const double* b, int n, int k) {
  Eigen::MatrixXd c(m, n);
  const double one = 1.0, zero = 0.0;
  const int lda = k;
  dgemm_("T", "N", &m, &n, &k, &one, a, &lda, b, &lda, &zero, c.data(), &m);
  return c;
}

// Lower triangle of C (n x n, column-major) += alpha * A A^T for row-major A (n x k at `a`).
inline void syrk_lower_aat(const double* a, int n, int k, double alpha, Eigen::MatrixXd& c) {
  const double beta = 1.0;
  const int ldc = static_cast<int>(c.rows());
  dsyrk_("L", "T", &n, &k, &alpha, a, &k, &beta, c.data(), &ldc);
}

// Lower triangle of C (d x d, column-major, leading dimension d) += A^T A for row-major A
// (rows x d at `a`).
inline void syrk_lower_ata(const double* a, int rows, int d, double* c) {
  const double one = 1.0;
  dsyrk_("L", "N", &d, &rows, &one, a, &d, &one, c, &d);
}

}  // namespace medsyn::metrics::detail
