// Memorization search: 100k x 256 L2-normalised training embeddings, 10k queries, k = 5.
//   BM_FaissFlatIP      exact inner-product search with the audit's index (faiss::IndexFlatIP)
//   BM_EigenTopK        plain Eigen matrix product (query block x train^T) + per-row top-k
//   BM_FaissHNSW        the approximate option, for scale (recall reported as a counter)
// Counters: memory the method holds besides the queries (bytes), queries/s; recall for HNSW.
// Run: build/bin/bench_memorization --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "medsyn/memorization/knn.h"
#include "medsyn/memorization/shards.h"
#include "medsyn/stats/random.h"

using namespace medsyn::memorization;

namespace {

constexpr std::int64_t kTrain = 100000, kQueries = 10000;
constexpr int kDim = 256, kK = 5, kEigenBlock = 1024;

std::vector<float> unit_rows(std::int64_t n, std::uint64_t seed) {
  medsyn::stats::Rng rng(seed);
  auto g = [](medsyn::stats::Rng& r) { return static_cast<float>(medsyn::stats::standard_normal(r)); };
  std::vector<float> x(static_cast<std::size_t>(n) * kDim);
  for (std::int64_t i = 0; i < n; ++i) {
    float* r = x.data() + i * kDim;
    double ss = 0;
    for (int j = 0; j < kDim; ++j) {
      r[j] = g(rng);
      ss += double(r[j]) * r[j];
    }
    const float inv = static_cast<float>(1.0 / std::sqrt(ss));
    for (int j = 0; j < kDim; ++j) r[j] *= inv;
  }
  return x;
}

const std::vector<float>& train() {
  static const auto t = unit_rows(kTrain, 1);
  return t;
}
const std::vector<float>& queries() {
  static const auto q = unit_rows(kQueries, 2);
  return q;
}

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Eigen top-k: S = Q_block * T^T (kEigenBlock x n), then the k largest per row.
KnnResult eigen_topk(const float* t, std::int64_t n, const float* q, std::int64_t nq, int k, RowMat& S) {
  Eigen::Map<const RowMat> T(t, n, kDim);
  KnnResult r;
  r.nq = nq;
  r.k = k;
  r.sims.resize(static_cast<std::size_t>(nq) * k);
  r.ids.resize(static_cast<std::size_t>(nq) * k);
  for (std::int64_t b = 0; b < nq; b += kEigenBlock) {
    const std::int64_t m = std::min<std::int64_t>(kEigenBlock, nq - b);
    Eigen::Map<const RowMat> Q(q + b * kDim, m, kDim);
    S.topRows(m).noalias() = Q * T.transpose();
#pragma omp parallel for
    for (std::int64_t i = 0; i < m; ++i) {
      const float* s = S.row(i).data();
      std::vector<std::pair<float, std::int64_t>> best(static_cast<std::size_t>(k), {-INFINITY, -1});
      for (std::int64_t j = 0; j < n; ++j) {
        if (s[j] <= best.back().first) continue;
        std::size_t p = best.size() - 1;
        while (p > 0 && best[p - 1].first < s[j]) {
          best[p] = best[p - 1];
          --p;
        }
        best[p] = {s[j], j};
      }
      for (int c = 0; c < k; ++c) {
        r.sims[(b + i) * k + c] = best[c].first;
        r.ids[(b + i) * k + c] = best[c].second;
      }
    }
  }
  return r;
}

void BM_FaissFlatIP(benchmark::State& state) {
  const auto& t = train();
  const auto& q = queries();
  const auto idx = KnnIndex::build(t.data(), kTrain, kDim, IndexKind::flat);
  KnnResult r;
  for (auto _ : state) {
    r = idx.search(q.data(), kQueries, kK);
    benchmark::DoNotOptimize(r.ids.data());
  }
  state.counters["queries_per_s"] = benchmark::Counter(static_cast<double>(kQueries), benchmark::Counter::kIsIterationInvariantRate);
  // Index (n x d float) + FAISS's BLAS tile (4096 queries x 1024 train floats) + k results per query.
  state.counters["memory_MB"] =
      (idx.memory_bytes() + 4096.0 * 1024 * sizeof(float) + double(kQueries) * kK * (sizeof(float) + 8)) / 1e6;
}

// The audit's flat search since sharding (memorization/shards.h search_exact): FAISS's per-query
// kernel, so a similarity does not depend on the gallery's size (exact merges of shards), and a
// canonical rule for ties at the k-th place. What that costs against the BLAS path above.
void BM_SearchExact(benchmark::State& state) {
  const auto& t = train();
  const auto& q = queries();
  const auto idx = KnnIndex::build(t.data(), kTrain, kDim, IndexKind::flat);
  KnnResult r;
  for (auto _ : state) {
    r = search_exact(idx, q.data(), kQueries, kK);
    benchmark::DoNotOptimize(r.ids.data());
  }
  state.counters["queries_per_s"] = benchmark::Counter(static_cast<double>(kQueries), benchmark::Counter::kIsIterationInvariantRate);
  const KnnResult f = idx.search(q.data(), kQueries, kK);
  std::size_t same = 0;
  for (std::size_t i = 0; i < f.ids.size(); ++i) same += f.ids[i] == r.ids[i];
  state.counters["same_neighbours"] = static_cast<double>(same) / static_cast<double>(f.ids.size());
}

void BM_EigenTopK(benchmark::State& state) {
  const auto& t = train();
  const auto& q = queries();
  RowMat S(kEigenBlock, kTrain);
  KnnResult r;
  for (auto _ : state) {
    r = eigen_topk(t.data(), kTrain, q.data(), kQueries, kK, S);
    benchmark::DoNotOptimize(r.ids.data());
  }
  state.counters["queries_per_s"] = benchmark::Counter(static_cast<double>(kQueries), benchmark::Counter::kIsIterationInvariantRate);
  // Training matrix + the similarity block (1024 x n float) + results.
  state.counters["memory_MB"] = (double(kTrain) * kDim * sizeof(float) + double(kEigenBlock) * kTrain * sizeof(float) +
                                 double(kQueries) * kK * (sizeof(float) + 8)) / 1e6;
  // Agreement with FAISS on the first 500 queries (exact search both: expect 1).
  const auto idx = KnnIndex::build(t.data(), kTrain, kDim, IndexKind::flat);
  KnnResult f = idx.search(q.data(), 500, kK), e;
  e.nq = 500;
  e.k = kK;
  e.ids.assign(r.ids.begin(), r.ids.begin() + 500 * kK);
  e.sims.assign(r.sims.begin(), r.sims.begin() + 500 * kK);
  state.counters["agreement_with_faiss"] = recall_at_k(e, f);
}

void BM_FaissHNSW(benchmark::State& state) {
  const auto& t = train();
  const auto& q = queries();
  const auto idx = KnnIndex::build(t.data(), kTrain, kDim, IndexKind::hnsw);
  KnnResult r;
  for (auto _ : state) {
    r = idx.search(q.data(), kQueries, kK);
    benchmark::DoNotOptimize(r.ids.data());
  }
  state.counters["queries_per_s"] = benchmark::Counter(static_cast<double>(kQueries), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["memory_MB"] = idx.memory_bytes() / 1e6;
  const auto exact = KnnIndex::build(t.data(), kTrain, kDim, IndexKind::flat).search(q.data(), 1000, kK);
  KnnResult a;
  a.nq = 1000;
  a.k = kK;
  a.ids.assign(r.ids.begin(), r.ids.begin() + 1000 * kK);
  a.sims.assign(r.sims.begin(), r.sims.begin() + 1000 * kK);
  state.counters["recall_at_5"] = recall_at_k(a, exact);
}

}  // namespace

BENCHMARK(BM_FaissFlatIP)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();
BENCHMARK(BM_SearchExact)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();
BENCHMARK(BM_EigenTopK)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();
BENCHMARK(BM_FaissHNSW)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();

BENCHMARK_MAIN();
