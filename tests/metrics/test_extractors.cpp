// FeatureExtractor specs: TorchScript loader (modules built in C++), the clean-fid preset's
// preprocessing against Pillow golden values, builtin:pixels, spec options and error paths.
#include "extractor_test_util.h"  // before Catch: LibTorch/glog define CHECK

#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>

#include "medsyn/core/error.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/metrics/extractor.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace medsyn;
using medsyn::test::TempDir;

namespace {

Image constant_rgb(int h, int w, float r, float g, float b) {
  Image img(3, h, w);
  const float v[3] = {r, g, b};
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < h * w; ++i) img.plane(c)[i] = v[c];
  return img;
}

const char* kMeanLinear = R"(
def forward(self, x):
    return x.mean(dim=[2, 3]).matmul(self.w.t()) + self.b
)";

}  // namespace

TEST_CASE("torchscript: mean-pool + linear module gives the hand-computed features", "[extractor]") {
  TempDir tmp;
  const auto w = torch::tensor({1.f, 2.f, 3.f, -1.f, 0.f, 0.5f}).reshape({2, 3});
  const auto b = torch::tensor({0.5f, -1.f});
  const auto path = test::save_script_module(tmp / "lin.pt", kMeanLinear, {{"w", w}, {"b", b}});
  auto ex = make_extractor("torchscript:" + path.string() + "?size=4&range=0,255&channels=3");
  REQUIRE(ex->dim() == 2);
  CHECK(ex->weights_hash() == sha256_file(path));
  CHECK(ex->id().find(sha256_file(path)) != std::string::npos);
  CHECK(ex->id().find(path.string()) == std::string::npos);  // the id names the weights, not the path
  const InputSpec spec = ex->input_spec();
  CHECK(spec.height == 4);
  CHECK(spec.value_max == 255.f);

  // Two constant images: channel means are 255 * v.
  std::vector<Image> batch = {constant_rgb(4, 4, 0.2f, 0.4f, 0.6f), constant_rgb(4, 4, 1.f, 0.f, 0.f)};
  const auto f = ex->extract(batch);
  REQUIRE(f.size() == 4);
  // [51, 102, 153]: 1*51 + 2*102 + 3*153 + 0.5 = 714.5; -51 + 0.5*153 - 1 = 24.5
  CHECK(f[0] == Approx(714.5).margin(1e-3));
  CHECK(f[1] == Approx(24.5).margin(1e-3));
  // [255, 0, 0]: 255.5 and -256
  CHECK(f[2] == Approx(255.5).margin(1e-3));
  CHECK(f[3] == Approx(-256.0).margin(1e-3));

  // Per-channel normalisation: (x - mean) / std after the range.
  auto ex2 = make_extractor("torchscript:" + path.string() + "?size=4&range=0,255&mean=1,2,3&std=2,4,8");
  const auto g = ex2->extract({constant_rgb(4, 4, 0.2f, 0.4f, 0.6f)});
  // channel values (51-1)/2 = 25, (102-2)/4 = 25, (153-3)/8 = 18.75
  CHECK(g[0] == Approx(25 + 50 + 56.25 + 0.5).margin(1e-3));
  CHECK(g[1] == Approx(-25 + 9.375 - 1).margin(1e-3));
  CHECK(ex2->input_spec().describe().find("norm(mean=1,2,3,std=2,4,8)") != std::string::npos);
}

TEST_CASE("torchscript: preprocessing options reach the network exactly", "[extractor]") {
  TempDir tmp;
  // Identity network (flattened): the output is exactly what the network sees.
  const auto path = test::save_script_module(tmp / "id.pt", "def forward(self, x):\n    return x.flatten(1)\n");
  auto ex = make_extractor("torchscript:" + path.string() + "?size=6x5&filter=bilinear&antialias=0&channels=1&range=-1,1");
  CHECK(ex->dim() == 30);
  const InputSpec s = ex->input_spec();
  CHECK(s.channels == 1);
  CHECK(s.height == 6);
  CHECK(s.width == 5);
  CHECK(s.filter == ResizeFilter::bilinear);
  CHECK_FALSE(s.antialias);
  Image img(3, 12, 10);
  for (std::size_t i = 0; i < img.data.size(); ++i) img.data[i] = static_cast<float>((i * 7) % 13) / 12.f;
  const Image pre = preprocess(img, s);
  REQUIRE(pre.channels == 1);
  const Image expect = resize(to_channels(img, 1), 6, 5, ResizeFilter::bilinear, false);
  const auto f = ex->extract({pre});
  REQUIRE(f.size() == 30);
  for (int i = 0; i < 30; ++i) CHECK(f[i] == Approx(-1.0 + 2.0 * std::clamp(expect.data[i], 0.f, 1.f)).margin(1e-6));
}

