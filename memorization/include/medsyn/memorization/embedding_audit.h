#pragma once
// The memorization audit on embeddings the caller already holds (the Python module's
// `memorization_audit`): no images, no extractor, no gallery zooms, no files.
//
// Steps (the same arithmetic as the image audit, audit.h, after it has embedded the images):
//  1. every row of train, holdout and synthetic is L2-normalised in float32 (an all-zero row stays
//     zero), so the inner product is the cosine similarity s;
//  2. synthetic rows search their k nearest training rows and holdout rows their nearest one, with a
//     flat (exact), ivf or hnsw inner-product index (knn.h);
//  3. calibrate() (calibration.h): tau = quantile(holdout nearest similarities, threshold_quantile);
//     a synthetic row is flagged when its nearest similarity is strictly above tau.
// For ivf/hnsw, recall@k is measured against exact search on up to `recall_sample` synthetic and
// holdout queries drawn with stats::Rng(seed).
#include <cstdint>
#include <string>
#include <vector>

#include "medsyn/core/npy.h"
#include "medsyn/memorization/calibration.h"
#include "medsyn/memorization/knn.h"

namespace medsyn::memorization {

struct EmbeddingAuditOptions {
  int k = 5;
  IndexKind index = IndexKind::flat;
  double threshold_quantile = 0.99;
  std::vector<double> thresholds = {0.5, 0.95};
  std::size_t recall_sample = 1000;
  std::uint64_t seed = 0;
};

struct EmbeddingAudit {
  Calibration calibration;
  KnnResult synthetic;                 // synthetic rows x k: similarity and training row, best first
  std::vector<double> synthetic_nn;    // nearest similarity per synthetic row
  std::vector<std::int64_t> holdout_nearest;  // nearest training row per holdout row
  std::vector<double> holdout_nn;      // nearest similarity per holdout row
  std::vector<std::int64_t> flagged;   // synthetic rows with nearest similarity > tau, ascending
  std::string index_description;
  double recall_at_k = 1.0;            // 1 (exact) for flat
  std::size_t recall_queries = 0;
  std::vector<std::string> warnings;
};

// InputError naming "train", "holdout" or "synthetic" for empty sets, dimension mismatches or
// non-finite values, and naming the option for k < 1 or a quantile outside [0, 1].
EmbeddingAudit audit_embeddings(FeatureView train, FeatureView holdout, FeatureView synthetic,
                                const EmbeddingAuditOptions& options = {});

}  // namespace medsyn::memorization
