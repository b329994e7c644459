// Sharded nearest-neighbour search: shard ranges, row renumbering, top-k merge (shards.h).
#include "medsyn/memorization/shards.h"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

#include <faiss/utils/distances.h>

#include "medsyn/core/error.h"

namespace medsyn::memorization {

namespace {

// The canonical k best of `cand` (similarity, row): selected by (similarity desc, row asc),
// listed by (similarity desc, row desc). Writes k slots at sims/ids (padding left as is).
void canonical_top(std::vector<std::pair<float, std::int64_t>>& cand, int k, float* sims, std::int64_t* ids) {
  const std::size_t kk = std::min<std::size_t>(cand.size(), static_cast<std::size_t>(k));
  const auto end = cand.begin() + static_cast<std::ptrdiff_t>(kk);
  std::partial_sort(cand.begin(), end, cand.end(),
                    [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
  std::sort(cand.begin(), end, [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second > b.second; });
  for (std::size_t j = 0; j < kk; ++j) {
    sims[j] = cand[j].first;
    ids[j] = cand[j].second;
  }
}

}  // namespace

KnnResult search_exact(const KnnIndex& index, const float* queries, std::int64_t nq, int k) {
  if (k < 1) throw InputError("--k must be at least 1, got " + std::to_string(k));
  const std::int64_t n = index.size();
  // k + 1 rows show whether a tie straddles the k-th place; widen until no tie is cut.
  std::int64_t kw = std::min<std::int64_t>(static_cast<std::int64_t>(k) + 1, std::max<std::int64_t>(n, 1));
  // FAISS's per-query kernel (fvec_inner_product per pair) below distance_compute_blas_threshold
  // queries: a (query, row) similarity then does not depend on how many rows or queries a search
  // holds. Its BLAS path does (OpenBLAS picks other kernels for small matrices: a shard of 15
  // rows and the whole gallery differed by 1e-8 in the suite test), which a merge cannot undo.
  const std::int64_t chunk = std::max(1, faiss::distance_compute_blas_threshold - 1);
  auto search = [&](int kk) {
    KnnResult r;
    r.nq = nq;
    r.k = kk;
    for (std::int64_t q0 = 0; q0 < nq; q0 += chunk) {
      const KnnResult part = index.search(queries + q0 * index.dim(), std::min(chunk, nq - q0), kk);
      r.sims.insert(r.sims.end(), part.sims.begin(), part.sims.end());
      r.ids.insert(r.ids.end(), part.ids.begin(), part.ids.end());
    }
    return r;
  };
  KnnResult wide;
  for (;;) {
    wide = search(static_cast<int>(kw));
    if (kw >= n || kw <= k) break;
    bool cut = false;  // some query's last row ties with its k-th: rows of that value may be missing
    for (std::int64_t q = 0; q < nq && !cut; ++q)
      cut = wide.id(q, static_cast<int>(kw - 1)) >= 0 && wide.sim(q, static_cast<int>(kw - 1)) == wide.sim(q, k - 1);
    if (!cut) break;
    kw = std::min<std::int64_t>(n, 2 * kw);
  }
  KnnResult out;
  out.nq = nq;
  out.k = k;
  out.sims.assign(static_cast<std::size_t>(nq) * k, -std::numeric_limits<float>::infinity());
  out.ids.assign(static_cast<std::size_t>(nq) * k, -1);
  std::vector<std::pair<float, std::int64_t>> cand;
  for (std::int64_t q = 0; q < nq; ++q) {
    cand.clear();
    for (int r = 0; r < wide.k; ++r)
      if (wide.id(q, r) >= 0) cand.push_back({wide.sim(q, r), wide.id(q, r)});
    canonical_top(cand, k, out.sims.data() + q * k, out.ids.data() + q * k);
  }
  return out;
}

std::vector<ShardRange> shard_ranges(std::int64_t n, std::int64_t shard_size) {
  if (n < 0) throw InputError("shard_ranges: negative count " + std::to_string(n));
  std::vector<ShardRange> out;
  if (shard_size <= 0 || n <= shard_size) {
    out.push_back({0, n});
    return out;
  }
  for (std::int64_t b = 0; b < n; b += shard_size) out.push_back({b, std::min(n, b + shard_size)});
  return out;
}

KnnResult to_gallery_rows(const KnnResult& r, ShardRange images, std::int64_t n_images) {
  const std::int64_t m = images.size();
  if (m < 1 || images.begin < 0 || images.end > n_images)
    throw InputError("shard [" + std::to_string(images.begin) + ", " + std::to_string(images.end) + ") is not a range of " +
                     std::to_string(n_images) + " gallery images");
  KnnResult out = r;
  for (auto& id : out.ids) {
    if (id < 0) continue;
    const std::int64_t view = id / m, image = images.begin + id % m;
    id = view * n_images + image;
  }
  return out;
}

KnnResult merge_topk(const std::vector<KnnResult>& shards, int k) {
  if (k < 1) throw InputError("merge_topk: k must be at least 1, got " + std::to_string(k));
  KnnResult out;
  out.k = k;
  out.nq = shards.empty() ? 0 : shards.front().nq;
  for (const auto& s : shards)
    if (s.nq != out.nq)
      throw InputError("merge_topk: shard results hold " + std::to_string(s.nq) + " and " + std::to_string(out.nq) + " queries");
  out.sims.assign(static_cast<std::size_t>(out.nq) * k, -std::numeric_limits<float>::infinity());
  out.ids.assign(static_cast<std::size_t>(out.nq) * k, -1);
  std::vector<std::pair<float, std::int64_t>> cand;
  for (std::int64_t q = 0; q < out.nq; ++q) {
    cand.clear();
    for (const auto& s : shards)
      for (int r = 0; r < s.k; ++r)
        if (s.id(q, r) >= 0) cand.push_back({s.sim(q, r), s.id(q, r)});
    canonical_top(cand, k, out.sims.data() + q * k, out.ids.data() + q * k);
  }
  return out;
}

}  // namespace medsyn::memorization
