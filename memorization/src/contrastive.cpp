// The contrastive embedder: model, SimCLR training and the builtin:contrastive: extractor.
// The only LibTorch translation unit of the memorization library.
#include "medsyn/memorization/contrastive.h"

#include <sstream>
#include <torch/torch.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>
#include <numeric>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/core/progress.h"
#include "medsyn/memorization/gallery.h"
#include "medsyn/metrics/extractor.h"
#include "medsyn/stats/random.h"
#include "medsyn/torch/runtime.h"
#include "medsyn/torch/tensor.h"

namespace fs = std::filesystem;

namespace medsyn::memorization {

namespace {

constexpr const char* kFormat = "medsynbench.contrastive/2";
constexpr const char* kFormatV1 = "medsynbench.contrastive/1";  // global pooling, no views

void add_conv_block(torch::nn::Sequential& seq, int in, int out, int stride) {
  seq->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false)));
  seq->push_back(torch::nn::BatchNorm2d(out));
  seq->push_back(torch::nn::ReLU());
}

struct EncoderImpl : torch::nn::Module {
  EncoderImpl(int width, int dim, int pool) : pool(pool) {
    torch::nn::Sequential seq;
    add_conv_block(seq, 1, width, 1);
    add_conv_block(seq, width, 2 * width, 2);
    add_conv_block(seq, 2 * width, 4 * width, 2);
    add_conv_block(seq, 4 * width, 4 * width, 2);
    backbone = register_module("backbone", seq);
    head = register_module("head", torch::nn::Sequential(torch::nn::Linear(4 * width * pool * pool, 4 * width), torch::nn::ReLU(),
                                                         torch::nn::Linear(4 * width, dim)));
  }
  torch::Tensor features(const torch::Tensor& x) {
    return torch::adaptive_avg_pool2d(backbone->forward(x), {pool, pool}).flatten(1);
  }
  torch::Tensor forward(const torch::Tensor& x) { return head->forward(features(x)); }
  int pool;
  torch::nn::Sequential backbone{nullptr}, head{nullptr};
};
TORCH_MODULE(Encoder);

InputSpec model_input_spec(int size) {
  InputSpec s;
  s.channels = 1;
  s.height = s.width = size;
  s.filter = ResizeFilter::bicubic;
  s.antialias = true;
  s.clamp = true;
  return s;
}

// Per-image augmentation of a batch N x 1 x S x S (values in [0,1]); parameters from `rng`.
torch::Tensor augment(const torch::Tensor& x, const std::string& mode, stats::Rng& rng, at::Generator& gen) {
  const auto n = x.size(0);
  auto u01 = [](stats::Rng& r) { return stats::uniform01(r); };
  auto theta = torch::zeros({n, 2, 3}, torch::kFloat32);
  auto gain = torch::empty({n, 1, 1, 1}, torch::kFloat32);
  auto contrast = torch::empty({n, 1, 1, 1}, torch::kFloat32);
  auto sigma = torch::empty({n, 1, 1, 1}, torch::kFloat32);
  auto th = theta.accessor<float, 3>();
  auto ga = gain.accessor<float, 4>();
  auto co = contrast.accessor<float, 4>();
  auto si = sigma.accessor<float, 4>();
  for (int64_t i = 0; i < n; ++i) {
    const bool flip = u01(rng) < 0.5;
    double sx, sy, tx, ty, jitter, max_sigma;
    if (mode == "copy") {
      // The copy edits of a memorization audit: zoom-in of up to 1 / 0.75 per axis (crops of a
      // few pixels resized back), shifts of up to 3 px, mild photometric changes.
      sx = 1.0 - 0.25 * u01(rng);
      sy = 1.0 - 0.25 * u01(rng);
      const double px = 2.0 / static_cast<double>(x.size(3));  // one pixel in grid units
      tx = 3.0 * px * (2.0 * u01(rng) - 1.0);
      ty = 3.0 * px * (2.0 * u01(rng) - 1.0);
      jitter = 0.1;
      max_sigma = 0.02;
    } else {
      const double scale = 0.6 + 0.4 * u01(rng);  // area fraction kept
      const double log_ar = std::log(3.0 / 4.0) + (std::log(4.0 / 3.0) - std::log(3.0 / 4.0)) * u01(rng);
      const double ar = std::exp(log_ar);
      sx = std::min(1.0, std::sqrt(scale * ar));
      sy = std::min(1.0, std::sqrt(scale / ar));
      tx = (1.0 - sx) * (2.0 * u01(rng) - 1.0);
      ty = (1.0 - sy) * (2.0 * u01(rng) - 1.0);
      jitter = 0.2;
      max_sigma = 0.03;
    }
    th[i][0][0] = static_cast<float>(flip ? -sx : sx);
    th[i][0][2] = static_cast<float>(tx);
    th[i][1][1] = static_cast<float>(sy);
    th[i][1][2] = static_cast<float>(ty);
    ga[i][0][0][0] = static_cast<float>(1.0 - jitter + 2 * jitter * u01(rng));
    co[i][0][0][0] = static_cast<float>(1.0 - jitter + 2 * jitter * u01(rng));
    si[i][0][0][0] = static_cast<float>(max_sigma * u01(rng));
  }
  namespace F = torch::nn::functional;
  const auto grid = F::affine_grid(theta, {n, x.size(1), x.size(2), x.size(3)}, /*align_corners=*/false);
  auto y = F::grid_sample(x, grid,
                          F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kBorder).align_corners(false));
  y = y * gain;
  const auto mean = y.mean({1, 2, 3}, /*keepdim=*/true);
  y = (y - mean) * contrast + mean;
  y = y + torch::randn(y.sizes(), gen, torch::kFloat32) * sigma;
  return y.clamp(0.0, 1.0);
}

