#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <mutex>
#include <thread>

#include <torch/torch.h>

#include "medsyn/core/error.h"
#include "medsyn/core/option_error.h"
#include "medsyn/core/provenance.h"
#include "medsyn/torch/runtime.h"
#include "medsyn/torch/tensor.h"

extern "C" const int medsyn_torch_runtime_linked = 1;

namespace medsyn {

int torch_threads_from_environment() {
  const char* e = std::getenv("MEDSYN_THREADS");
  if (e == nullptr || *e == '\0') return 0;
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(e, &end, 10);
  if (errno != 0 || end == e || *end != '\0' || v < 1 || v > 4096)
    throw InputError(std::string("environment variable MEDSYN_THREADS='") + e + "': expected a positive integer");
  return static_cast<int>(v);
}

namespace {
std::atomic<int> g_runtime_threads{0};
}  // namespace

int torch_runtime_threads() { return g_runtime_threads.load(); }

void init_torch_runtime(int num_threads) {
  // Big tensors off mmap: freeing and re-mapping them every step (page faults + zeroing) cost
  // 2-4x on CPU training steps here. Process-wide and idempotent, so done once.
  static std::once_flag malloc_once;
  std::call_once(malloc_once, [] {
    mallopt(M_MMAP_THRESHOLD, INT_MAX);
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
  });
  int n = num_threads > 0 ? num_threads : torch_threads_from_environment();
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(n);
  g_runtime_threads = n;
  register_library_version("libtorch", torch_version_string());
}

std::string torch_version_string() { return TORCH_VERSION; }

namespace {

std::string torch_validate_device(const std::string& spec) { return parse_device(spec).str(); }

// Installs LibTorch's device check behind medsyn::validate_device (core/torch_bridge.h) in every
// process that links this library; the INTERFACE link option -u medsyn_torch_runtime_linked
// (core/CMakeLists.txt) keeps this object in the link even where nothing else names it.
[[maybe_unused]] const bool g_installed = (install_device_validator(&torch_validate_device), true);

}  // namespace

torch::Device parse_device(const std::string& spec) {
  const int idx = parse_device_index(spec);  // the syntax (core/torch_bridge.h)
  if (idx < 0) return torch::Device(torch::kCPU);
  if (!torch::cuda::is_available())
    throw OptionError("device", "'" + spec + "': CUDA is not available in this build or on this machine (use cpu)");
  if (idx >= static_cast<int>(torch::cuda::device_count()))
    throw OptionError("device", "'" + spec + "': only " + std::to_string(torch::cuda::device_count()) + " CUDA device(s)");
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(idx));
}

torch::Tensor images_to_tensor(const std::vector<Image>& images) {
  if (images.empty()) throw InputError("images_to_tensor: no images");
  const auto& f = images.front();
  auto t = torch::empty({static_cast<long>(images.size()), f.channels, f.height, f.width}, torch::kFloat32);
  float* dst = t.data_ptr<float>();
  for (std::size_t i = 0; i < images.size(); ++i) {
    const auto& im = images[i];
    if (im.channels != f.channels || im.height != f.height || im.width != f.width)
      throw InputError("images_to_tensor: image " + std::to_string(i) + " has shape " + std::to_string(im.channels) +
                       "x" + std::to_string(im.height) + "x" + std::to_string(im.width) + ", expected " +
                       std::to_string(f.channels) + "x" + std::to_string(f.height) + "x" + std::to_string(f.width));
    std::copy(im.data.begin(), im.data.end(), dst + i * f.size());
  }
  return t;
}

Image tensor_to_image(const torch::Tensor& chw) {
  auto t = chw.detach().to(torch::kCPU, torch::kFloat32).clamp(0.0, 1.0).contiguous();
  if (t.dim() != 3) throw InputError("tensor_to_image: expected C x H x W");
  Image img(static_cast<int>(t.size(0)), static_cast<int>(t.size(1)), static_cast<int>(t.size(2)));
  std::copy(t.data_ptr<float>(), t.data_ptr<float>() + t.numel(), img.data.begin());
  return img;
}

}  // namespace medsyn
