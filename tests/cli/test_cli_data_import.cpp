// CLI specs for `data import folder`, `data fetch medmnist` and `data demo`, on real files from
// Debian packages and ../shared/data, including every bad-input path (exit 2, file named).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "../core/package_files.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "test_support.h"

using namespace medsyn;
using medsyn::test::run_cli;
using medsyn::test::shell_quote;
namespace fs = std::filesystem;

namespace {

std::string q(const fs::path& p) { return shell_quote(p.string()); }

// Cache flags so the CLI reuses the specs' package cache.
std::string cache_env() { return "MEDSYN_CACHE_DIR=" + q(test::package_cache()) + " "; }

void write_gray_png(const fs::path& p, int seed) {
  Image img(1, 8, 8);
  for (std::size_t i = 0; i < img.data.size(); ++i) img.data[i] = static_cast<float>((i * 5 + seed) % 256) / 255.f;
  write_png(p, img, 8);
}

}  // namespace

TEST_CASE("help for import folder, fetch medmnist and demo", "[cli]") {
  for (const char* args : {"data import folder --help", "data fetch --help", "data fetch medmnist --help",
                           "data demo --help"}) {
    auto r = run_cli(args);
    INFO(args << "\n" << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("Usage") != std::string::npos);
  }
}

TEST_CASE("data import folder: real DICOM + NIfTI with a CT window, then data verify and info", "[cli][real-data]") {
  const auto ct = test::package_file("python3-pydicom", std::string(test::kPydicomFiles) + "CT_small.dcm");
  const auto echo = test::package_file("octave-dicom", std::string(test::kOctaveDicom) + "US-PAL-8-10x-echo.dcm");
  const auto ch2 = test::package_file("mricron-data", "usr/share/mricron/templates/ch2.nii.gz");
  test::TempDir tmp;
  const auto src = tmp / "src";
  ensure_dir(src / "ct");
  ensure_dir(src / "mri");
  ensure_dir(src / "us");
  fs::copy_file(ct, src / "ct" / "CT_small.dcm");
  fs::copy_file(ch2, src / "mri" / "ch2.nii.gz");
  fs::copy_file(echo, src / "us" / "echo.dcm");
  const auto out = tmp / "ds";
  auto r = run_cli("data import folder " + q(src) + " --out " + q(out) +
                   " --modality mixed --specialty radiology --labels-from-subfolders --window brain --axis y "
                   "--slice-step 50 --prompt '{modality} scan, {label}' --json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json j = json::parse(r.out);
  CHECK(j["images"] == 1 + 5 + 10);  // 1 CT, 217/50 -> 5 coronal slices, 10 echo frames
  CHECK(j["window"]["center"] == 40.0);
  CHECK(j["per_label"]["us"] == 10);
  const Dataset ds = load_dataset(out);
  const json first = json::parse(ds.records.front().extra_json);
  CHECK(ds.records.front().prompt == "mixed scan, ct");
  CHECK(first["window"]["name"] == "brain");
  CHECK(first["units"] == "HU");
  CHECK(first["source"] == "ct/CT_small.dcm");
  auto v = run_cli("data verify " + q(out));
  INFO(v.out << v.err);
  CHECK(v.exit_code == 0);
  auto info = run_cli("data info " + q(out) + " --json");
  REQUIRE(info.exit_code == 0);
  CHECK(json::parse(info.out)["images"] == 16);
  // running again into the same folder needs --overwrite
  r = run_cli("data import folder " + q(src) + " --out " + q(out) + " --modality mixed");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--overwrite replaces it") != std::string::npos);
}

TEST_CASE("data import folder bad input exits 2 naming the file; --skip-bad imports the rest", "[cli][errors]") {
  test::TempDir tmp;
  const auto src = tmp / "src";
  write_gray_png(src / "a.png", 1);
  write_gray_png(src / "c.png", 2);
  const auto bytes = read_file_bytes(src / "a.png");
  atomic_write_bytes(src / "b_cut.png", bytes.data(), bytes.size() / 2);
  auto r = run_cli("data import folder " + q(src) + " --out " + q(tmp / "o1") + " --modality xray");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("b_cut.png") != std::string::npos);
  CHECK(r.err.find("truncated") != std::string::npos);
  CHECK_FALSE(fs::exists(tmp / "o1" / "manifest.jsonl"));
  CHECK_FALSE(fs::exists(tmp / "o1" / "images"));

  atomic_write_text(src / "d.xyz", "what is this");
  r = run_cli("data import folder " + q(src) + " --out " + q(tmp / "o2") + " --modality xray --skip-bad --json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(json::parse(r.out)["images"] == 2);
  CHECK(json::parse(r.out)["skipped"] == 2);
  const std::string skipped = read_file_text(tmp / "o2" / "skipped.jsonl");
  CHECK(skipped.find("\"file\":\"b_cut.png\"") != std::string::npos);
  CHECK(skipped.find("\"file\":\"d.xyz\"") != std::string::npos);
  CHECK(skipped.find("unknown image format") != std::string::npos);
  CHECK(run_cli("data verify " + q(tmp / "o2")).exit_code == 0);

  fs::remove(src / "b_cut.png");
  r = run_cli("data import folder " + q(src) + " --out " + q(tmp / "o3") + " --modality xray");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("d.xyz") != std::string::npos);

  ensure_dir(tmp / "empty");
  r = run_cli("data import folder " + q(tmp / "empty") + " --out " + q(tmp / "o4") + " --modality xray");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("empty") != std::string::npos);
  // bad options
  fs::remove(src / "d.xyz");
  for (const std::string bad : {"--window 40", "--window 40,-1", "--axis w", "--prompt '{nope}'", "--png-bits 12"}) {
    r = run_cli("data import folder " + q(src) + " --out " + q(tmp / "o5") + " --modality xray " + bad);
    INFO(bad << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(bad.substr(0, bad.find(' ')) + ":") != std::string::npos);  // the CLI names its flag
  }
  CHECK(run_cli("data import folder " + q(src) + " --out " + q(tmp / "o6")).exit_code == 2);  // no --modality
}