// Centred zoom by `factor` (> 1 zooms in), bilinear, border padding; N x C x H x W.
torch::Tensor zoom(const torch::Tensor& x, double fx, double fy) {
  namespace F = torch::nn::functional;
  auto theta = torch::zeros({x.size(0), 2, 3}, x.options());
  theta.select(1, 0).select(1, 0).fill_(1.0 / fx);
  theta.select(1, 1).select(1, 1).fill_(1.0 / fy);
  const auto grid = F::affine_grid(theta, {x.size(0), x.size(1), x.size(2), x.size(3)}, /*align_corners=*/false);
  return F::grid_sample(x, grid,
                        F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kBorder).align_corners(false));
}

torch::Tensor nt_xent(const torch::Tensor& z1, const torch::Tensor& z2, double temperature) {
  const auto n = z1.size(0);
  auto z = torch::nn::functional::normalize(torch::cat({z1, z2}, 0),
                                            torch::nn::functional::NormalizeFuncOptions().dim(1));
  auto logits = torch::matmul(z, z.t()) / temperature;
  logits = logits - torch::eye(2 * n, logits.options()) * 1e9;  // exclude self-similarity
  auto targets = torch::cat({torch::arange(n, 2 * n), torch::arange(0, n)}).to(logits.device());
  return torch::nn::functional::cross_entropy(logits, targets);
}

// Decodes and preprocesses all images (parallel, deterministic order).
torch::Tensor load_training_images(const Dataset& ds, const std::vector<Record>& recs, int size) {
  const InputSpec spec = model_input_spec(size);
  auto t = torch::empty({static_cast<long>(recs.size()), 1, size, size}, torch::kFloat32);
  float* dst = t.data_ptr<float>();
  const std::size_t plane = static_cast<std::size_t>(size) * size;
  std::vector<std::string> errors(recs.size());
  Progress prog("decode", static_cast<std::int64_t>(recs.size()), "images");
#pragma omp parallel for schedule(dynamic, 64)
  for (long i = 0; i < static_cast<long>(recs.size()); ++i) {
    try {
      const Image im = preprocess(read_image(ds.image_path(recs[i])), spec);
      std::copy(im.data.begin(), im.data.end(), dst + static_cast<std::size_t>(i) * plane);
    } catch (const std::exception& e) {
      errors[i] = e.what();
    }
  }
  prog.finish();
  for (const auto& e : errors)
    if (!e.empty()) throw InputError(e);
  return t;
}

