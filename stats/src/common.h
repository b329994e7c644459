#pragma once
// Internal helpers shared by the stats sources (not installed): midranks, tie terms, input checks,
// DeLong placement values.
#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "medsyn/core/error.h"

namespace medsyn::stats::detail {

// 1-based midranks (ties get the average of their ranks), as scipy.stats.rankdata / R rank.
std::vector<double> midranks(std::span<const double> v);

// Sum over tie groups of (t^3 - t), for tie corrections; `sorted` must be ascending.
double tie_term_sorted(const std::vector<double>& sorted);

void require_same_size(std::size_t a, std::size_t b, const char* what_a, const char* what_b);
void require_finite(std::span<const double> v, const char* what);
void require_binary(std::span<const int> labels);  // values in {0,1}
void require_level(double level);

// DeLong placement values by the Sun & Xu (2014) midrank algorithm, O(N log N).
// v10[i]: for case i, the fraction of controls scored below it (+1/2 per tie);
// v01[j]: for control j, the fraction of cases scored above it (+1/2 per tie).
// auc = mean(v10) = mean(v01). Labels must be binary with both classes present.
struct Placements {
  double auc = 0;
  std::vector<double> v10, v01;
};
Placements delong_placements(std::span<const int> labels, std::span<const double> scores);
// Validates labels/scores for a binary AUROC (sizes, finiteness, 0/1, both classes).
void check_binary_input(std::span<const int> labels, std::span<const double> scores);

}  // namespace medsyn::stats::detail
