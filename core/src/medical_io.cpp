// Windowing and normalisation of medical sample stacks (rules in medical_io.h).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <sstream>

#include "medsyn/core/error.h"
#include "medsyn/core/option_error.h"
#include "medsyn/core/medical_io.h"

namespace medsyn {

namespace {
struct Preset {
  const char* name;
  double center, width;
};
const Preset kPresets[] = {{"brain", 40, 80},        {"subdural", 75, 215}, {"stroke", 40, 40},
                           {"soft_tissue", 50, 400}, {"mediastinum", 50, 350}, {"liver", 30, 150},
                           {"lung", -600, 1500},     {"bone", 400, 1800}};

bool parse_double(const std::string& t, double& out) {
  std::istringstream in(t);
  in >> out;
  return !in.fail() && (in >> std::ws).eof() && std::isfinite(out);
}
}  // namespace

Window parse_window(const std::string& text, const std::string& what) {
  std::string t;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c))) t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::replace(t.begin(), t.end(), '-', '_');
  for (const auto& p : kPresets)
    if (t == p.name) return Window{p.center, p.width, p.name, "user"};
  const auto comma = text.find(',');
  std::string names;
  for (const auto& p : kPresets) names += std::string(names.empty() ? "" : ", ") + p.name;
  if (comma == std::string::npos)
    throw OptionError(what, "expected CENTER,WIDTH (e.g. 40,80) or a preset (" + names + "), got '" + text + "'");
  Window w;
  if (!parse_double(text.substr(0, comma), w.center) || !parse_double(text.substr(comma + 1), w.width))
    throw OptionError(what, "expected two numbers CENTER,WIDTH (e.g. 40,80), got '" + text + "'");
  if (w.width <= 0) throw OptionError(what, "window width must be > 0, got " + text.substr(comma + 1));
  w.source = "user";
  return w;
}

Normalisation choose_normalisation(const SampleStack& s, const std::optional<Window>& user_window) {
  Normalisation n;
  n.invert = s.invert;
  if (user_window) {
    n.method = "window";
    n.window = user_window;
    n.lo = user_window->center - user_window->width / 2;
    n.hi = user_window->center + user_window->width / 2;
    return n;
  }
  const bool colour = s.channels == 3;
  if (colour || (s.format == "dicom" && s.stored_bits <= 8 && !s.rescaled)) {
    n.method = "bit_depth";
    if (s.is_signed) {
      n.lo = -std::ldexp(1.0, s.stored_bits - 1);
      n.hi = std::ldexp(1.0, s.stored_bits - 1) - 1;
    } else {
      n.lo = 0;
      n.hi = std::ldexp(1.0, s.stored_bits) - 1;
    }
    return n;
  }
  if (s.format == "dicom" && s.file_window) {
    n.method = "window";
    n.window = s.file_window;
    n.lo = s.file_window->center - s.file_window->width / 2;
    n.hi = s.file_window->center + s.file_window->width / 2;
    return n;
  }
  n.method = "minmax";
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (float v : s.data) {
    lo = std::min<double>(lo, v);
    hi = std::max<double>(hi, v);
  }
  if (s.data.empty()) lo = hi = 0;
  n.lo = lo;
  n.hi = hi;
  return n;
}

Image normalise(const SampleStack& s, int i, const Normalisation& n) {
  if (i < 0 || i >= s.count) throw InputError("normalise: image index " + std::to_string(i) + " out of range");
  Image img(s.channels, s.height, s.width);
  const float* src = s.image_data(i);
  const std::size_t size = s.image_size();
  if (n.method == "window" && n.window) {
    for (std::size_t k = 0; k < size; ++k) img.data[k] = apply_window(src[k], *n.window);
  } else {
    const double range = n.hi - n.lo;
    for (std::size_t k = 0; k < size; ++k) {
      double t = range > 0 ? (src[k] - n.lo) / range : 0.0;
      img.data[k] = static_cast<float>(std::clamp(t, 0.0, 1.0));
    }
  }
  if (n.invert)
    for (float& v : img.data) v = 1.f - v;
  return img;
}

int exact_png_bit_depth(const Image& img) {
  for (float v : img.data) {
    const double x = std::clamp<double>(v, 0.0, 1.0) * 255.0;
    // 16-bit levels that are not 8-bit levels differ from them by >= 255/65535 ~ 0.0039 here.
    if (std::fabs(x - std::round(x)) > 1e-3) return 16;
  }
  return 8;
}

}  // namespace medsyn
