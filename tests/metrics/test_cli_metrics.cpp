// CLI: features stats, metrics fid|kid|prdc|ssim|msssim|diversity (exit codes, JSON, messages).
#include <catch2/catch.hpp>

#include <limits>

#include "medsyn/core/image_io.h"
#include "medsyn/core/manifest.h"
#include "medsyn/metrics/stats.h"
#include "metrics_fixture_data.h"

using namespace medsyn;
namespace md = medsyn::test::metrics_data;
using test::run_cli;
using test::shell_quote;

namespace {
std::string q(const std::filesystem::path& p) { return shell_quote(p.string()); }
}  // namespace

TEST_CASE("cli: features stats + metrics fid --json", "[cli][fid]") {
  test::TempDir tmp;
  write_feature_matrix(tmp / "a.npy", md::pixel_features("breastmnist", "train_images", 0, 200, 16));
  write_feature_matrix(tmp / "b.npy", md::pixel_features("pneumoniamnist", "train_images", 0, 300, 16));
  auto r = run_cli("features stats " + q(tmp / "a.npy") + " --out " + q(tmp / "a.npz"));
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("n=200") != std::string::npos);
  const double want = md::golden()["fid"]["d16_breast_vs_pneumonia"]["fid"].get<double>();
  for (const auto& a : {tmp / "a.npy", tmp / "a.npz", test::fixtures_dir() / "metrics" / "stats_breast_d16.npz"}) {
    r = run_cli("metrics fid " + q(a) + " " + q(tmp / "b.npy") + " --json");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto j = json::parse(r.out);
    CHECK(md::rel_err(j["fid"].get<double>(), want) < 1e-6);
    CHECK(j["dim"].get<int>() == 16);
    CHECK(j["n_b"].get<int>() == 300);
    CHECK(j.contains("diagnostics"));
    CHECK(j["diagnostics"]["regularized"].get<bool>() == false);
  }
  r = run_cli("metrics fid " + q(tmp / "a.npy") + " " + q(tmp / "b.npy"));
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("FID ") == 0);
}

TEST_CASE("cli: bad feature files exit 2 with the file and row", "[cli][errors]") {
  test::TempDir tmp;
  auto a = md::pixel_features("breastmnist", "train_images", 0, 20, 16);
  write_feature_matrix(tmp / "a.npy", a);
  write_feature_matrix(tmp / "d64.npy", md::pixel_features("breastmnist", "train_images", 0, 20, 64));
  a.data[3 * 16 + 5] = std::numeric_limits<float>::quiet_NaN();
  write_feature_matrix(tmp / "nan.npy", a);
  write_feature_matrix(tmp / "one.npy", Matrix32{1, 16, std::vector<float>(16, 0.5f)});
  auto r = run_cli("metrics fid " + q(tmp / "nan.npy") + " " + q(tmp / "a.npy"));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("nan.npy") != std::string::npos);
  CHECK(r.err.find("row 3") != std::string::npos);
  r = run_cli("metrics kid " + q(tmp / "a.npy") + " " + q(tmp / "d64.npy"));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("dimension") != std::string::npos);
  r = run_cli("metrics fid " + q(tmp / "a.npy") + " " + q(tmp / "d64.npy"));
  CHECK(r.exit_code == 2);
  r = run_cli("metrics prdc " + q(tmp / "one.npy") + " " + q(tmp / "a.npy"));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("one.npy") != std::string::npos);
  r = run_cli("features stats " + q(tmp / "one.npy") + " --out " + q(tmp / "s.npz"));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("at least 2") != std::string::npos);
  r = run_cli("metrics fid " + q(tmp / "missing.npy") + " " + q(tmp / "a.npy"));
  CHECK(r.exit_code == 2);
}

