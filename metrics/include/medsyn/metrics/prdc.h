#pragma once
// Improved precision and recall (Kynkaanniemi et al. 2019) and density and coverage (Naeem et al.
// 2020) between real features R (n rows) and generated features F (m rows), Euclidean distance.
//
//   r_i  = distance from real i to its k-th nearest *other* real sample (the point itself is
//          excluded; duplicates of it count as neighbours at distance 0); s_j likewise within F.
//   precision = (1/m) #{ j : exists i, d(R_i, F_j) <= r_i }
//   recall    = (1/n) #{ i : exists j, d(R_i, F_j) <= s_j }
//   density   = (1/(k m)) sum_j #{ i : d(R_i, F_j) <= r_i }
//   coverage  = (1/n) #{ i : min_j d(R_i, F_j) <= r_i }
//
// Tie rule: balls are closed, a distance equal to the radius counts as inside (as in the NVlabs
// reference code of Kynkaanniemi et al.; the `prdc` package of Naeem et al. uses strict '<', which
// differs only at exact ties, e.g. generated copies of real samples).
// Distances: float64 Gram-matrix expansion, processed in row blocks (memory O(block x m)); every
// comparison within a relative 1e-9 of its radius, and every candidate for a k-th neighbour, is
// recomputed exactly as sum (x - y)^2, so exact ties are decided exactly.
#include <cstdint>

#include <nlohmann/json_fwd.hpp>

#include "medsyn/core/npy.h"

namespace medsyn::metrics {

struct PrdcResult {
  double precision = 0, recall = 0, density = 0, coverage = 0;
  int k = 5;
  std::int64_t n_real = 0, n_fake = 0;
  int dim = 0;
};

// Throws InputError on dimension mismatch, k < 1 or a set with <= k rows.
PrdcResult prdc(FeatureView real, FeatureView fake, int k = 5, const std::string& name_real = "A",
                const std::string& name_fake = "B");

nlohmann::json prdc_to_json(const PrdcResult& r);

}  // namespace medsyn::metrics
