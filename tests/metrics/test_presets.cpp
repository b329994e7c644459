// The cmmd-clip and dgm-dinov2 presets against their references' own preprocessing
// (tests/fixtures/metrics/presets.json from scripts/fixtures/preset_fixtures.py: cmmd-pytorch's
// CMMDDataset + _resize_bicubic, dgm-eval's ImagePathDataset + DINOv2Encoder.transform), through the
// same fixed "network" in TorchScript; the Pillow 8-bit resize bit for bit; options and errors.
#include "extractor_test_util.h"  // before Catch: LibTorch/glog define CHECK

#include <catch2/catch.hpp>

#include <cmath>

#include "medsyn/core/error.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/metrics/extractor.h"
#include "medsyn/metrics/fid.h"
#include "medsyn/metrics/stats.h"
#include "metrics_fixture_data.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace medsyn;
using medsyn::test::TempDir;

namespace {

// concat(x[:, :, G, G].flatten(1), x.mean(dim=[2, 3])), G = [i * S // 8 for i < 8] + [S - 1]
// (the fixture script's `network`).
std::string grid_network(int size) {
  std::string idx;
  for (int i = 0; i < 8; ++i) idx += std::to_string(i * size / 8) + ", ";
  idx += std::to_string(size - 1);
  return "def forward(self, x):\n"
         "    idx = torch.tensor([" + idx + "])\n"
         "    g = x.index_select(2, idx).index_select(3, idx)\n"
         "    return torch.cat([g.flatten(1), x.mean(dim=[2, 3])], 1)\n";
}

// The fixture images: the synthetic PNGs, or real MedMNIST images built as the script builds them.
Image fixture_image(const std::string& name) {
  namespace md = medsyn::test::metrics_data;
  if (name == "pneumonia_0.png") return md::image("pneumoniamnist", "train_images", 0);
  if (name == "retina_0.png") return md::image("retinamnist", "train_images", 0);
  if (name == "breast_0_w20.png") {
    const Image full = md::image("breastmnist", "train_images", 0);
    Image out(1, 28, 20);
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 20; ++x) out.at(0, y, x) = full.at(0, y, x + 3);
    return out;
  }
  if (name == "pneumonia_mosaic.png") {
    Image out(1, 13 * 28, 14 * 28);
    for (int k = 0; k < 13 * 14; ++k) {
      const Image t = md::image("pneumoniamnist", "train_images", k);
      const int r = k / 14, c = k % 14;
      for (int y = 0; y < 28; ++y)
        for (int x = 0; x < 28; ++x) out.at(0, r * 28 + y, c * 28 + x) = t.at(0, y, x);
    }
    return out;
  }
  return read_image(test::fixtures_dir() / "metrics" / "extractor" / name);
}

// sha256 of round(v * 255) as H x W x C bytes (numpy's C order of the reference's HWC array).
std::string u8_sha256(const Image& img) {
  std::vector<std::uint8_t> bytes;
  bytes.reserve(img.data.size());
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x)
      for (int c = 0; c < img.channels; ++c)
        bytes.push_back(static_cast<std::uint8_t>(std::lround(img.at(c, y, x) * 255.0)));
  return sha256_hex(bytes.data(), bytes.size());
}

}  // namespace

TEST_CASE("presets cmmd-clip and dgm-dinov2 equal their references' preprocessing on real and synthetic images",
          "[extractor][presets]") {
  TempDir tmp;
  const json golden = read_json_file(test::fixtures_dir() / "metrics" / "presets.json");
  const auto p336 = test::save_script_module(tmp / "clip.pt", grid_network(336));
  const auto p224 = test::save_script_module(tmp / "dino.pt", grid_network(224));
  struct Case {
    std::string key, spec;
  };
  const std::vector<Case> cases = {
      {"cmmd-clip", "torchscript-preset:cmmd-clip:" + p336.string()},
      {"dgm-dinov2", "torchscript-preset:dgm-dinov2:" + p224.string()},
      {"dgm-dinov2?clean_resize=1", "torchscript-preset:dgm-dinov2:" + p224.string() + "?clean_resize=1"},
  };
  for (const auto& cs : cases) {
    double worst = 0;
    INFO(cs.key);
    auto ex = make_extractor(cs.spec);
    REQUIRE(ex->dim() == 9 * 9 * 3 + 3);
    const InputSpec s = ex->input_spec();
    const std::string d = s.describe();
    if (cs.key == "cmmd-clip") {
      CHECK(d.rfind("3x336x336 center-crop bicubic(pillow-uint8) range[0,1] norm(", 0) == 0);
      CHECK(ex->id().rfind("cmmd-clip@sha256:", 0) == 0);
    } else if (cs.key == "dgm-dinov2") {
      CHECK(d == "3x224x224 bicubic(pillow-uint8) range[0,1] norm(mean=0.485000014,0.456,0.405999988,"
                 "std=0.229000002,0.224000007,0.224999994)");
      CHECK(ex->id().rfind("dgm-dinov2@sha256:", 0) == 0);
    } else {
      CHECK(d.rfind("3x224x224 bicubic(antialias) clamp range[0,1] norm(", 0) == 0);
    }
    const auto& images = golden.at("presets").at(cs.key);
    REQUIRE(images.size() == 7);
    for (const auto& [name, g] : images.items()) {
      INFO(name);
      const Image pre = preprocess(fixture_image(name), s);
      REQUIRE(pre.channels == 3);
      REQUIRE(pre.height == s.height);
      REQUIRE(pre.width == s.width);
      if (g.contains("u8_sha256")) CHECK(u8_sha256(pre) == g.at("u8_sha256").get<std::string>());  // bit for bit
      const auto f = ex->extract({pre});
      const auto ref = g.at("features").get<std::vector<double>>();
      REQUIRE(f.size() == ref.size());
      double dev = 0;
      for (std::size_t i = 0; i < f.size(); ++i) dev = std::max(dev, std::fabs(f[i] - ref[i]));
      CHECK(dev <= 1e-6);  // float32 features; the stated tolerance (docs/metrics.md)
      worst = std::max(worst, dev);
      if (cs.key == "cmmd-clip") {
        double n2 = 0;
        for (float v : f) n2 += static_cast<double>(v) * v;
        CHECK(std::sqrt(n2) == Approx(1.0).margin(1e-6));  // the reference's normalised embedding
      }
    }
    WARN(cs.key << ": largest |feature - reference| = " << worst);  // the achieved agreement (docs/metrics.md)
  }
  // The reference's model-side resize at 336 (jax.image.resize / torch interpolate) is the identity.
  CHECK(golden.at("jax_resize_336_is_identity_max_abs_dev").get<double>() == 0.0);
}

