// Prompt-replay memorization on embeddings (replay.h).
#include "medsyn/memorization/replay.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "medsyn/core/error.h"
#include "medsyn/memorization/embedding_audit.h"
#include "medsyn/memorization/knn.h"

namespace medsyn::memorization {

namespace {

std::vector<float> l2_rows(FeatureView m) {
  std::vector<float> out(m.data, m.data + static_cast<std::size_t>(m.rows) * static_cast<std::size_t>(m.cols));
  l2_normalize_rows(out.data(), m.rows, static_cast<int>(m.cols));
  return out;
}

double dot(const float* a, const float* b, std::int64_t d) {
  double s = 0;
  for (std::int64_t j = 0; j < d; ++j) s += static_cast<double>(a[j]) * b[j];
  return s;
}

double nan_max(double a, double b) { return std::isnan(a) ? b : std::max(a, b); }

}  // namespace

ReplayAudit replay_audit(FeatureView train, const std::vector<std::string>& train_prompts, FeatureView holdout,
                         FeatureView generated, const std::vector<std::size_t>& generated_query,
                         const std::vector<ReplayQuery>& queries, double threshold_quantile) {
  if (static_cast<std::int64_t>(train_prompts.size()) != train.rows)
    throw InputError("train_prompts: " + std::to_string(train_prompts.size()) + " prompts for " + std::to_string(train.rows) +
                     " training rows");
  if (static_cast<std::int64_t>(generated_query.size()) != generated.rows)
    throw InputError("generated_query: " + std::to_string(generated_query.size()) + " query indices for " +
                     std::to_string(generated.rows) + " generated rows");
  if (queries.empty()) throw InputError("queries: no replayed prompt");
  for (std::size_t i = 0; i < generated_query.size(); ++i)
    if (generated_query[i] >= queries.size())
      throw InputError("generated_query[" + std::to_string(i) + "] = " + std::to_string(generated_query[i]) + ": only " +
                       std::to_string(queries.size()) + " queries");
  for (std::size_t q = 0; q < queries.size(); ++q)
    if (queries[q].source_row < -1 || queries[q].source_row >= train.rows)
      throw InputError("queries[" + std::to_string(q) + "].source_row = " + std::to_string(queries[q].source_row) +
                       " is not a training row (0.." + std::to_string(train.rows - 1) + ")");

  // Nearest training image of every generated and holdout image, and tau: the audit's own code.
  EmbeddingAuditOptions ao;
  ao.k = 1;
  ao.index = IndexKind::flat;
  ao.threshold_quantile = threshold_quantile;
  const EmbeddingAudit a = audit_embeddings(train, holdout, generated, ao);

  ReplayAudit r;
  r.calibration = a.calibration;
  r.n_generated = static_cast<std::size_t>(generated.rows);
  r.n_train = static_cast<std::size_t>(train.rows);
  const std::int64_t d = train.cols;
  const std::vector<float> tr = l2_rows(train), ge = l2_rows(generated);
  r.items.resize(queries.size());
  for (std::size_t q = 0; q < queries.size(); ++q) {
    r.items[q].prompt = queries[q].prompt;
    r.items[q].source_row = queries[q].source_row;
    for (const auto& p : train_prompts) r.items[q].n_same_prompt_train += p == queries[q].prompt ? 1 : 0;
  }
  std::set<std::int64_t> copied;
  for (std::int64_t i = 0; i < generated.rows; ++i) {
    ReplayItem& it = r.items[generated_query[static_cast<std::size_t>(i)]];
    const float* g = ge.data() + i * d;
    ++it.n_images;
    const double nn = a.synthetic_nn[static_cast<std::size_t>(i)];
    const std::int64_t nearest = a.synthetic.id(i, 0);
    r.nearest_similarity.push_back(nn);
    r.nearest_train_row.push_back(nearest);
    it.max_similarity_gallery = nan_max(it.max_similarity_gallery, nn);
    for (std::int64_t t = 0; t < train.rows; ++t)
      if (train_prompts[static_cast<std::size_t>(t)] == it.prompt)
        it.max_similarity_same_prompt = nan_max(it.max_similarity_same_prompt, dot(g, tr.data() + t * d, d));
    if (it.source_row >= 0) it.max_similarity_source = nan_max(it.max_similarity_source, dot(g, tr.data() + it.source_row * d, d));
    if (nn > r.calibration.tau) {  // strictly above, as the audit flags
      ++it.flagged;
      ++r.n_flagged;
      copied.insert(nearest);
    }
  }
  r.copied_train_rows.assign(copied.begin(), copied.end());
  r.n_train_copied = copied.size();
  return r;
}

}  // namespace medsyn::memorization
