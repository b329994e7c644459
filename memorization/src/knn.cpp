#include "medsyn/memorization/knn.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/index_io.h>
#include <faiss/impl/FaissException.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_set>

#include "medsyn/core/cache.h"
#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/progress.h"

namespace fs = std::filesystem;
using idx_t = faiss::Index::idx_t;

namespace medsyn::memorization {

IndexKind index_kind_from_string(const std::string& s) {
  if (s == "flat") return IndexKind::flat;
  if (s == "ivf") return IndexKind::ivf;
  if (s == "hnsw") return IndexKind::hnsw;
  throw InputError("--index: '" + s + "' is not one of flat, ivf, hnsw");
}

struct KnnIndex::Impl {
  std::unique_ptr<faiss::Index> index;
  IndexKind kind = IndexKind::flat;
};

KnnIndex::KnnIndex() : impl_(std::make_unique<Impl>()) {}
KnnIndex::~KnnIndex() = default;
KnnIndex::KnnIndex(KnnIndex&&) noexcept = default;
KnnIndex& KnnIndex::operator=(KnnIndex&&) noexcept = default;

namespace {

int ivf_nlist(std::int64_t n) {
  const auto by_sqrt = static_cast<std::int64_t>(std::llround(4.0 * std::sqrt(static_cast<double>(n))));
  return static_cast<int>(std::max<std::int64_t>(1, std::min(by_sqrt, n / 39)));
}
int ivf_nprobe(int nlist) { return std::min(nlist, std::max(8, nlist / 4)); }

void set_search_params(faiss::Index* idx, IndexKind kind, int k) {
  if (kind == IndexKind::ivf) {
    if (auto* ivf = dynamic_cast<faiss::IndexIVF*>(idx)) ivf->nprobe = ivf_nprobe(static_cast<int>(ivf->nlist));
  } else if (kind == IndexKind::hnsw) {
    if (auto* h = dynamic_cast<faiss::IndexHNSW*>(idx)) h->hnsw.efSearch = std::max(64, 2 * k);
  }
}

}  // namespace

KnnIndex KnnIndex::build(const float* x, std::int64_t n, int d, IndexKind kind) {
  if (n < 1) throw InputError("nearest-neighbour index: no training embeddings");
  if (d < 1) throw InputError("nearest-neighbour index: embedding dimension must be positive");
  KnnIndex out;
  out.impl_->kind = kind;
  try {
    switch (kind) {
      case IndexKind::flat:
        out.impl_->index = std::make_unique<faiss::IndexFlatIP>(d);
        break;
      case IndexKind::ivf: {
        const int nlist = ivf_nlist(n);
        auto quantizer = new faiss::IndexFlatIP(d);
        auto ivf = std::make_unique<faiss::IndexIVFFlat>(quantizer, d, static_cast<std::size_t>(nlist),
                                                         faiss::METRIC_INNER_PRODUCT);
        ivf->own_fields = true;
        ivf->cp.seed = 1234;  // k-means seed: fixed, so the index is reproducible
        ivf->cp.verbose = false;
        ivf->train(n, x);
        out.impl_->index = std::move(ivf);
        break;
      }
      case IndexKind::hnsw: {
        auto h = std::make_unique<faiss::IndexHNSWFlat>(d, 32, faiss::METRIC_INNER_PRODUCT);
        h->hnsw.efConstruction = 80;
        out.impl_->index = std::move(h);
        break;
      }
    }
    out.impl_->index->add(n, x);
  } catch (const faiss::FaissException& e) {
    throw Error(std::string("FAISS failed to build the ") + to_string(kind) + " index: " + e.what());
  }
  set_search_params(out.impl_->index.get(), kind, 5);
  return out;
}

KnnIndex KnnIndex::load(const fs::path& path, IndexKind kind) {
  KnnIndex out;
  out.impl_->kind = kind;
  try {
    out.impl_->index.reset(faiss::read_index(path.c_str()));
  } catch (const faiss::FaissException& e) {
    throw InputError(at_file(path.string(), std::string("cannot read FAISS index: ") + e.what()));
  }
  if (out.impl_->index->metric_type != faiss::METRIC_INNER_PRODUCT)
    throw InputError(at_file(path.string(), "FAISS index does not use the inner-product metric"));
  return out;
}

void KnnIndex::save(const fs::path& path) const {
  const fs::path tmp = temp_path_for(path);
  try {
    faiss::write_index(impl_->index.get(), tmp.c_str());
  } catch (const faiss::FaissException& e) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw InputError(at_file(path.string(), std::string("cannot write FAISS index: ") + e.what()));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw InputError(at_file(path.string(), "cannot rename the written index into place: " + ec.message()));
  }
}

