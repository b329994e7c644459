// The downstream classifier (see classifier.h): compact ResNet-style CNN, AdamW with cosine decay,
// flip+shift augmentation, model selection on validation AUROC. The only LibTorch file of the
// experiments.
#include "medsyn/downstream/classifier.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>

#include <torch/torch.h>

#include "medsyn/core/error.h"
#include "medsyn/downstream/mix.h"
#include "medsyn/stats/auc.h"
#include "medsyn/stats/random.h"
#include "medsyn/torch/runtime.h"
#include "medsyn/torch/tensor.h"

namespace medsyn::downstream {

namespace nn = torch::nn;

namespace {

nn::Conv2d conv3x3(int in, int out, int stride) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false));
}

// Basic residual block (He et al. 2016): conv-BN-ReLU-conv-BN plus a projection shortcut when the
// shape changes.
struct BlockImpl : nn::Module {
  BlockImpl(int in, int out, int stride)
      : conv1(register_module("conv1", conv3x3(in, out, stride))),
        bn1(register_module("bn1", nn::BatchNorm2d(out))),
        conv2(register_module("conv2", conv3x3(out, out, 1))),
        bn2(register_module("bn2", nn::BatchNorm2d(out))) {
    if (stride != 1 || in != out)
      shortcut = register_module(
          "shortcut", nn::Sequential(nn::Conv2d(nn::Conv2dOptions(in, out, 1).stride(stride).bias(false)),
                                     nn::BatchNorm2d(out)));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = torch::relu(bn1(conv1(x)));
    y = bn2(conv2(y));
    return torch::relu(y + (shortcut.is_empty() ? x : shortcut->forward(x)));
  }
  nn::Conv2d conv1;
  nn::BatchNorm2d bn1;
  nn::Conv2d conv2;
  nn::BatchNorm2d bn2;
  nn::Sequential shortcut{nullptr};
};
TORCH_MODULE(Block);

// "resnet": stem conv (full resolution) -> block(w, /2) -> block(2w, /2) -> global average pool
// -> linear. "cnn": the same without the residual blocks (stem, two strided conv-BN-ReLU).
struct NetImpl : nn::Module {
  NetImpl(const std::string& arch, int channels, int width, int classes) {
    stem = register_module("stem", nn::Sequential(conv3x3(channels, width, 1), nn::BatchNorm2d(width), nn::ReLU()));
    if (arch == "resnet") {
      body = register_module("body", nn::Sequential(Block(width, width, 2), Block(width, 2 * width, 2)));
    } else {
      body = register_module("body", nn::Sequential(conv3x3(width, width, 2), nn::BatchNorm2d(width), nn::ReLU(),
                                                    conv3x3(width, 2 * width, 2), nn::BatchNorm2d(2 * width),
                                                    nn::ReLU()));
    }
    fc = register_module("fc", nn::Linear(2 * width, classes));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = body->forward(stem->forward(x));
    return fc(torch::adaptive_avg_pool2d(y, {1, 1}).flatten(1));
  }
  nn::Sequential stem{nullptr}, body{nullptr};
  nn::Linear fc{nullptr};
};
TORCH_MODULE(Net);

// torch::manual_seed sets a process-wide generator; weight initialisation must not interleave
// between runs on different threads.
std::mutex& init_mutex() {
  static std::mutex m;
  return m;
}

// Copies image `src` (C x H x W) into `dst`, flipped horizontally and/or shifted by (dy, dx)
// with zero fill.
void copy_augmented(const float* src, float* dst, int c, int h, int w, bool flip, int dy, int dx) {
  for (int ch = 0; ch < c; ++ch) {
    const float* s = src + static_cast<std::size_t>(ch) * h * w;
    float* d = dst + static_cast<std::size_t>(ch) * h * w;
    for (int y = 0; y < h; ++y) {
      const int sy = y - dy;
      for (int x = 0; x < w; ++x) {
        int sx = x - dx;
        if (flip) sx = w - 1 - sx;
        d[static_cast<std::size_t>(y) * w + x] =
            (sy >= 0 && sy < h && sx >= 0 && sx < w) ? s[static_cast<std::size_t>(sy) * w + sx] : 0.f;
      }
    }
  }
}

std::vector<double> predict(Net& net, const ImageSet& set, const torch::Device& device, bool tta) {
  torch::NoGradGuard no_grad;
  net->eval();
  const auto per = static_cast<long>(set.image_floats());
  const long n = static_cast<long>(set.size());
  std::vector<double> probs;
  probs.reserve(set.size() * 8);
  constexpr long kChunk = 256;
  for (long start = 0; start < n; start += kChunk) {
    const long m = std::min(kChunk, n - start);
    auto x = torch::from_blob(const_cast<float*>(set.pixels.data()) + start * per, {m, set.channels, set.height, set.width},
                              torch::kFloat32)
                 .to(device);
    auto p = torch::softmax(net->forward(x), 1);
    if (tta) p = 0.5 * (p + torch::softmax(net->forward(x.flip({3})), 1));
    p = p.to(torch::kCPU, torch::kFloat64).contiguous();
    probs.insert(probs.end(), p.data_ptr<double>(), p.data_ptr<double>() + p.numel());
  }
  net->train();
  return probs;
}

