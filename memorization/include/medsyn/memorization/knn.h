#pragma once
// Nearest-training-image search for the memorization audit (FAISS behind a pimpl; this header does
// not include FAISS).
//
// Conventions:
//  - Matrices are compact n x d row-major float32 (row i = image i), as in faiss/Index.h. Rows are
//    expected to be L2-normalised, so the inner product is the cosine similarity.
//  - A search returns, per query, k (similarity, train row) pairs sorted by decreasing similarity;
//    when the index holds fewer than k rows the tail is padded with (-inf, -1).
//  - flat = exact (faiss::IndexFlatIP, the default). ivf = faiss::IndexIVFFlat (inner product) with
//    nlist = clamp(4 sqrt(n), 1, n / 39) lists and nprobe = min(nlist, max(8, nlist / 4));
//    hnsw = faiss::IndexHNSWFlat (inner product), M = 32, efConstruction = 80,
//    efSearch = max(64, 2k). Approximate indexes report their recall@k against exact search.
//  - Indexes are written atomically (faiss::write_index to a temporary path, then rename).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace medsyn::memorization {

enum class IndexKind { flat, ivf, hnsw };
// Inline: suite files (medsyn_suite_spec, torch- and FAISS-free) name the default index with it.
inline const char* to_string(IndexKind k) {
  switch (k) {
    case IndexKind::flat: return "flat";
    case IndexKind::ivf: return "ivf";
    case IndexKind::hnsw: return "hnsw";
  }
  return "?";
}
IndexKind index_kind_from_string(const std::string& s);  // InputError naming --index

struct KnnResult {
  std::int64_t nq = 0;
  int k = 0;
  std::vector<float> sims;         // nq x k, row-major, decreasing within a row
  std::vector<std::int64_t> ids;   // nq x k train rows (-1 = none)
  float sim(std::int64_t q, int r) const { return sims[static_cast<std::size_t>(q) * k + r]; }
  std::int64_t id(std::int64_t q, int r) const { return ids[static_cast<std::size_t>(q) * k + r]; }
};

class KnnIndex {
 public:
  KnnIndex();
  ~KnnIndex();
  KnnIndex(KnnIndex&&) noexcept;
  KnnIndex& operator=(KnnIndex&&) noexcept;

  // Builds an index over n x d rows (copied into the index).
  static KnnIndex build(const float* x, std::int64_t n, int d, IndexKind kind);
  // Reads an index written by save(); InputError naming the file when unreadable.
  static KnnIndex load(const std::filesystem::path& path, IndexKind kind);
  void save(const std::filesystem::path& path) const;  // atomic

  KnnResult search(const float* queries, std::int64_t nq, int k) const;
  std::int64_t size() const;
  int dim() const;
  IndexKind kind() const;
  std::string describe() const;        // e.g. "IndexIVFFlat(IP, nlist=68, nprobe=17)"
  std::size_t memory_bytes() const;    // vectors (+ HNSW links) held by the index, estimated

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// L2-normalises each of n rows of d floats in place (norm accumulated in float64); an all-zero row
// stays zero. After it the inner product of two rows is their cosine similarity.
void l2_normalize_rows(float* rows, std::int64_t n, int d);

// Exact inner-product top-k without FAISS (double accumulation; ties go to the lower row).
// The reference the tests and the recall estimate compare against.
KnnResult brute_force_knn(const float* base, std::int64_t n, const float* queries, std::int64_t nq, int d, int k);

// Mean over queries of |approx ids ∩ exact ids| / k (rows with fewer than k train items count
// only the valid ids).
double recall_at_k(const KnnResult& approx, const KnnResult& exact);

// Index over the training embeddings, cached in the core ContentCache under namespace
// "memorization-index" as <key>.faiss, key = sha256("medsynbench-memorization-index-v1",
// train_key, kind). `train_key` must identify the embeddings (the feature cache key does).
struct CachedIndex {
  KnnIndex index;
  std::string key;
  bool cache_hit = false;
  std::filesystem::path file;  // "" when the cache is off
  double build_seconds = 0;    // build (or load) wall time
};
CachedIndex build_or_load_index(const float* x, std::int64_t n, int d, IndexKind kind, const std::string& train_key,
                                bool use_cache, const std::filesystem::path& cache_dir);

}  // namespace medsyn::memorization
