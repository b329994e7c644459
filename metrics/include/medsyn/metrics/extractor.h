#pragma once
// FeatureExtractor: the seam between images and every feature-space metric (FID, KID, PRDC) and
// the memorization audit (as an Embedder, with L2-normalised output).
//
// Conventions:
//  - Input images are medsyn::Image (float32 CHW, values in [0,1]). `preprocess` turns any image
//    into exactly what the extractor wants (channels, size, resize filter, clamp to [0,1]); the
//    value range and per-channel normalisation the network sees (e.g. 0..255 then (x-128)/128 for
//    the clean-fid Inception preset) are applied inside extract().
//  - extract() returns N x dim() float32, row-major (row i = batch[i]).
//  - id() is stable and names the weights (kind + sha256 of the weights file + model options), so
//    caches and result files can tell extractors apart. It does not contain the file's path, so a
//    moved or renamed weights file keeps its id. Preprocessing is described by
//    input_spec().describe(); a cache key needs both.
// This header does not include LibTorch.
//
// Spec strings (docs/features.md has the full reference):
//   torchscript:PATH[?OPTIONS]          any TorchScript image model; `size` is required
//   torchscript-preset:clean-fid-inception:PATH[?OPTIONS]
//                                       clean-fid "clean" mode for inception-2015-12-05.pt
//   torchscript-preset:cmmd-clip:PATH   CMMD's CLIP preprocessing (centre crop, Pillow 8-bit
//                                       bicubic to 336, CLIP mean/std), L2-normalised output
//   torchscript-preset:dgm-dinov2:PATH[?clean_resize=1]
//                                       dgm-eval's DINOv2 preprocessing (Pillow 8-bit bicubic to
//                                       224x224, ImageNet mean/std; clean_resize: float Pillow)
//   builtin:pixels[:SIZE][?OPTIONS]     resized pixels, flattened (debugging and tests)
//   other prefixes registered with register_extractor_factory (e.g. builtin:contrastive:PATH).
// OPTIONS is `key=value` joined by `&` (a literal '?' in PATH cannot be used):
//   size=N | size=HxW     network input size (required for torchscript:; builtin:pixels uses SIZE)
//   filter=nearest|bilinear|bicubic|area|lanczos     resize filter (default bicubic)
//   antialias=0|1         PIL-style low-pass when downsampling (default 1)
//   range=LO,HI           network value range: x = LO + v*(HI-LO) for v in [0,1] (default 0,1)
//   channels=1|3          gray -> 3 replicates, RGB -> 1 uses ITU-R 601 luma (default 3; pixels 1)
//   clamp=0|1             clamp to [0,1] after resizing (bicubic/lanczos overshoot; default 1)
//   mean=M[,M,M]&std=S[,S,S]  per-channel normalisation after the range: (x - mean) / std
//   submodule=NAME        call NAME.forward instead of the module's forward (torchscript only)
//   crop=center|none      crop the centred square before resizing (default none)
//   uint8=0|1             resize 8-bit values as Pillow does for "L"/"RGB" images (default 0)
//   flatten=0|1           accept N x ... outputs and reshape them to N x D (default 0: the output
//                         must already be N x D)
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "medsyn/core/image.h"

namespace medsyn {

struct InputSpec {
  int channels = 3;           // 1 or 3 (gray -> 3 replicates; RGB -> 1 uses luma)
  int height = 0, width = 0;  // 0 = keep the image's size (only for extractors that allow it)
  ResizeFilter filter = ResizeFilter::bicubic;
  bool antialias = true;
  float value_min = 0.f, value_max = 1.f;  // network input = value_min + v * (value_max - value_min)
  bool clamp = true;          // preprocess clamps to [0,1] after resizing
  std::vector<float> mean, std;  // optional per-channel (size 1 or channels): (x - mean) / std
  // Crop the largest centred square first (box left = (w - l) / 2, top = (h - l) / 2 in integers,
  // l = min(w, h): the CMMD reference's _center_crop_and_resize).
  bool center_crop = false;
  // Resize on 8-bit values exactly as Pillow resizes "L"/"RGB" images (fixed point, rounded and
  // clipped after each pass; metrics/src/pil_resample8.h); the image is quantised to k/255 first.
  // Needs filter bilinear, bicubic or lanczos (antialias is implied: Pillow always widens).
  bool resample_uint8 = false;
  std::string describe() const;  // e.g. "3x299x299 bicubic(antialias) clamp range[0,255] norm(mean=128,std=128)"
};

class FeatureExtractor {
 public:
  virtual ~FeatureExtractor() = default;
  virtual std::string id() const = 0;
  virtual std::string weights_hash() const = 0;  // sha256 of the weights file, "" for parameter-free
  virtual int dim() const = 0;
  virtual InputSpec input_spec() const = 0;
  // `batch` images already preprocessed to input_spec() (same channels and size).
  virtual std::vector<float> extract(const std::vector<Image>& batch) = 0;
};

// Resizes/converts one image to the extractor's input spec (explicit, recorded in sidecars):
// channel conversion, then the centre crop (spec.center_crop), then resize(filter, antialias) when
// the size differs (or the Pillow 8-bit resize when spec.resample_uint8, which also quantises an
// image of the right size), then clamp to [0,1] when spec.clamp. The value range / normalisation are not applied here (see apply_value_range).
Image preprocess(const Image& img, const InputSpec& spec);

// Maps a preprocessed image's values in place from [0,1] to what the network sees:
// x = value_min + v * (value_max - value_min), then (x - mean[c]) / std[c] when given.
// Extractors call this inside extract().
void apply_value_range(Image& img, const InputSpec& spec);

// Builds an extractor from a spec string (see above). Throws InputError naming the spec/file when
// it cannot be built.
std::unique_ptr<FeatureExtractor> make_extractor(const std::string& spec, const std::string& device = "cpu");

using ExtractorFactory =
    std::function<std::unique_ptr<FeatureExtractor>(const std::string& rest, const std::string& device)>;
// `prefix` like "builtin:contrastive:"; the factory receives the text after the prefix.
void register_extractor_factory(const std::string& prefix, ExtractorFactory factory);

// ---- spec helpers (shared by the CLI and the suite runner) ----

// "PATH?a=1&b=2" -> ("PATH", {a:1, b:2}). Keys must be non-empty and unique ("spec 'S': ...").
struct SpecParts {
  std::string body;  // text before '?'
  std::map<std::string, std::string> options;
};
SpecParts split_spec_options(const std::string& text);
// Sets/overrides query options on a spec string (e.g. from CLI flags); empty values are ignored.
std::string with_spec_options(const std::string& spec, const std::map<std::string, std::string>& options);

// Applies the preprocessing options (size, filter, antialias, range, channels, clamp, mean, std) to
// `spec`, erasing each consumed key from `options`. `where` names the spec in messages.
void apply_input_options(InputSpec& spec, std::map<std::string, std::string>& options, const std::string& where);

// The preprocessing as JSON (for sidecars): channels, height, width, filter, antialias, clamp,
// range [lo, hi], mean, std, description.
nlohmann::json input_spec_to_json(const InputSpec& spec);

}  // namespace medsyn
