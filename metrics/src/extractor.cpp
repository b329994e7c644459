// FeatureExtractor plumbing without LibTorch: spec parsing, preprocessing, the factory registry and
// the builtin:pixels extractor. The TorchScript loader lives in extractor_torchscript.cpp.
#include "medsyn/metrics/extractor.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <sstream>
#include <utility>

#include "medsyn/core/error.h"
#include "medsyn/core/parse.h"
#include "medsyn/core/json.h"
#include "medsyn/core/torch_bridge.h"
#include "pil_resample8.h"

namespace medsyn {

namespace {

std::string fmt_float(double v) {
  std::ostringstream os;
  os.precision(9);
  os << v;
  return os.str();
}

std::string join_floats(const std::vector<float>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + fmt_float(v[i]);
  return s;
}

bool parse_bool(const std::string& v, const std::string& key, const std::string& where) {
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  throw InputError(where + ": option '" + key + "=" + v + "': expected 0 or 1");
}

int parse_int(const std::string& v, const std::string& key, const std::string& where, int lo, int hi) {
  std::size_t pos = 0;
  long x = 0;
  try {
    x = std::stol(v, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos != v.size() || v.empty() || x < lo || x > hi)
    throw InputError(where + ": option '" + key + "=" + v + "': expected an integer in [" + std::to_string(lo) +
                     ", " + std::to_string(hi) + "]");
  return static_cast<int>(x);
}

std::vector<float> parse_floats(const std::string& v, const std::string& key, const std::string& where) {
  std::vector<float> out;
  std::stringstream ss(v);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const auto x = parse_full_double(item);
    if (!x) throw InputError(where + ": option '" + key + "=" + v + "': '" + item + "' is not a finite number");
    out.push_back(static_cast<float>(*x));
  }
  if (out.empty()) throw InputError(where + ": option '" + key + "' is empty");
  return out;
}

struct Registry {
  std::mutex mu;
  std::vector<std::pair<std::string, ExtractorFactory>> factories;
};
Registry& registry() {
  static Registry r;
  return r;
}

// ---- builtin:pixels ----
class PixelsExtractor final : public FeatureExtractor {
 public:
  explicit PixelsExtractor(InputSpec spec) : spec_(std::move(spec)) {}
  std::string id() const override {
    return "builtin:pixels(" + std::to_string(spec_.channels) + "x" + std::to_string(spec_.height) + "x" +
           std::to_string(spec_.width) + ")";
  }
  std::string weights_hash() const override { return ""; }
  int dim() const override { return spec_.channels * spec_.height * spec_.width; }
  InputSpec input_spec() const override { return spec_; }
  std::vector<float> extract(const std::vector<Image>& batch) override {
    const std::size_t d = static_cast<std::size_t>(dim());
    std::vector<float> out(batch.size() * d);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const Image& im = batch[i];
      if (im.channels != spec_.channels || im.height != spec_.height || im.width != spec_.width)
        throw InputError(id() + ": batch image " + std::to_string(i) + " is " + std::to_string(im.channels) + "x" +
                         std::to_string(im.height) + "x" + std::to_string(im.width) +
                         ", expected the preprocessed size (call preprocess first)");
      Image v = im;
      apply_value_range(v, spec_);
      std::copy(v.data.begin(), v.data.end(), out.begin() + static_cast<std::ptrdiff_t>(i * d));
    }
    return out;
  }

 private:
  InputSpec spec_;
};

std::unique_ptr<FeatureExtractor> make_pixels(const std::string& spec, const std::string& device) {
  const SpecParts parts = split_spec_options(spec);
  const std::string where = "extractor '" + spec + "'";
  int size = 32;
  if (parts.body != "builtin:pixels") {
    const std::string tail = parts.body.substr(std::string("builtin:pixels:").size());
    size = parse_int(tail, "SIZE", where, 1, 4096);
  }
  validate_device(device);  // parameter-free and computed on the CPU, but a bad --device is still an error
  InputSpec s;
  s.channels = 1;
  s.height = s.width = size;
  s.filter = ResizeFilter::bicubic;
  s.antialias = true;
  auto options = parts.options;
  apply_input_options(s, options, where);
  if (!options.empty())
    throw InputError(where + ": unknown option '" + options.begin()->first +
                     "' (builtin:pixels takes size, filter, antialias, range, channels, clamp, mean, std, crop, uint8)");
  if (s.height <= 0 || s.width <= 0) throw InputError(where + ": size must be positive");
  return std::make_unique<PixelsExtractor>(std::move(s));
}

}  // namespace

