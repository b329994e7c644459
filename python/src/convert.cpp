#include "convert.h"

#include <cmath>
#include <sstream>

#include "medsyn/core/error.h"

namespace medsyn::python {

namespace {

template <typename Json>
py::object json_to_python(const Json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null: return py::none();
    case nlohmann::json::value_t::boolean: return py::bool_(j.template get<bool>());
    case nlohmann::json::value_t::number_integer: return py::int_(j.template get<std::int64_t>());
    case nlohmann::json::value_t::number_unsigned: return py::int_(j.template get<std::uint64_t>());
    case nlohmann::json::value_t::number_float: return py::float_(j.template get<double>());
    case nlohmann::json::value_t::string: return py::str(j.template get_ref<const std::string&>());
    case nlohmann::json::value_t::array: {
      py::list l;
      for (const auto& v : j) l.append(json_to_python(v));
      return std::move(l);
    }
    case nlohmann::json::value_t::object: {
      py::dict d;
      for (auto it = j.begin(); it != j.end(); ++it) d[py::str(it.key())] = json_to_python(it.value());
      return std::move(d);
    }
    default: return py::none();  // binary / discarded: never produced by the libraries
  }
}

}  // namespace

py::object to_python(const nlohmann::json& j) { return json_to_python(j); }
py::object to_python(const nlohmann::ordered_json& j) { return json_to_python(j); }
py::object to_python(const Estimate& e) { return json_to_python(medsyn::to_json(e)); }

std::string shape_text(const py::array& a) {
  std::ostringstream s;
  s << "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s << (i ? ", " : "") << a.shape(i);
  s << (a.ndim() == 1 ? ",)" : ")");
  return s.str();
}

FeatureView feature_view(const F32Array& a, const std::string& name) {
  if (a.ndim() != 2)
    throw InputError(name + ": expected a 2-D (N, D) feature array, got shape " + shape_text(a));
  FeatureView v(a.data(), a.shape(0), a.shape(1));
  require_finite(v, name);
  return v;
}

std::vector<double> number_vector(const F64Array& a, const std::string& name) {
  if (a.ndim() != 1) throw InputError(name + ": expected a 1-D array, got shape " + shape_text(a));
  std::vector<double> v(a.data(), a.data() + a.shape(0));
  for (std::size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i])) throw InputError(name + "[" + std::to_string(i) + "] is not finite");
  return v;
}

std::vector<int> binary_labels(const F64Array& a, const std::string& name) {
  const std::vector<double> v = number_vector(a, name);
  std::vector<int> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] != 0.0 && v[i] != 1.0) {
      std::ostringstream s;
      s << name << "[" << i << "] = " << v[i] << " is not a binary label (0 or 1)";
      throw InputError(s.str());
    }
    out[i] = v[i] == 1.0 ? 1 : 0;
  }
  return out;
}

std::vector<Image> images_from_array(const F32Array& a, const std::string& name, bool* batched) {
  py::ssize_t n = 1, c = 1, h = 0, w = 0;
  switch (a.ndim()) {
    case 2: h = a.shape(0); w = a.shape(1); break;
    case 3: c = a.shape(0); h = a.shape(1); w = a.shape(2); break;
    case 4: n = a.shape(0); c = a.shape(1); h = a.shape(2); w = a.shape(3); break;
    default:
      throw InputError(name + ": expected an image (H, W) or (C, H, W), or a batch (N, C, H, W), got shape " + shape_text(a));
  }
  if (batched) *batched = a.ndim() == 4;
  if (h < 1 || w < 1 || c < 1) throw InputError(name + ": empty image, shape " + shape_text(a));
  if (c > 4) throw InputError(name + ": " + std::to_string(c) + " channels (at most 4; arrays are channel-first, (C, H, W))");
  std::vector<Image> out;
  out.reserve(static_cast<std::size_t>(n));
  const std::size_t per = static_cast<std::size_t>(c * h * w);
  for (py::ssize_t i = 0; i < n; ++i) {
    Image im(static_cast<int>(c), static_cast<int>(h), static_cast<int>(w));
    std::copy_n(a.data() + static_cast<std::size_t>(i) * per, per, im.data.begin());
    for (std::size_t k = 0; k < per; ++k)
      if (!std::isfinite(im.data[k]))
        throw InputError(name + (a.ndim() == 4 ? "[" + std::to_string(i) + "]" : std::string()) + " contains NaN or Inf");
    out.push_back(std::move(im));
  }
  return out;
}

}  // namespace medsyn::python
