#pragma once
// Helpers for the extractor/feature specs: TorchScript modules built in C++ (no downloads) and
// tiny datasets written with core I/O. Include it before <catch2/catch.hpp> (see below).
#include <filesystem>
#include <string>
#include <vector>

#include <torch/script.h>
#include <torch/torch.h>
// LibTorch pulls in glog, whose CHECK(cond) aborts the process; Catch's CHECK must win, so this
// header is included before <catch2/catch.hpp> and drops glog's definition.
#ifdef CHECK
#undef CHECK
#endif

#include "medsyn/core/image.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/manifest.h"

namespace medsyn::test {

// Saves a module named `name` with the given TorchScript source (methods) and parameters.
inline std::filesystem::path save_script_module(const std::filesystem::path& path, const std::string& source,
                                                const std::vector<std::pair<std::string, torch::Tensor>>& params = {},
                                                const std::vector<std::pair<std::string, std::string>>& submodules = {}) {
  torch::jit::Module m("Net");
  for (const auto& [n, t] : params) m.register_parameter(n, t, false);
  for (const auto& [n, src] : submodules) {
    torch::jit::Module sub("Sub_" + n);
    sub.define(src);
    m.register_module(n, sub);
  }
  m.define(source);
  m.save(path.string());
  return path;
}

// Dataset of `n` 8-bit gray images of size h x w with deterministic content, modality `modality`.
inline void write_tiny_dataset(const std::filesystem::path& dir, int n, int h, int w,
                               const std::string& modality = "test_modality", int channels = 1, int offset = 0) {
  std::filesystem::create_directories(dir / "img");
  std::vector<Record> recs;
  for (int i = 0; i < n; ++i) {
    Image img(channels, h, w);
    for (int c = 0; c < channels; ++c)
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
          img.at(c, y, x) = static_cast<float>(((i + offset) * 37 + y * 11 + x * 5 + c * 71) % 256) / 255.f;
    Record r;
    r.path = "img/" + std::to_string(i) + ".png";
    r.modality = modality;
    r.split = i % 2 ? "train" : "test";
    write_png(dir / r.path, img);
    recs.push_back(r);
  }
  write_manifest(dir, recs);
}

}  // namespace medsyn::test
