#pragma once
// Kernel Inception Distance: unbiased MMD^2 with the cubic polynomial kernel
//   k(x, y) = (x.y / d + 1)^3
//   MMD^2_u = sum_{i!=j} k(a_i,a_j)/(m(m-1)) + sum_{i!=j} k(b_i,b_j)/(n(n-1)) - 2 sum k(a_i,b_j)/(mn)
// averaged over random subsets (Binkowski et al. 2018; the clean-fid / torch-fidelity recipe).
//
// Conventions:
//  - Each subset draws `subset_size` rows of A and `subset_size` rows of B without replacement
//    (independently per subset), from stats::Rng(seed) via stats::sample_without_replacement.
//  - subset_size >= both set sizes: one "subset" = the full sets (sizes may differ), kid_std = 0.
//  - subset_size larger than only one of the sets: it is reduced to the smaller set size and a
//    warning says so (the value used is reported).
//  - kid_std is the population standard deviation over subsets (numpy.std, ddof = 0), as in
//    clean-fid and torch-fidelity.
//  - Float64 products through BLAS dgemm/dsyrk (the OpenBLAS that LAPACK links; Eigen holds the
//    matrices). For small sets the three Gram matrices are computed once and
//    subsets index into them; otherwise per subset. Both give the same value to rounding.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "medsyn/core/npy.h"

namespace medsyn::metrics {

struct KidOptions {
  int subsets = 100;
  std::int64_t subset_size = 1000;
  std::uint64_t seed = 0;
};

struct KidResult {
  double kid_mean = 0, kid_std = 0;
  int subsets = 0;                 // subsets actually evaluated (1 for full sets)
  std::int64_t subset_size = 0;    // rows per subset actually used (for full sets: n_a)
  bool full_sets = false;
  std::int64_t n_a = 0, n_b = 0;
  int dim = 0;
  std::vector<double> values;      // MMD^2 per subset
  std::vector<std::string> warnings;
};

// Unbiased MMD^2 of the full sets A and B (no subsets).
double kid_mmd2(FeatureView a, FeatureView b);

// Throws InputError on dimension mismatch, < 2 rows, subsets < 1 or subset_size < 2.
KidResult kid(FeatureView a, FeatureView b, const KidOptions& opt = {},
              const std::string& name_a = "A", const std::string& name_b = "B");

nlohmann::json kid_to_json(const KidResult& r);

}  // namespace medsyn::metrics
