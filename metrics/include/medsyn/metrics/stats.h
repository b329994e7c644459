#pragma once
// Gaussian feature statistics for FID: mean and covariance, accumulated in float64 by streaming.
//
// Conventions:
//  - Features are N x D row-major (row = one image), float32 or float64 on input.
//  - Accumulation keeps (n, mean, M2 = sum (x - mean)(x - mean)^T), merged batch by batch with
//    Chan et al.'s pairwise update. This is the numerically stable form of (n, sum x, sum x x^T):
//    the two are equivalent, but the centred form does not lose digits when |mean| >> std.
//    Accumulators merge exactly across shards (`merge`), so statistics never need the whole
//    N x D matrix in memory.
//  - The covariance is the unbiased one, M2 / (n - 1), like numpy.cov(rowvar=False), which is what
//    pytorch-fid stores.
//  - Stats files: .npz with float64 `mu` (D) and `sigma` (D x D), the pytorch-fid layout, plus an
//    int64 `n` (1 element) when known. Files without `n` (e.g. from pytorch-fid) load with n = 0
//    ("unknown").
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "medsyn/core/npy.h"

namespace medsyn::metrics {

struct GaussianStats {
  std::int64_t n = 0;          // number of samples; 0 = unknown
  int dim = 0;
  std::vector<double> mu;      // D
  std::vector<double> sigma;   // D x D, row-major, symmetric
};

class StatsAccumulator {
 public:
  explicit StatsAccumulator(int dim);
  int dim() const { return dim_; }
  std::int64_t count() const { return n_; }
  // Adds `rows` samples (rows x dim, row-major).
  void add(const float* data, std::int64_t rows);
  void add(const double* data, std::int64_t rows);
  // Adds everything `other` accumulated (same dim, else InputError).
  void merge(const StatsAccumulator& other);
  // Mean and unbiased covariance. Throws InputError when fewer than 2 samples.
  GaussianStats finish(const std::string& what = "features") const;

  // The accumulated state, e.g. to move it to another process and merge it there: n, the mean and
  // M2 as a full symmetric dim x dim row-major matrix. from_state() rebuilds an accumulator that
  // continues exactly (InputError naming the field for wrong sizes, non-finite values, n < 0 or an
  // M2 that is not symmetric).
  struct State {
    std::int64_t n = 0;
    std::vector<double> mean, m2;
  };
  State state() const;
  static StatsAccumulator from_state(int dim, const State& s);

 private:
  void add_batch(const std::vector<double>& batch, std::int64_t rows);
  int dim_;
  std::int64_t n_ = 0;
  std::vector<double> mean_;  // dim
  std::vector<double> m2_;    // dim x dim (lower triangle valid until finish)
};

// Statistics of a whole feature matrix (streams it in batches of `batch_rows`).
GaussianStats compute_stats(FeatureView features, const std::string& what = "features",
                            std::int64_t batch_rows = 1024);

// .npz in pytorch-fid layout (mu, sigma float64; n int64 when known). Writes atomically.
void write_stats_npz(const std::filesystem::path& path, const GaussianStats& s);
// Validates: `mu` 1-D, `sigma` D x D, finite, symmetric to 1e-9 relative; any numeric dtype.
GaussianStats read_stats_npz(const std::filesystem::path& path);

}  // namespace medsyn::metrics