TEST_CASE("cli: metrics fid reports regularisation for N <= D", "[cli][fid]") {
  test::TempDir tmp;
  write_feature_matrix(tmp / "a.npy", md::pixel_features("breastmnist", "train_images", 0, 40, 64));
  write_feature_matrix(tmp / "b.npy", md::pixel_features("pneumoniamnist", "train_images", 0, 400, 64));
  auto r = run_cli("metrics fid " + q(tmp / "a.npy") + " " + q(tmp / "b.npy") + " --json");
  REQUIRE(r.exit_code == 0);
  const auto j = json::parse(r.out);
  CHECK(j["diagnostics"]["regularized"].get<bool>());
  CHECK(j["diagnostics"]["eps"].get<double>() == 1e-6);
  CHECK(md::rel_err(j["fid"].get<double>(), md::golden()["fid"]["d64_rank_deficient_n40"]["fid_eps"].get<double>()) <
        1e-6);
}

TEST_CASE("cli: metrics kid and prdc --json", "[cli][kid][prdc]") {
  test::TempDir tmp;
  write_feature_matrix(tmp / "a.npy", md::pixel_features("breastmnist", "train_images", 0, 200, 16));
  write_feature_matrix(tmp / "b.npy", md::pixel_features("pneumoniamnist", "train_images", 0, 300, 16));
  auto r = run_cli("metrics kid " + q(tmp / "a.npy") + " " + q(tmp / "b.npy") + " --json");
  REQUIRE(r.exit_code == 0);
  auto j = json::parse(r.out);
  CHECK(md::rel_err(j["kid_mean"].get<double>(), md::golden()["kid"]["d16_breast_vs_pneumonia"].get<double>()) < 1e-9);
  CHECK(j["kid_std"].get<double>() == 0.0);
  r = run_cli("metrics kid " + q(tmp / "a.npy") + " " + q(tmp / "b.npy") +
              " --subsets 5 --subset-size 50 --seed 3 --json");
  REQUIRE(r.exit_code == 0);
  j = json::parse(r.out);
  CHECK(j["subsets"].get<int>() == 5);
  CHECK(j["subset_size"].get<int>() == 50);
  CHECK(j["kid_std"].get<double>() > 0);
  r = run_cli("metrics prdc " + q(tmp / "a.npy") + " " + q(tmp / "b.npy") + " --k 5 --json");
  REQUIRE(r.exit_code == 0);
  j = json::parse(r.out);
  const auto& want = md::golden()["prdc"]["d16_breast_vs_pneumonia_k5"];
  for (const char* key : {"precision", "recall", "density", "coverage"})
    CHECK(j[key].get<double>() == Approx(want[key].get<double>()).epsilon(1e-12));
}

