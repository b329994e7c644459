// Feature extraction over datasets: streaming batches, the feature cache, sidecars, the
// `features extract` command (with real MedMNIST data) and its error exits.
#include "extractor_test_util.h"  // before Catch: LibTorch/glog define CHECK

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <fstream>

#include "medsyn/core/error.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/core/medmnist_import.h"
#include "medsyn/core/npy.h"
#include "medsyn/metrics/feature_extract.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace medsyn;
using medsyn::test::run_cli;
using medsyn::test::shell_quote;
using medsyn::test::TempDir;

TEST_CASE("stream_features hands over batches in row order", "[features]") {
  TempDir tmp;
  test::write_tiny_dataset(tmp / "ds", 10, 6, 6);
  const Dataset ds = load_dataset(tmp / "ds");
  auto ex = make_extractor("builtin:pixels:6");
  ExtractOptions opt;
  opt.batch = 4;
  std::vector<std::pair<std::size_t, std::size_t>> calls;
  std::vector<float> all;
  stream_features(ds, ds.records, *ex, opt, [&](std::size_t first, const float* rows, std::size_t n, int d) {
    calls.emplace_back(first, n);
    all.insert(all.end(), rows, rows + n * static_cast<std::size_t>(d));
  });
  CHECK(calls == std::vector<std::pair<std::size_t, std::size_t>>{{0, 4}, {4, 4}, {8, 2}});
  // Same result with one thread and batch 1 (decode/preprocess parallelism is deterministic).
  opt.batch = 1;
  opt.threads = 1;
  std::vector<float> serial;
  stream_features(ds, ds.records, *ex, opt, [&](std::size_t, const float* rows, std::size_t n, int d) {
    serial.insert(serial.end(), rows, rows + n * static_cast<std::size_t>(d));
  });
  CHECK(serial == all);
  // Row 3 = image 3's pixels.
  const Image im = read_image(ds.image_path(ds.records[3]));
  for (int i = 0; i < 36; ++i) CHECK(all[3 * 36 + i] == im.data[i]);
}

TEST_CASE("feature cache: second run reads the cache; changed content misses", "[features][cache]") {
  TempDir tmp;
  test::write_tiny_dataset(tmp / "ds", 7, 8, 8);
  Dataset ds = load_dataset(tmp / "ds");
  auto ex = make_extractor("builtin:pixels:4");
  ExtractOptions opt;
  opt.cache_dir = tmp / "cache";
  const FeatureResult a = extract_features(ds, ds.records, *ex, opt);
  CHECK_FALSE(a.cache_hit);
  CHECK(fs::exists(a.cache_file));
  CHECK(a.features.rows == 7);
  CHECK(a.features.cols == 16);
  const FeatureResult b = extract_features(ds, ds.records, *ex, opt);
  CHECK(b.cache_hit);
  CHECK(b.cache_key == a.cache_key);
  CHECK(b.features.data == a.features.data);
  // Another preprocessing is another entry.
  auto ex_other = make_extractor("builtin:pixels:4?filter=bilinear");
  CHECK(extract_features(ds, ds.records, *ex_other, opt).cache_key != a.cache_key);
  // Same content under other paths (a copy of the dataset) shares the entry.
  fs::copy(tmp / "ds", tmp / "copy", fs::copy_options::recursive);
  const Dataset copy = load_dataset(tmp / "copy");
  CHECK(extract_features(copy, copy.records, *ex, opt).cache_hit);
  // Changing one image's bytes changes the key.
  Image img = read_image(ds.image_path(ds.records[2]));
  img.data[0] = 1.f - img.data[0];
  write_png(ds.image_path(ds.records[2]), img);
  const FeatureResult c = extract_features(ds, ds.records, *ex, opt);
  CHECK_FALSE(c.cache_hit);
  CHECK(c.cache_key != a.cache_key);
  // Without the cache nothing is read.
  opt.use_cache = false;
  CHECK_FALSE(extract_features(ds, ds.records, *ex, opt).cache_hit);
}

