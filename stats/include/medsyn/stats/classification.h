#pragma once
// Classification metrics (binary and multi-class) with scikit-learn's definitions.
//
// Conventions: multi-class labels are ints in [0, K); class probabilities are compact N x K
// row-major; binary labels and scores as in auc.h (1 = positive, higher score = more positive).
// Invalid input throws medsyn::InputError saying what is wrong and at which index.
#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace medsyn::stats {

double accuracy(std::span<const int> y_true, std::span<const int> y_pred);
// Mean recall over the classes present in y_true.
double balanced_accuracy(std::span<const int> y_true, std::span<const int> y_pred);
// F1 of class `positive` (sklearn average="binary"); 0 when precision + recall == 0.
double f1_binary(std::span<const int> y_true, std::span<const int> y_pred, int positive = 1);
// Unweighted mean of per-class F1 over the classes present in y_true or y_pred (sklearn
// average="macro", zero_division -> 0).
double macro_f1(std::span<const int> y_true, std::span<const int> y_pred);
// Macro one-vs-rest AUROC (sklearn roc_auc_score(multi_class="ovr", average="macro")): mean over
// classes k of auroc(y == k, probs[:, k]). Every class must occur in y_true and not be all of it.
double macro_ovr_auroc(std::span<const int> y_true, std::span<const double> probs, std::size_t num_classes);
// Row-wise argmax of N x K probabilities (first maximum wins).
std::vector<int> argmax_rows(std::span<const double> probs, std::size_t num_classes);

struct ClassificationMetrics {
  double auroc = 0;              // binary: auroc(y, probs[:,1]); K > 2: macro_ovr_auroc
  double accuracy = 0;           // predictions = argmax_rows(probs)
  double balanced_accuracy = 0;
  double f1 = 0;                 // binary: f1_binary(positive = 1); K > 2: macro_f1
  std::size_t n = 0, num_classes = 0;
};
// All four metrics from N x K probabilities (K >= 2; for K == 2 column 1 is the positive class).
ClassificationMetrics classification_metrics(std::span<const int> y_true, std::span<const double> probs,
                                             std::size_t num_classes);

// Binary metrics on (labels, scores), the statistics of stratified_bootstrap (intervals.h).
enum class Metric { auc, accuracy, balanced_accuracy };
Metric parse_metric(const std::string& name);  // "auc" | "accuracy" | "balanced_accuracy"
std::string to_string(Metric m);
// accuracy and balanced_accuracy predict positive when score >= threshold.
double binary_metric(Metric metric, std::span<const int> labels, std::span<const double> scores,
                     double threshold = 0.5);

}  // namespace medsyn::stats