TEST_CASE("cli: metrics ssim / msssim on image files", "[cli][ssim]") {
  test::TempDir tmp;
  write_png(tmp / "b0.png", md::image("breastmnist", "test_images", 0));
  write_png(tmp / "b1.png", md::image("breastmnist", "test_images", 1));
  write_png(tmp / "r0.png", md::image("retinamnist", "test_images", 0));
  write_png(tmp / "mx.png", md::mosaic("breastmnist", "test_images", 0));
  write_png(tmp / "my.png", md::mosaic("breastmnist", "test_images", 49));
  auto r = run_cli("metrics ssim " + q(tmp / "b0.png") + " " + q(tmp / "b1.png") + " --json");
  REQUIRE(r.exit_code == 0);
  CHECK(std::abs(json::parse(r.out)["ssim"].get<double>() - md::golden()["ssim"]["breast_t0_t1"].get<double>()) < 1e-6);
  r = run_cli("metrics ssim " + q(tmp / "b0.png") + " " + q(tmp / "b1.png") + " --data-range 2");
  REQUIRE(r.exit_code == 0);
  CHECK(std::abs(std::stod(r.out.substr(5)) - md::golden()["ssim"]["breast_t0_t1_range2"].get<double>()) < 1e-6);
  r = run_cli("metrics msssim " + q(tmp / "mx.png") + " " + q(tmp / "my.png") + " --json");
  REQUIRE(r.exit_code == 0);
  CHECK(std::abs(json::parse(r.out)["msssim"].get<double>() - md::golden()["msssim"]["mosaic_breast"].get<double>()) <
        1e-6);
  // 3 scales, 7-tap window and explicit weights via flags, on a 28x28 image pair (min side 25).
  r = run_cli("metrics msssim " + q(tmp / "b0.png") + " " + q(tmp / "b0.png") +
              " --scales 3 --win-size 7 --sigma 1.0 --weights 0.2,0.3,0.5 --json");
  REQUIRE(r.exit_code == 0);
  CHECK(json::parse(r.out)["msssim"].get<double>() == Approx(1.0).epsilon(1e-12));
  // Errors. All-zero weights would make every MS-SSIM exactly 1.
  r = run_cli("metrics msssim " + q(tmp / "b0.png") + " " + q(tmp / "b1.png") +
              " --scales 3 --win-size 7 --weights 0,0,0");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--weights must not all be 0") != std::string::npos);
  r = run_cli("metrics msssim " + q(tmp / "b0.png") + " " + q(tmp / "b1.png"));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("161") != std::string::npos);
  CHECK(r.err.find("--scales") != std::string::npos);
  CHECK(r.err.find("--win-size") != std::string::npos);
  r = run_cli("metrics ssim " + q(tmp / "b0.png") + " " + q(tmp / "r0.png"));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("r0.png") != std::string::npos);
  r = run_cli("metrics ssim " + q(tmp / "b0.png") + " " + q(tmp / "mx.png"));
  CHECK(r.exit_code == 2);
}

TEST_CASE("cli: metrics diversity per modality, with --reference and --pairs", "[cli][diversity]") {
  test::TempDir tmp;
  std::vector<Record> recs;
  std::filesystem::create_directories(tmp / "img");
  auto add_mosaics = [&](int from, int to) {  // mosaics of 49 BreastMNIST images each, one modality
    for (int k = from; k < to; ++k) {
      const std::string rel = "img/m" + std::to_string(k) + ".png";
      write_png(tmp / rel, md::mosaic("breastmnist", "train_images", 49 * k));
      Record rec;
      rec.path = rel;
      rec.modality = "breast_us";
      recs.push_back(rec);
    }
    write_manifest(tmp.path(), recs);
  };
  add_mosaics(0, 5);
  auto r = run_cli("metrics diversity " + q(tmp.path()) + " --reference " + q(tmp.path()) + " --json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = json::parse(r.out);
  const auto& m = j["modalities"]["breast_us"];
  // 5 images: below the minimum of 10, so null with the reason (the golden mean of these 5 is
  // checked at library level in test_diversity.cpp).
  CHECK(m["msssim_mean"].is_null());
  CHECK(m["note"].get<std::string>().rfind("n too small", 0) == 0);
  CHECK(m["n_pairs"].get<int>() == 10);
  CHECK(j["reference"]["modalities"]["breast_us"]["note"] == m["note"]);
  add_mosaics(5, 10);
  r = run_cli("metrics diversity " + q(tmp.path()) + " --json");
  REQUIRE(r.exit_code == 0);
  const auto m10 = json::parse(r.out)["modalities"]["breast_us"];
  CHECK(m10["n_pairs"].get<int>() == 45);
  CHECK(m10["ci_low"].get<double>() <= m10["msssim_mean"].get<double>());
  CHECK(m10["msssim_mean"].get<double>() <= m10["ci_high"].get<double>());
  r = run_cli("metrics diversity " + q(tmp.path()) + " --pairs 3 --seed 2 --json");
  REQUIRE(r.exit_code == 0);
  CHECK(json::parse(r.out)["modalities"]["breast_us"]["n_pairs"].get<int>() == 3);
  r = run_cli("metrics diversity " + q(tmp.path()));
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("breast_us") != std::string::npos);
  r = run_cli("metrics diversity " + q(tmp.path()) + " --pairs some");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--pairs") != std::string::npos);
}
