#pragma once
// Prompt-replay memorization (CheXGenBench's protocol; Dar et al. 2025 report both rates below):
// M training records are sampled, their prompts are given back to the generator K times each
// (different seeds), and every generated image is compared with the training images of the same
// prompt and with the whole training gallery, on embeddings the caller holds.
//
//  1. rows are L2-normalised (cosine similarity), as in embedding_audit.h;
//  2. tau is calibrated exactly as the audit does (calibrate(): quantile `threshold_quantile` of
//     the holdout images' nearest-training similarities); a generated image is flagged when its
//     nearest training similarity is strictly above tau;
//  3. per query (a sampled training record): the largest similarity of its K images to training
//     images of the same prompt, to the whole gallery, and to the query's own source image;
//  4. the fraction of generated images flagged, and the fraction of *training* images that are
//     the nearest neighbour of at least one flagged image ("patients copied").
// Exact (flat) search only: the sets are small (M x K queries).
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "medsyn/core/npy.h"
#include "medsyn/memorization/calibration.h"

namespace medsyn::memorization {

// A sampled training record whose prompt is replayed.
struct ReplayQuery {
  std::string prompt;            // compared verbatim with train_prompts (normalise both first)
  std::int64_t source_row = -1;  // its row in the training embeddings (-1: unknown)
};

struct ReplayItem {
  static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  std::string prompt;
  std::int64_t source_row = -1;
  std::size_t n_images = 0;             // generated images of this query
  std::size_t n_same_prompt_train = 0;  // training images with the same prompt
  double max_similarity_same_prompt = kNaN;  // NaN: no image, or no training image with the prompt
  double max_similarity_gallery = kNaN;
  double max_similarity_source = kNaN;  // NaN without a source row
  std::size_t flagged = 0;              // its images above tau
};

struct ReplayAudit {
  Calibration calibration;  // tau and the holdout/generated similarity summaries
  std::vector<ReplayItem> items;  // one per query, in query order
  std::size_t n_generated = 0, n_flagged = 0;
  std::size_t n_train = 0, n_train_copied = 0;
  std::vector<std::int64_t> copied_train_rows;  // nearest training rows of flagged images, ascending, unique
  std::vector<std::int64_t> nearest_train_row;  // per generated row
  std::vector<double> nearest_similarity;       // per generated row
};

// generated_query[i]: the query (index into `queries`) generated row i answers. InputError naming
// the argument for empty sets, dimension or length mismatches, a query index or source row out of
// range, non-finite values, or a quantile outside [0, 1].
ReplayAudit replay_audit(FeatureView train, const std::vector<std::string>& train_prompts, FeatureView holdout,
                         FeatureView generated, const std::vector<std::size_t>& generated_query,
                         const std::vector<ReplayQuery>& queries, double threshold_quantile = 0.99);

}  // namespace medsyn::memorization
