// The compiled part of the `medsynbench` Python package (`medsynbench._core`). The public API, its
// docstrings and the handling of torch tensors are in medsynbench/__init__.py; this module holds
// the bindings to the torch-free C++ libraries (core, stats, metrics, memorization search,
// reports, suite files), so every number is the CLI's number.
#include "bindings.h"
#include "medsyn/core/error.h"

PYBIND11_MODULE(_core, m) {
  namespace py = pybind11;
  m.doc() = "MedSynBench C++ bindings (use the medsynbench package, not this module directly)";
  // Translators registered later are tried first: the specific classes after the base class.
  static py::exception<medsyn::Error> error(m, "MedSynError", PyExc_RuntimeError);
  static py::exception<medsyn::InputError> input_error(m, "InputError", PyExc_ValueError);
  static py::exception<medsyn::CheckFailed> check_failed(m, "CheckFailed", error.ptr());
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const medsyn::InputError& e) {
      PyErr_SetString(input_error.ptr(), e.what());
    } catch (const medsyn::CheckFailed& e) {
      PyErr_SetString(check_failed.ptr(), e.what());
    } catch (const medsyn::Error& e) {
      PyErr_SetString(error.ptr(), e.what());
    }
  });
  medsyn::python::bind_metrics(m);
  medsyn::python::bind_stats(m);
  medsyn::python::bind_memorization(m);
  medsyn::python::bind_suites(m);
}
