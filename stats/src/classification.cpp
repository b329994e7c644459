// Classification metrics with scikit-learn's definitions: accuracy, balanced accuracy, F1
// (binary and macro), macro one-vs-rest AUROC.
#include <algorithm>
#include <cmath>
#include <set>

#include "common.h"
#include "medsyn/stats/auc.h"
#include "medsyn/stats/classification.h"

namespace medsyn::stats {

namespace {

void check_pairs(std::span<const int> y_true, std::span<const int> y_pred) {
  detail::require_same_size(y_true.size(), y_pred.size(), "y_true", "y_pred");
  if (y_true.empty()) throw InputError("classification metric of an empty set");
  for (std::size_t i = 0; i < y_true.size(); ++i)
    if (y_true[i] < 0 || y_pred[i] < 0)
      throw InputError("class labels must be >= 0 (index " + std::to_string(i) + ")");
}

double f1_of(std::span<const int> y_true, std::span<const int> y_pred, int c) {
  double tp = 0, fp = 0, fn = 0;
  for (std::size_t i = 0; i < y_true.size(); ++i) {
    const bool t = y_true[i] == c, p = y_pred[i] == c;
    tp += t && p;
    fp += !t && p;
    fn += t && !p;
  }
  const double den = 2 * tp + fp + fn;
  return tp == 0 || den == 0 ? 0.0 : 2 * tp / den;
}

void check_probs(std::span<const int> y_true, std::span<const double> probs, std::size_t k) {
  if (k < 2) throw InputError("num_classes must be >= 2, got " + std::to_string(k));
  if (probs.size() != y_true.size() * k)
    throw InputError("probabilities must be N x K = " + std::to_string(y_true.size()) + " x " + std::to_string(k) +
                     " values, got " + std::to_string(probs.size()));
  detail::require_finite(probs, "probabilities");
  for (std::size_t i = 0; i < y_true.size(); ++i)
    if (y_true[i] < 0 || static_cast<std::size_t>(y_true[i]) >= k)
      throw InputError("label at index " + std::to_string(i) + " is " + std::to_string(y_true[i]) +
                       ", expected 0.." + std::to_string(k - 1));
}

}  // namespace

double accuracy(std::span<const int> y_true, std::span<const int> y_pred) {
  check_pairs(y_true, y_pred);
  double c = 0;
  for (std::size_t i = 0; i < y_true.size(); ++i) c += y_true[i] == y_pred[i];
  return c / static_cast<double>(y_true.size());
}

double balanced_accuracy(std::span<const int> y_true, std::span<const int> y_pred) {
  check_pairs(y_true, y_pred);
  const std::set<int> classes(y_true.begin(), y_true.end());
  double sum = 0;
  for (int c : classes) {
    double tp = 0, total = 0;
    for (std::size_t i = 0; i < y_true.size(); ++i)
      if (y_true[i] == c) {
        total += 1;
        tp += y_pred[i] == c;
      }
    sum += tp / total;
  }
  return sum / static_cast<double>(classes.size());
}

double f1_binary(std::span<const int> y_true, std::span<const int> y_pred, int positive) {
  check_pairs(y_true, y_pred);
  return f1_of(y_true, y_pred, positive);
}

double macro_f1(std::span<const int> y_true, std::span<const int> y_pred) {
  check_pairs(y_true, y_pred);
  std::set<int> classes(y_true.begin(), y_true.end());
  classes.insert(y_pred.begin(), y_pred.end());
  double sum = 0;
  for (int c : classes) sum += f1_of(y_true, y_pred, c);
  return sum / static_cast<double>(classes.size());
}

double macro_ovr_auroc(std::span<const int> y_true, std::span<const double> probs, std::size_t num_classes) {
  check_probs(y_true, probs, num_classes);
  const std::size_t n = y_true.size();
  std::vector<int> y(n);
  std::vector<double> s(n);
  double sum = 0;
  for (std::size_t k = 0; k < num_classes; ++k) {
    std::size_t count = 0;
    for (std::size_t i = 0; i < n; ++i) {
      y[i] = y_true[i] == static_cast<int>(k);
      count += y[i];
      s[i] = probs[i * num_classes + k];
    }
    if (count == 0 || count == n)
      throw InputError("one-vs-rest AUROC: class " + std::to_string(k) +
                       (count == 0 ? " does not occur in the labels" : " is the only class in the labels"));
    sum += auroc(y, s);
  }
  return sum / static_cast<double>(num_classes);
}

std::vector<int> argmax_rows(std::span<const double> probs, std::size_t num_classes) {
  if (num_classes == 0 || probs.size() % num_classes != 0)
    throw InputError("probabilities: " + std::to_string(probs.size()) + " values are not rows of " +
                     std::to_string(num_classes));
  std::vector<int> out(probs.size() / num_classes);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const double* row = probs.data() + i * num_classes;
    out[i] = static_cast<int>(std::max_element(row, row + num_classes) - row);
  }
  return out;
}

ClassificationMetrics classification_metrics(std::span<const int> y_true, std::span<const double> probs,
                                             std::size_t num_classes) {
  check_probs(y_true, probs, num_classes);
  if (y_true.empty()) throw InputError("classification metrics of an empty set");
  ClassificationMetrics m;
  m.n = y_true.size();
  m.num_classes = num_classes;
  const auto pred = argmax_rows(probs, num_classes);
  if (num_classes == 2) {
    std::vector<double> s(m.n);
    for (std::size_t i = 0; i < m.n; ++i) s[i] = probs[i * 2 + 1];
    m.auroc = auroc(y_true, s);
    m.f1 = f1_binary(y_true, pred, 1);
  } else {
    m.auroc = macro_ovr_auroc(y_true, probs, num_classes);
    m.f1 = macro_f1(y_true, pred);
  }
  m.accuracy = accuracy(y_true, pred);
  m.balanced_accuracy = balanced_accuracy(y_true, pred);
  return m;
}

}  // namespace medsyn::stats
