// Hostile and faulty input to core (issue 14): sizes from headers that overflow or lie,
// decompression bombs, silent truncation of labels, ambiguous archives and JSON, non-regular
// files, symbolic links out of a folder, and imports that must be all-or-nothing.
// Each case is named after the behaviour it pins.
#include <cmath>
#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "medsyn/core/error.h"
#include "medsyn/core/folder_import.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/core/medical_io.h"
#include "medsyn/core/medmnist_import.h"
#include "medsyn/core/npy.h"
#include "test_support.h"

using namespace medsyn;
namespace fs = std::filesystem;

namespace {

// Runs f, expects InputError whose message contains every needle.
template <class F>
std::string expect_error(F&& f, std::initializer_list<std::string> needles) {
  try {
    f();
  } catch (const InputError& e) {
    const std::string msg = e.what();
    INFO(msg);
    for (const auto& n : needles) CHECK(msg.find(n) != std::string::npos);
    return msg;
  }
  FAIL("expected InputError");
  return "";
}

template <class T>
std::vector<std::uint8_t> raw(const std::vector<T>& v) {
  std::vector<std::uint8_t> b(v.size() * sizeof(T));
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// A stored (uncompressed) zip with the given member names and contents; names may repeat,
// which libzip's writer refuses but the format (and numpy's reader) allows.
void write_stored_zip(const fs::path& p, const std::vector<std::pair<std::string, std::vector<std::uint8_t>>>& members) {
  std::vector<std::uint8_t> out, central;
  auto u16 = [](std::vector<std::uint8_t>& v, std::uint32_t x) {
    v.push_back(x & 0xFF);
    v.push_back((x >> 8) & 0xFF);
  };
  auto u32 = [&](std::vector<std::uint8_t>& v, std::uint32_t x) {
    u16(v, x & 0xFFFF);
    u16(v, x >> 16);
  };
  for (const auto& [name, data] : members) {
    const std::uint32_t crc = static_cast<std::uint32_t>(crc32(0, data.data(), static_cast<uInt>(data.size())));
    const std::uint32_t offset = static_cast<std::uint32_t>(out.size());
    u32(out, 0x04034b50);
    u16(out, 20); u16(out, 0); u16(out, 0); u16(out, 0); u16(out, 0);
    u32(out, crc); u32(out, static_cast<std::uint32_t>(data.size())); u32(out, static_cast<std::uint32_t>(data.size()));
    u16(out, static_cast<std::uint32_t>(name.size())); u16(out, 0);
    out.insert(out.end(), name.begin(), name.end());
    out.insert(out.end(), data.begin(), data.end());
    u32(central, 0x02014b50);
    u16(central, 20); u16(central, 20); u16(central, 0); u16(central, 0); u16(central, 0); u16(central, 0);
    u32(central, crc); u32(central, static_cast<std::uint32_t>(data.size())); u32(central, static_cast<std::uint32_t>(data.size()));
    u16(central, static_cast<std::uint32_t>(name.size())); u16(central, 0); u16(central, 0); u16(central, 0); u16(central, 0);
    u32(central, 0); u32(central, offset);
    central.insert(central.end(), name.begin(), name.end());
  }
  const std::uint32_t cd_offset = static_cast<std::uint32_t>(out.size());
  out.insert(out.end(), central.begin(), central.end());
  u32(out, 0x06054b50);
  u16(out, 0); u16(out, 0);
  u16(out, static_cast<std::uint32_t>(members.size())); u16(out, static_cast<std::uint32_t>(members.size()));
  u32(out, static_cast<std::uint32_t>(central.size())); u32(out, cd_offset); u16(out, 0);
  atomic_write_bytes(p, out);
}

// A small MedMNIST-like archive (breastmnist: 2 classes), 4x4 gray images.
std::map<std::string, NpyArray> tiny_medmnist(std::int64_t n_train = 3) {
  std::map<std::string, NpyArray> a;
  for (const auto& [split, n] : std::vector<std::pair<std::string, std::int64_t>>{{"train", n_train}, {"val", 2}, {"test", 2}}) {
    std::vector<std::uint8_t> px(static_cast<std::size_t>(n * 16));
    for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::uint8_t>(i * 7);
    a[split + "_images"] = make_npy(px, {n, 4, 4});
    std::vector<std::uint8_t> lab(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < lab.size(); ++i) lab[i] = static_cast<std::uint8_t>(i % 2);
    a[split + "_labels"] = make_npy(lab, {n, 1});
  }
  return a;
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

void write_png8(const fs::path& p, int seed) {
  Image img(1, 5, 6);
  for (std::size_t i = 0; i < img.data.size(); ++i) img.data[i] = static_cast<float>((i * 3 + seed) % 256) / 255.f;
  write_png(p, img, 8);
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// 1. sizes from headers

TEST_CASE("an npy whose shape overflows is rejected naming the file", "[hostile][npy]") {
  test::TempDir tmp;
  // 128 bytes declaring (2**62, 4) float32: the element count times 4 overflows 64 bits.
  const auto b = medsyn::test::npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", {});
  REQUIRE(b.size() == 128);
  atomic_write_bytes(tmp / "bomb.npy", b);
  expect_error([&] { read_npy(tmp / "bomb.npy"); }, {"bomb.npy", "overflows"});
  expect_error([&] { read_feature_matrix(tmp / "bomb.npy"); }, {"bomb.npy", "overflows"});
  // a shape that does not overflow but is far larger than the data: truncated, nothing allocated
  atomic_write_bytes(tmp / "big.npy", medsyn::test::npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 4), }", {}));
  expect_error([&] { read_npy(tmp / "big.npy"); }, {"big.npy", "truncated"});
  // shape entries that are not non-negative integers are bad input, not a crash
  for (const std::string shape : {"(-1, 4)", "(abc, 2)", "(99999999999999999999999, 1)"}) {
    atomic_write_bytes(tmp / "odd.npy", medsyn::test::npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }", {}));
    expect_error([&] { read_npy(tmp / "odd.npy"); }, {"odd.npy", "shape"});
  }
}

TEST_CASE("an npz member whose shape overflows is rejected naming the file and member", "[hostile][npy]") {
  test::TempDir tmp;
  const auto member = medsyn::test::npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", {});
  write_stored_zip(tmp / "bomb.npz", {{"mu.npy", member}});
  expect_error([&] { read_npz(tmp / "bomb.npz"); }, {"bomb.npz", "mu", "overflows"});
  expect_error([&] { read_npz_info(tmp / "bomb.npz"); }, {"bomb.npz", "mu", "overflows"});
  // compressed: a member declaring 2^40 bytes that its few compressed bytes cannot hold
  NpyArray liar{DType::u8, {std::int64_t(1) << 40}, {}};
  write_npz(tmp / "liar.npz", {{"x", liar}}, true);
  expect_error([&] { read_npz(tmp / "liar.npz"); }, {"liar.npz", "'x'"});
}

TEST_CASE("an npz member with bytes after the declared array is refused", "[hostile][npy]") {
  test::TempDir tmp;
  // shape (2,) float32 followed by 1 MiB of zeros (the issue's 2 GiB of trailing zeros, smaller)
  NpyArray padded{DType::f32, {2}, std::vector<std::uint8_t>(8 + (1 << 20), 0)};
  for (bool compress : {false, true}) {
    write_npz(tmp / "pad.npz", {{"mu", padded}}, compress);
    expect_error([&] { read_npz(tmp / "pad.npz"); }, {"pad.npz", "'mu'", "after the declared array"});
  }
  // and a member shorter than declared is truncated
  NpyArray cut{DType::f32, {4}, std::vector<std::uint8_t>(8, 0)};
  write_npz(tmp / "cut.npz", {{"mu", cut}}, false);
  expect_error([&] { read_npz(tmp / "cut.npz"); }, {"cut.npz", "'mu'", "truncated"});
}

TEST_CASE("an npz with two members of the same name is refused as ambiguous", "[hostile][npy]") {
  test::TempDir tmp;
  const auto one = medsyn::test::npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", raw(std::vector<double>{1.0}));
  const auto two = medsyn::test::npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", raw(std::vector<double>{2.0}));
  write_stored_zip(tmp / "ok.npz", {{"mu.npy", one}, {"sigma.npy", two}});
  CHECK(read_npz(tmp / "ok.npz").at("sigma").as_f64() == std::vector<double>{2.0});  // the hand-made zip is valid
  write_stored_zip(tmp / "dup.npz", {{"mu.npy", one}, {"mu.npy", two}});
  expect_error([&] { read_npz(tmp / "dup.npz"); }, {"dup.npz", "'mu'", "twice", "ambiguous"});
  // "mu" and "mu.npy" are the same array name for numpy
  write_stored_zip(tmp / "dup2.npz", {{"mu", one}, {"mu.npy", two}});
  expect_error([&] { read_npz(tmp / "dup2.npz"); }, {"dup2.npz", "'mu'", "twice"});
}

TEST_CASE("a Fortran-ordered npy is read in C order", "[npy]") {
  test::TempDir tmp;
  // np.save of np.asfortranarray([[1, 2, 3], [4, 5, 6]], dtype=np.float32): column-major data
  atomic_write_bytes(tmp / "f.npy", medsyn::test::npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
                                              raw(std::vector<float>{1, 4, 2, 5, 3, 6})));
  const NpyArray a = read_npy(tmp / "f.npy");
  CHECK(a.shape == std::vector<std::int64_t>{2, 3});
  CHECK(a.as_f32() == std::vector<float>{1, 2, 3, 4, 5, 6});
  const Matrix32 m = read_feature_matrix(tmp / "f.npy");
  CHECK(m.data == std::vector<float>{1, 2, 3, 4, 5, 6});
  // 3-D, int64: element (i, j, k) = 100 i + 10 j + k, stored with i fastest
  std::vector<std::int64_t> fdata, cdata;
  for (int k = 0; k < 4; ++k)
    for (int j = 0; j < 3; ++j)
      for (int i = 0; i < 2; ++i) fdata.push_back(100 * i + 10 * j + k);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) cdata.push_back(100 * i + 10 * j + k);
  atomic_write_bytes(tmp / "f3.npy", medsyn::test::npy_bytes("{'descr': '<i8', 'fortran_order': True, 'shape': (2, 3, 4), }", raw(fdata)));
  CHECK(read_npy(tmp / "f3.npy").as_i64() == cdata);
  // 1-D Fortran order is the same as C order
  atomic_write_bytes(tmp / "f1.npy", medsyn::test::npy_bytes("{'descr': '<f8', 'fortran_order': True, 'shape': (3,), }",
                                               raw(std::vector<double>{1, 2, 3})));
  CHECK(read_npy(tmp / "f1.npy").as_f64() == std::vector<double>{1, 2, 3});
}

TEST_CASE("a NIfTI whose dimensions exceed the voxel limit is refused before allocation", "[hostile][nifti]") {
  test::TempDir tmp;
  std::vector<std::uint8_t> b(352 + 16, 0);
  const std::int32_t hdr = 348;
  std::memcpy(b.data(), &hdr, 4);
  const std::int16_t dim[8] = {4, 32767, 32767, 32767, 32767, 1, 1, 1};
  std::memcpy(b.data() + 40, dim, 16);
  const std::int16_t dtype = 64, bitpix = 64;  // float64
  std::memcpy(b.data() + 70, &dtype, 2);
  std::memcpy(b.data() + 72, &bitpix, 2);
  const float off = 352.f;
  std::memcpy(b.data() + 108, &off, 4);
  std::memcpy(b.data() + 344, "n+1", 4);
  atomic_write_bytes(tmp / "huge.nii", b);
  expect_error([&] { read_nifti(tmp / "huge.nii"); }, {"huge.nii", "voxels", "limit"});
  // an absurd vox_offset (a float cast to size_t would be undefined) is refused
  const float far = 1e30f;
  std::memcpy(b.data() + 108, &far, 4);
  const std::int16_t small[8] = {3, 2, 2, 2, 1, 1, 1, 1};
  std::memcpy(b.data() + 40, small, 16);
  atomic_write_bytes(tmp / "far.nii", b);
  expect_error([&] { read_nifti(tmp / "far.nii"); }, {"far.nii", "vox_offset"});
}

TEST_CASE("a .nii.gz that inflates beyond its header is refused naming the file", "[hostile][nifti]") {
  test::TempDir tmp;
  // 4x4x4 uint8 voxels (64 bytes) followed by 4 MiB of zeros: a small gzip that inflates far
  // beyond what the header declares.
  std::vector<std::uint8_t> b(352 + 64 + (4 << 20), 0);
  const std::int32_t hdr = 348;
  std::memcpy(b.data(), &hdr, 4);
  const std::int16_t dim[8] = {3, 4, 4, 4, 1, 1, 1, 1};
  std::memcpy(b.data() + 40, dim, 16);
  const std::int16_t dtype = 2, bitpix = 8;
  std::memcpy(b.data() + 70, &dtype, 2);
  std::memcpy(b.data() + 72, &bitpix, 2);
  const float off = 352.f;
  std::memcpy(b.data() + 108, &off, 4);
  std::memcpy(b.data() + 344, "n+1", 4);
  for (int i = 0; i < 64; ++i) b[352 + i] = static_cast<std::uint8_t>(i);
  gzFile f = gzopen((tmp / "bomb.nii.gz").c_str(), "wb");
  REQUIRE(f);
  REQUIRE(gzwrite(f, b.data(), static_cast<unsigned>(b.size())) == static_cast<int>(b.size()));
  gzclose(f);
  CHECK(fs::file_size(tmp / "bomb.nii.gz") < 100000);
  expect_error([&] { read_nifti(tmp / "bomb.nii.gz"); }, {"bomb.nii.gz", "beyond", "refusing"});
  // the same volume with a little padding (within the slack) is read
  b.resize(352 + 64 + 1000);
  f = gzopen((tmp / "padded.nii.gz").c_str(), "wb");
  REQUIRE(gzwrite(f, b.data(), static_cast<unsigned>(b.size())) == static_cast<int>(b.size()));
  gzclose(f);
  const SampleStack s = read_nifti(tmp / "padded.nii.gz");
  CHECK(s.count == 4);
  CHECK(s.width == 4);
}

TEST_CASE("a DICOM whose rows x columns x frames exceed the limit is refused before allocation", "[hostile][dicom]") {
  test::TempDir tmp;
  // Explicit VR little endian, hand-written: 65535 x 65535 x 2^31-1 frames, 8 bytes of pixels.
  std::vector<std::uint8_t> b(128, 0);
  auto put = [&](const std::string& s) { b.insert(b.end(), s.begin(), s.end()); };
  auto u16 = [&](std::uint32_t x) { b.push_back(x & 0xFF); b.push_back((x >> 8) & 0xFF); };
  auto elem = [&](std::uint16_t g, std::uint16_t e, const char* vr, const std::string& value) {
    u16(g); u16(e); put(vr); u16(static_cast<std::uint32_t>(value.size())); put(value);
  };
  auto us = [&](std::uint16_t g, std::uint16_t e, std::uint16_t v) {
    std::string s(2, '\0');
    s[0] = static_cast<char>(v & 0xFF);
    s[1] = static_cast<char>(v >> 8);
    elem(g, e, "US", s);
  };
  put("DICM");
  elem(0x0002, 0x0010, "UI", std::string("1.2.840.10008.1.2.1") + '\0');
  us(0x0028, 0x0002, 1);
  elem(0x0028, 0x0004, "CS", "MONOCHROME2 ");
  elem(0x0028, 0x0008, "IS", "2147483647");
  us(0x0028, 0x0010, 65535);
  us(0x0028, 0x0011, 65535);
  us(0x0028, 0x0100, 16);
  us(0x0028, 0x0101, 16);
  us(0x0028, 0x0102, 15);
  us(0x0028, 0x0103, 0);
  u16(0x7FE0); u16(0x0010); put("OW"); u16(0); b.push_back(8); b.push_back(0); b.push_back(0); b.push_back(0);
  for (int i = 0; i < 8; ++i) b.push_back(0);
  atomic_write_bytes(tmp / "huge.dcm", b);
  expect_error([&] { read_dicom(tmp / "huge.dcm"); }, {"huge.dcm", "limit"});
}

TEST_CASE("an image header declaring more pixels than the limit is refused before decoding", "[hostile][image]") {
  // PNG: signature, IHDR declaring 100000 x 100000 gray, then IEND (so it does not look truncated).
  std::vector<std::uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                                   0, 0x01, 0x86, 0xA0, 0, 0x01, 0x86, 0xA0, 8, 0, 0, 0, 0, 0, 0, 0, 0,
                                   0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
  expect_error([&] { decode_image(png, "huge.png"); }, {"huge.png", "100000 x 100000", "limit"});
  // JPEG: SOI, an APP0 segment, SOF0 declaring 60000 x 60000, EOI
  std::vector<std::uint8_t> jpg = {0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0, 0xFF, 0xC0, 0, 11, 8, 0xEA, 0x60, 0xEA, 0x60,
                                   1, 1, 0x11, 0, 0xFF, 0xD9};
  expect_error([&] { decode_image(jpg, "huge.jpg"); }, {"huge.jpg", "60000 x 60000"});
  // BMP: 70000 x -70000 (top-down)
  std::vector<std::uint8_t> bmp(54, 0);
  bmp[0] = 'B';
  bmp[1] = 'M';
  const std::int32_t w = 70000, h = -70000;
  std::memcpy(&bmp[18], &w, 4);
  std::memcpy(&bmp[22], &h, 4);
  expect_error([&] { decode_image(bmp, "huge.bmp"); }, {"huge.bmp", "70000 x 70000"});
  // TIFF (little endian): IFD with ImageWidth/ImageLength 40000 (LONG)
  std::vector<std::uint8_t> tif = {'I', 'I', 42, 0, 8, 0, 0, 0, 2, 0,
                                   0, 1, 4, 0, 1, 0, 0, 0, 0x40, 0x9C, 0, 0,
                                   1, 1, 4, 0, 1, 0, 0, 0, 0x40, 0x9C, 0, 0, 0, 0, 0, 0};
  expect_error([&] { decode_image(tif, "huge.tif"); }, {"huge.tif", "40000 x 40000"});
}

// ------------------------------------------------------------------------------------------------
// 3./4. JSON, manifests

TEST_CASE("a JSON number that overflows is refused naming the file, position and path", "[hostile][json]") {
  test::TempDir tmp;
  atomic_write_text(tmp / "suite.json", "{\n  \"name\": \"x\",\n  \"seed\": 1e400\n}\n");
  const std::string msg = expect_error([&] { read_json_file(tmp / "suite.json"); },
                                       {"suite.json", "line 3", "$.seed", "overflow"});
  atomic_write_text(tmp / "arr.json", "{\"a\": [1, 2, {\"b\": [0, -1e999]}]}");
  expect_error([&] { read_json_file(tmp / "arr.json"); }, {"arr.json", "$.a[2].b[1]"});
  atomic_write_text(tmp / "syntax.json", "{\"a\": 1,,}");
  expect_error([&] { read_json_file(tmp / "syntax.json"); }, {"syntax.json", "invalid JSON", "line 1"});
}

TEST_CASE("duplicate keys in a JSON file are refused naming the file and key", "[hostile][json]") {
  test::TempDir tmp;
  atomic_write_text(tmp / "dup.json", R"({"a": 1, "b": {"seed": 1, "seed": 2}})");
  expect_error([&] { read_json_file(tmp / "dup.json"); }, {"dup.json", "duplicate key 'seed'", "$.b"});
  atomic_write_text(tmp / "top.json", R"({"a": 1, "a": 1})");
  expect_error([&] { read_json_file(tmp / "top.json"); }, {"top.json", "duplicate key 'a'"});
  // the same key in different objects is fine, and the strict parser builds the same document
  const std::string text = R"({"x": [{"k": 1}, {"k": 2.5, "s": "t", "n": null, "b": true}], "y": {"k": -3}, "u": 18446744073709551615})";
  CHECK(parse_json_strict(text, "t") == json::parse(text));
  CHECK(parse_ordered_json_strict(text, "t").dump() == ordered_json::parse(text).dump());
}

TEST_CASE("a NUL byte in a manifest path is refused naming the manifest line", "[hostile][manifest]") {
  test::TempDir tmp;
  write_png8(tmp / "ds" / "a.png", 1);
  atomic_write_text(tmp / "ds" / "manifest.jsonl",
                    "{\"path\": \"a.png\", \"modality\": \"m\"}\n{\"path\": \"a.png\\u0000.txt\", \"modality\": \"m\"}\n");
  expect_error([&] { load_dataset(tmp / "ds"); }, {"manifest.jsonl:2", "NUL byte", "'a.png'"});
  CHECK_FALSE(is_safe_relative_path(std::string("a\0b", 3)));
  // a number overflow in a manifest line names the line too
  atomic_write_text(tmp / "ds" / "manifest.jsonl", "{\"path\": \"a.png\", \"modality\": \"m\", \"x\": 1e400}\n");
  expect_error([&] { load_dataset(tmp / "ds"); }, {"manifest.jsonl:1", "overflow"});
}

// ------------------------------------------------------------------------------------------------
// 7. files that are not what their path says

TEST_CASE("non-regular files are never read or hashed", "[hostile][fs]") {
  test::TempDir tmp;
  REQUIRE(::mkfifo((tmp / "pipe").c_str(), 0600) == 0);
  // These would block forever (FIFO) or never end (/dev/zero) if opened and read.
  expect_error([&] { read_file_bytes(tmp / "pipe"); }, {"pipe", "FIFO"});
  expect_error([&] { sha256_file(tmp / "pipe"); }, {"pipe", "FIFO"});
  fs::create_symlink("/dev/zero", tmp / "zero.png");
  expect_error([&] { sha256_file(tmp / "zero.png"); }, {"zero.png", "character device"});
  expect_error([&] { read_image(tmp / "zero.png"); }, {"zero.png", "character device"});
  fs::create_symlink("/dev/zero", tmp / "zero.nii");
  expect_error([&] { read_nifti(tmp / "zero.nii"); }, {"zero.nii", "character device"});
  expect_error([&] { read_npy(tmp / "pipe"); }, {"pipe", "FIFO"});
  expect_error([&] { read_npz(tmp / "pipe"); }, {"pipe", "FIFO"});
  ensure_dir(tmp / "dir");
  expect_error([&] { sha256_file(tmp / "dir"); }, {"dir", "folder"});
  expect_error([&] { sha256_file(tmp / "nope"); }, {"nope", "does not exist"});
}

TEST_CASE("a dataset image that is a symbolic link out of the dataset folder is refused", "[hostile][manifest]") {
  test::TempDir tmp;
  write_png8(tmp / "outside.png", 2);
  write_png8(tmp / "ds" / "real.png", 3);
  ensure_dir(tmp / "ds" / "img");
  fs::create_symlink(tmp / "outside.png", tmp / "ds" / "img" / "out.png");
  fs::create_symlink("../real.png", tmp / "ds" / "img" / "in.png");  // stays inside: fine
  fs::create_symlink("/etc", tmp / "ds" / "etc");
  atomic_write_text(tmp / "ds" / "manifest.jsonl",
                    "{\"path\": \"img/in.png\", \"modality\": \"m\"}\n{\"path\": \"img/out.png\", \"modality\": \"m\"}\n"
                    "{\"path\": \"etc/passwd\", \"modality\": \"m\"}\n");
  const Dataset ds = load_dataset(tmp / "ds");
  CHECK(read_image(ds.image_path(ds.records[0])).height == 5);
  expect_error([&] { ds.image_path(ds.records[1]); }, {"img/out.png", "outside the dataset folder"});
  expect_error([&] { ds.image_path(ds.records[2]); }, {"etc/passwd", "outside the dataset folder"});
}

TEST_CASE("folder import: symlink loops, FIFOs, dangling links and links out of SRC are named, or skipped with the reason",
          "[hostile][import]") {
  test::TempDir tmp;
  const fs::path src = tmp / "src";
  write_png8(src / "a.png", 1);
  write_png8(tmp / "secret.png", 9);
  fs::create_symlink("loop.png", src / "loop.png");              // a link to itself
  fs::create_symlink("missing.png", src / "dangling.png");
  fs::create_symlink(tmp / "secret.png", src / "outside.png");   // out of SRC
  fs::create_symlink("a.png", src / "inside.png");               // stays in SRC: imported
  fs::create_symlink(tmp.path(), src / "up");                           // a link to a folder (and a cycle)
  REQUIRE(::mkfifo((src / "pipe.png").c_str(), 0600) == 0);
  FolderImportOptions o;
  o.modality = "test";
  expect_error([&] { import_folder(src, tmp / "out", o); }, {"dangling.png", "dangling"});  // first in sorted order
  CHECK_FALSE(fs::exists(tmp / "out"));
  o.skip_bad = true;
  const auto r = import_folder(src, tmp / "out", o);
  CHECK(r.images == 2);  // a.png, inside.png
  std::map<std::string, std::string> reasons;
  {
    std::ifstream in(tmp / "out" / "skipped.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      const json j = json::parse(line);
      reasons[j["file"]] = j["reason"];
    }
  }
  REQUIRE(reasons.size() == 5);
  CHECK(reasons["loop.png"].find("symbolic link loop") != std::string::npos);
  CHECK(reasons["dangling.png"].find("dangling") != std::string::npos);
  CHECK(reasons["outside.png"].find("outside the source folder") != std::string::npos);
  CHECK(reasons["pipe.png"].find("FIFO") != std::string::npos);
  CHECK(reasons["up"].find("folder") != std::string::npos);
  // follow_symlinks reads the file outside SRC (the other bad entries stay bad)
  o.follow_symlinks = true;
  o.overwrite = true;
  const auto f = import_folder(src, tmp / "out", o);
  CHECK(f.images == 3);
  CHECK(f.skipped == 4);
}

// ------------------------------------------------------------------------------------------------
// 5. all-or-nothing imports

TEST_CASE("a failed folder import leaves nothing, and overwrite replaces the old folder whole", "[hostile][import]") {
  test::TempDir tmp;
  const fs::path src = tmp / "src";
  write_png8(src / "a.png", 1);
  atomic_write_text(src / "b.png", "not a png");
  FolderImportOptions o;
  o.modality = "test";
  expect_error([&] { import_folder(src, tmp / "out", o); }, {"b.png"});
  CHECK_FALSE(fs::exists(tmp / "out"));  // no empty folder
  CHECK_FALSE(fs::exists(tmp / "out.partial"));
  fs::remove(src / "b.png");
  import_folder(src, tmp / "out", o);
  atomic_write_text(tmp / "out" / "images" / "stale.png", "from an earlier import");
  CHECK_THROWS_AS(import_folder(src, tmp / "out", o), DatasetExistsError);
  o.overwrite = true;
  import_folder(src, tmp / "out", o);
  CHECK_FALSE(fs::exists(tmp / "out" / "images" / "stale.png"));
  CHECK(names_in(tmp / "out") == std::vector<std::string>{"images", "manifest.jsonl"});
  // a folder holding other files is never replaced
  atomic_write_text(tmp / "notes" / "thesis.tex", "precious");
  expect_error([&] { import_folder(src, tmp / "notes", o); }, {"notes", "not part of a dataset", "thesis.tex"});
  CHECK(fs::exists(tmp / "notes" / "thesis.tex"));
}

TEST_CASE("a failed MedMNIST import leaves nothing behind, not even stale temporary files", "[hostile][medmnist]") {
  test::TempDir tmp;
  const fs::path out = tmp / "ds";
  // a killed earlier run left a partial folder with temporary files
  atomic_write_text(tmp / "ds.partial" / "images" / "train" / "00000.png.tmp.123.0", "half");
  auto arrays = tiny_medmnist();
  arrays.erase("test_labels");
  write_npz(tmp / "breastmnist.npz", arrays);
  expect_error([&] { import_medmnist(tmp / "breastmnist.npz", out); }, {"breastmnist.npz", "test_labels"});
  CHECK_FALSE(fs::exists(out));
  CHECK_FALSE(fs::exists(tmp / "ds.partial"));
  // bad labels in the last split: still nothing written
  arrays = tiny_medmnist();
  arrays["test_labels"] = make_npy(std::vector<std::uint8_t>{0, 7}, {2, 1});
  write_npz(tmp / "breastmnist.npz", arrays);
  expect_error([&] { import_medmnist(tmp / "breastmnist.npz", out); }, {"breastmnist.npz", "test_labels", "out of range"});
  CHECK_FALSE(fs::exists(out));
  // a good import; the result holds no temporary file
  write_npz(tmp / "breastmnist.npz", tiny_medmnist());
  const auto r = import_medmnist(tmp / "breastmnist.npz", out);
  CHECK(r.images == 7);
  for (const auto& e : fs::recursive_directory_iterator(out)) CHECK(e.path().string().find(".tmp.") == std::string::npos);
  CHECK_FALSE(fs::exists(tmp / "ds.partial"));
  // an existing dataset is refused without overwrite, replaced whole with it
  atomic_write_text(out / "images" / "train" / "99999.png", "stale");
  CHECK_THROWS_AS(import_medmnist(tmp / "breastmnist.npz", out), DatasetExistsError);
  MedMnistImportOptions o;
  o.overwrite = true;
  import_medmnist(tmp / "breastmnist.npz", out, o);
  CHECK_FALSE(fs::exists(out / "images" / "train" / "99999.png"));
  CHECK(load_dataset(out).records.size() == 7);
}

TEST_CASE("float MedMNIST labels that are not whole numbers are refused naming the file and member", "[hostile][medmnist]") {
  test::TempDir tmp;
  auto arrays = tiny_medmnist();
  arrays["val_labels"] = make_npy(std::vector<double>{0.0, 1.5}, {2, 1});
  write_npz(tmp / "breastmnist.npz", arrays);
  expect_error([&] { import_medmnist(tmp / "breastmnist.npz", tmp / "ds"); },
               {"breastmnist.npz", "member 'val_labels'", "row 1", "1.5", "not a whole number"});
  CHECK_FALSE(fs::exists(tmp / "ds"));
  // whole-numbered float labels are exact: accepted
  arrays["val_labels"] = make_npy(std::vector<double>{0.0, 1.0}, {2, 1});
  write_npz(tmp / "breastmnist.npz", arrays);
  const auto r = import_medmnist(tmp / "breastmnist.npz", tmp / "ds");
  CHECK(r.per_split.at("val") == 2);
  const Dataset ds = load_dataset(tmp / "ds");
  CHECK(ds.select("", "val")[1].label == 1);
}

TEST_CASE("a MedMNIST file declaring more images than the cap is refused before anything is written", "[hostile][medmnist]") {
  test::TempDir tmp;
  write_npz(tmp / "breastmnist.npz", tiny_medmnist(10), true);
  MedMnistImportOptions o;
  o.max_images = 13;  // 10 + 2 + 2 = 14 declared
  try {
    import_medmnist(tmp / "breastmnist.npz", tmp / "ds", o);
    FAIL("expected ImageLimitError");
  } catch (const ImageLimitError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("breastmnist.npz") != std::string::npos);
    CHECK(msg.find("declares 14 images") != std::string::npos);
    CHECK(msg.find("limit of 13") != std::string::npos);
    CHECK(msg.find("--") == std::string::npos);  // library messages name no CLI flags
  }
  CHECK_FALSE(fs::exists(tmp / "ds"));
  o.max_images = 14;
  CHECK(import_medmnist(tmp / "breastmnist.npz", tmp / "ds", o).images == 14);
  CHECK(kDefaultMaxMedMnistImages == 1000000);
}

