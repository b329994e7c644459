#pragma once
// The C_T data-copying test (Meehan, Chaudhuri & Dasgupta, "A Non-Parametric Test to Detect
// Data-Copying in Generative Models", AISTATS 2020), as dgm-eval computes it
// (layer6ai-labs/dgm-eval, dgm_eval/metrics/ct.py, taken from casey-meehan/data-copying):
//
//  1. features with more than 64 dimensions are projected on the first 64 principal components of
//     the training set (PCA fitted on train, applied to all three sets);
//  2. the training set is partitioned into k = 3 cells by k-means (10 initialisations); every
//     sample goes to its nearest centre;
//  3. in every cell, L(x) = Euclidean distance from x to its nearest training sample of the cell,
//     for the held-out real samples P_n and the generated samples Q_m; Z_U = the Mann-Whitney U of
//     L(Q_m) against L(P_n) (U of the generated sample, ties counted 1/2), z-scored under H0 with
//     mean n m / 2 - 0.5 and sd sqrt(n m (n + m + 1) / 12);
//  4. C_T = the average of the cells' Z_U weighted by the share of held-out samples in each cell,
//     over the cells holding more than tau = 20 / m of the generated samples.
//
// C_T << 0: generated samples are closer to the training set than held-out real samples are
// (data copying); C_T >> 0: farther (underfitting); about 0: neither.
//
// Steps 3-4 given the cells equal the reference's C_T() (tests/fixtures/metrics/ct.json, 1e-12).
// Steps 1-2 are ours and deterministic: PCA from the eigendecomposition of the float64 covariance,
// greedy k-means++ seeded by stats::Rng(derive_seed(seed, ...)) with Lloyd iterations, best of n_init by
// inertia. The reference calls sklearn's KMeans without a random_state, so its own value changes
// from run to run when the cells are not well separated; ours does not (docs/metrics.md).
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "medsyn/core/npy.h"

namespace medsyn::metrics {

struct CtCell {
  std::int64_t n_train = 0, n_test = 0, n_generated = 0;
  double z_u = 0;          // 0 for a cell without generated samples (as the reference)
  bool included = false;   // generated share > tau
};

struct CtResult {
  double c_t = 0;                // NaN when no cell holds more than tau of the generated samples
  std::string note;              // why c_t is NaN
  std::vector<CtCell> cells;
  double tau = 0;
  int pca_components = 0;        // 0 = no projection (dimension <= 64)
  int dim = 0;
  std::int64_t n_train = 0, n_test = 0, n_generated = 0;
};

// The reference's C_T(Pn, Pn_cells, Qm, Qm_cells, T, T_cells, tau): cells labelled 0..k-1.
// InputError naming the set when a cell has no held-out or no training sample (the reference
// raises too: "consider reducing the number of cells"), for dimension or label-count mismatches.
CtResult c_t_from_cells(FeatureView test, const std::vector<int>& test_cells, FeatureView generated,
                        const std::vector<int>& generated_cells, FeatureView train, const std::vector<int>& train_cells,
                        double tau);

struct CtOptions {
  int cells = 3;            // k-means clusters (the reference: 3)
  int n_init = 10;          // k-means initialisations (the reference: 10)
  int max_components = 64;  // PCA above this dimension (the reference: 64)
  std::uint64_t seed = 0;
};

// The whole test (the reference's compute_CTscore(train, test, gen)). InputError for dimension
// mismatches, fewer training rows than cells, or an empty set.
CtResult c_t_score(FeatureView train, FeatureView test, FeatureView generated, const CtOptions& opt = {});

// k-means cells of `x` (greedy k-means++ then Lloyd; best of n_init by inertia), for tests and callers
// that reuse a partition: returns the centres (k x d, row-major) and the labels of x.
struct KMeansResult {
  std::vector<double> centres;
  std::vector<int> labels;
  double inertia = 0;
};
KMeansResult kmeans(FeatureView x, int k, int n_init, std::uint64_t seed);

// {c_t, tau, cells: [{n_train, n_test, n_generated, z_u, included}], pca_components, dim, n_*,
//  method, interpretation}
nlohmann::json to_json(const CtResult& r);

}  // namespace medsyn::metrics