// View zooms use the gallery's zoom-list syntax ("1.1,1.2x1").
std::vector<Zoom> parse_zooms(const std::string& text) { return parse_zoom_list(text, "zooms"); }

struct LoadedModel {
  Encoder model{nullptr};
  json meta;
  std::string sha256;
};

LoadedModel load_model(const fs::path& path) {
  if (!fs::exists(path)) throw InputError(at_file(path.string(), "contrastive embedder file does not exist"));
  LoadedModel m;
  m.sha256 = sha256_file(path);
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path.string());
  } catch (const c10::Error& e) {
    throw InputError(at_file(path.string(), "not a LibTorch archive written by `memorization train-embedder`"));
  }
  c10::IValue meta_iv;
  if (!archive.try_read("medsyn_meta", meta_iv) || !meta_iv.isString())
    throw InputError(at_file(path.string(), "missing 'medsyn_meta' (not written by `memorization train-embedder`)"));
  try {
    m.meta = json::parse(meta_iv.toStringRef());
  } catch (const std::exception& e) {
    throw InputError(at_file(path.string(), std::string("field 'medsyn_meta' is not valid JSON: ") + e.what()));
  }
  const std::string format = m.meta.value("format", "");
  if (format != kFormat && format != kFormatV1)
    throw InputError(at_file(path.string(), std::string("field 'medsyn_meta.format' is '") + format + "', expected '" +
                                                kFormat + "' (or '" + kFormatV1 + "')"));
  if (format == kFormatV1) {  // defaults of the first format
    m.meta["pool"] = 1;
    m.meta["view_zooms"] = "";
    m.meta["flip_symmetric"] = false;
  }
  if (!m.meta.contains("pool") || !m.meta["pool"].is_number_integer() || m.meta["pool"].get<int>() < 1)
    throw InputError(at_file(path.string(), "field 'medsyn_meta.pool' is missing or not a positive integer"));
  if (m.meta.contains("view_zooms") && m.meta["view_zooms"].is_array()) {  // early /2 files: isotropic numbers
    std::string joined;
    for (const auto& z : m.meta["view_zooms"]) {
      if (!z.is_number())
        throw InputError(at_file(path.string(), "field 'medsyn_meta.view_zooms' holds a non-number"));
      std::ostringstream os;
      os << z.get<double>();
      joined += (joined.empty() ? "" : ",") + os.str();
    }
    m.meta["view_zooms"] = joined;
  }
  if (!m.meta.contains("view_zooms") || !m.meta["view_zooms"].is_string())
    throw InputError(at_file(path.string(), "field 'medsyn_meta.view_zooms' is missing or not a string"));
  try {
    parse_zooms(m.meta["view_zooms"].get<std::string>());
  } catch (const InputError& e) {
    throw InputError(at_file(path.string(), std::string("field 'medsyn_meta.view_zooms': ") + e.what()));
  }
  if (!m.meta.contains("flip_symmetric") || !m.meta["flip_symmetric"].is_boolean())
    throw InputError(at_file(path.string(), "field 'medsyn_meta.flip_symmetric' is missing or not a boolean"));
  for (const char* key : {"size", "width", "dim"})
    if (!m.meta.contains(key) || !m.meta[key].is_number_integer() || m.meta[key].get<int>() < 1)
      throw InputError(at_file(path.string(), std::string("field 'medsyn_meta.") + key + "' is missing or not a positive integer"));
  m.model = Encoder(m.meta["width"].get<int>(), m.meta["dim"].get<int>(), m.meta["pool"].get<int>());
  try {
    m.model->load(archive);
  } catch (const c10::Error& e) {
    throw InputError(at_file(path.string(), std::string("parameters do not match the model in medsyn_meta: ") +
                                                e.what_without_backtrace()));
  }
  m.model->eval();
  return m;
}

