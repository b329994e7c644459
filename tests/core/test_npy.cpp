#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/npy.h"
#include "test_support.h"

using namespace medsyn;
namespace fs = std::filesystem;

TEST_CASE("a float32 feature matrix round-trips through .npy", "[npy]") {
  test::TempDir tmp;
  Matrix32 m{2, 3, {1, 2, 3, 4, 5, 6}};
  write_feature_matrix(tmp / "a.npy", m);
  auto r = read_feature_matrix(tmp / "a.npy");
  CHECK(r.rows == 2);
  CHECK(r.cols == 3);
  CHECK(r.data == m.data);
}

TEST_CASE(".npy headers follow the NumPy format exactly", "[npy]") {
  // np.save(f, np.zeros((2,3), np.float32)) writes this header (64-byte aligned, version 1.0).
  NpyArray a = make_npy(std::vector<float>(6, 0.f), {2, 3});
  auto bytes = serialize_npy(a);
  const std::string header(bytes.begin() + 10, bytes.begin() + 10 + (bytes[8] | (bytes[9] << 8)));
  CHECK(header.rfind("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 0) == 0);
  CHECK((10 + header.size()) % 64 == 0);
  CHECK(header.back() == '\n');
  NpyArray v = make_npy(std::vector<double>{1.5, 2.5}, {2});
  auto vb = serialize_npy(v);
  const std::string vh(vb.begin() + 10, vb.begin() + 10 + (vb[8] | (vb[9] << 8)));
  CHECK(vh.find("'shape': (2,)") != std::string::npos);
  CHECK(parse_npy(vb, "v").as_f64() == std::vector<double>{1.5, 2.5});
}

TEST_CASE(".npz archives round-trip, stored and compressed", "[npy]") {
  test::TempDir tmp;
  std::map<std::string, NpyArray> arrays{{"mu", make_npy(std::vector<double>{1, 2}, {2})},
                                         {"sigma", make_npy(std::vector<double>{1, 0, 0, 1}, {2, 2})}};
  for (bool compress : {false, true}) {
    write_npz(tmp / "s.npz", arrays, compress);
    auto back = read_npz(tmp / "s.npz");
    REQUIRE(back.size() == 2);
    CHECK(back.at("mu").as_f64() == std::vector<double>{1, 2});
    CHECK(back.at("sigma").shape == std::vector<std::int64_t>{2, 2});
  }
}

TEST_CASE("a real MedMNIST file (Deflate zip of .npy) is read with the documented shapes", "[npy][real-data]") {
  const auto path = test::medmnist_file("breastmnist");
  auto arrays = read_npz(path);
  CHECK(arrays.at("train_images").shape == std::vector<std::int64_t>{546, 28, 28});
  CHECK(arrays.at("val_images").shape == std::vector<std::int64_t>{78, 28, 28});
  CHECK(arrays.at("test_labels").shape == std::vector<std::int64_t>{156, 1});
  CHECK(arrays.at("train_images").dtype == DType::u8);
}

TEST_CASE("feature matrices with NaN or Inf are rejected naming the file and row", "[npy][errors]") {
  test::TempDir tmp;
  Matrix32 m{3, 2, {0, 1, 2, 3, std::nanf(""), 5}};
  write_feature_matrix(tmp / "bad.npy", m);
  try {
    read_feature_matrix(tmp / "bad.npy");
    FAIL("expected InputError");
  } catch (const InputError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("bad.npy") != std::string::npos);
    CHECK(msg.find("row 2") != std::string::npos);
  }
}

TEST_CASE("malformed .npy files give InputError, not a crash", "[npy][errors]") {
  test::TempDir tmp;
  atomic_write_text(tmp / "junk.npy", "this is not numpy");
  CHECK_THROWS_AS(read_npy(tmp / "junk.npy"), InputError);
  NpyArray a = make_npy(std::vector<float>(100, 1.f), {10, 10});
  auto bytes = serialize_npy(a);
  bytes.resize(bytes.size() - 7);  // truncated data
  atomic_write_bytes(tmp / "trunc.npy", bytes);
  CHECK_THROWS_WITH(read_npy(tmp / "trunc.npy"), Catch::Contains("truncated"));
  CHECK_THROWS_AS(read_npz(tmp / "missing.npz"), InputError);
  CHECK_THROWS_AS(read_npz(tmp / "junk.npy"), InputError);
}
