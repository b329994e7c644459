// FAISS search against brute force; approximate indexes' recall; the index cache.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <random>
#include <vector>

#include "medsyn/core/error.h"
#include "medsyn/memorization/knn.h"
#include "medsyn/stats/random.h"
#include "test_support.h"

using namespace medsyn::memorization;

namespace {
std::vector<float> random_unit_rows(std::int64_t n, int d, std::uint64_t seed, int clusters = 0) {
  medsyn::stats::Rng rng(seed);
  auto g = [](medsyn::stats::Rng& r) { return static_cast<float>(medsyn::stats::standard_normal(r)); };
  std::vector<float> centres;
  for (int c = 0; c < clusters * d; ++c) centres.push_back(g(rng));
  std::vector<float> x(static_cast<std::size_t>(n) * d);
  for (std::int64_t i = 0; i < n; ++i) {
    double ss = 0;
    for (int j = 0; j < d; ++j) {
      float v = g(rng);
      if (clusters) v = centres[(i % clusters) * d + j] + 0.3f * v;
      x[i * d + j] = v;
      ss += double(v) * v;
    }
    for (int j = 0; j < d; ++j) x[i * d + j] = static_cast<float>(x[i * d + j] / std::sqrt(ss));
  }
  return x;
}
}  // namespace

TEST_CASE("exact FAISS search equals brute force", "[memorization][knn]") {
  const int d = 32, k = 5;
  const std::int64_t n = 2000, nq = 300;
  const auto base = random_unit_rows(n, d, 1), q = random_unit_rows(nq, d, 2);
  const auto idx = KnnIndex::build(base.data(), n, d, IndexKind::flat);
  const auto got = idx.search(q.data(), nq, k);
  const auto want = brute_force_knn(base.data(), n, q.data(), nq, d, k);
  REQUIRE(got.nq == nq);
  for (std::int64_t i = 0; i < nq; ++i)
    for (int r = 0; r < k; ++r) {
      CHECK(got.id(i, r) == want.id(i, r));
      CHECK(got.sim(i, r) == Approx(want.sim(i, r)).margin(1e-5));
    }
  CHECK(recall_at_k(got, want) == 1.0);
  // A base row as its own query: similarity 1 at rank 1.
  const auto self = idx.search(base.data() + 17 * d, 1, 1);
  CHECK(self.id(0, 0) == 17);
  CHECK(self.sim(0, 0) == Approx(1.0).margin(1e-5));
}

TEST_CASE("k larger than the index pads with -1", "[memorization][knn]") {
  const auto base = random_unit_rows(3, 8, 3), q = random_unit_rows(2, 8, 4);
  const auto idx = KnnIndex::build(base.data(), 3, 8, IndexKind::flat);
  const auto r = idx.search(q.data(), 2, 5);
  CHECK(r.id(0, 2) >= 0);
  CHECK(r.id(0, 3) == -1);
  CHECK(std::isinf(r.sim(1, 4)));
  const auto bf = brute_force_knn(base.data(), 3, q.data(), 2, 8, 5);
  CHECK(recall_at_k(r, bf) == 1.0);
  CHECK_THROWS_AS(idx.search(q.data(), 2, 0), medsyn::InputError);
  CHECK_THROWS_AS(KnnIndex::build(base.data(), 0, 8, IndexKind::flat), medsyn::InputError);
}

TEST_CASE("IVF and HNSW reach high recall against exact search", "[memorization][knn]") {
  const int d = 24, k = 5;
  const std::int64_t n = 6000, nq = 400;
  // Queries from the base's own distribution (the same 40 clusters), as synthetic images near
  // their training set: the recall measured does not hinge on where a second set of centres lands.
  const auto all = random_unit_rows(n + nq, d, 5, 40);
  const std::vector<float> base(all.begin(), all.begin() + n * d), q(all.begin() + n * d, all.end());
  const auto exact = brute_force_knn(base.data(), n, q.data(), nq, d, k);
  for (auto kind : {IndexKind::ivf, IndexKind::hnsw}) {
    const auto idx = KnnIndex::build(base.data(), n, d, kind);
    const double rec = recall_at_k(idx.search(q.data(), nq, k), exact);
    INFO(idx.describe() << " recall " << rec);
    CHECK(rec > 0.9);
    CHECK(idx.memory_bytes() >= static_cast<std::size_t>(n) * d * sizeof(float));
  }
  // recall_at_k itself: a result that misses everything has recall 0.
  KnnResult wrong = exact;
  for (auto& id : wrong.ids) id = n + 1;
  CHECK(recall_at_k(wrong, exact) == 0.0);
}

TEST_CASE("index cache: built once, then read back", "[memorization][knn]") {
  medsyn::test::TempDir tmp("medsyn-knn");
  const int d = 16;
  const auto base = random_unit_rows(500, d, 7), q = random_unit_rows(20, d, 8);
  for (auto kind : {IndexKind::flat, IndexKind::hnsw}) {
    const auto a = build_or_load_index(base.data(), 500, d, kind, "train-key-1", true, tmp.path());
    CHECK_FALSE(a.cache_hit);
    REQUIRE(std::filesystem::exists(a.file));
    const auto b = build_or_load_index(base.data(), 500, d, kind, "train-key-1", true, tmp.path());
    CHECK(b.cache_hit);
    CHECK(b.file == a.file);
    const auto ra = a.index.search(q.data(), 20, 3), rb = b.index.search(q.data(), 20, 3);
    CHECK(ra.ids == rb.ids);
    const auto c = build_or_load_index(base.data(), 500, d, kind, "train-key-2", true, tmp.path());
    CHECK_FALSE(c.cache_hit);
  }
  // A corrupt entry is rebuilt, not trusted.
  const auto a = build_or_load_index(base.data(), 500, d, IndexKind::flat, "train-key-3", true, tmp.path());
  medsyn::test::TempDir junk;
  std::filesystem::remove(a.file);
  { std::ofstream(a.file) << "not an index"; }
  const auto b = build_or_load_index(base.data(), 500, d, IndexKind::flat, "train-key-3", true, tmp.path());
  CHECK_FALSE(b.cache_hit);
  CHECK(b.index.size() == 500);
  CHECK_THROWS_AS(index_kind_from_string("lsh"), medsyn::InputError);
}
