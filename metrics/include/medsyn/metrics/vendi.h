#pragma once
// The Vendi score (Friedman & Dieng, "The Vendi Score: A Diversity Evaluation Metric for Machine
// Learning", TMLR 2023; reference: vertaix/Vendi-Score, vendi_score/vendi.py): the exponential of
// the (order-q Renyi) entropy of the eigenvalues of K / n, where K is the n x n similarity matrix of
// the samples. Here K is the cosine kernel of feature rows (rows L2-normalised, zero rows stay zero,
// as sklearn.preprocessing.normalize): K = X X^T. It is the "effective number of distinct samples":
// between 1 (all the same) and n (all orthogonal).
//
//   lambda = eigenvalues of X X^T / n  (= the non-zero eigenvalues of X^T X / n, the smaller matrix
//            is used: the reference's score_dual)
//   q = 1:   VS = exp(-sum_{lambda>0} lambda log lambda)
//   q = inf: VS = exp(-log max lambda) = 1 / max lambda
//   else:    VS = exp(log(sum_{lambda>0} lambda^q) / (1 - q))
// Eigenvalues from LAPACK dsyevd in float64; rounding can make zero eigenvalues slightly negative
// or positive (~1e-16): like the reference, only lambda > 0 enter the sums. q = 0 counts them, so
// eigenvalues below 1e-12 (relative to the largest) are treated as 0 there and reported.
#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "medsyn/core/npy.h"

namespace medsyn::metrics {

struct VendiOptions {
  double q = 1.0;  // order; +infinity allowed
};

struct VendiResult {
  double score = 0;
  double q = 1.0;
  std::int64_t n = 0;
  int dim = 0;
  std::string method;  // "dual (d x d)" or "primal (n x n)"
  int zero_rows = 0;   // all-zero feature rows (similarity 0 to everything, 1 to nothing)
};

// Throws InputError naming `name` for an empty set or q < 0 / NaN.
VendiResult vendi_score(FeatureView x, const VendiOptions& opt = {}, const std::string& name = "features");
nlohmann::json to_json(const VendiResult& r);

}  // namespace medsyn::metrics
