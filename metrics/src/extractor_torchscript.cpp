// torchscript:PATH and torchscript-preset:{clean-fid-inception,cmmd-clip,dgm-dinov2}:PATH extractors (LibTorch).
#include <cmath>
#include <filesystem>
#include <mutex>
#include <sstream>

#include <torch/script.h>
#include <torch/torch.h>

#include "medsyn/core/error.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/progress.h"
#include "medsyn/metrics/extractor.h"
#include "medsyn/torch/runtime.h"
#include "medsyn/torch/tensor.h"

namespace fs = std::filesystem;

namespace medsyn {

namespace {

struct ModelOptions {
  std::string submodule;  // "" = the module itself
  bool flatten = false;
  bool l2_normalize = false;  // divide each output row by its L2 norm (the CMMD reference's embeddings)
};

class TorchScriptExtractor final : public FeatureExtractor {
 public:
  TorchScriptExtractor(const fs::path& path, InputSpec spec, ModelOptions mo, const std::string& device,
                       const std::string& preset)
      : path_(path), spec_(std::move(spec)), mo_(std::move(mo)), device_(parse_device(device)) {
    if (!fs::exists(path_)) throw InputError(at_file(path_.string(), "TorchScript file does not exist"));
    if (!fs::is_regular_file(path_)) throw InputError(at_file(path_.string(), "not a regular file"));
    hash_ = sha256_file(path_);
    try {
      module_ = torch::jit::load(path_.string(), device_);
    } catch (const std::exception& e) {
      std::string msg = e.what();
      if (const auto nl = msg.find('\n'); nl != std::string::npos) msg = msg.substr(0, nl);
      throw InputError(at_file(path_.string(), "not a TorchScript module (torch::jit::load failed: " + msg +
                                                   "); save models with torch.jit.script(model).save(path)"));
    }
    module_.eval();
    if (!mo_.submodule.empty()) {
      if (!module_.hasattr(mo_.submodule) || !module_.attr(mo_.submodule).isModule())
        throw InputError(at_file(path_.string(), "the module has no submodule '" + mo_.submodule + "'" +
                                                     (preset == "clean-fid-inception"
                                                          ? std::string(" (is this inception-2015-12-05.pt?)")
                                                          : std::string())));
      target_ = module_.attr(mo_.submodule).toModule();
    } else {
      target_ = module_;
    }
    if (!target_.find_method("forward"))
      throw InputError(at_file(path_.string(), "the module has no forward() method"));
    kind_ = preset.empty() ? "torchscript" : preset;
    // Probe with a batch of 2 to learn D and to reject models whose output is not N x D now,
    // before any image is read.
    // A fixed, non-constant pattern in [0,1] (a constant image can make per-image normalising
    // models divide by zero).
    std::vector<Image> probe(2, Image(spec_.channels, spec_.height, spec_.width, 0.f));
    for (std::size_t k = 0; k < probe.size(); ++k)
      for (std::size_t i = 0; i < probe[k].data.size(); ++i)
        probe[k].data[i] = static_cast<float>((i * 7919 + k * 104729) % 1000) / 999.f;
    dim_ = -1;
    const auto rows = extract(probe);
    (void)rows;
  }

  std::string id() const override {
    std::string s = kind_ + "@sha256:" + hash_;
    if (kind_ == "torchscript") {
      if (!mo_.submodule.empty()) s += "/" + mo_.submodule;
      if (mo_.flatten) s += "+flatten";
    }
    return s;
  }
  std::string weights_hash() const override { return hash_; }
  int dim() const override { return dim_; }
  InputSpec input_spec() const override { return spec_; }