TEST_CASE("manifest errors in an imported dataset exit 2 naming file and line", "[cli][errors]") {
  test::TempDir tmp;
  write_gray_png(tmp / "src" / "a.png", 1);
  write_gray_png(tmp / "src" / "b.png", 2);
  const auto ds = tmp / "ds";
  REQUIRE(run_cli("data import folder " + q(tmp / "src") + " --out " + q(ds) + " --modality xray").exit_code == 0);
  const std::string good = read_file_text(ds / "manifest.jsonl");
  const std::string first = good.substr(0, good.find('\n') + 1);
  auto expect = [&](const std::string& extra_line, const std::string& needle) {
    atomic_write_text(ds / "manifest.jsonl", good + extra_line);
    for (const char* cmd : {"data verify ", "data info "}) {
      auto r = run_cli(cmd + q(ds));
      INFO(cmd << extra_line << "\n" << r.err);
      CHECK(r.exit_code == 2);
      CHECK(r.err.find("manifest.jsonl:3") != std::string::npos);
      CHECK(r.err.find(needle) != std::string::npos);
    }
  };
  expect("{not json\n", "JSON");
  expect("{\"modality\": \"xray\"}\n", "path");
  expect("{\"path\": \"images/x.png\"}\n", "modality");
  expect(first, "duplicate");
  expect("{\"path\": \"../outside.png\", \"modality\": \"xray\"}\n", "inside the dataset folder");
  expect("{\"path\": \"/etc/passwd\", \"modality\": \"xray\"}\n", "inside the dataset folder");
}

TEST_CASE("data fetch medmnist from a file:// URL; md5 mismatch exits 2", "[cli][real-data]") {
  const auto breast = test::medmnist_file("breastmnist");
  const auto pneu = test::medmnist_file("pneumoniamnist");
  test::TempDir tmp;
  fs::copy_file(breast, tmp / "breastmnist.npz");
  auto r = run_cli("data fetch medmnist breastmnist --out " + q(tmp / "ds") + " --url " +
                   q("file://" + (tmp / "breastmnist.npz").string()) + " --cache " + q(tmp / "cache") + " --json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json j = json::parse(r.out);
  CHECK(j["images"] == 780);
  CHECK(j["cached"] == false);
  CHECK(run_cli("data verify " + q(tmp / "ds")).exit_code == 0);
  fs::copy_file(pneu, tmp / "pneumoniamnist.npz");
  r = run_cli("data fetch medmnist pneumoniamnist --out " + q(tmp / "ds2") + " --url " +
              q("file://" + (tmp / "pneumoniamnist.npz").string()) + " --cache " + q(tmp / "cache"));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("md5 mismatch") != std::string::npos);
  CHECK_FALSE(fs::exists(tmp / "ds2" / "manifest.jsonl"));
  r = run_cli("data fetch medmnist nosuchmnist --out " + q(tmp / "ds3"));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("unknown MedMNIST") != std::string::npos);
}

TEST_CASE("data demo builds a multi-modality corpus from Debian packages and MedMNIST", "[cli][real-data][demo]") {
  // Fetch the packages through the spec helper first, so a machine without apt-get skips.
  for (const char* pkg : {"invesalius-examples", "mricron-data", "python3-skimage", "octave-dicom", "libgdcm3.0"})
    test::package_file(pkg, "");
  test::TempDir tmp;
  const auto breast = test::medmnist_file_if_present("breastmnist");
  std::string mm = " --no-medmnist";
  if (breast) {
    ensure_dir(tmp / "mm");
    fs::copy_file(*breast, tmp / "mm" / "breastmnist.npz");
    mm = " --medmnist-dir " + q(tmp / "mm");
  }
  const auto out = tmp / "demo";
  auto r = run_cli("data demo --out " + q(out) + " --cache " + q(test::package_cache()) + mm + " --json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json j = json::parse(r.out);
  CHECK(j["modalities"].size() >= 7);
  for (const char* m : {"head_ct", "brain_mri", "fundus", "histopathology", "microscopy", "echocardiography",
                        "xray_angiography"})
    CHECK(j["modalities"][m].get<int>() >= 4);
  const Dataset ds = load_dataset(out);
  for (const auto& rec : ds.records) {
    INFO(rec.path);
    CHECK(!rec.prompt.empty());
    CHECK(!rec.specialty.empty());
    const json e = json::parse(rec.extra_json);
    CHECK(e.contains("package"));
    if (rec.modality == "head_ct") CHECK(e["window"]["name"] == "brain");
  }
  if (breast) CHECK(j["modalities"]["breast_ultrasound"] == 780);
  const std::string sources = read_file_text(out / "SOURCES.md");
  for (const char* s : {"invesalius-examples", "mricron-data", "python3-skimage", "GPL-2", "BSD-3-Clause", "CC0"})
    CHECK(sources.find(s) != std::string::npos);
  auto v = run_cli("data verify " + q(out));
  INFO(v.err);
  CHECK(v.exit_code == 0);
  // deterministic: a second build gives the same manifest
  const std::string m1 = read_file_text(out / "manifest.jsonl");
  REQUIRE(run_cli("data demo --out " + q(out) + " --cache " + q(test::package_cache()) + mm).exit_code == 0);
  CHECK(read_file_text(out / "manifest.jsonl") == m1);
}