void check_shape(const ImageSet& s, const ImageSet& ref, const char* what) {
  if (s.channels != ref.channels || s.height != ref.height || s.width != ref.width)
    throw InputError(std::string("train_classifier: ") + what + " images are " + std::to_string(s.channels) + "x" +
                     std::to_string(s.height) + "x" + std::to_string(s.width) + ", validation images " +
                     std::to_string(ref.channels) + "x" + std::to_string(ref.height) + "x" + std::to_string(ref.width));
  if (s.pixels.size() != s.size() * s.image_floats())
    throw InputError(std::string("train_classifier: ") + what + " pixel buffer does not match its labels");
}

}  // namespace

std::vector<std::string> classifier_archs() { return {"resnet", "cnn"}; }

void validate(const ClassifierOptions& o) {
  const auto archs = classifier_archs();
  if (std::find(archs.begin(), archs.end(), o.arch) == archs.end())
    throw InputError("--arch '" + o.arch + "': unknown architecture (known: resnet, cnn)");
  if (o.width < 1 || o.width > 1024) throw InputError("--width must be in [1, 1024]");
  if (o.epochs < 1) throw InputError("--epochs must be >= 1");
  if (o.checkpoints < 1) throw InputError("--checkpoints must be >= 1");
  if (o.min_steps < 0) throw InputError("--min-steps must be >= 0");
  if (o.max_steps < 0) throw InputError("--max-steps must be >= 0 (0 = no cap)");
  if (o.max_steps > 0 && o.max_steps < o.min_steps) throw InputError("--max-steps must be >= --min-steps");
  if (o.batch_size < 1) throw InputError("--batch-size must be >= 1");
  if (!(o.lr > 0) || !std::isfinite(o.lr)) throw InputError("--lr must be a positive number");
  if (!(o.weight_decay >= 0) || !std::isfinite(o.weight_decay)) throw InputError("--weight-decay must be >= 0");
  (void)validate_device(o.device);
}

double selection_auroc(const std::vector<int>& labels, const std::vector<double>& probs, int num_classes) {
  const std::size_t n = labels.size();
  const auto k = static_cast<std::size_t>(num_classes);
  if (probs.size() != n * k) throw InputError("selection_auroc: probabilities do not match labels");
  std::vector<int> y(n);
  std::vector<double> s(n);
  double sum = 0;
  int used = 0;
  for (std::size_t c = (k == 2 ? 1 : 0); c < k; ++c) {
    std::size_t pos = 0;
    for (std::size_t i = 0; i < n; ++i) {
      y[i] = labels[i] == static_cast<int>(c) ? 1 : 0;
      s[i] = probs[i * k + c];
      pos += static_cast<std::size_t>(y[i]);
    }
    if (pos == 0 || pos == n) continue;
    sum += stats::auroc(y, s);
    ++used;
  }
  return used == 0 ? std::numeric_limits<double>::quiet_NaN() : sum / used;
}

void init_classifier_runtime() {
  init_torch_runtime(1);
}