  std::vector<float> extract(const std::vector<Image>& batch) override {
    if (batch.empty()) return {};
    const long n = static_cast<long>(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const Image& im = batch[i];
      if (im.channels != spec_.channels || im.height != spec_.height || im.width != spec_.width)
        throw InputError(at_file(path_.string(), "batch image " + std::to_string(i) + " is " +
                                                     std::to_string(im.channels) + "x" + std::to_string(im.height) +
                                                     "x" + std::to_string(im.width) + ", expected " +
                                                     spec_.describe() + " (call preprocess first)"));
    }
    torch::NoGradGuard no_grad;
    torch::Tensor x = images_to_tensor(batch).to(device_);
    const float lo = spec_.value_min, scale = spec_.value_max - spec_.value_min;
    if (scale != 1.f) x = x.mul(scale);
    if (lo != 0.f) x = x.add(lo);
    if (!spec_.mean.empty()) x = x.sub(channel_vector(spec_.mean));
    if (!spec_.std.empty()) x = x.div(channel_vector(spec_.std));
    torch::jit::IValue out;
    try {
      out = target_.forward({x});
    } catch (const std::exception& e) {
      std::string msg = e.what();
      if (msg.size() > 600) msg = msg.substr(0, 600) + "...";
      throw InputError(at_file(path_.string(), "forward() failed on a batch of shape " + shape_text(x) + ": " + msg));
    }
    if (!out.isTensor())
      throw InputError(at_file(path_.string(), std::string("forward() returned ") + out.tagKind() +
                                                   ", expected a tensor of shape N x D"));
    torch::Tensor y = out.toTensor();
    if (y.dim() < 1 || y.size(0) != n || (y.dim() != 2 && !(mo_.flatten && y.dim() > 2)))
      throw InputError(at_file(path_.string(), "forward() returned shape " + shape_text(y) + " for a batch of " +
                                                   std::to_string(n) + " images, expected N x D = " +
                                                   std::to_string(n) + " x D" +
                                                   (y.dim() > 2 && y.size(0) == n
                                                        ? std::string(" (add the option flatten=1 to reshape it)")
                                                        : std::string())));
    y = y.reshape({n, -1}).to(torch::kCPU, torch::kFloat32).contiguous();
    const long d = y.size(1);
    if (d < 1) throw InputError(at_file(path_.string(), "forward() returned an empty feature vector"));
    if (dim_ < 0) {
      dim_ = static_cast<int>(d);
    } else if (d != dim_) {
      throw InputError(at_file(path_.string(), "forward() returned " + std::to_string(d) +
                                                   " features per image, but " + std::to_string(dim_) +
                                                   " earlier"));
    }
    const float* p = y.data_ptr<float>();
    std::vector<float> rows(p, p + n * d);
    for (long i = 0; i < n; ++i)
      for (long j = 0; j < d; ++j)
        if (!std::isfinite(rows[static_cast<std::size_t>(i * d + j)]))
          throw InputError(at_file(path_.string(), "forward() produced NaN or Inf for batch row " +
                                                       std::to_string(i) + " (feature " + std::to_string(j) + ")"));
    if (mo_.l2_normalize)
      for (long i = 0; i < n; ++i) {
        float* r = rows.data() + i * d;
        double ss = 0;  // in double: the norm of 768 float32 values
        for (long j = 0; j < d; ++j) ss += static_cast<double>(r[j]) * r[j];
        if (!(ss > 0))
          throw InputError(at_file(path_.string(), "forward() returned an all-zero embedding for batch row " +
                                                       std::to_string(i) + " (cannot L2-normalise it)"));
        const double inv = 1.0 / std::sqrt(ss);
        for (long j = 0; j < d; ++j) r[j] = static_cast<float>(r[j] * inv);
      }
    return rows;
  }

 private:
  torch::Tensor channel_vector(const std::vector<float>& v) const {
    auto t = torch::tensor(v, torch::kFloat32);
    return t.reshape({1, static_cast<long>(v.size()), 1, 1}).to(device_);
  }
  static std::string shape_text(const torch::Tensor& t) {
    std::string s = "[";
    for (long i = 0; i < t.dim(); ++i) s += (i ? " x " : "") + std::to_string(t.size(i));
    return s + "]";
  }