TEST_CASE("clean-fid preset reproduces Pillow's float bicubic resize to 299 and (x-128)/128", "[extractor]") {
  TempDir tmp;
  // A stand-in for inception-2015-12-05.pt: `layers` averages each channel (N x 3 x 1 x 1); the
  // top-level forward is never called by the preset (like clean-fid, which calls layers directly).
  const auto path = test::save_script_module(
      tmp / "fake-inception.pt", "def forward(self, x):\n    return x.flatten(1)[:, 0:7]\n", {},
      {{"layers", "def forward(self, x):\n    return x.mean(dim=[2, 3], keepdim=True)\n"}});
  auto ex = make_extractor("torchscript-preset:clean-fid-inception:" + path.string());
  REQUIRE(ex->dim() == 3);
  const InputSpec s = ex->input_spec();
  CHECK(s.describe() == "3x299x299 bicubic(antialias) range[0,255] norm(mean=128,std=128)");
  CHECK(ex->id().rfind("clean-fid-inception@sha256:", 0) == 0);

  const fs::path dir = test::fixtures_dir() / "metrics" / "extractor";
  const json golden = read_json_file(dir / "clean_fid_resize.json");
  const auto grid = golden.at("grid_index").get<std::vector<int>>();
  for (const auto& [name, g] : golden.at("images").items()) {
    INFO(name);
    const Image pre = preprocess(read_image(dir / name), s);
    REQUIRE(pre.channels == 3);
    REQUIRE(pre.height == 299);
    REQUIRE(pre.width == 299);
    double max_err = 0;
    for (std::size_t i = 0; i < grid.size(); ++i)
      for (std::size_t j = 0; j < grid.size(); ++j)
        for (int c = 0; c < 3; ++c) {
          const double ours = 255.0 * pre.at(c, grid[i], grid[j]);
          max_err = std::max(max_err, std::fabs(ours - g.at("grid")[i][j][c].get<double>()));
        }
    CHECK(max_err < 2e-4);  // 0..255 scale; float32 rounding of v/255 vs v (measured 3.7e-5)
    float mn = 1e9f, mx = -1e9f;
    for (float v : pre.data) {
      mn = std::min(mn, v);
      mx = std::max(mx, v);
    }
    CHECK(255.0 * mn == Approx(g.at("min").get<double>()).margin(2e-3));  // overshoot kept (no clamp)
    CHECK(255.0 * mx == Approx(g.at("max").get<double>()).margin(2e-3));
    const auto f = ex->extract({pre});
    for (int c = 0; c < 3; ++c) CHECK(f[c] == Approx(g.at("channel_mean_normalised")[c].get<double>()).margin(2e-5));
  }
}

TEST_CASE("builtin:pixels flattens resized pixels", "[extractor]") {
  auto ex = make_extractor("builtin:pixels");
  CHECK(ex->dim() == 32 * 32);
  CHECK(ex->weights_hash().empty());
  auto ex2 = make_extractor("builtin:pixels:2");
  Image img(1, 2, 2);
  img.data = {0.f, 0.25f, 0.5f, 1.f};
  auto f = ex2->extract({preprocess(img, ex2->input_spec())});
  CHECK(f == std::vector<float>{0.f, 0.25f, 0.5f, 1.f});
  // Area downsampling to 1x1 is the mean; RGB input goes to luma by default.
  auto ex3 = make_extractor("builtin:pixels:1?filter=area");
  f = ex3->extract({preprocess(img, ex3->input_spec())});
  CHECK(f[0] == Approx(0.4375));
  Image rgb = constant_rgb(2, 2, 1.f, 0.f, 0.f);
  f = ex3->extract({preprocess(rgb, ex3->input_spec())});
  CHECK(f[0] == Approx(0.299));
  auto ex4 = make_extractor("builtin:pixels:2?channels=3");
  CHECK(ex4->dim() == 12);
  CHECK(ex4->id() == "builtin:pixels(3x2x2)");
  CHECK_THROWS_AS(make_extractor("builtin:pixels:0"), InputError);
  CHECK_THROWS_AS(make_extractor("builtin:pixels:abc"), InputError);
  CHECK_THROWS_AS(make_extractor("builtin:pixels:8?submodule=x"), InputError);
  CHECK_THROWS_AS(make_extractor("builtin:nothing"), InputError);
}

