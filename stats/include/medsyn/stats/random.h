#pragma once
// The project's one source of seeded randomness. Every random choice in MedSynBench (bootstrap
// resamples, subsets, shuffles, data mixes, augmentations outside LibTorch) goes through these
// functions, so the same seed gives the same numbers with any standard library and thread count.
//
// Conventions:
//  - The engine is std::mt19937_64, whose output sequence the C++ standard fixes. The standard's
//    *distributions* (std::uniform_int_distribution, std::normal_distribution, std::shuffle, ...)
//    are implementation-defined and are never used.
//  - Sub-streams are derived with derive_seed(seed, stream): a SplitMix64 finaliser of
//    seed XOR (golden-ratio constant * (stream + 1)). Different streams of one seed, and the same
//    stream of different seeds, give unrelated generators.
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace medsyn::stats {

using Rng = std::mt19937_64;

// Seed of sub-stream `stream` of `seed` (SplitMix64 finaliser; see the header comment).
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream);

// Uniform integer in [0, n), n > 0: rejection sampling on raw 64-bit draws (unbiased).
std::uint64_t random_below(Rng& rng, std::uint64_t n);

// Uniform double in [0, 1) with 53 random bits.
double uniform01(Rng& rng);

// Standard normal draw (Marsaglia polar method on uniform01; one draw per call, no caching, so
// the sequence depends only on the generator's state).
double standard_normal(Rng& rng);

// In-place Fisher-Yates shuffle, from the back: for i = n-1 .. 1 swap v[i] with v[random_below(i+1)].
template <class T>
void shuffle(Rng& rng, std::vector<T>& v) {
  for (std::size_t i = v.size(); i > 1; --i) {
    using std::swap;
    swap(v[i - 1], v[static_cast<std::size_t>(random_below(rng, i))]);
  }
}

// `k` distinct indices from [0, n), in the order drawn (partial Fisher-Yates from the front).
// InputError unless 0 <= k <= n.
std::vector<std::int64_t> sample_without_replacement(Rng& rng, std::int64_t n, std::int64_t k);

// `n` indices drawn uniformly with replacement from [0, n) (one bootstrap resample).
std::vector<std::int64_t> resample_indices(Rng& rng, std::int64_t n);

}  // namespace medsyn::stats
