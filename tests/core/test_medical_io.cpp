// DICOM (DCMTK) and NIfTI-1 reading, windowing and normalisation, on real files from Debian
// packages (reference values: tests/fixtures/core/medical_io.json, made by
// scripts/fixtures/medical_io_fixtures.py with pydicom/GDCM/numpy) and on NIfTI files written here.
#include <catch2/catch.hpp>
#include <zlib.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/json.h"
#include "medsyn/core/medical_io.h"
#include "package_files.h"
#include "test_support.h"

using namespace medsyn;
namespace fs = std::filesystem;

namespace {

const json& fixtures() {
  static const json j = read_json_file(test::fixtures_dir() / "core" / "medical_io.json");
  return j;
}

double sum_image(const SampleStack& s, int i) {
  double t = 0;
  for (std::size_t k = 0; k < s.image_size(); ++k) t += s.image_data(i)[k];
  return t;
}

float at(const SampleStack& s, int i, int c, int y, int x) {
  return s.image_data(i)[(static_cast<std::size_t>(c) * s.height + y) * s.width + x];
}

// Minimal NIfTI-1 writer for specs: header fields the reader uses, vox_offset 352.
std::vector<std::uint8_t> nifti_bytes(std::vector<std::int16_t> dims, std::int16_t datatype, std::int16_t bitpix,
                                      const void* data, std::size_t nbytes, float slope = 0.f, float inter = 0.f,
                                      const char* magic = "n+1") {
  std::vector<std::uint8_t> b(352 + nbytes, 0);
  const std::int32_t hdr = 348;
  std::memcpy(b.data(), &hdr, 4);
  std::int16_t dim[8] = {static_cast<std::int16_t>(dims.size()), 1, 1, 1, 1, 1, 1, 1};
  for (std::size_t i = 0; i < dims.size(); ++i) dim[i + 1] = dims[i];
  std::memcpy(b.data() + 40, dim, 16);
  std::memcpy(b.data() + 70, &datatype, 2);
  std::memcpy(b.data() + 72, &bitpix, 2);
  const float off = 352.f;
  std::memcpy(b.data() + 108, &off, 4);
  std::memcpy(b.data() + 112, &slope, 4);
  std::memcpy(b.data() + 116, &inter, 4);
  std::memcpy(b.data() + 344, magic, std::strlen(magic) + 1);
  std::memcpy(b.data() + 352, data, nbytes);
  return b;
}

void write_gz(const fs::path& p, const std::vector<std::uint8_t>& bytes) {
  gzFile f = gzopen(p.c_str(), "wb");
  REQUIRE(f);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  gzclose(f);
}

template <class F>
void expect_input_error(F&& f, const std::string& file, const std::string& needle) {
  try {
    f();
    FAIL("expected InputError mentioning " << needle);
  } catch (const InputError& e) {
    const std::string msg = e.what();
    INFO(msg);
    CHECK(msg.find(file) != std::string::npos);
    CHECK(msg.find(needle) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("window parsing, presets and the window formula", "[medical][window]") {
  const Window w = parse_window("40,80");
  CHECK(w.center == 40);
  CHECK(w.width == 80);
  CHECK(apply_window(0, w) == 0.0f);
  CHECK(apply_window(40, w) == Approx(0.5f));
  CHECK(apply_window(20, w) == Approx(0.25f));
  CHECK(apply_window(80, w) == 1.0f);
  CHECK(apply_window(-1000, w) == 0.0f);
  CHECK(apply_window(3000, w) == 1.0f);
  const Window lung = parse_window("lung");
  CHECK(lung.center == -600);
  CHECK(lung.width == 1500);
  CHECK(lung.name == "lung");
  CHECK(apply_window(-600 - 375, lung) == Approx(0.25f));
  CHECK(parse_window(" -600 , 1500 ").center == -600);
  CHECK(parse_window("Soft-Tissue").name == "soft_tissue");
  CHECK_THROWS_AS(parse_window("40"), InputError);
  CHECK_THROWS_WITH(parse_window("40,0"), Catch::Contains("width must be > 0"));
  CHECK_THROWS_WITH(parse_window("a,b", "--window"), Catch::Contains("--window"));
  CHECK_THROWS_AS(parse_window("40,80,3"), InputError);
  CHECK_THROWS_AS(parse_window("nan,80"), InputError);
}

TEST_CASE("normalisation rules: user window, bit depth, file window, min/max, MONOCHROME1", "[medical][window]") {
  SampleStack s;
  s.format = "dicom";
  s.count = 2;
  s.channels = 1;
  s.height = 1;
  s.width = 3;
  s.data = {-1000, 0, 40, 80, 100, 500};
  s.stored_bits = 16;
  s.rescaled = true;
  // min/max over the whole stack
  Normalisation n = choose_normalisation(s, std::nullopt);
  CHECK(n.method == "minmax");
  CHECK(n.lo == -1000);
  CHECK(n.hi == 500);
  CHECK(normalise(s, 1, n).data[2] == 1.0f);
  CHECK(normalise(s, 0, n).data[1] == Approx(1000.0 / 1500.0));
  // the file's own window comes before min/max
  s.file_window = Window{40, 80, "", "file"};
  n = choose_normalisation(s, std::nullopt);
  CHECK(n.method == "window");
  CHECK(n.window->source == "file");
  // a user window wins
  n = choose_normalisation(s, parse_window("0,200"));
  CHECK(n.window->source == "user");
  const Image img = normalise(s, 0, n);
  CHECK(img.data[0] == 0.0f);
  CHECK(img.data[1] == Approx(0.5f));
  CHECK(img.data[2] == Approx(0.7f));
  // 8-bit unscaled DICOM: bit depth range, MONOCHROME1 inverted
  SampleStack m = s;
  m.file_window.reset();
  m.rescaled = false;
  m.stored_bits = 8;
  m.invert = true;
  m.data = {0, 255, 51, 0, 0, 0};
  n = choose_normalisation(m, std::nullopt);
  CHECK(n.method == "bit_depth");
  CHECK(n.hi == 255);
  const Image inv = normalise(m, 0, n);
  CHECK(inv.data[0] == 1.0f);
  CHECK(inv.data[1] == 0.0f);
  CHECK(inv.data[2] == Approx(0.8f));
  CHECK_THROWS_AS(normalise(m, 2, n), InputError);
}

TEST_CASE("PNG bit depth: 8 when exact, otherwise 16", "[medical]") {
  Image a(1, 1, 3);
  a.data = {0.f, 1.f, 128.f / 255.f};
  CHECK(exact_png_bit_depth(a) == 8);
  a.data[2] = 1000.f / 65535.f;
  CHECK(exact_png_bit_depth(a) == 16);
  a.data[2] = 257.f * 7 / 65535.f;  // a 16-bit value that is an 8-bit level
  CHECK(exact_png_bit_depth(a) == 8);
}

TEST_CASE("DICOM CT (uncompressed, signed 16-bit): Hounsfield units match pydicom", "[medical][dicom][real-data]") {
  const auto f = test::package_file("python3-pydicom", std::string(test::kPydicomFiles) + "CT_small.dcm");
  const json& ref = fixtures()["CT_small"];
  const SampleStack s = read_dicom(f);
  CHECK(is_dicom_file(f));
  REQUIRE(s.count == 1);
  CHECK(s.channels == 1);
  CHECK(s.height == ref["rows"].get<int>());
  CHECK(s.width == ref["cols"].get<int>());
  CHECK(s.units == "HU");
  CHECK(s.modality_tag == "CT");
  CHECK(s.is_signed);
  CHECK(s.rescaled);
  CHECK(s.transfer_syntax == "Little Endian Explicit");
  for (const auto& p : ref["hu_at"]) {
    INFO("pixel " << p[0] << "," << p[1]);
    CHECK(at(s, 0, 0, p[0].get<int>(), p[1].get<int>()) == p[2].get<float>());
  }
  CHECK(sum_image(s, 0) == ref["hu_sum"].get<double>());
  const Normalisation n = choose_normalisation(s, std::nullopt);
  CHECK(n.method == "minmax");  // CT_small has no VOI window
  CHECK(n.lo == ref["hu_min"].get<double>());
  CHECK(n.hi == ref["hu_max"].get<double>());
  // Brain window on HU: (HU - 0) / 80, clamped.
  const Image w = normalise(s, 0, choose_normalisation(s, parse_window("brain")));
  for (const auto& p : ref["hu_at"]) {
    const double hu = p[2].get<double>();
    CHECK(w.at(0, p[0].get<int>(), p[1].get<int>()) == Approx(std::clamp(hu / 80.0, 0.0, 1.0)));
  }
}

TEST_CASE("DICOM MR: uncompressed, RLE and JPEG-LS lossless decode to identical pixels", "[medical][dicom][real-data]") {
  const std::string d = test::kPydicomFiles;
  const auto plain = test::package_file("python3-pydicom", d + "MR_small.dcm");
  const json& ref = fixtures()["MR_small"];
  const SampleStack a = read_dicom(plain);
  CHECK(sum_image(a, 0) == ref["sum"].get<double>());
  for (const auto& p : ref["at"]) CHECK(at(a, 0, 0, p[0].get<int>(), p[1].get<int>()) == p[2].get<float>());
  REQUIRE(a.file_window);
  CHECK(a.file_window->center == ref["window_center"].get<double>());
  CHECK(a.file_window->width == ref["window_width"].get<double>());
  CHECK(choose_normalisation(a, std::nullopt).method == "window");
  for (const char* other : {"MR_small_RLE.dcm", "MR_small_jpeg_ls_lossless.dcm", "MR_small_bigendian.dcm",
                            "MR_small_implicit.dcm"}) {
    INFO(other);
    const SampleStack b = read_dicom(test::package_file("python3-pydicom", d + other));
    CHECK(b.data == a.data);
  }
  CHECK(read_dicom(test::package_file("python3-pydicom", d + "MR_small_RLE.dcm")).transfer_syntax == "RLE Lossless");
}

TEST_CASE("DICOM JPEG lossless, multi-frame: one image per frame, pixels match GDCM", "[medical][dicom][real-data]") {
  const auto f = test::package_file("libgdcm3.0", "usr/share/doc/libgdcm3.0/examples/00191113.dcm");
  const json& ref = fixtures()["gdcm_00191113"];
  const SampleStack s = read_dicom(f);
  REQUIRE(s.count == ref["frames"].get<int>());
  CHECK(s.height == ref["rows"].get<int>());
  CHECK(s.width == ref["cols"].get<int>());
  CHECK(s.transfer_syntax.find("JPEG Lossless") != std::string::npos);
  for (int i = 0; i < s.count; ++i) CHECK(sum_image(s, i) == ref["frame_sums"][i].get<double>());
  for (const auto& p : ref["at"])
    CHECK(at(s, p[0].get<int>(), 0, p[1].get<int>(), p[2].get<int>()) == p[3].get<float>());
  CHECK(s.index == std::vector<int>{0, 1, 2, 3});
  const Normalisation n = choose_normalisation(s, std::nullopt);
  CHECK(n.method == "bit_depth");
  CHECK(n.hi == 255);
}

TEST_CASE("DICOM JPEG lossless RGB equals the RLE copy of the same image", "[medical][dicom][real-data]") {
  const std::string d = test::kPydicomFiles;
  const auto j = test::package_file("python3-pydicom", d + "SC_rgb_jpeg_gdcm.dcm");
  const SampleStack a = read_dicom(j);
  const SampleStack b = read_dicom(test::package_file("python3-pydicom", d + "SC_rgb_rle.dcm"));
  CHECK(a.channels == 3);
  CHECK(a.data == b.data);
  const SampleStack two = read_dicom(test::package_file("python3-pydicom", d + "SC_rgb_rle_16bit_2frame.dcm"));
  CHECK(two.count == 2);
  CHECK(two.stored_bits == 16);
}

TEST_CASE("DICOM palette colour (US-PAL, RLE, 10 frames) is expanded to RGB", "[medical][dicom][real-data]") {
  const auto f = test::package_file("octave-dicom", std::string(test::kOctaveDicom) + "US-PAL-8-10x-echo.dcm");
  const json& ref = fixtures()["us_pal_echo"];
  const SampleStack s = read_dicom(f);
  REQUIRE(s.count == ref["frames"].get<int>());
  CHECK(s.channels == 3);
  CHECK(s.height == ref["rows"].get<int>());
  CHECK(s.width == ref["cols"].get<int>());
  CHECK(s.photometric == "PALETTE COLOR");
  CHECK(s.stored_bits == 8);
  int nonzero = 0;
  for (const auto& p : ref["rgb16_at"])
    for (int c = 0; c < 3; ++c) {
      const double want8 = p[3 + c].get<double>() / 257.0;  // 16-bit LUT entry on the 8-bit scale
      INFO("frame " << p[0] << " y " << p[1] << " x " << p[2] << " channel " << c);
      CHECK(std::fabs(at(s, p[0].get<int>(), c, p[1].get<int>(), p[2].get<int>()) - want8) <= 1.0);
      nonzero += p[3 + c].get<int>() > 0;
    }
  CHECK(nonzero > 3);  // the sample points are not all black
}

TEST_CASE("DICOM MONOCHROME1 is inverted after normalisation", "[medical][dicom][real-data]") {
  const auto f = test::package_file("octave-dicom", std::string(test::kOctaveDicom) + "simple-test.dcm");
  const json& ref = fixtures()["simple_test_mono1"];
  const SampleStack s = read_dicom(f);
  CHECK(s.photometric == "MONOCHROME1");
  CHECK(s.invert);
  CHECK(sum_image(s, 0) == ref["sum"].get<double>());  // all zero = white in MONOCHROME1
  const Image img = normalise(s, 0, choose_normalisation(s, std::nullopt));
  for (float v : img.data) CHECK(v == 1.0f);
}

TEST_CASE("bad DICOM files give InputError naming the file", "[medical][dicom][errors]") {
  test::TempDir tmp;
  // Not DICOM at all, empty, and truncated copies of a real file.
  atomic_write_text(tmp / "junk.dcm", std::string(300, 'x'));
  expect_input_error([&] { read_dicom(tmp / "junk.dcm"); }, "junk.dcm", "DICOM");
  atomic_write_text(tmp / "empty.dcm", "");
  expect_input_error([&] { read_dicom(tmp / "empty.dcm"); }, "empty.dcm", "empty");
  expect_input_error([&] { read_dicom(tmp / "missing.dcm"); }, "missing.dcm", "does not exist");
  const std::string d = test::kPydicomFiles;
  const auto ct = test::package_file("python3-pydicom", d + "CT_small.dcm");
  const auto bytes = read_file_bytes(ct);
  atomic_write_bytes(tmp / "cut_pixels.dcm", bytes.data(), bytes.size() - 5000);
  expect_input_error([&] { read_dicom(tmp / "cut_pixels.dcm"); }, "cut_pixels.dcm", "truncated");
  atomic_write_bytes(tmp / "cut_header.dcm", bytes.data(), 600);
  expect_input_error([&] { read_dicom(tmp / "cut_header.dcm"); }, "cut_header.dcm", "");
  // pydicom's own truncated sample, JPEG 2000 (not in DCMTK) and a 1-bit segmentation.
  expect_input_error([&] { read_dicom(test::package_file("python3-pydicom", d + "MR_truncated.dcm")); },
                     "MR_truncated.dcm", "truncated");
  expect_input_error([&] { read_dicom(test::package_file("python3-pydicom", d + "JPEG2000.dcm")); }, "JPEG2000.dcm",
                     "JPEG 2000");
  expect_input_error([&] { read_dicom(test::package_file("python3-pydicom", d + "liver_1frame.dcm")); },
                     "liver_1frame.dcm", "BitsAllocated 1");
}

TEST_CASE("NIfTI-1 (real ch2.nii.gz): header, voxel values and slice orientation", "[medical][nifti][real-data]") {
  const auto f = test::package_file("mricron-data", "usr/share/mricron/templates/ch2.nii.gz");
  const json& ref = fixtures()["ch2"];
  const int nx = ref["dim"][0], ny = ref["dim"][1], nz = ref["dim"][2];
  CHECK(is_nifti_file(f));
  const SampleStack z = read_nifti(f, 2);
  REQUIRE(z.count == nz);
  CHECK(z.width == nx);
  CHECK(z.height == ny);
  CHECK(z.stored_bits == 8);
  // voxel (x, y, z) -> slice z, row ny-1-y, column x
  for (const auto& v : ref["voxel_xyz"]) {
    const int x = v[0], y = v[1], k = v[2];
    CHECK(at(z, k, 0, ny - 1 - y, x) == v[3].get<float>());
  }
  CHECK(sum_image(z, 90) == ref["slice_sum_z90"].get<double>());
  const Normalisation n = choose_normalisation(z, std::nullopt);
  CHECK(n.method == "minmax");
  CHECK(n.lo == ref["min"].get<double>());
  CHECK(n.hi == ref["max"].get<double>());
  const SampleStack y = read_nifti(f, 1);
  CHECK(y.count == ny);
  CHECK(y.width == nx);
  CHECK(y.height == nz);
  CHECK(sum_image(y, 100) == ref["slice_sum_y100"].get<double>());
  const SampleStack x = read_nifti(f, 0, 10);
  CHECK(x.count == (nx + 9) / 10);
  CHECK(x.width == ny);
  CHECK(x.height == nz);
  CHECK(x.index[9] == 90);
  CHECK(sum_image(x, 9) == ref["slice_sum_x90"].get<double>());
  const auto& v = ref["voxel_xyz"][1];  // x=50, y=60, z=70 seen from the side: row nz-1-z, column y
  CHECK(at(read_nifti(f, 0), v[0].get<int>(), 0, nz - 1 - v[2].get<int>(), v[1].get<int>()) == v[3].get<float>());
}

TEST_CASE("NIfTI-1 datatypes, scl_slope/scl_inter, 4-D and NaN handling", "[medical][nifti]") {
  test::TempDir tmp;
  // int16 3x2x2 with slope 2, intercept -10
  std::vector<std::int16_t> v16 = {-5, 0, 5, 100, -100, 7, 1, 2, 3, 4, 5, 6};
  write_gz(tmp / "a.nii.gz", nifti_bytes({3, 2, 2}, 4, 16, v16.data(), v16.size() * 2, 2.f, -10.f));
  const SampleStack s = read_nifti(tmp / "a.nii.gz", 2);
  REQUIRE(s.count == 2);
  CHECK(s.rescaled);
  CHECK(s.is_signed);
  // slice z=0 holds x + 3*y for y in {0,1}; row 0 is y=1
  CHECK(at(s, 0, 0, 1, 0) == -5 * 2 - 10);
  CHECK(at(s, 0, 0, 0, 0) == 100 * 2 - 10);
  CHECK(at(s, 1, 0, 0, 2) == 6 * 2 - 10);
  // float32 4-D (2x1x1x2 volumes) with a NaN, as plain .nii
  std::vector<float> vf = {1.5f, std::nanf(""), -2.f, 8.f};
  atomic_write_bytes(tmp / "b.nii", nifti_bytes({2, 1, 1, 2}, 16, 32, vf.data(), vf.size() * 4));
  std::size_t nonfinite = 0;
  const SampleStack b = read_nifti(tmp / "b.nii", 2, 1, &nonfinite);
  CHECK(nonfinite == 1);
  REQUIRE(b.count == 2);
  CHECK(b.volume == std::vector<int>{0, 1});
  CHECK(at(b, 0, 0, 0, 1) == 0.f);
  CHECK(at(b, 1, 0, 0, 1) == 8.f);
  // uint16 and float64
  std::vector<std::uint16_t> vu = {0, 65535};
  atomic_write_bytes(tmp / "c.nii", nifti_bytes({2, 1, 1}, 512, 16, vu.data(), 4));
  CHECK(read_nifti(tmp / "c.nii").data == std::vector<float>{0.f, 65535.f});
  std::vector<double> vd = {-1e3, 2.25};
  atomic_write_bytes(tmp / "d.nii", nifti_bytes({2, 1, 1}, 64, 64, vd.data(), 16));
  CHECK(read_nifti(tmp / "d.nii").data == std::vector<float>{-1000.f, 2.25f});
  std::vector<std::int32_t> vi = {-70000, 70000};
  atomic_write_bytes(tmp / "e.nii", nifti_bytes({2, 1, 1}, 8, 32, vi.data(), 8));
  CHECK(read_nifti(tmp / "e.nii").data == std::vector<float>{-70000.f, 70000.f});
}

TEST_CASE("bad NIfTI files give InputError naming the file", "[medical][nifti][errors]") {
  test::TempDir tmp;
  std::vector<std::int16_t> v(64, 7);
  const auto good = nifti_bytes({4, 4, 4}, 4, 16, v.data(), v.size() * 2);
  // truncated voxel data
  atomic_write_bytes(tmp / "short.nii", good.data(), good.size() - 10);
  expect_input_error([&] { read_nifti(tmp / "short.nii"); }, "short.nii", "truncated");
  // truncated gzip stream
  write_gz(tmp / "full.nii.gz", good);
  const auto gz = read_file_bytes(tmp / "full.nii.gz");
  atomic_write_bytes(tmp / "cut.nii.gz", gz.data(), gz.size() / 2);
  expect_input_error([&] { read_nifti(tmp / "cut.nii.gz"); }, "cut.nii.gz", "");
  // corrupt gzip stream (bytes flipped after the gzip header)
  auto bad = gz;
  for (std::size_t i = 12; i < 40 && i < bad.size(); ++i) bad[i] ^= 0x5A;
  atomic_write_bytes(tmp / "corrupt.nii.gz", bad);
  expect_input_error([&] { read_nifti(tmp / "corrupt.nii.gz"); }, "corrupt.nii.gz", "");
  // header problems
  atomic_write_text(tmp / "tiny.nii", "not nifti");
  expect_input_error([&] { read_nifti(tmp / "tiny.nii"); }, "tiny.nii", "too short");
  atomic_write_bytes(tmp / "magic.nii", nifti_bytes({4, 4, 4}, 4, 16, v.data(), v.size() * 2, 0, 0, "xyz"));
  expect_input_error([&] { read_nifti(tmp / "magic.nii"); }, "magic.nii", "magic");
  atomic_write_bytes(tmp / "pair.nii", nifti_bytes({4, 4, 4}, 4, 16, v.data(), v.size() * 2, 0, 0, "ni1"));
  expect_input_error([&] { read_nifti(tmp / "pair.nii"); }, "pair.nii", "single-file");
  atomic_write_bytes(tmp / "rgb.nii", nifti_bytes({4, 4, 4}, 128, 24, v.data(), v.size() * 2));
  expect_input_error([&] { read_nifti(tmp / "rgb.nii"); }, "rgb.nii", "datatype 128");
  auto hdr2 = good;
  const std::int32_t n2 = 540;
  std::memcpy(hdr2.data(), &n2, 4);
  atomic_write_bytes(tmp / "v2.nii", hdr2);
  expect_input_error([&] { read_nifti(tmp / "v2.nii"); }, "v2.nii", "NIfTI-2");
  expect_input_error([&] { read_nifti(tmp / "full.nii.gz", 3); }, "full.nii.gz", "axis");
  CHECK_THROWS_AS(parse_slice_axis("w"), InputError);
  CHECK(parse_slice_axis("axial") == 2);
  CHECK(parse_slice_axis("X") == 0);
}