std::string InputSpec::describe() const {
  // The crop and 8-bit flags appear only when set, so the descriptions (and cache keys) of
  // extractors without them are what they always were.
  std::string s = std::to_string(channels) + "x" + (height > 0 ? std::to_string(height) : "native") + "x" +
                  (width > 0 ? std::to_string(width) : "native") + (center_crop ? " center-crop" : "") + " " +
                  to_string(filter) + (resample_uint8 ? "(pillow-uint8)" : antialias ? "(antialias)" : "") +
                  (clamp ? " clamp" : "") + " range[" + fmt_float(value_min) + "," + fmt_float(value_max) + "]";
  if (!mean.empty() || !std.empty()) s += " norm(mean=" + join_floats(mean) + ",std=" + join_floats(std) + ")";
  return s;
}

nlohmann::json input_spec_to_json(const InputSpec& spec) {
  json j;
  j["channels"] = spec.channels;
  j["height"] = spec.height;
  j["width"] = spec.width;
  j["filter"] = to_string(spec.filter);
  j["antialias"] = spec.antialias;
  j["center_crop"] = spec.center_crop;
  j["resample_uint8"] = spec.resample_uint8;
  j["clamp"] = spec.clamp;
  j["range"] = {spec.value_min, spec.value_max};
  j["mean"] = spec.mean;
  j["std"] = spec.std;
  j["description"] = spec.describe();
  return j;
}

Image preprocess(const Image& img, const InputSpec& spec) {
  if (img.empty()) throw InputError("preprocess: empty image");
  Image out = to_channels(img, spec.channels);
  if (spec.center_crop && out.height != out.width) {
    const int l = std::min(out.height, out.width);
    const int top = (out.height - l) / 2, left = (out.width - l) / 2;
    Image sq(out.channels, l, l);
    for (int c = 0; c < out.channels; ++c)
      for (int y = 0; y < l; ++y)
        std::copy_n(out.plane(c) + static_cast<std::size_t>(top + y) * out.width + left, l,
                    sq.plane(c) + static_cast<std::size_t>(y) * l);
    out = std::move(sq);
  }
  const int h = spec.height > 0 ? spec.height : out.height;
  const int w = spec.width > 0 ? spec.width : out.width;
  if (spec.resample_uint8) {  // clipped to 0..255 by construction
    if (h != out.height || w != out.width) return detail::pil_resize_uint8(out, h, w, spec.filter);
    detail::quantize_uint8(out);
    return out;
  }
  if (h != out.height || w != out.width) {
    out = resize(out, h, w, spec.filter, spec.antialias);
    if (spec.clamp)
      for (float& v : out.data) v = std::clamp(v, 0.f, 1.f);
  }
  return out;
}

void apply_value_range(Image& img, const InputSpec& spec) {
  const float lo = spec.value_min, scale = spec.value_max - spec.value_min;
  if (lo != 0.f || scale != 1.f)
    for (float& v : img.data) v = lo + v * scale;
  if (spec.mean.empty() && spec.std.empty()) return;
  const std::size_t plane = static_cast<std::size_t>(img.height) * img.width;
  for (int c = 0; c < img.channels; ++c) {
    const float m = spec.mean.empty() ? 0.f : spec.mean[spec.mean.size() == 1 ? 0 : c];
    const float s = spec.std.empty() ? 1.f : spec.std[spec.std.size() == 1 ? 0 : c];
    float* p = img.plane(c);
    for (std::size_t i = 0; i < plane; ++i) p[i] = (p[i] - m) / s;
  }
}

SpecParts split_spec_options(const std::string& text) {
  SpecParts parts;
  const auto q = text.find('?');
  parts.body = text.substr(0, q);
  if (q == std::string::npos) return parts;
  std::stringstream ss(text.substr(q + 1));
  std::string item;
  while (std::getline(ss, item, '&')) {
    if (item.empty()) continue;
    const auto eq = item.find('=');
    const std::string key = item.substr(0, eq);
    const std::string value = eq == std::string::npos ? "1" : item.substr(eq + 1);
    if (key.empty()) throw InputError("extractor '" + text + "': option '" + item + "' has no name");
    if (parts.options.count(key)) throw InputError("extractor '" + text + "': option '" + key + "' given twice");
    parts.options[key] = value;
  }
  return parts;
}

std::string with_spec_options(const std::string& spec, const std::map<std::string, std::string>& options) {
  SpecParts parts = split_spec_options(spec);
  for (const auto& [k, v] : options)
    if (!v.empty()) parts.options[k] = v;
  std::string out = parts.body;
  char sep = '?';
  for (const auto& [k, v] : parts.options) {
    out += sep + k + "=" + v;
    sep = '&';
  }
  return out;
}