TEST_CASE("manifest sha256 fields are verified", "[features][cache]") {
  TempDir tmp;
  test::write_tiny_dataset(tmp / "ds", 3, 5, 5);
  Dataset ds = load_dataset(tmp / "ds");
  auto recs = ds.records;
  recs[0].sha256 = sha256_file(ds.image_path(recs[0]));
  recs[1].sha256 = std::string(64, 'a');
  write_manifest(tmp / "ds", recs);
  ds = load_dataset(tmp / "ds");
  auto ex = make_extractor("builtin:pixels:5");
  ExtractOptions opt;
  opt.cache_dir = tmp / "cache";
  try {
    extract_features(ds, ds.records, *ex, opt);
    FAIL("expected an InputError");
  } catch (const InputError& e) {
    const std::string m = e.what();
    CHECK(m.find("img/1.png") != std::string::npos);
    CHECK(m.find("differs from the manifest") != std::string::npos);
  }
}

TEST_CASE("features extract on MedMNIST: builtin:pixels:28 rows equal the original arrays", "[features][cli][real]") {
  const fs::path npz = test::medmnist_file("breastmnist");
  TempDir tmp;
  import_medmnist(npz, tmp / "breast");
  const std::string cache = "--cache-dir " + shell_quote((tmp / "cache").string());
  const auto out = tmp / "f.npy";
  auto r = run_cli("features extract " + shell_quote((tmp / "breast").string()) +
                   " --extractor builtin:pixels:28 --split test --batch 50 --json --out " + shell_quote(out.string()) +
                   " " + cache);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json summary = json::parse(r.out);
  CHECK(summary.at("cache_hit") == false);
  const Matrix32 f = read_feature_matrix(out);
  const auto arrays = read_npz(npz);
  const NpyArray& test_images = arrays.at("test_images");
  REQUIRE(f.rows == test_images.shape[0]);  // 156
  REQUIRE(f.cols == 28 * 28);
  const auto px = test_images.as_f64();
  double max_err = 0;
  for (std::size_t i = 0; i < px.size(); ++i) max_err = std::max(max_err, std::fabs(f.data[i] - px[i] / 255.0));
  CHECK(max_err < 1e-7);

  const json side = read_json_file(sidecar_path(out));
  CHECK(side.at("schema") == "medsynbench.features/1");
  CHECK(side.at("rows") == 156);
  CHECK(side.at("dim") == 784);
  CHECK(side.at("extractor").at("id") == "builtin:pixels(1x28x28)");
  CHECK(side.at("preprocessing").at("filter") == "bicubic");
  CHECK(side.at("source").at("manifest_sha256") == manifest_hash(tmp / "breast"));
  CHECK(side.at("source").at("split") == "test");
  CHECK(side.at("paths").size() == 156);
  CHECK(side.at("paths")[0] == "images/test/00000.png");
  CHECK(side.at("image_sha256")[155] == sha256_file(tmp / "breast" / "images/test/00155.png"));
  CHECK(side.at("provenance").contains("git_commit"));

  // Second run: the cache.
  r = run_cli("features extract " + shell_quote((tmp / "breast").string()) +
              " --extractor builtin:pixels:28 --split test --json --out " + shell_quote((tmp / "g.npy").string()) + " " +
              cache);
  REQUIRE(r.exit_code == 0);
  CHECK(json::parse(r.out).at("cache_hit") == true);
  CHECK(read_feature_matrix(tmp / "g.npy").data == f.data);

  // Statistics only (streamed into the accumulator): mu = column means.
  r = run_cli("features extract " + shell_quote((tmp / "breast").string()) +
              " --extractor builtin:pixels:28 --split test --no-cache --stats-out " +
              shell_quote((tmp / "s.npz").string()));
  REQUIRE(r.exit_code == 0);
  const auto st = read_npz(tmp / "s.npz");
  const auto mu = st.at("mu").as_f64();
  REQUIRE(mu.size() == 784);
  for (int j : {0, 100, 400, 783}) {
    double s = 0;
    for (int i = 0; i < 156; ++i) s += f.data[static_cast<std::size_t>(i) * 784 + j];
    CHECK(mu[j] == Approx(s / 156).epsilon(1e-9));
  }
}