  fs::path path_;
  InputSpec spec_;
  ModelOptions mo_;
  torch::Device device_;
  std::string hash_, kind_;
  torch::jit::Module module_, target_;
  int dim_ = -1;
};

bool parse_flag(const std::string& v, const std::string& key, const std::string& where) {
  if (v == "1" || v == "true") return true;
  if (v == "0" || v == "false") return false;
  throw InputError(where + ": option '" + key + "=" + v + "': expected 0 or 1");
}

}  // namespace

std::unique_ptr<FeatureExtractor> make_torchscript_extractor(const std::string& rest, const std::string& device,
                                                             const std::string& preset) {
  static std::once_flag once;
  std::call_once(once, [] { init_torch_runtime(); });
  const SpecParts parts = split_spec_options(rest);
  const std::string where = "extractor '" + (preset.empty() ? "torchscript:" : "torchscript-preset:" + preset + ":") +
                            rest + "'";
  if (parts.body.empty()) throw InputError(where + ": missing PATH");
  auto options = parts.options;
  InputSpec spec;
  ModelOptions mo;
  if (preset == "clean-fid-inception") {
    // clean-fid "clean" mode (cleanfid/resize.py make_resizer("PIL", False, "bicubic", (299, 299)) and
    // cleanfid/inception_torchscript.py InceptionV3W with resize_inside=False):
    //   RGB, PIL bicubic (a = -0.5, support scaled by the downscale factor) on float32 planes of
    //   0..255 values, no clipping of the bicubic overshoot, then layers.forward((x - 128) / 128)
    //   reshaped to N x 2048 (the module's own forward() would resample again with grid_sample).
    if (!options.empty())
      throw InputError(where + ": the preset fixes the preprocessing, option '" + options.begin()->first +
                       "' is not allowed (use torchscript:PATH?... for custom preprocessing)");
    spec.channels = 3;
    spec.height = spec.width = 299;
    spec.filter = ResizeFilter::bicubic;
    spec.antialias = true;
    spec.clamp = false;
    spec.value_min = 0.f;
    spec.value_max = 255.f;
    spec.mean = {128.f};
    spec.std = {128.f};
    mo.submodule = "layers";
    mo.flatten = true;
  } else if (preset == "cmmd-clip") {
    // The CMMD reference (google-research cmmd/io_util.py + embedding.py; sayakpaul/cmmd-pytorch):
    //   PIL: crop the centred square (integer box), Image.resize((336, 336), BICUBIC) on the 8-bit
    //   image, gray tiled to 3 channels, / 255; the model-side resize to 336 is then the identity
    //   (jax.image.resize / torch interpolate at the same size); CLIP's mean/std; the image
    //   embedding divided by its L2 norm (scenic's CLIP and cmmd-pytorch both normalise).
    // The user's module maps 1 x 3 x 336 x 336 to the projected embedding (e.g. a traced
    // CLIPVisionModelWithProjection returning image_embeds for openai/clip-vit-large-patch14-336).
    if (!options.empty())
      throw InputError(where + ": the preset fixes the preprocessing, option '" + options.begin()->first +
                       "' is not allowed (use torchscript:PATH?... for custom preprocessing)");
    spec.channels = 3;
    spec.height = spec.width = 336;
    spec.center_crop = true;
    spec.filter = ResizeFilter::bicubic;
    spec.resample_uint8 = true;
    spec.clamp = false;  // 8-bit results are within [0,1]
    spec.mean = {0.48145466f, 0.4578275f, 0.40821073f};  // OPENAI_CLIP_MEAN
    spec.std = {0.26862954f, 0.26130258f, 0.27577711f};   // OPENAI_CLIP_STD
    mo.l2_normalize = true;
  } else if (preset == "dgm-dinov2") {
    // dgm-eval (dgm_eval/models/dinov2.py DINOv2Encoder.transform, dataloaders.py):
    //   PIL convert("RGB"), torchvision Resize((224, 224), BICUBIC) = Image.resize on the 8-bit
    //   image (no crop, aspect not kept), ToTensor (/ 255), Normalize(ImageNet mean, std); the
    //   features are the model's output as is (get_representations(normalized=False)).
    //   clean_resize=1 = dgm-eval's --clean_resize: per channel Pillow "F" bicubic on 0..255
    //   floats, clip(0, 255), / 255 (dgm_eval/resizer.py pil_resize).
    bool clean = false;
    if (auto it = options.find("clean_resize"); it != options.end()) {
      clean = parse_flag(it->second, "clean_resize", where);
      options.erase(it);
    }
    if (!options.empty())
      throw InputError(where + ": the preset fixes the preprocessing, option '" + options.begin()->first +
                       "' is not allowed (only clean_resize=0|1; use torchscript:PATH?... for custom preprocessing)");
    spec.channels = 3;
    spec.height = spec.width = 224;
    spec.filter = ResizeFilter::bicubic;
    spec.antialias = true;
    spec.resample_uint8 = !clean;
    spec.clamp = clean;
    spec.mean = {0.485f, 0.456f, 0.406f};
    spec.std = {0.229f, 0.224f, 0.225f};
  } else if (!preset.empty()) {
    throw InputError(where + ": unknown preset '" + preset + "'");
  } else {
    apply_input_options(spec, options, where);
    if (auto it = options.find("submodule"); it != options.end()) {
      mo.submodule = it->second;
      options.erase(it);
    }
    if (auto it = options.find("flatten"); it != options.end()) {
      mo.flatten = parse_flag(it->second, "flatten", where);
      options.erase(it);
    }
    if (!options.empty())
      throw InputError(where + ": unknown option '" + options.begin()->first +
                       "' (known: size, filter, antialias, range, channels, clamp, mean, std, crop, uint8, submodule, "
                       "flatten)");
    if (spec.height <= 0 || spec.width <= 0)
      throw InputError(where + ": option 'size' is required (the network input size, e.g. ?size=224 or ?size=256x192)");
  }
  return std::make_unique<TorchScriptExtractor>(fs::path(parts.body), std::move(spec), std::move(mo), device, preset);
}

namespace {

// "NAME:PATH[?opts]" after the "torchscript-preset:" prefix.
std::unique_ptr<FeatureExtractor> make_preset_extractor(const std::string& rest, const std::string& device) {
  const auto colon = rest.find(':');
  const std::string name = rest.substr(0, colon);
  if ((name != "clean-fid-inception" && name != "cmmd-clip" && name != "dgm-dinov2") || colon == std::string::npos)
    throw InputError("extractor 'torchscript-preset:" + rest + "': unknown preset '" + name +
                     "' (known: torchscript-preset:clean-fid-inception:PATH, torchscript-preset:cmmd-clip:PATH, "
                     "torchscript-preset:dgm-dinov2:PATH[?clean_resize=1])");
  return make_torchscript_extractor(rest.substr(colon + 1), device, name);
}

// Registered at start-up wherever this library is linked; the INTERFACE link option
// -u medsyn_metrics_torch_linked (metrics/CMakeLists.txt) keeps this object in every such link.
[[maybe_unused]] const bool g_registered = [] {
  register_extractor_factory("torchscript:", [](const std::string& rest, const std::string& device) {
    return make_torchscript_extractor(rest, device, "");
  });
  register_extractor_factory("torchscript-preset:", make_preset_extractor);
  return true;
}();

}  // namespace

}  // namespace medsyn

extern "C" const int medsyn_metrics_torch_linked = 1;
