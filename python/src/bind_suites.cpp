// Suite files and results: validation (suite_spec) and results.json reading (reports), in process.
// Running a suite is done by the CLI in a child process (medsynbench/__init__.py run_suite): see
// docs/python.md for why LibTorch stays out of the Python process.
#include <pybind11/stl.h>

#include <cmath>

#include "bindings.h"
#include "convert.h"
#include "medsyn/core/json.h"
#include "medsyn/core/provenance.h"
#include "medsyn/reports/report_model.h"
#include "medsyn/reports/results.h"
#include "medsyn/suites/validate.h"

namespace medsyn::python {

namespace {

// One dict per number of the report (the rows of its metrics.csv).
py::list rows_of(const reports::Results& r) {
  const reports::Document d = reports::build_document(r, {});
  auto num = [](double v) { return std::isfinite(v) ? py::object(py::float_(v)) : py::object(py::none()); };
  auto text = [](const std::string& s) { return s.empty() ? py::object(py::none()) : py::object(py::str(s)); };
  py::list rows;
  for (const auto& x : d.records) {
    const Estimate& e = x.estimate;
    py::dict row;
    row["section"] = x.section;
    row["model"] = x.model;
    row["kind"] = x.kind;
    row["modality"] = x.modality;
    row["metric"] = x.metric;
    row["arm"] = text(x.arm);
    row["fraction"] = num(x.fraction);
    row["value"] = num(e.value);
    row["ci_low"] = num(e.ci_low);
    row["ci_high"] = num(e.ci_high);
    row["ci_level"] = e.has_ci() ? num(e.ci_level) : py::object(py::none());
    row["ci_method"] = text(e.ci_method);
    row["n"] = x.with_n ? py::object(py::int_(e.n)) : py::object(py::none());
    row["note"] = text(e.note);
    rows.append(row);
  }
  return rows;
}

}  // namespace

void bind_suites(py::module_& m) {
  m.def(
      "_validate_suite",
      [](const std::string& path) {
        std::vector<std::pair<std::string, std::string>> out;
        for (const auto& p : suites::validate_suite_file(path)) out.emplace_back(p.path, p.message);
        return out;
      },
      py::arg("path"));

  m.def(
      "_load_results",
      [](const std::string& path) {
        const auto j = reports::read_ordered_json_file(path);
        (void)reports::results_from_json(j, path);  // schema + semantic validation, every error named
        return to_python(j);
      },
      py::arg("path"));

  m.def(
      "_results_rows",
      [](const std::string& path) { return rows_of(reports::load_results(path)); }, py::arg("path"));

  // A results dict from Python, as JSON text: validated like a file, named "results".
  m.def(
      "_results_rows_text",
      [](const std::string& text) {
        return rows_of(reports::results_from_json(parse_ordered_json_strict(text, "results"), "results"));
      },
      py::arg("text"));

  m.def("_build_info", [] {
    const BuildInfo& b = build_info();
    py::dict d;
    d["version"] = b.version;
    d["git_commit"] = b.git_commit;
    d["build_type"] = b.build_type;
    d["compiler"] = b.compiler;
    d["libraries"] = library_versions();
    return d;
  });
  m.def("_provenance", [] { return to_python(provenance_json(nlohmann::json::object())); });
}

}  // namespace medsyn::python