void apply_input_options(InputSpec& spec, std::map<std::string, std::string>& options, const std::string& where) {
  auto take = [&](const char* key, auto&& fn) {
    auto it = options.find(key);
    if (it == options.end()) return;
    fn(it->second);
    options.erase(it);
  };
  take("size", [&](const std::string& v) {
    const auto x = v.find('x');
    if (x == std::string::npos) {
      spec.height = spec.width = parse_int(v, "size", where, 1, 16384);
    } else {
      spec.height = parse_int(v.substr(0, x), "size", where, 1, 16384);
      spec.width = parse_int(v.substr(x + 1), "size", where, 1, 16384);
    }
  });
  take("filter", [&](const std::string& v) {
    try {
      spec.filter = resize_filter_from_string(v);
    } catch (const InputError& e) {
      throw InputError(where + ": option 'filter': " + e.what());
    }
  });
  take("antialias", [&](const std::string& v) { spec.antialias = parse_bool(v, "antialias", where); });
  take("clamp", [&](const std::string& v) { spec.clamp = parse_bool(v, "clamp", where); });
  take("crop", [&](const std::string& v) {
    if (v != "center" && v != "none") throw InputError(where + ": option 'crop=" + v + "': expected center or none");
    spec.center_crop = v == "center";
  });
  take("uint8", [&](const std::string& v) { spec.resample_uint8 = parse_bool(v, "uint8", where); });
  take("channels", [&](const std::string& v) {
    spec.channels = parse_int(v, "channels", where, 1, 3);
    if (spec.channels == 2) throw InputError(where + ": option 'channels=2': expected 1 or 3");
  });
  take("range", [&](const std::string& v) {
    const auto r = parse_floats(v, "range", where);
    if (r.size() != 2 || !(r[0] < r[1]))
      throw InputError(where + ": option 'range=" + v + "': expected LO,HI with LO < HI (e.g. range=0,255)");
    spec.value_min = r[0];
    spec.value_max = r[1];
  });
  take("mean", [&](const std::string& v) { spec.mean = parse_floats(v, "mean", where); });
  take("std", [&](const std::string& v) {
    spec.std = parse_floats(v, "std", where);
    for (float s : spec.std)
      if (s == 0.f) throw InputError(where + ": option 'std=" + v + "': values must be non-zero");
  });
  for (const auto* v : {&spec.mean, &spec.std})
    if (!v->empty() && v->size() != 1 && static_cast<int>(v->size()) != spec.channels)
      throw InputError(where + ": options 'mean'/'std' need 1 or " + std::to_string(spec.channels) +
                       " values (one per channel), got " + std::to_string(v->size()));
  if (spec.resample_uint8 && spec.filter != ResizeFilter::bilinear && spec.filter != ResizeFilter::bicubic &&
      spec.filter != ResizeFilter::lanczos)
    throw InputError(where + ": option 'uint8=1' needs filter bilinear, bicubic or lanczos (Pillow's 8-bit resampling), not " +
                     to_string(spec.filter));
}

void register_extractor_factory(const std::string& prefix, ExtractorFactory factory) {
  if (prefix.empty()) throw InputError("register_extractor_factory: empty prefix");
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  for (auto& [p, f] : r.factories)
    if (p == prefix) {
      f = std::move(factory);
      return;
    }
  r.factories.emplace_back(prefix, std::move(factory));
}

std::unique_ptr<FeatureExtractor> make_extractor(const std::string& spec, const std::string& device) {
  // Registered prefixes first (longest match wins), so modules can add builtin:NAME encoders.
  {
    auto& r = registry();
    std::unique_lock<std::mutex> lock(r.mu);
    const ExtractorFactory* best = nullptr;
    std::size_t best_len = 0;
    for (const auto& [p, f] : r.factories)
      if (spec.rfind(p, 0) == 0 && p.size() > best_len) {
        best = &f;
        best_len = p.size();
      }
    if (best) {
      ExtractorFactory f = *best;
      lock.unlock();
      return f(spec.substr(best_len), device);
    }
  }
  // The TorchScript (and contrastive) extractors register themselves where LibTorch is linked
  // (medsyn_metrics_torch, medsyn_memorization); without it they are LibTorch's to build.
  for (const char* torch_prefix : {"torchscript:", "torchscript-preset:", "builtin:contrastive:"})
    if (spec.rfind(torch_prefix, 0) == 0 && !torch_available()) throw NeedsTorch("extractor '" + spec + "'");
  const std::string body = split_spec_options(spec).body;
  if (body == "builtin:pixels" || body.rfind("builtin:pixels:", 0) == 0) return make_pixels(spec, device);
  std::string known =
      "torchscript:PATH, torchscript-preset:{clean-fid-inception,cmmd-clip,dgm-dinov2}:PATH, builtin:pixels[:SIZE]";
  {
    auto& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    for (const auto& [p, f] : r.factories) known += ", " + p + "...";
  }
  throw InputError("extractor '" + spec + "': unknown spec (known: " + known + ")");
}

}  // namespace medsyn
