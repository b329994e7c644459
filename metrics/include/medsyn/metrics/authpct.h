#pragma once
// AuthPct (Alaa et al., "How Faithful is your Synthetic Data?", ICML 2022), as dgm-eval computes
// it (layer6ai-labs/dgm-eval, dgm_eval/metrics/authpct.py): for every generated sample g, find its
// nearest training sample r (Euclidean; the lowest index on exact ties); g is *authentic* when r's
// distance to its own nearest other training sample is strictly smaller than |g - r|. AuthPct is
// the percentage of authentic generated samples: a copy of a training image (|g - r| = 0) is never
// authentic. A memorization cross-check of the FAISS audit (docs/memorization.md).
//
// Computed in float64 with exact decisions at ties (metrics/src/neighbours.h); dgm-eval uses
// float32 torch.cdist, so the two can differ only where two distances agree to float32 rounding.
#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "medsyn/core/npy.h"

namespace medsyn::metrics {

struct AuthPctResult {
  double authpct = 0;               // percent, 0..100
  std::int64_t authentic = 0;       // count
  std::int64_t n_train = 0, n_generated = 0;
  int dim = 0;
};

// InputError naming the sets for a dimension mismatch, fewer than 2 training rows or no generated rows.
AuthPctResult authpct(FeatureView train, FeatureView generated, const std::string& name_train = "train",
                      const std::string& name_generated = "generated");
nlohmann::json to_json(const AuthPctResult& r);

}  // namespace medsyn::metrics