TEST_CASE("features extract: bad input exits 2 with the file named", "[features][cli][errors]") {
  TempDir tmp;
  test::write_tiny_dataset(tmp / "ds", 4, 8, 8);
  const std::string ds = shell_quote((tmp / "ds").string());
  const std::string out = " --out " + shell_quote((tmp / "f.npy").string()) + " --no-cache";
  {
    std::ofstream(tmp / "junk.pt") << "junk";
  }
  auto r = run_cli("features extract " + ds + " --extractor " +
                   shell_quote("torchscript:" + (tmp / "junk.pt").string() + "?size=8") + out);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("junk.pt") != std::string::npos);
  r = run_cli("features extract " + ds + " --extractor " + shell_quote("torchscript:" + (tmp / "nope.pt").string()) +
              " --size 8" + out);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("nope.pt") != std::string::npos);
  const auto p4 = test::save_script_module(tmp / "id4.pt", "def forward(self, x):\n    return x\n");
  r = run_cli("features extract " + ds + " --extractor " + shell_quote("torchscript:" + p4.string()) + " --size 8" + out);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("id4.pt") != std::string::npos);
  CHECK(r.err.find("N x D") != std::string::npos);
  // The same module with flatten works, and CLI preprocessing flags land in the sidecar.
  r = run_cli("features extract " + ds + " --extractor " + shell_quote("torchscript:" + p4.string() + "?flatten=1") +
              " --size 4 --channels 1 --range 0,255" + out);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  const json side = read_json_file(tmp / "f.npy.json");
  CHECK(side.at("preprocessing").at("range") == json::array({0.0, 255.0}));
  CHECK(side.at("dim") == 16);
  CHECK(side.at("extractor").at("weights_sha256") == sha256_file(p4));
  // Other bad input.
  r = run_cli("features extract " + shell_quote((tmp / "missing").string()) + " --extractor builtin:pixels" + out);
  CHECK(r.exit_code == 2);
  r = run_cli("features extract " + ds + " --extractor builtin:pixels --modality none" + out);
  CHECK(r.exit_code == 2);
  r = run_cli("features extract " + ds + " --extractor builtin:pixels --device cuda:99" + out);
  CHECK(r.exit_code == 2);
  r = run_cli("features extract " + ds + " --extractor builtin:pixels --batch 0" + out);
  CHECK(r.exit_code == 2);
  r = run_cli("features extract " + ds + " --extractor builtin:pixels --no-cache");
  CHECK(r.exit_code == 2);
}

// Throughput measurement (hidden: run `test_extractors "[.measure]"`): the clean-fid preprocessing
// (bicubic antialiased 28 -> 299, 3 channels) feeding a small conv net through torchscript:PATH.
TEST_CASE("measure: torchscript extraction throughput at 299x299", "[.measure]") {
  const fs::path npz = test::medmnist_file("breastmnist");
  REQUIRE(fs::exists(npz));
  TempDir tmp;
  import_medmnist(npz, tmp / "breast");
  torch::manual_seed(0);
  const auto path = test::save_script_module(
      tmp / "conv.pt",
      "def forward(self, x):\n"
      "    y = torch.relu(torch.conv2d(x, self.w1, self.b1, [2, 2]))\n"
      "    y = torch.relu(torch.conv2d(y, self.w2, self.b2, [2, 2]))\n"
      "    return y.mean(dim=[2, 3])\n",
      {{"w1", torch::randn({32, 3, 3, 3})}, {"b1", torch::zeros({32})},
       {"w2", torch::randn({64, 32, 3, 3})}, {"b2", torch::zeros({64})}});
  const Dataset ds = load_dataset(tmp / "breast");
  auto ex = make_extractor("torchscript:" + path.string() + "?size=299&range=0,255&mean=128&std=128");
  ExtractOptions opt;
  opt.use_cache = false;
  const FeatureResult r = extract_features(ds, ds.records, *ex, opt);
  WARN("torchscript conv net, 299x299x3: " << r.features.rows << " images in " << r.seconds << " s = "
                                           << r.features.rows / r.seconds << " images/s");
  auto px = make_extractor("builtin:pixels:299?channels=3&filter=bicubic");
  std::int64_t n = 0;
  const auto t0 = std::chrono::steady_clock::now();
  stream_features(ds, ds.records, *px, opt, [&](std::size_t, const float*, std::size_t m, int) { n += m; });
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  WARN("decode + preprocess only (28 -> 299 bicubic antialias, 3 ch): " << n / s << " images/s");
}