ClassifierRun train_classifier(const TrainingMix& train, const ImageSet& val, const ImageSet& test, int num_classes,
                               const ClassifierOptions& options, std::uint64_t seed) {
  validate(options);
  if (num_classes < 2) throw InputError("train_classifier: needs at least 2 classes");
  if (train.size() == 0) throw InputError("train_classifier: empty training mix");
  if (train.images.size() != train.size()) throw InputError("train_classifier: images and labels differ in count");
  if (val.size() == 0 || test.size() == 0) throw InputError("train_classifier: empty validation or test split");
  check_shape(val, val, "validation");
  check_shape(test, val, "test");
  for (std::size_t i = 0; i < train.size(); ++i)
    if (train.labels[i] < 0 || train.labels[i] >= num_classes)
      throw InputError("train_classifier: training label " + std::to_string(train.labels[i]) + " at index " +
                       std::to_string(i) + " is outside [0, " + std::to_string(num_classes) + ")");

  const auto t0 = std::chrono::steady_clock::now();
  torch::set_num_threads(1);  // per thread (OpenMP keeps the setting per thread)
  const torch::Device device = parse_device(options.device);
  if (device.is_cuda()) {
    at::globalContext().setDeterministicCuDNN(true);
    at::globalContext().setBenchmarkCuDNN(false);
  }

  Net net{nullptr};
  {
    std::lock_guard<std::mutex> lock(init_mutex());
    torch::manual_seed(stats::derive_seed(seed, 11));
    net = Net(options.arch, val.channels, options.width, num_classes);
  }
  net->to(device);
  net->train();
  ClassifierRun run;
  for (const auto& p : net->parameters()) run.parameters += static_cast<std::size_t>(p.numel());

  torch::optim::AdamW optim(net->parameters(), torch::optim::AdamWOptions(options.lr).weight_decay(options.weight_decay));

  const std::size_t n = train.size();
  const std::size_t batch = std::min<std::size_t>(static_cast<std::size_t>(options.batch_size), n);
  const std::size_t steps_per_epoch = (n + batch - 1) / batch;
  std::size_t total = std::max<std::size_t>(static_cast<std::size_t>(options.min_steps),
                                            static_cast<std::size_t>(options.epochs) * steps_per_epoch);
  if (options.max_steps > 0) total = std::min(total, static_cast<std::size_t>(options.max_steps));
  total = std::max<std::size_t>(total, 1);
  std::vector<std::size_t> checkpoints;  // step counts after which to validate
  const int n_checks = std::min(options.epochs, options.checkpoints);
  for (int k = 1; k <= n_checks; ++k)
    checkpoints.push_back(std::max<std::size_t>(1, static_cast<std::size_t>(std::llround(
                                                       static_cast<double>(k) * static_cast<double>(total) / n_checks))));

  // Class weights n / (K n_c) over the classes present (absent classes weigh 0).
  torch::Tensor class_weight;
  if (options.balanced_loss) {
    std::vector<double> count(static_cast<std::size_t>(num_classes), 0.0);
    for (const int l : train.labels) count[static_cast<std::size_t>(l)] += 1;
    int present = 0;
    for (const double v : count) present += v > 0 ? 1 : 0;
    std::vector<float> wv(count.size(), 0.f);
    for (std::size_t k = 0; k < count.size(); ++k)
      if (count[k] > 0) wv[k] = static_cast<float>(static_cast<double>(n) / (present * count[k]));
    class_weight = torch::from_blob(wv.data(), {num_classes}, torch::kFloat32).clone().to(device);
  }

  stats::Rng rng(stats::derive_seed(seed, 12));
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  std::size_t cursor = n;  // forces a shuffle first

  const int c = val.channels, h = val.height, w = val.width;
  const std::size_t per = val.image_floats();
  std::vector<float> xbuf(batch * per);
  std::vector<std::int64_t> ybuf(batch);

  std::vector<std::pair<std::string, torch::Tensor>> best_state;
  auto snapshot = [&] {
    best_state.clear();
    for (const auto& p : net->named_parameters()) best_state.emplace_back(p.key(), p.value().detach().clone());
    for (const auto& b : net->named_buffers()) best_state.emplace_back(b.key(), b.value().detach().clone());
  };
  double best = -std::numeric_limits<double>::infinity();
  std::size_t next_checkpoint = 0;

  for (std::size_t step = 1; step <= total; ++step) {
    for (std::size_t b = 0; b < batch; ++b) {
      if (cursor == n) {
        stats::shuffle(rng, order);
        cursor = 0;
      }
      const std::size_t idx = order[cursor++];
      bool flip = false;
      int dy = 0, dx = 0;
      if (options.augment) {
        const std::uint64_t r = rng();
        flip = (r & 1u) != 0;
        dy = static_cast<int>((r >> 8) % 5) - 2;
        dx = static_cast<int>((r >> 16) % 5) - 2;
      }
      copy_augmented(train.images[idx], xbuf.data() + b * per, c, h, w, flip, dy, dx);
      ybuf[b] = train.labels[idx];
    }
    auto x = torch::from_blob(xbuf.data(), {static_cast<long>(batch), c, h, w}, torch::kFloat32).to(device);
    auto y = torch::from_blob(ybuf.data(), {static_cast<long>(batch)}, torch::kInt64).to(device);
    const double lr = options.lr * 0.5 * (1.0 + std::cos(M_PI * static_cast<double>(step - 1) / static_cast<double>(total)));
    for (auto& group : optim.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    optim.zero_grad();
    auto ce = torch::nn::functional::CrossEntropyFuncOptions();
    if (class_weight.defined()) ce.weight(class_weight);
    auto loss = torch::nn::functional::cross_entropy(net->forward(x), y, ce);
    loss.backward();
    optim.step();

    while (next_checkpoint < checkpoints.size() && checkpoints[next_checkpoint] <= step) {
      ++next_checkpoint;
      const double score = selection_auroc(val.labels, predict(net, val, device, options.tta), num_classes);
      run.val_curve.push_back(score);
      if (std::isfinite(score) && score > best) {
        best = score;
        run.best_checkpoint = static_cast<int>(run.val_curve.size());
        snapshot();
      }
    }
  }
  if (best_state.empty()) {  // validation AUROC undefined throughout: keep the last checkpoint
    run.best_checkpoint = static_cast<int>(run.val_curve.size());
    best = std::numeric_limits<double>::quiet_NaN();
  } else {
    torch::NoGradGuard no_grad;
    std::size_t i = 0;
    for (auto& p : net->named_parameters()) p.value().copy_(best_state[i++].second);
    for (auto& b : net->named_buffers()) b.value().copy_(best_state[i++].second);
  }
  run.best_val_auroc = best;
  run.steps = static_cast<int>(total);
  run.test_probs = predict(net, test, device, options.tta);
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return run;
}

}  // namespace medsyn::downstream
