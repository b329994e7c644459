#pragma once
// Training mixes of the data-limited experiments: which real and synthetic images each arm of
// each fraction trains on, for one seed. Plain index arithmetic, no images, no LibTorch.
//
// Conventions (stated once, here):
//  - A pool is a list of items with class labels in [0, K) (K = num_classes); subsets are
//    lists of indices into their pool.
//  - For every seed, each class of a pool gets its own random order (std::mt19937_64, explicit
//    seed, own Fisher-Yates shuffle, so the order is the same on every platform). Every subset is
//    a per-class PREFIX of that order, hence subsets of the same seed are NESTED: a smaller
//    fraction's subset is contained in a larger one's, and 2xreal contains real.
//  - Real subsets are STRATIFIED: class c contributes round(f * n_c) items, at least 1 when
//    f > 0 and n_c > 0 (so a 1% subset still has every class).
//  - The `2xreal` arm takes exactly twice the real arm's count of every class (from the same
//    order). It exists only where every class has that many items; otherwise it is infeasible
//    and skipped (at f = 1.0 it always is: there is no second copy of the whole training split).
//  - Synthetic subsets are CLASS-BALANCED by the synthetic labels: items are dealt round-robin
//    over classes 0, 1, ..., K-1 (skipping exhausted classes), so counts differ by at most one
//    between classes that have enough images, and a class short of images gives its share to
//    the others (with a warning). Dealing is prefix-monotone, so synthetic subsets nest too.
//  - All arms of one seed share these orders: a paired design (`real`, `real+syn` and `2xreal`
//    contain the same real images; `syn` and `real+syn` draw from the same synthetic order).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace medsyn::downstream {

// Per-class random order of a pool: by_class[c] lists the pool indices of class c, shuffled.
struct StratifiedOrder {
  std::vector<std::vector<std::size_t>> by_class;
  std::size_t class_size(std::size_t c) const { return by_class[c].size(); }
};
// Labels must be in [0, num_classes) (InputError naming the index otherwise).
StratifiedOrder make_stratified_order(std::span<const int> labels, int num_classes, std::uint64_t seed);

// Per-class counts of a stratified fraction: round(f * n_c), at least 1 when f > 0 and n_c > 0,
// at most n_c. f must be in (0, 1] (InputError otherwise).
std::vector<std::size_t> stratified_counts(const StratifiedOrder& order, double fraction);

// Per-class counts of `total` items dealt round-robin over the classes that still have items.
// `shortfall` (if given) receives total - sum(counts) (> 0 when the pool is too small).
std::vector<std::size_t> balanced_counts(const StratifiedOrder& order, std::size_t total,
                                         std::size_t* shortfall = nullptr);

// The first counts[c] items of every class, class by class (class 0 first).
std::vector<std::size_t> take_prefix(const StratifiedOrder& order, std::span<const std::size_t> counts);

// Everything one seed trains on at one fraction. Index lists point into the real training pool
// (`real`, `twice_real`) or the synthetic pool (`syn_added`, `syn_only`).
struct FractionMix {
  double fraction = 0;
  std::vector<std::size_t> real;        // arm `real`; also the real part of `real+syn`
  std::vector<std::size_t> syn_added;   // synthetic part of `real+syn` (ratio x |real|, balanced)
  std::vector<std::size_t> syn_only;    // arm `syn` (|real| synthetic images, balanced)
  std::vector<std::size_t> twice_real;  // arm `2xreal` (2 x real per class); empty if infeasible
  bool twice_real_feasible = false;
  std::vector<std::string> notes;       // e.g. "2xreal infeasible: ...", synthetic shortfalls
};

struct MixPlanOptions {
  std::vector<double> fractions;   // each in (0, 1]
  double synthetic_ratio = 1.0;    // >= 0
  bool need_synthetic = true;      // false when no arm uses synthetic images
};

// Mixes of every fraction for one seed. real_labels / syn_labels are the pools' class labels.
// The real order uses stats::derive_seed(seed, 1), the synthetic order stats::derive_seed(seed, 2).
std::vector<FractionMix> plan_mixes(std::span<const int> real_labels, std::span<const int> syn_labels,
                                    int num_classes, const MixPlanOptions& options, std::uint64_t seed);

// Per-class counts of a subset (for reports and tests).
std::vector<std::size_t> class_counts(std::span<const int> labels, std::span<const std::size_t> subset,
                                      int num_classes);

}  // namespace medsyn::downstream