TEST_CASE("spec option helpers", "[extractor]") {
  const auto p = split_spec_options("torchscript:/a/b.pt?size=299&filter=bicubic");
  CHECK(p.body == "torchscript:/a/b.pt");
  CHECK(p.options.at("size") == "299");
  CHECK(with_spec_options("builtin:pixels:8", {{"channels", "3"}, {"filter", ""}}) ==
        "builtin:pixels:8?channels=3");
  CHECK(with_spec_options("x?size=3", {{"size", "5"}}) == "x?size=5");
  CHECK_THROWS_AS(split_spec_options("x?size=3&size=4"), InputError);
  InputSpec s;
  std::map<std::string, std::string> o = {{"range", "5,1"}};
  CHECK_THROWS_AS(apply_input_options(s, o, "t"), InputError);
  o = {{"mean", "1,2"}};
  CHECK_THROWS_AS(apply_input_options(s, o, "t"), InputError);
  o = {{"std", "0"}};
  CHECK_THROWS_AS(apply_input_options(s, o, "t"), InputError);
  o = {{"filter", "gaussian"}};
  CHECK_THROWS_AS(apply_input_options(s, o, "t"), InputError);
}

TEST_CASE("custom prefixes registered with register_extractor_factory", "[extractor]") {
  register_extractor_factory("builtin:test-double:", [](const std::string& rest, const std::string& device) {
    return make_extractor("builtin:pixels:" + rest, device);
  });
  auto ex = make_extractor("builtin:test-double:3");
  CHECK(ex->dim() == 9);
}

TEST_CASE("torchscript error paths name the file", "[extractor][errors]") {
  TempDir tmp;
  auto message = [](const std::string& spec) {
    try {
      make_extractor(spec);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  // Missing file.
  const auto missing = (tmp / "missing.pt").string();
  auto m = message("torchscript:" + missing + "?size=8");
  CHECK(m.find(missing) != std::string::npos);
  CHECK(m.find("does not exist") != std::string::npos);
  // Not a module.
  {
    std::ofstream(tmp / "text.pt") << "this is not a TorchScript archive\n";
  }
  m = message("torchscript:" + (tmp / "text.pt").string() + "?size=8");
  CHECK(m.find((tmp / "text.pt").string()) != std::string::npos);
  CHECK(m.find("not a TorchScript module") != std::string::npos);
  // Output not N x D: 4-D (suggests flatten=1, which then works).
  const auto p4 = test::save_script_module(tmp / "id4.pt", "def forward(self, x):\n    return x\n");
  m = message("torchscript:" + p4.string() + "?size=8");
  CHECK(m.find(p4.string()) != std::string::npos);
  CHECK(m.find("flatten=1") != std::string::npos);
  CHECK(make_extractor("torchscript:" + p4.string() + "?size=8&flatten=1")->dim() == 3 * 64);
  // A tuple.
  const auto pt = test::save_script_module(tmp / "tuple.pt", "def forward(self, x):\n    return (x, x)\n");
  m = message("torchscript:" + pt.string() + "?size=8");
  CHECK(m.find(pt.string()) != std::string::npos);
  CHECK(m.find("expected a tensor") != std::string::npos);
  // Wrong number of rows.
  const auto pr = test::save_script_module(tmp / "rows.pt", "def forward(self, x):\n    return x.flatten(1)[0:1]\n");
  m = message("torchscript:" + pr.string() + "?size=8");
  CHECK(m.find(pr.string()) != std::string::npos);
  CHECK(m.find("N x D") != std::string::npos);
  // Options.
  CHECK(message("torchscript:" + p4.string()).find("'size' is required") != std::string::npos);
  CHECK(message("torchscript:" + p4.string() + "?size=8&colour=1").find("unknown option 'colour'") != std::string::npos);
  CHECK(message("torchscript:" + p4.string() + "?size=8&submodule=nope").find("no submodule 'nope'") !=
        std::string::npos);
  CHECK(message("torchscript-preset:clean-fid-inception:" + p4.string()).find("no submodule 'layers'") !=
        std::string::npos);
  CHECK(message("torchscript-preset:clean-fid-inception:" + p4.string() + "?size=3").find("fixes the preprocessing") !=
        std::string::npos);
  CHECK(message("torchscript-preset:other:" + p4.string()).find("unknown preset") != std::string::npos);
  CHECK(message("builtin:pixels?device=1").find("unknown option") != std::string::npos);
  CHECK_THROWS_AS(make_extractor("builtin:pixels", "gpu"), InputError);
}
