#include "medsyn/memorization/embedding_audit.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "medsyn/core/error.h"
#include "medsyn/stats/random.h"

namespace medsyn::memorization {

namespace {

std::vector<float> l2_rows(FeatureView m) {
  std::vector<float> out(m.data, m.data + static_cast<std::size_t>(m.rows) * static_cast<std::size_t>(m.cols));
  l2_normalize_rows(out.data(), m.rows, static_cast<int>(m.cols));
  return out;
}

void check_set(FeatureView m, const std::string& name, std::int64_t dim) {
  if (m.rows < 1) throw InputError(name + ": no rows (the audit needs at least one embedding)");
  if (m.cols < 1) throw InputError(name + ": embeddings have no columns");
  if (dim >= 0 && m.cols != dim)
    throw InputError(name + " has dimension " + std::to_string(m.cols) + " but train has " + std::to_string(dim));
  require_finite(m, name);
}

}  // namespace

EmbeddingAudit audit_embeddings(FeatureView train, FeatureView holdout, FeatureView synthetic,
                                const EmbeddingAuditOptions& o) {
  if (o.k < 1) throw InputError("k must be >= 1, got " + std::to_string(o.k));
  if (!(o.threshold_quantile >= 0 && o.threshold_quantile <= 1))
    throw InputError("threshold_quantile must be in [0, 1], got " + std::to_string(o.threshold_quantile));
  check_set(train, "train", -1);
  check_set(holdout, "holdout", train.cols);
  check_set(synthetic, "synthetic", train.cols);
  const int d = static_cast<int>(train.cols);
  const std::vector<float> tr = l2_rows(train), ho = l2_rows(holdout), sy = l2_rows(synthetic);

  EmbeddingAudit a;
  const KnnIndex index = KnnIndex::build(tr.data(), train.rows, d, o.index);
  a.index_description = index.describe();
  const int k = static_cast<int>(std::min<std::int64_t>(o.k, train.rows));
  if (k < o.k)
    a.warnings.push_back("only " + std::to_string(train.rows) + " training rows: fewer than k = " + std::to_string(o.k) +
                         " neighbours per synthetic row");
  a.synthetic = index.search(sy.data(), synthetic.rows, k);
  const KnnResult kh = index.search(ho.data(), holdout.rows, 1);
  for (std::int64_t q = 0; q < synthetic.rows; ++q) a.synthetic_nn.push_back(a.synthetic.sim(q, 0));
  for (std::int64_t q = 0; q < holdout.rows; ++q) {
    a.holdout_nn.push_back(kh.sim(q, 0));
    a.holdout_nearest.push_back(kh.id(q, 0));
  }

  if (o.index != IndexKind::flat) {  // recall@k of the approximate index on a deterministic sample
    const std::int64_t ns = synthetic.rows, total = ns + holdout.rows;
    std::vector<std::int64_t> rows(static_cast<std::size_t>(total));
    std::iota(rows.begin(), rows.end(), 0);
    stats::Rng rng(o.seed);
    stats::shuffle(rng, rows);
    rows.resize(std::min<std::size_t>(rows.size(), std::max<std::size_t>(1, o.recall_sample)));
    std::vector<float> sample;
    for (auto r : rows) {
      const float* src = r < ns ? sy.data() + static_cast<std::size_t>(r) * d : ho.data() + static_cast<std::size_t>(r - ns) * d;
      sample.insert(sample.end(), src, src + d);
    }
    const auto nq = static_cast<std::int64_t>(rows.size());
    a.recall_at_k = recall_at_k(index.search(sample.data(), nq, k), brute_force_knn(tr.data(), train.rows, sample.data(), nq, d, k));
    a.recall_queries = static_cast<std::size_t>(nq);
  }

  a.calibration = calibrate(a.synthetic_nn, a.holdout_nn, o.threshold_quantile, o.thresholds);
  for (std::int64_t q = 0; q < synthetic.rows; ++q)
    if (a.synthetic_nn[static_cast<std::size_t>(q)] > a.calibration.tau) a.flagged.push_back(q);
  return a;
}

}  // namespace medsyn::memorization
