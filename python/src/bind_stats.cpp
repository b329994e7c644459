// Statistics on NumPy arrays: the stats library's functions, returning the objects
// `medsynbench stats auc|delong|paired|bootstrap --json` print (stats/results_json.h), without the
// command and file names.
#include <pybind11/stl.h>

#include "bindings.h"
#include "convert.h"
#include "medsyn/core/error.h"
#include "medsyn/core/json.h"
#include "medsyn/stats/adjust.h"
#include "medsyn/stats/auc.h"
#include "medsyn/stats/intervals.h"
#include "medsyn/stats/results_json.h"
#include "medsyn/stats/tests.h"

namespace medsyn::python {

namespace {

using nlohmann::json;

json num(double v) { return finite_or_null(v); }

void check_level(double level) {
  if (!(level > 0 && level < 1)) throw InputError("level must be in (0, 1), got " + std::to_string(level));
}

void check_same_size(std::size_t a, std::size_t b, const std::string& na, const std::string& nb) {
  if (a != b)
    throw InputError(na + " has " + std::to_string(a) + " values but " + nb + " has " + std::to_string(b) +
                     " (they are paired by index)");
}

stats::Alternative alternative_from(const std::string& s) {
  if (s == "two-sided") return stats::Alternative::two_sided;
  if (s == "less") return stats::Alternative::less;
  if (s == "greater") return stats::Alternative::greater;
  throw InputError("alternative must be 'two-sided', 'less' or 'greater', got '" + s + "'");
}

}  // namespace

void bind_stats(py::module_& m) {
  m.def(
      "_auroc",
      [](const F64Array& labels, const F64Array& scores, double level) {
        check_level(level);
        const auto y = binary_labels(labels, "labels");
        const auto s = number_vector(scores, "scores");
        check_same_size(y.size(), s.size(), "labels", "scores");
        const auto r = stats::auc_delong_ci(y, s, level);
        return to_python(stats::auc_json(r, y.size()));
      },
      py::arg("labels"), py::arg("scores"), py::arg("level"));

  m.def(
      "_delong_test",
      [](const F64Array& labels, const F64Array& scores_a, const F64Array& scores_b, double level) {
        check_level(level);
        const auto y = binary_labels(labels, "labels");
        const auto a = number_vector(scores_a, "scores_a");
        const auto b = number_vector(scores_b, "scores_b");
        check_same_size(y.size(), a.size(), "labels", "scores_a");
        check_same_size(y.size(), b.size(), "labels", "scores_b");
        const auto r = stats::delong_paired_test(y, a, b, level);
        return to_python(stats::delong_json(r, y.size()));
      },
      py::arg("labels"), py::arg("scores_a"), py::arg("scores_b"), py::arg("level"));

  m.def(
      "_paired_tests",
      [](const F64Array& a_arr, const F64Array& b_arr, double level) {
        check_level(level);
        const auto a = number_vector(a_arr, "a");
        const auto b = number_vector(b_arr, "b");
        check_same_size(a.size(), b.size(), "a", "b");
        const auto r = stats::paired_tests(a, b, level);
        return to_python(stats::paired_json(r));
      },
      py::arg("a"), py::arg("b"), py::arg("level"));

  m.def(
      "_p_adjust",
      [](const F64Array& p_arr, const std::string& method) {
        const auto p = number_vector(p_arr, "p");
        const auto adj = stats::p_adjust(p, stats::parse_adjust_method(method));
        return numpy_copy(adj, {static_cast<py::ssize_t>(adj.size())});
      },
      py::arg("p"), py::arg("method"));

  m.def(
      "_stratified_bootstrap",
      [](const F64Array& labels, const F64Array& scores, const std::string& metric, int resamples, std::uint64_t seed,
         const std::string& method, double level, double threshold) {
        check_level(level);
        if (resamples < 1) throw InputError("resamples must be >= 1, got " + std::to_string(resamples));
        const auto y = binary_labels(labels, "labels");
        const auto s = number_vector(scores, "scores");
        check_same_size(y.size(), s.size(), "labels", "scores");
        stats::StratifiedBootstrapOptions o;
        o.resamples = resamples;
        o.seed = seed;
        o.method = stats::parse_ci_method(method);
        o.level = level;
        o.threshold = threshold;
        const auto mt = stats::parse_metric(metric);
        const auto r = stats::stratified_bootstrap(y, s, mt, o);
        return to_python(stats::stratified_bootstrap_json(r, y.size(), threshold));
      },
      py::arg("labels"), py::arg("scores"), py::arg("metric"), py::arg("resamples"), py::arg("seed"), py::arg("method"),
      py::arg("level"), py::arg("threshold"));

  m.def(
      "_bootstrap_mean",
      [](const F64Array& values, int replicates, std::uint64_t seed, double level) {
        stats::BootstrapOptions o;
        o.replicates = replicates;
        o.seed = seed;
        o.level = level;
        Estimate e = stats::bootstrap_mean(number_vector(values, "values"), o);
        e.estimand = "population mean";
        return to_python(e);
      },
      py::arg("values"), py::arg("replicates"), py::arg("seed"), py::arg("level"));

  m.def(
      "_wilson_interval",
      [](double successes, double n, double level) {
        Estimate e = stats::wilson_interval(successes, n, level);
        e.estimand = "population proportion";
        return to_python(e);
      },
      py::arg("successes"), py::arg("n"), py::arg("level"));

  m.def(
      "_t_interval",
      [](const F64Array& values, double level) {
        check_level(level);
        if (values.ndim() != 1) throw InputError("values: expected a 1-D array, got shape " + shape_text(values));
        Estimate e = stats::t_interval_mean(std::vector<double>(values.data(), values.data() + values.size()), level);
        e.estimand = "population mean";
        return to_python(e);
      },
      py::arg("values"), py::arg("level"));

  m.def(
      "_mann_whitney_u",
      [](const F64Array& x, const F64Array& y, const std::string& alternative) {
        const auto r = stats::mann_whitney_u(number_vector(x, "x"), number_vector(y, "y"), alternative_from(alternative));
        return to_python(json{{"u", num(r.u)}, {"p", num(r.p)}, {"z", num(r.z)}, {"method", r.method},
                              {"n_x", r.n_x}, {"n_y", r.n_y}, {"ties", r.has_ties}, {"alternative", alternative}});
      },
      py::arg("x"), py::arg("y"), py::arg("alternative"));
}

}  // namespace medsyn::python
