#include <cmath>
#include <catch2/catch.hpp>

#include <filesystem>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/image.h"
#include "medsyn/core/json.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/manifest.h"
#include "medsyn/core/medmnist_import.h"
#include "medsyn/core/npy.h"
#include "medsyn/core/option_error.h"
#include "test_support.h"

using namespace medsyn;
namespace fs = std::filesystem;

TEST_CASE("SHA-256 and MD5 match the published test vectors", "[hash]") {
  CHECK(sha256_hex(std::string("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  test::TempDir tmp;
  atomic_write_text(tmp / "abc.txt", "abc");
  CHECK(sha256_file(tmp / "abc.txt") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(md5_file(tmp / "abc.txt") == "900150983cd24fb0d6963f7d28e17f72");
}

TEST_CASE("incremental hashing separates fields", "[hash]") {
  CHECK(Sha256().update("ab").update("c").hex_digest() != Sha256().update("a").update("bc").hex_digest());
  CHECK(Sha256().update("ab").hex_digest() == Sha256().update("ab").hex_digest());
}

TEST_CASE("an option error names the option's field; the CLI's flag is derived in one place", "[errors]") {
  const OptionError e("png_bits", "expected 8 or 16, got 3");
  CHECK(std::string(e.what()) == "png_bits: expected 8 or 16, got 3");
  CHECK(e.field() == "png_bits");
  CHECK(flag_name("labels_from_subfolders") == "--labels-from-subfolders");
  CHECK(flag_message(e) == "--png-bits: expected 8 or 16, got 3");
  const InputError& base = e;  // still an InputError: exit code 2, caught wherever InputError is
  CHECK(std::string(base.what()).find("--") == std::string::npos);
}

TEST_CASE("atomic writes leave no temporary files behind", "[fs]") {
  test::TempDir tmp;
  atomic_write_text(tmp / "sub/x.txt", "hello");
  CHECK(read_file_text(tmp / "sub/x.txt") == "hello");
  atomic_write_text(tmp / "sub/x.txt", "again");
  CHECK(read_file_text(tmp / "sub/x.txt") == "again");
  int files = 0;
  for (auto& e : fs::directory_iterator(tmp / "sub")) {
    (void)e;
    ++files;
  }
  CHECK(files == 1);
}

TEST_CASE("safe relative paths stay inside the dataset", "[fs]") {
  CHECK(is_safe_relative_path("img/001.png"));
  CHECK_FALSE(is_safe_relative_path("../secret.png"));
  CHECK_FALSE(is_safe_relative_path("img/../../x.png"));
  CHECK_FALSE(is_safe_relative_path("/etc/passwd"));
  CHECK_FALSE(is_safe_relative_path(""));
}

TEST_CASE("PNG round-trip keeps 8-bit and 16-bit values exactly", "[image]") {
  test::TempDir tmp;
  Image img(3, 4, 5);
  for (std::size_t i = 0; i < img.size(); ++i) img.data[i] = static_cast<float>((i * 37) % 256) / 255.f;
  write_png(tmp / "a.png", img, 8);
  Image back = read_image(tmp / "a.png");
  REQUIRE(back.channels == 3);
  REQUIRE(back.height == 4);
  REQUIRE(back.width == 5);
  for (std::size_t i = 0; i < img.size(); ++i) CHECK(back.data[i] == Approx(img.data[i]).margin(1e-7));
  Image g(1, 3, 3);
  for (std::size_t i = 0; i < g.size(); ++i) g.data[i] = static_cast<float>(i * 7001) / 65535.f;
  write_png(tmp / "g16.png", g, 16);
  Image g2 = read_image(tmp / "g16.png");
  for (std::size_t i = 0; i < g.size(); ++i) CHECK(g2.data[i] * 65535.f == Approx(i * 7001.0).margin(1e-2));
}

TEST_CASE("truncated and corrupt images are rejected naming the file", "[image][errors]") {
  test::TempDir tmp;
  Image img(1, 16, 16, 0.5f);
  auto png = encode_png(img);
  png.resize(png.size() / 2);
  atomic_write_bytes(tmp / "trunc.png", png);
  CHECK_THROWS_WITH(read_image(tmp / "trunc.png"), Catch::Contains("trunc.png"));
  atomic_write_text(tmp / "garbage.jpg", "\xFF\xD8\xFF garbage");
  CHECK_THROWS_AS(read_image(tmp / "garbage.jpg"), InputError);
  atomic_write_text(tmp / "notes.txt", "hello");
  CHECK_THROWS_WITH(read_image(tmp / "notes.txt"), Catch::Contains("unknown image format"));
  CHECK_THROWS_WITH(read_image(tmp / "missing.png"), Catch::Contains("does not exist"));
}

TEST_CASE("antialiased bicubic resize matches Pillow's algorithm on a hand-worked case", "[image]") {
  // Downscale a 1x4 ramp to 1x2 (scale 2, support widened to 4): weights for output pixel 0
  // centred at 1.0 are cubic(-0.25), cubic(0.25), cubic(0.75), cubic(1.25) normalised.
  Image img(1, 1, 4);
  img.data = {0.f, 1.f, 2.f, 3.f};
  Image out = resize(img, 1, 2, ResizeFilter::bicubic, true);
  auto cubic = [](double x) {
    const double a = -0.5;
    x = std::fabs(x);
    if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
  };
  const double w[4] = {cubic(-0.25), cubic(0.25), cubic(0.75), cubic(1.25)};
  const double expect0 = (w[0] * 0 + w[1] * 1 + w[2] * 2 + w[3] * 3) / (w[0] + w[1] + w[2] + w[3]);
  CHECK(out.data[0] == Approx(expect0).epsilon(1e-6));
  // A constant image stays constant under any filter.
  Image c(1, 7, 9, 0.25f);
  for (auto f : {ResizeFilter::bilinear, ResizeFilter::bicubic, ResizeFilter::lanczos, ResizeFilter::area})
    for (float v : resize(c, 5, 13, f, true).data) CHECK(v == Approx(0.25f).epsilon(1e-5));
}

TEST_CASE("manifest errors name the file and line", "[manifest][errors]") {
  test::TempDir tmp;
  auto expect_error = [&](const std::string& text, const std::string& needle) {
    atomic_write_text(tmp / "manifest.jsonl", text);
    try {
      load_dataset(tmp.path());
      FAIL("expected InputError for: " << text);
    } catch (const InputError& e) {
      const std::string msg = e.what();
      INFO(msg);
      CHECK(msg.find("manifest.jsonl") != std::string::npos);
      CHECK(msg.find(needle) != std::string::npos);
    }
  };
  expect_error("{\"path\": \"a.png\", \"modality\": \"ct\"}\nnot json\n", ":2:");
  expect_error("{\"modality\": \"ct\"}\n", "'path' is missing");
  expect_error("{\"path\": \"a.png\"}\n", "'modality' is missing");
  expect_error("{\"path\": \"a.png\", \"modality\": \"ct\"}\n{\"path\": \"a.png\", \"modality\": \"ct\"}\n",
               "duplicate path");
  expect_error("{\"path\": \"../a.png\", \"modality\": \"ct\"}\n", "inside the dataset folder");
  expect_error("{\"path\": \"/abs/a.png\", \"modality\": \"ct\"}\n", "inside the dataset folder");
  expect_error("", "no records");
  CHECK_THROWS_WITH(load_dataset(tmp / "nope"), Catch::Contains("does not exist"));
}

TEST_CASE("manifest records keep unknown fields", "[manifest]") {
  test::TempDir tmp;
  atomic_write_text(tmp / "manifest.jsonl",
                    "{\"path\": \"a.png\", \"modality\": \"ct\", \"label\": 2, \"window\": [40, 400]}\n");
  Dataset ds = load_dataset(tmp.path());
  REQUIRE(ds.records.size() == 1);
  CHECK(ds.records[0].label == 2);
  write_manifest(tmp.path(), ds.records);
  Dataset again = load_dataset(tmp.path());
  CHECK(record_to_json(again.records[0])["window"] == json::array({40, 400}));
}

TEST_CASE("MedMNIST import keeps pixels identical and records in file order", "[medmnist][real-data]") {
  const auto npz = test::medmnist_file("breastmnist");
  test::TempDir tmp;
  auto res = import_medmnist(npz, tmp / "ds");
  CHECK(res.name == "breastmnist");
  CHECK(res.per_split.at("train") == 546);
  CHECK(res.per_split.at("val") == 78);
  CHECK(res.per_split.at("test") == 156);
  Dataset ds = load_dataset(tmp / "ds");
  REQUIRE(ds.records.size() == 780);
  auto arrays = read_npz(npz);
  const auto& imgs = arrays.at("test_images");
  const auto labels = arrays.at("test_labels").as_i64();
  std::size_t k = 0;
  for (const auto& r : ds.records) {
    if (r.split != "test") continue;
    CHECK(json::parse(r.extra_json)["index"] == k);
    CHECK(r.label == labels[k]);
    CHECK(r.modality == "breast_ultrasound");
    CHECK(r.prompt == "breast ultrasound, " + r.label_name);
    if (k % 50 == 0) {  // spot-check pixels exactly
      Image img = read_image(ds.image_path(r));
      for (int i = 0; i < 28 * 28; ++i)
        REQUIRE(static_cast<int>(std::lround(img.data[i] * 255.f)) == imgs.bytes[k * 784 + i]);
    }
    ++k;
  }
  CHECK(k == 156);
  CHECK_THROWS_WITH(import_medmnist(npz, tmp / "x", "nosuchmnist"), Catch::Contains("unknown MedMNIST set"));
}