KnnResult KnnIndex::search(const float* queries, std::int64_t nq, int k) const {
  if (k < 1) throw InputError("--k must be at least 1, got " + std::to_string(k));
  KnnResult r;
  r.nq = nq;
  r.k = k;
  r.sims.assign(static_cast<std::size_t>(nq) * k, -std::numeric_limits<float>::infinity());
  r.ids.assign(static_cast<std::size_t>(nq) * k, -1);
  if (nq == 0) return r;
  set_search_params(impl_->index.get(), impl_->kind, k);
  std::vector<idx_t> labels(r.ids.size());
  try {
    impl_->index->search(nq, queries, k, r.sims.data(), labels.data());
  } catch (const faiss::FaissException& e) {
    throw Error(std::string("FAISS search failed: ") + e.what());
  }
  for (std::size_t i = 0; i < labels.size(); ++i) {
    r.ids[i] = labels[i];
    if (labels[i] < 0) r.sims[i] = -std::numeric_limits<float>::infinity();
  }
  return r;
}

std::int64_t KnnIndex::size() const { return impl_->index ? impl_->index->ntotal : 0; }
int KnnIndex::dim() const { return impl_->index ? impl_->index->d : 0; }
IndexKind KnnIndex::kind() const { return impl_->kind; }

std::string KnnIndex::describe() const {
  const auto* idx = impl_->index.get();
  if (!idx) return "none";
  if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(idx))
    return "IndexIVFFlat(IP, nlist=" + std::to_string(ivf->nlist) + ", nprobe=" + std::to_string(ivf->nprobe) + ")";
  if (auto* h = dynamic_cast<const faiss::IndexHNSW*>(idx))
    return "IndexHNSWFlat(IP, M=32, efConstruction=" + std::to_string(h->hnsw.efConstruction) +
           ", efSearch=" + std::to_string(h->hnsw.efSearch) + ")";
  return "IndexFlatIP(exact)";
}

std::size_t KnnIndex::memory_bytes() const {
  const auto* idx = impl_->index.get();
  if (!idx) return 0;
  std::size_t bytes = static_cast<std::size_t>(idx->ntotal) * idx->d * sizeof(float);
  if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(idx))
    bytes += static_cast<std::size_t>(idx->ntotal) * sizeof(idx_t) + ivf->nlist * idx->d * sizeof(float);
  if (auto* h = dynamic_cast<const faiss::IndexHNSW*>(idx))
    bytes += h->hnsw.neighbors.size() * sizeof(faiss::HNSW::storage_idx_t) + h->hnsw.levels.size() * sizeof(int) +
             h->hnsw.offsets.size() * sizeof(std::size_t);
  return bytes;
}

