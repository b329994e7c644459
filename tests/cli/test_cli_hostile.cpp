// CLI specs for hostile input through the data commands and the .npy readers (issue 14): exit 2
// naming the file where the CLI used to crash (SIGSEGV) or fail with exit 3, the import caps and
// flags (--max-images, --overwrite, --follow-symlinks), and all-or-nothing imports.
#include <catch2/catch.hpp>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "medsyn/core/fs.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/core/npy.h"
#include "test_support.h"

using namespace medsyn;
using medsyn::test::run_cli;
using medsyn::test::shell_quote;
namespace fs = std::filesystem;

namespace {

std::string q(const fs::path& p) { return shell_quote(p.string()); }

std::map<std::string, NpyArray> tiny_medmnist(std::int64_t n_train) {
  std::map<std::string, NpyArray> a;
  for (const auto& [split, n] : std::vector<std::pair<std::string, std::int64_t>>{{"train", n_train}, {"val", 2}, {"test", 2}}) {
    std::vector<std::uint8_t> px(static_cast<std::size_t>(n * 9), 100);
    a[split + "_images"] = make_npy(px, {n, 3, 3});
    a[split + "_labels"] = make_npy(std::vector<std::uint8_t>(static_cast<std::size_t>(n), 1), {n, 1});
  }
  return a;
}

void write_png8(const fs::path& p, int seed) {
  Image img(1, 4, 4);
  for (std::size_t i = 0; i < img.data.size(); ++i) img.data[i] = static_cast<float>((i + seed) % 256) / 255.f;
  write_png(p, img, 8);
}

}  // namespace

TEST_CASE("an npy whose shape overflows is rejected naming the file (exit 2, not SIGSEGV)", "[cli][hostile]") {
  test::TempDir tmp;
  atomic_write_bytes(tmp / "bomb.npy",
                     medsyn::test::npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", {}));
  std::vector<float> ok(8, 0.5f);
  for (int i = 0; i < 8; ++i) ok[i] = static_cast<float>(i % 3);
  write_feature_matrix(tmp / "ok.npy", Matrix32{4, 2, ok});
  for (const std::string cmd : {"metrics fid", "metrics kid", "metrics prdc"}) {
    const auto r = run_cli(cmd + " " + q(tmp / "bomb.npy") + " " + q(tmp / "ok.npy"));
    INFO(cmd << "\n" << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("bomb.npy") != std::string::npos);
  }
  const auto s = run_cli("features stats " + q(tmp / "bomb.npy") + " --out " + q(tmp / "s.npz"));
  CHECK(s.exit_code == 2);
  CHECK(s.err.find("bomb.npy") != std::string::npos);
  // the same overflow inside an .npz: exit 2 naming the file (was exit 3 without it)
  write_npz(tmp / "bomb.npz", {{"mu", NpyArray{DType::f64, {std::int64_t(1) << 62, 4}, {}}}});
  const auto z = run_cli("metrics fid " + q(tmp / "bomb.npz") + " " + q(tmp / "ok.npy"));
  INFO(z.err);
  CHECK(z.exit_code == 2);
  CHECK(z.err.find("bomb.npz") != std::string::npos);
}

TEST_CASE("a Fortran-ordered feature matrix is accepted by the CLI", "[cli][npy]") {
  test::TempDir tmp;
  // np.save(np.asfortranarray(x)) of x = [[0, 1], [2, 3], [4, 5], [6, 7]] (float32)
  const std::vector<float> colmajor = {0, 2, 4, 6, 1, 3, 5, 7}, rowmajor = {0, 1, 2, 3, 4, 5, 6, 7};
  std::vector<std::uint8_t> raw(colmajor.size() * 4);
  std::memcpy(raw.data(), colmajor.data(), raw.size());
  atomic_write_bytes(tmp / "f.npy", medsyn::test::npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (4, 2), }", raw));
  write_feature_matrix(tmp / "c.npy", Matrix32{4, 2, rowmajor});
  // the statistics of both files are identical (same matrix), whatever the metric's output format
  for (const char* f : {"f", "c"}) {
    const auto r = run_cli("features stats " + q(tmp / (std::string(f) + ".npy")) + " --out " + q(tmp / (std::string(f) + ".npz")));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }
  const auto fs_ = read_npz(tmp / "f.npz"), cs = read_npz(tmp / "c.npz");
  REQUIRE(fs_.count("mu"));
  CHECK(fs_.at("mu").as_f64() == cs.at("mu").as_f64());
  CHECK(fs_.at("mu").as_f64() == std::vector<double>{3, 4});
  CHECK(fs_.at("sigma").as_f64() == cs.at("sigma").as_f64());
}

TEST_CASE("data import medmnist: --max-images, --overwrite and nothing written on failure", "[cli][hostile]") {
  test::TempDir tmp;
  write_npz(tmp / "breastmnist.npz", tiny_medmnist(6), true);
  const fs::path out = tmp / "ds";
  auto r = run_cli("data import medmnist " + q(tmp / "breastmnist.npz") + " --out " + q(out) + " --max-images 5");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("breastmnist.npz") != std::string::npos);
  CHECK(r.err.find("declares 10 images") != std::string::npos);
  CHECK(r.err.find("--max-images") != std::string::npos);
  CHECK_FALSE(fs::exists(out));
  CHECK(run_cli("data import medmnist " + q(tmp / "breastmnist.npz") + " --out " + q(out) + " --max-images 0").exit_code == 2);
  r = run_cli("data import medmnist " + q(tmp / "breastmnist.npz") + " --out " + q(out) + " --json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(json::parse(r.out)["images"] == 10);
  r = run_cli("data import medmnist " + q(tmp / "breastmnist.npz") + " --out " + q(out));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("already holds a dataset") != std::string::npos);
  CHECK(r.err.find("--overwrite") != std::string::npos);
  atomic_write_text(out / "images" / "train" / "stale.png", "x");
  r = run_cli("data import medmnist " + q(tmp / "breastmnist.npz") + " --out " + q(out) + " --overwrite");
  CHECK(r.exit_code == 0);
  CHECK_FALSE(fs::exists(out / "images" / "train" / "stale.png"));
  // float labels: exit 2 naming the file and member, the old dataset untouched
  auto bad = tiny_medmnist(6);
  bad["train_labels"] = make_npy(std::vector<double>{1, 1, 1.5, 1, 0, 0}, {6, 1});
  write_npz(tmp / "breastmnist.npz", bad);
  r = run_cli("data import medmnist " + q(tmp / "breastmnist.npz") + " --out " + q(tmp / "ds2"));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("train_labels") != std::string::npos);
  CHECK(r.err.find("1.5") != std::string::npos);
  CHECK_FALSE(fs::exists(tmp / "ds2"));
  r = run_cli("data import medmnist " + q(tmp / "breastmnist.npz") + " --out " + q(out) + " --overwrite");
  CHECK(r.exit_code == 2);
  CHECK(load_dataset(out).records.size() == 10);  // a failed overwrite keeps the old dataset
}