TEST_CASE("free disk space is checked against the bytes an import needs", "[hostile][fs]") {
  test::TempDir tmp;
  CHECK(free_disk_bytes(tmp.path()) > 0);
  // A path that does not exist yet is measured at its nearest existing parent. Other tests write to
  // the same filesystem meanwhile, so the two readings agree to within 256 MiB, not to the byte.
  const auto here = static_cast<long double>(free_disk_bytes(tmp.path()));
  const auto below = static_cast<long double>(free_disk_bytes(tmp / "not" / "yet" / "there"));
  CHECK(below > 0);
  CHECK(std::abs(below - here) < 256.0L * 1024 * 1024);
  CHECK_NOTHROW(require_free_space(tmp.path(), 1, "a test"));
  expect_error([&] { require_free_space(tmp.path(), std::uint64_t(1) << 62, "importing 5 images"); },
               {tmp.path().string(), "importing 5 images needs about", "free"});
}

TEST_CASE("sizes computed with checked arithmetic refuse overflow", "[hostile][fs]") {
  CHECK(checked_mul(1ull << 31, 1ull << 31, "x") == 1ull << 62);
  CHECK_THROWS_WITH(checked_mul(1ull << 62, 4, "f.npy: shape"), Catch::Contains("f.npy: shape") && Catch::Contains("overflows"));
  CHECK_THROWS_AS(checked_add(~0ull, 1, "x"), InputError);
}