KnnResult brute_force_knn(const float* base, std::int64_t n, const float* queries, std::int64_t nq, int d, int k) {
  if (k < 1) throw InputError("k must be at least 1");
  KnnResult r;
  r.nq = nq;
  r.k = k;
  r.sims.assign(static_cast<std::size_t>(nq) * k, -std::numeric_limits<float>::infinity());
  r.ids.assign(static_cast<std::size_t>(nq) * k, -1);
  const int kk = static_cast<int>(std::min<std::int64_t>(k, n));
#pragma omp parallel for schedule(dynamic, 16)
  for (std::int64_t q = 0; q < nq; ++q) {
    std::vector<double> s(static_cast<std::size_t>(n));
    const float* qv = queries + static_cast<std::size_t>(q) * d;
    for (std::int64_t i = 0; i < n; ++i) {
      const float* b = base + static_cast<std::size_t>(i) * d;
      double acc = 0;
      for (int j = 0; j < d; ++j) acc += static_cast<double>(qv[j]) * b[j];
      s[static_cast<std::size_t>(i)] = acc;
    }
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + kk, order.end(), [&](std::int64_t a, std::int64_t b) {
      return s[a] != s[b] ? s[a] > s[b] : a < b;
    });
    for (int j = 0; j < kk; ++j) {
      r.sims[static_cast<std::size_t>(q) * k + j] = static_cast<float>(s[order[j]]);
      r.ids[static_cast<std::size_t>(q) * k + j] = order[j];
    }
  }
  return r;
}

void l2_normalize_rows(float* rows, std::int64_t n, int d) {
  const std::size_t dd = static_cast<std::size_t>(d);
  for (std::int64_t i = 0; i < n; ++i) {
    float* r = rows + static_cast<std::size_t>(i) * dd;
    double ss = 0;
    for (std::size_t j = 0; j < dd; ++j) ss += static_cast<double>(r[j]) * r[j];
    if (ss > 0) {
      const float inv = static_cast<float>(1.0 / std::sqrt(ss));
      for (std::size_t j = 0; j < dd; ++j) r[j] *= inv;
    }
  }
}

double recall_at_k(const KnnResult& approx, const KnnResult& exact) {
  if (approx.nq != exact.nq || approx.k != exact.k) throw Error("recall_at_k: result shapes differ");
  if (approx.nq == 0) return std::numeric_limits<double>::quiet_NaN();
  double total = 0;
  for (std::int64_t q = 0; q < exact.nq; ++q) {
    std::unordered_set<std::int64_t> truth;
    for (int j = 0; j < exact.k; ++j)
      if (exact.id(q, j) >= 0) truth.insert(exact.id(q, j));
    if (truth.empty()) {
      total += 1.0;
      continue;
    }
    std::size_t hit = 0;
    for (int j = 0; j < approx.k; ++j) hit += approx.id(q, j) >= 0 && truth.count(approx.id(q, j)) ? 1 : 0;
    total += static_cast<double>(hit) / static_cast<double>(truth.size());
  }
  return total / static_cast<double>(exact.nq);
}

CachedIndex build_or_load_index(const float* x, std::int64_t n, int d, IndexKind kind, const std::string& train_key,
                                bool use_cache, const fs::path& cache_dir) {
  const auto t0 = std::chrono::steady_clock::now();
  CachedIndex out;
  Sha256 h;
  h.update(std::string("medsynbench-memorization-index-v1"));
  h.update(train_key);
  h.update(std::string(to_string(kind)));
  h.update(std::to_string(n) + "x" + std::to_string(d));
  out.key = h.hex_digest();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  if (use_cache) {
    ContentCache cache(cache_dir.empty() ? default_cache_dir() : cache_dir);
    out.file = cache.entry_path("memorization-index", out.key, ".faiss");
    if (fs::exists(out.file)) {
      try {
        out.index = KnnIndex::load(out.file, kind);
        if (out.index.size() == n && out.index.dim() == d) {
          out.cache_hit = true;
          out.build_seconds = seconds();
          log_info("index: read " + out.file.string());
          return out;
        }
        log_warn("index cache entry " + out.file.string() + " has the wrong shape; rebuilding");
      } catch (const InputError& e) {
        log_warn(std::string("ignoring unreadable index cache entry: ") + e.what());
      }
    }
  }
  out.index = KnnIndex::build(x, n, d, kind);
  if (use_cache) out.index.save(out.file);
  out.build_seconds = seconds();
  return out;
}

}  // namespace medsyn::memorization
