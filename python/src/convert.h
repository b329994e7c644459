#pragma once
// Conversions between NumPy / Python objects and the C++ types of the libraries, shared by the
// binding files. Arrays arrive as py::array_t with c_style | forcecast: a C-contiguous array of the
// right dtype is used in place (no copy); any other layout or dtype is converted once by NumPy.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "medsyn/core/estimate.h"
#include "medsyn/core/image.h"
#include "medsyn/core/npy.h"

namespace medsyn::python {

namespace py = pybind11;

using F32Array = py::array_t<float, py::array::c_style | py::array::forcecast>;
using F64Array = py::array_t<double, py::array::c_style | py::array::forcecast>;

// JSON (as the CLI prints it) to plain Python objects: dict, list, str, int, float, bool, None.
py::object to_python(const nlohmann::json& j);
py::object to_python(const nlohmann::ordered_json& j);
py::object to_python(const Estimate& e);

// "(3, 4)" for error messages.
std::string shape_text(const py::array& a);

// An (N, D) feature matrix: InputError naming `name` unless 2-D with finite values.
FeatureView feature_view(const F32Array& a, const std::string& name);
// A 1-D vector of finite numbers (InputError naming `name` otherwise).
std::vector<double> number_vector(const F64Array& a, const std::string& name);
// Binary labels: every value exactly 0 or 1 (bool, int or float arrays); InputError naming the
// index otherwise, never a silent truncation.
std::vector<int> binary_labels(const F64Array& a, const std::string& name);
// Images: (H, W) -> one 1-channel image, (C, H, W) -> one image, (N, C, H, W) -> N images.
// Values are used as given (the caller states data_range); must be finite.
std::vector<Image> images_from_array(const F32Array& a, const std::string& name, bool* batched);

// A new NumPy array holding a copy of `v` with the given shape.
template <typename T>
py::array_t<T> numpy_copy(const std::vector<T>& v, std::vector<py::ssize_t> shape) {
  py::array_t<T> out(shape);
  if (!v.empty()) std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

}  // namespace medsyn::python