class ContrastiveExtractor final : public FeatureExtractor {
 public:
  ContrastiveExtractor(LoadedModel m, torch::Device device, bool backbone, bool views, const std::string& zoom_override)
      : m_(std::move(m)), device_(device), backbone_(backbone) {
    m_.model->to(device_);
    spec_ = model_input_spec(m_.meta["size"].get<int>());
    const int pool = m_.meta["pool"].get<int>();
    dim_ = backbone_ ? 4 * m_.meta["width"].get<int>() * pool * pool : m_.meta["dim"].get<int>();
    if (views) {
      flip_ = m_.meta["flip_symmetric"].get<bool>();
      zooms_ = parse_zooms(zoom_override.empty() ? m_.meta["view_zooms"].get<std::string>() : zoom_override);
    }
  }
  std::string id() const override {
    std::string v = flip_ ? "flip" : "";
    for (std::size_t i = 0; i < zooms_.size(); ++i)
      v += (i > 0 ? "," : v.empty() ? "zoom " : "+zoom ") + zoom_label(zooms_[i]);
    return std::string("builtin:contrastive(") + (backbone_ ? "backbone" : "projection") +
           ", views=" + (v.empty() ? "single" : v) + ", sha256=" + m_.sha256.substr(0, 16) + ")";
  }
  std::string weights_hash() const override { return m_.sha256; }
  int dim() const override { return dim_; }
  InputSpec input_spec() const override { return spec_; }
  std::vector<float> extract(const std::vector<Image>& batch) override {
    if (batch.empty()) return {};
    torch::NoGradGuard ng;
    for (std::size_t i = 0; i < batch.size(); ++i)
      if (batch[i].channels != 1 || batch[i].height != spec_.height || batch[i].width != spec_.width)
        throw InputError(id() + ": batch image " + std::to_string(i) + " is not preprocessed to 1x" +
                         std::to_string(spec_.height) + "x" + std::to_string(spec_.width));
    namespace F = torch::nn::functional;
    const auto unit = F::NormalizeFuncOptions().dim(1);
    auto x = images_to_tensor(batch).to(device_);
    auto embed = [&](const torch::Tensor& v) {
      auto e = F::normalize(backbone_ ? m_.model->features(v) : m_.model->forward(v), unit);
      if (flip_) e = F::normalize(e + F::normalize(backbone_ ? m_.model->features(v.flip({3})) : m_.model->forward(v.flip({3})), unit), unit);
      return e;
    };
    auto z = embed(x);
    for (const Zoom& zm : zooms_) z = z + embed(zoom(x, zm.x, zm.y));
    z = F::normalize(z, unit).to(torch::kCPU, torch::kFloat32).contiguous();
    return std::vector<float>(z.data_ptr<float>(), z.data_ptr<float>() + z.numel());
  }

 private:
  LoadedModel m_;
  torch::Device device_;
  bool backbone_;
  bool flip_ = false;
  std::vector<Zoom> zooms_;
  InputSpec spec_;
  int dim_ = 0;
};

std::unique_ptr<FeatureExtractor> make_contrastive(const std::string& rest, const std::string& device) {
  const SpecParts parts = split_spec_options(rest);
  const std::string where = "extractor 'builtin:contrastive:" + rest + "'";
  if (parts.body.empty()) throw InputError(where + ": missing PATH (builtin:contrastive:PATH)");
  bool backbone = false, views = true;
  std::string zooms;
  for (const auto& [k, v] : parts.options) {
    if (k == "layer" && (v == "projection" || v == "backbone")) {
      backbone = v == "backbone";
    } else if (k == "views" && (v == "trained" || v == "single")) {
      views = v == "trained";
    } else if (k == "zooms") {
      zooms = v;
    } else {
      throw InputError(where + ": unknown option '" + k + "=" + v +
                       "' (builtin:contrastive takes layer=projection|backbone, views=trained|single and zooms=Z,Z,...)");
    }
  }
  if (!views && !zooms.empty()) throw InputError(where + ": zooms= needs the views (drop views=single)");
  init_torch_runtime(0);
  return std::make_unique<ContrastiveExtractor>(load_model(parts.body), parse_device(device), backbone, views, zooms);
}

}  // namespace