TEST_CASE("data import folder: a symlink loop is exit 2 (also skipped with --skip-bad); --follow-symlinks",
          "[cli][hostile]") {
  test::TempDir tmp;
  const fs::path src = tmp / "src";
  write_png8(src / "a.png", 1);
  write_png8(tmp / "elsewhere.png", 2);
  fs::create_symlink("loop.png", src / "loop.png");
  fs::create_symlink(tmp / "elsewhere.png", src / "out.png");
  auto r = run_cli("data import folder " + q(src) + " --out " + q(tmp / "o") + " --modality m");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("loop.png") != std::string::npos);
  CHECK(r.err.find("symbolic link loop") != std::string::npos);
  CHECK_FALSE(fs::exists(tmp / "o"));
  r = run_cli("data import folder " + q(src) + " --out " + q(tmp / "o") + " --modality m --skip-bad --json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(json::parse(r.out)["skipped"] == 2);
  const std::string skipped = read_file_text(tmp / "o" / "skipped.jsonl");
  CHECK(skipped.find("\"file\":\"loop.png\"") != std::string::npos);
  CHECK(skipped.find("outside the source folder") != std::string::npos);
  r = run_cli("data import folder " + q(src) + " --out " + q(tmp / "o") + " --modality m --skip-bad --json");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--overwrite") != std::string::npos);
  r = run_cli("data import folder " + q(src) + " --out " + q(tmp / "o") +
              " --modality m --skip-bad --follow-symlinks --overwrite --json");
  REQUIRE(r.exit_code == 0);
  CHECK(json::parse(r.out)["images"] == 2);
  CHECK(json::parse(r.out)["skipped"] == 1);
}

TEST_CASE("a duplicate key or a number overflow in a JSON file read by the CLI is exit 2 naming the file", "[cli][hostile]") {
  test::TempDir tmp;
  write_png8(tmp / "ds" / "a.png", 1);
  atomic_write_text(tmp / "ds" / "manifest.jsonl", "{\"path\": \"a.png\", \"modality\": \"m\", \"modality\": \"n\"}\n");
  auto r = run_cli("data info " + q(tmp / "ds"));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("manifest.jsonl:1") != std::string::npos);
  CHECK(r.err.find("duplicate key 'modality'") != std::string::npos);
  atomic_write_text(tmp / "ds" / "manifest.jsonl", "{\"path\": \"a.png\", \"modality\": \"m\", \"w\": 1e400}\n");
  r = run_cli("data verify " + q(tmp / "ds"));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("manifest.jsonl:1") != std::string::npos);
}