TEST_CASE("crop=center and uint8=1 options; preset option errors", "[extractor][presets]") {
  TempDir tmp;
  const auto id = test::save_script_module(tmp / "id.pt", "def forward(self, x):\n    return x.flatten(1)\n");
  auto ex = make_extractor("torchscript:" + id.string() + "?size=4&crop=center&uint8=1&channels=1");
  const InputSpec s = ex->input_spec();
  CHECK(s.center_crop);
  CHECK(s.resample_uint8);
  CHECK(s.describe() == "1x4x4 center-crop bicubic(pillow-uint8) clamp range[0,1]");
  // A 2 x 6 image whose centred 2 x 2 square (columns 2..3) is the only part that survives.
  Image img(1, 2, 6, 0.f);
  img.at(0, 0, 2) = img.at(0, 0, 3) = img.at(0, 1, 2) = img.at(0, 1, 3) = 100.f / 255.f;
  const Image pre = preprocess(img, s);
  REQUIRE(pre.height == 4);
  for (float v : pre.data) CHECK(v == 100.f / 255.f);  // constant in, constant out (8-bit exact)
  // Quantisation without a resize: values become k / 255.
  InputSpec same = s;
  same.center_crop = false;
  same.height = same.width = 0;
  Image odd(1, 1, 2);
  odd.data = {0.5f, 0.0021f};
  const Image q = preprocess(odd, same);
  CHECK(q.data[0] == 128.f / 255.f);
  CHECK(q.data[1] == 1.f / 255.f);

  CHECK_THROWS_AS(make_extractor("torchscript:" + id.string() + "?size=4&crop=diagonal"), InputError);
  CHECK_THROWS_WITH(make_extractor("torchscript:" + id.string() + "?size=4&uint8=1&filter=area"),
                    Catch::Contains("uint8=1") && Catch::Contains("area"));
  CHECK_THROWS_WITH(make_extractor("torchscript-preset:cmmd-clip:" + id.string() + "?size=224"),
                    Catch::Contains("option 'size' is not allowed"));
  CHECK_THROWS_WITH(make_extractor("torchscript-preset:dgm-dinov2:" + id.string() + "?clean_resize=2"),
                    Catch::Contains("clean_resize=2"));
  CHECK_THROWS_WITH(make_extractor("torchscript-preset:dinov2:" + id.string()),
                    Catch::Contains("unknown preset 'dinov2'") && Catch::Contains("dgm-dinov2"));
  CHECK_THROWS_WITH(make_extractor("torchscript-preset:cmmd-clip:" + (tmp / "missing.pt").string()),
                    Catch::Contains("does not exist"));
  // An all-zero embedding cannot be L2-normalised: an InputError naming the file, not a NaN.
  const auto zero = test::save_script_module(tmp / "zero.pt", "def forward(self, x):\n    return x.mean(dim=[2, 3]) * 0.0\n");
  CHECK_THROWS_WITH(make_extractor("torchscript-preset:cmmd-clip:" + zero.string()),
                    Catch::Contains("zero.pt") && Catch::Contains("all-zero embedding"));
}

TEST_CASE("FD equals dgm-eval's compute_FD_with_reps on real features", "[extractor][presets][fd]") {
  namespace md = medsyn::test::metrics_data;
  const json golden = read_json_file(test::fixtures_dir() / "metrics" / "presets.json").at("fd_reference");
  const Matrix32 breast_a = md::pixel_features("breastmnist", "train_images", 0, 300, 64);
  const Matrix32 breast_b = md::pixel_features("breastmnist", "train_images", 300, 546, 64);
  const Matrix32 pneu = md::pixel_features("pneumoniamnist", "train_images", 0, 400, 64);
  const double cross = metrics::frechet_distance(metrics::compute_stats(breast_a), metrics::compute_stats(pneu)).fid;
  const double same = metrics::frechet_distance(metrics::compute_stats(breast_a), metrics::compute_stats(breast_b)).fid;
  CHECK(cross == Approx(golden.at("sub64_breast300_vs_pneumonia400").get<double>()).epsilon(1e-9));
  CHECK(same == Approx(golden.at("sub64_breast300_vs_breast246").get<double>()).epsilon(1e-9));
}