namespace {

void check_train_options(const ContrastiveTrainOptions& opt, const fs::path& out) {
  if (opt.epochs < 1) throw InputError("--epochs must be at least 1, got " + std::to_string(opt.epochs));
  if (opt.size < 8 || opt.size > 512) throw InputError("--size must be in [8, 512], got " + std::to_string(opt.size));
  if (opt.batch < 2) throw InputError("--batch must be at least 2, got " + std::to_string(opt.batch));
  if (opt.width < 1 || opt.dim < 1) throw InputError("--width and --dim must be positive");
  if (!(opt.temperature > 0)) throw InputError("--temperature must be positive");
  if (opt.pool < 1 || opt.pool > 8) throw InputError("--pool must be in [1, 8], got " + std::to_string(opt.pool));
  if (opt.augment != "copy" && opt.augment != "simclr")
    throw InputError("--augment '" + opt.augment + "': expected copy or simclr");
  try {
    parse_zooms(opt.view_zooms);
  } catch (const InputError& e) {
    throw InputError(std::string("--view-zooms: ") + e.what());
  }
  if (out.empty()) throw InputError("--out: empty path");
}

// Trains on `images` (N x 1 x size x size in [0,1]) and writes the model; `data_meta` (which
// images) is merged into medsyn_meta.
ContrastiveTrainReport train_on_images(const torch::Tensor& images, const fs::path& out, const ContrastiveTrainOptions& opt,
                                       const json& data_meta, std::chrono::steady_clock::time_point t0) {
  const torch::Device device = parse_device(opt.device);
  const auto n = images.size(0);

  torch::manual_seed(opt.seed);
  Encoder model(opt.width, opt.dim, opt.pool);
  model->to(device);
  torch::optim::Adam optim(model->parameters(), torch::optim::AdamOptions(opt.lr).weight_decay(1e-6));
  stats::Rng rng(opt.seed ^ 0x6d656d6f72697aULL);
  at::Generator gen = at::detail::createCPUGenerator(opt.seed + 1);

  const long batch = std::min<long>(opt.batch, n);
  const long steps = std::max<long>(1, n / batch);  // drop the ragged tail (a fresh permutation each epoch)
  ContrastiveTrainReport rep;
  rep.out = out;
  rep.images = static_cast<std::size_t>(n);
  rep.epochs = opt.epochs;
  Progress prog("contrastive training", static_cast<std::int64_t>(opt.epochs) * steps, "steps");
  std::vector<long> order(static_cast<std::size_t>(n));
  model->train();
  for (int epoch = 0; epoch < opt.epochs; ++epoch) {
    std::iota(order.begin(), order.end(), 0);
    stats::shuffle(rng, order);
    double loss_sum = 0;
    for (long s = 0; s < steps; ++s) {
      auto idx = torch::from_blob(order.data() + s * batch, {batch}, torch::kLong).clone();
      const auto x = images.index_select(0, idx);
      const auto v1 = augment(x, opt.augment, rng, gen).to(device), v2 = augment(x, opt.augment, rng, gen).to(device);
      // Cosine decay to 0 over all steps: the invariance keeps improving late in training.
      const double done = static_cast<double>(epoch * steps + s) / static_cast<double>(opt.epochs * steps);
      for (auto& g : optim.param_groups())
        static_cast<torch::optim::AdamOptions&>(g.options()).lr(opt.lr * 0.5 * (1.0 + std::cos(M_PI * done)));
      optim.zero_grad();
      auto loss = nt_xent(model->forward(v1), model->forward(v2), opt.temperature);
      loss.backward();
      optim.step();
      loss_sum += loss.item<double>();
      prog.advance();
    }
    rep.epoch_loss.push_back(loss_sum / static_cast<double>(steps));
    log_info("contrastive epoch " + std::to_string(epoch + 1) + "/" + std::to_string(opt.epochs) + ": NT-Xent loss " +
             std::to_string(rep.epoch_loss.back()));
  }
  prog.finish();
  model->eval();
  model->to(torch::kCPU);

  json meta = {{"format", kFormat},
               {"size", opt.size},
               {"width", opt.width},
               {"dim", opt.dim},
               {"pool", opt.pool},
               {"view_zooms", opt.view_zooms},
               {"flip_symmetric", opt.flip_symmetric},
               {"augment", opt.augment},
               {"lr_schedule", "cosine"},
               {"temperature", opt.temperature},
               {"lr", opt.lr},
               {"batch", opt.batch},
               {"epochs", opt.epochs},
               {"seed", opt.seed},
               {"images", n},
               {"epoch_loss", rep.epoch_loss}};
  for (const auto& [k, v] : data_meta.items()) meta[k] = v;  // what the images were (keys sorted in the dump)
  torch::serialize::OutputArchive archive;
  model->save(archive);
  archive.write("medsyn_meta", c10::IValue(meta.dump()));
  // Serialise to memory: a file-based save names the zip's entries after the (temporary) file
  // name, so the same weights would hash differently per path. In memory the name is fixed.
  std::ostringstream buffer(std::ios::binary);
  try {
    archive.save_to(buffer);
  } catch (const c10::Error& e) {
    throw InputError(at_file(out.string(), std::string("cannot serialise the model: ") + e.what_without_backtrace()));
  }
  const std::string bytes = buffer.str();
  atomic_write_bytes(out, bytes.data(), bytes.size());
  rep.weights_sha256 = sha256_file(out);
  rep.extractor_spec = "builtin:contrastive:" + out.string();
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

}  // namespace

ContrastiveTrainReport train_contrastive_embedder(const fs::path& data_dir, const fs::path& out,
                                                  const ContrastiveTrainOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  check_train_options(opt, out);
  (void)parse_device(opt.device);
  init_torch_runtime(0);
  const Dataset ds = load_dataset(data_dir);
  auto recs = ds.select(opt.modality, opt.split);
  if (opt.max_images > 0 && recs.size() > opt.max_images) recs.resize(opt.max_images);
  if (recs.size() < 2)
    throw InputError(at_file((ds.root / "manifest.jsonl").string(),
                             "contrastive training needs at least 2 images (modality '" + opt.modality + "', split '" +
                                 opt.split + "' selected " + std::to_string(recs.size()) + ")"));
  const json data_meta = {{"modality", opt.modality}, {"split", opt.split}, {"data_manifest_sha256", manifest_hash(data_dir)}};
  return train_on_images(load_training_images(ds, recs, opt.size), out, opt, data_meta, t0);
}

ContrastiveTrainReport train_contrastive_embedder(const std::vector<ContrastiveTrainingSet>& sets, const fs::path& out,
                                                  const ContrastiveTrainOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  check_train_options(opt, out);
  (void)parse_device(opt.device);
  init_torch_runtime(0);
  if (sets.empty()) throw InputError("contrastive training: no training sets given");
  std::vector<torch::Tensor> parts;
  json listed = json::array();
  std::size_t total = 0;
  for (const auto& set : sets) {
    const Dataset ds = load_dataset(set.data_dir);
    auto recs = ds.select(set.modality, set.split);
    if (opt.max_images > 0 && recs.size() > opt.max_images) recs.resize(opt.max_images);
    listed.push_back({{"data_manifest_sha256", manifest_hash(set.data_dir)}, {"modality", set.modality},
                      {"split", set.split}, {"images", recs.size()}});
    if (recs.empty()) continue;
    total += recs.size();
    parts.push_back(load_training_images(ds, recs, opt.size));
  }
  if (total < 2)
    throw InputError("contrastive training needs at least 2 images; the " + std::to_string(sets.size()) +
                     " training set(s) selected " + std::to_string(total) + " (first: " +
                     (sets[0].data_dir / "manifest.jsonl").string() + ", modality '" + sets[0].modality + "', split '" +
                     sets[0].split + "')");
  return train_on_images(torch::cat(parts, 0), out, opt, json{{"sets", listed}}, t0);
}

json train_report_to_json(const ContrastiveTrainReport& r) {
  return {{"out", r.out.string()},      {"weights_sha256", r.weights_sha256}, {"extractor", r.extractor_spec},
          {"images", r.images},         {"epochs", r.epochs},                 {"epoch_loss", r.epoch_loss},
          {"seconds", r.seconds}};
}

void register_extractors() {
  static std::once_flag once;
  std::call_once(once, [] { register_extractor_factory("builtin:contrastive:", make_contrastive); });
}

}  // namespace medsyn::memorization
