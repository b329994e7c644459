#pragma once
// Sharded nearest-neighbour search (issue 15): a training gallery too large for one job is cut
// into shards of whole training images; each shard is searched on its own (another process, a
// Slurm task) and the per-shard top-k lists are merged into the top-k of one exact flat search
// over the whole gallery. No FAISS or LibTorch in this header.
//
// Conventions:
//  - Shards are contiguous image ranges [begin, end) in gallery order, each of at most
//    `shard_size` images (shard_ranges). A shard's own gallery is view-major like the whole one
//    (gallery.h): local row = view * (end - begin) + (image - begin).
//  - to_gallery_rows maps a shard's result to rows of the whole gallery
//    (view * n_images + image). The map is increasing, so a shard's own tie order (lower row
//    first) is the whole gallery's.
//  - merge_topk keeps, per query, the k largest similarities over all shards, of equal ones the
//    lower gallery rows, and lists them by decreasing similarity, equal ones by decreasing row,
//    padded with (-inf, -1): search_exact's rule. A shard computes the same float similarity for
//    a (query, row) pair as the whole search (search_exact's per-query kernel), so the merge of the shards' search_exact results equals search_exact over the whole
//    gallery: same rows, same similarities, same order (tests/memorization/test_shards.cpp, real
//    embeddings with exact ties).
#include <cstdint>
#include <vector>

#include "medsyn/memorization/knn.h"

namespace medsyn::memorization {

struct ShardRange {
  std::int64_t begin = 0, end = 0;  // images [begin, end)
  std::int64_t size() const { return end - begin; }
};

// Exact top-k with a canonical tie rule, from an exact (flat) index: per query the k largest
// similarities, of rows tied at the k-th similarity the lower rows, listed by decreasing
// similarity and, among equal ones, decreasing row (FAISS's listing order). FAISS's own heap
// keeps a history-dependent subset of rows tied at the k-th place (an equal value never
// replaces the heap top, a larger one evicts the lowest tied row), which no merge of shard
// results can reproduce; this rule can, and it equals index.search(k) whenever no tie straddles
// the k-th place (searched with k + 1 first; with such a tie, again with more rows until every
// tie is complete). Searches run FAISS's per-query kernel (queries in batches below FAISS's BLAS
// threshold), so a (query, row) similarity is the same whatever the index's size or the batch:
// its BLAS path differs in the last bits with the matrix shapes.
KnnResult search_exact(const KnnIndex& index, const float* queries, std::int64_t nq, int k);

// Contiguous ranges covering [0, n) in order, each of at most shard_size items (the last may be
// smaller); one range when shard_size <= 0 or n <= shard_size. InputError for n < 0.
std::vector<ShardRange> shard_ranges(std::int64_t n, std::int64_t shard_size);

// A shard's search result with its rows renumbered as rows of the whole gallery of `n_images`
// images (see the conventions; -1 stays -1). InputError when a row lies outside the shard's
// views.
KnnResult to_gallery_rows(const KnnResult& shard_result, ShardRange images, std::int64_t n_images);

// The top-k of the union of the shards' results (every one for the same queries, with gallery
// rows). InputError when the shards disagree on the number of queries or k < 1.
KnnResult merge_topk(const std::vector<KnnResult>& shards, int k);

}  // namespace medsyn::memorization
