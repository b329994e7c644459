#pragma once
// One function per binding file; module.cpp calls them all.
#include <pybind11/pybind11.h>

namespace medsyn::python {
void bind_metrics(pybind11::module_& m);
void bind_stats(pybind11::module_& m);
void bind_memorization(pybind11::module_& m);
void bind_suites(pybind11::module_& m);
}  // namespace medsyn::python
