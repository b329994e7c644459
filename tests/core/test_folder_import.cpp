// Folder import (raster, 16-bit TIFF, DICOM, NIfTI), its bad-input handling, and the MedMNIST
// fetcher (file:// URLs, md5 check).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "medsyn/core/download.h"
#include "medsyn/core/error.h"
#include "medsyn/core/folder_import.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/core/option_error.h"
#include "package_files.h"
#include "test_support.h"

using namespace medsyn;
namespace fs = std::filesystem;

namespace {

std::vector<json> read_jsonl(const fs::path& p) {
  std::vector<json> out;
  std::ifstream in(p);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

void write_png8(const fs::path& p, int h, int w, int seed) {
  Image img(1, h, w);
  for (std::size_t i = 0; i < img.data.size(); ++i) img.data[i] = static_cast<float>((i * 7 + seed) % 256) / 255.f;
  write_png(p, img, 8);
}

}  // namespace

TEST_CASE("prompt templates expand placeholders and reject unknown ones", "[import][prompt]") {
  CHECK(expand_prompt("{modality}, {label}", "chest_xray", "pneumonia", "", true) == "chest xray, pneumonia");
  CHECK(expand_prompt("{specialty}: {modality}", "ct", "", "radiology", false) == "radiology: ct");
  CHECK_THROWS_WITH(expand_prompt("{modality} {foo}", "ct", "", "", false), Catch::Contains("{foo}"));
  CHECK_THROWS_WITH(expand_prompt("{label}", "ct", "", "", false), Catch::Contains("labels_from_subfolders"));
  CHECK_THROWS_WITH(expand_prompt("{modality", "ct", "", "", false), Catch::Contains("unclosed"));
}

TEST_CASE("16-bit TIFF keeps its precision through read_image and folder import", "[import][tiff]") {
  test::TempDir tmp;
  const fs::path src = tmp / "src";
  ensure_dir(src);
  cv::Mat m16(8, 9, CV_16UC1);
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 9; ++x) m16.at<std::uint16_t>(y, x) = static_cast<std::uint16_t>(y * 8191 + x * 13 + 1);
  REQUIRE(cv::imwrite((src / "g16.tif").string(), m16));
  cv::Mat rgba(4, 5, CV_8UC4, cv::Scalar(10, 20, 30, 200));  // OpenCV order: B, G, R, A
  REQUIRE(cv::imwrite((src / "rgba.tiff").string(), rgba));
  cv::Mat rgb16(4, 5, CV_16UC3, cv::Scalar(1000, 30000, 65535));
  REQUIRE(cv::imwrite((src / "rgb16.tif").string(), rgb16));

  const Image g = read_image(src / "g16.tif");
  REQUIRE(g.channels == 1);
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 9; ++x) CHECK(std::lround(g.at(0, y, x) * 65535.0) == m16.at<std::uint16_t>(y, x));

  FolderImportOptions o;
  o.modality = "test";
  const auto res = import_folder(src, tmp / "out", o);
  CHECK(res.images == 3);
  const Dataset ds = load_dataset(tmp / "out");
  REQUIRE(ds.records.size() == 3);
  for (const auto& r : ds.records) {
    const json extra = json::parse(r.extra_json);
    INFO(r.path);
    CHECK(extra["format"] == "tiff");
    const cv::Mat back = cv::imread(ds.image_path(r).string(), cv::IMREAD_UNCHANGED);
    if (extra["source"] == "g16.tif") {
      CHECK(extra["bit_depth"] == 16);
      REQUIRE(back.depth() == CV_16U);
      CHECK(cv::countNonZero(back != m16) == 0);  // every 16-bit value survives
    } else if (extra["source"] == "rgba.tiff") {
      CHECK(extra["bit_depth"] == 8);
      CHECK(back.channels() == 4);
      CHECK(back.at<cv::Vec4b>(2, 2) == cv::Vec4b(10, 20, 30, 200));
    } else {
      CHECK(extra["bit_depth"] == 16);
      CHECK(back.at<cv::Vec3w>(1, 1) == cv::Vec3w(1000, 30000, 65535));
    }
    CHECK(sha256_file(ds.image_path(r)) == r.sha256);
  }
}

TEST_CASE("folder import: labels from subfolders, prompts, sorted deterministic output", "[import]") {
  test::TempDir tmp;
  const fs::path src = tmp / "src";
  write_png8(src / "normal" / "b.png", 6, 5, 1);
  write_png8(src / "normal" / "a.png", 6, 5, 2);
  write_png8(src / "pneumonia" / "x" / "c.png", 6, 5, 3);
  atomic_write_text(src / ".DS_Store", "ignored");  // hidden files are ignored
  FolderImportOptions o;
  o.modality = "chest_xray";
  o.specialty = "radiology";
  o.labels_from_subfolders = true;
  const auto res = import_folder(src, tmp / "out1", o);
  CHECK(res.files == 3);
  CHECK(res.images == 3);
  CHECK(res.per_label.at("normal") == 2);
  const Dataset ds = load_dataset(tmp / "out1");
  REQUIRE(ds.records.size() == 3);
  CHECK(json::parse(ds.records[0].extra_json)["source"] == "normal/a.png");
  CHECK(json::parse(ds.records[2].extra_json)["source"] == "pneumonia/x/c.png");
  CHECK(ds.records[0].label == 0);
  CHECK(ds.records[2].label == 1);
  CHECK(ds.records[2].label_name == "pneumonia");
  CHECK(ds.records[2].prompt == "chest xray, pneumonia");
  CHECK(ds.records[0].specialty == "radiology");
  CHECK(ds.records[0].path == "images/000000_a.png");
  // pixels identical to the source
  CHECK(read_image(ds.image_path(ds.records[0])).data == read_image(src / "normal" / "a.png").data);
  // same input -> byte-identical manifest
  import_folder(src, tmp / "out2", o);
  CHECK(read_file_text(tmp / "out1" / "manifest.jsonl") == read_file_text(tmp / "out2" / "manifest.jsonl"));
  // a second import into the same folder needs overwrite (the CLI's --overwrite)
  CHECK_THROWS_AS(import_folder(src, tmp / "out1", o), DatasetExistsError);
  CHECK_THROWS_WITH(import_folder(src, tmp / "out1", o), Catch::Contains("already holds a dataset"));
  o.overwrite = true;
  o.prompt_template = "{specialty} image of {modality} ({label})";
  import_folder(src, tmp / "out1", o);
  CHECK(load_dataset(tmp / "out1").records[0].prompt == "radiology image of chest xray (normal)");
  // files directly in SRC have no label
  write_png8(src / "top.png", 4, 4, 0);
  CHECK_THROWS_WITH(import_folder(src, tmp / "out3", o), Catch::Contains("top.png") && Catch::Contains("label subfolder"));
  // the output folder must not be inside the source
  o.labels_from_subfolders = false;
  o.prompt_template.clear();
  CHECK_THROWS_WITH(import_folder(src, src / "out", o), Catch::Contains("must not be inside"));
}

TEST_CASE("folder import bad input: truncated, corrupt, unknown formats, empty folders; --skip-bad", "[import][errors]") {
  test::TempDir tmp;
  const fs::path src = tmp / "src";
  write_png8(src / "a_good.png", 6, 5, 1);
  write_png8(src / "d_good.png", 6, 5, 2);
  const auto png = read_file_bytes(src / "a_good.png");
  atomic_write_bytes(src / "b_truncated.png", png.data(), png.size() - 20);
  atomic_write_text(src / "c_notes.txt", "not an image");
  atomic_write_text(src / "e_corrupt.jpg", std::string("\xFF\xD8\xFF\xE0garbage-garbage\xFF\xD9", 21));
  atomic_write_text(src / "f_bad.dcm", std::string(400, 'z'));
  atomic_write_text(src / "g_bad.nii.gz", "not gzip, not nifti");
  FolderImportOptions o;
  o.modality = "test";
  auto expect = [&](const std::string& needle) {
    try {
      import_folder(src, tmp / "out", o);
      FAIL("expected InputError");
    } catch (const InputError& e) {
      INFO(e.what());
      CHECK(std::string(e.what()).find(needle) != std::string::npos);
    }
    CHECK_FALSE(fs::exists(tmp / "out" / "manifest.jsonl"));  // nothing that looks complete
    CHECK_FALSE(fs::exists(tmp / "out" / "manifest.jsonl.partial"));
    CHECK_FALSE(fs::exists(tmp / "out" / "images"));  // no orphan images either
    CHECK_FALSE(fs::exists(tmp / "out" / ".images.partial"));
  };
  expect("b_truncated.png");  // first bad file in sorted order
  fs::remove(src / "b_truncated.png");
  expect("c_notes.txt");
  fs::remove(src / "c_notes.txt");
  expect("e_corrupt.jpg");
  atomic_write_bytes(src / "b_truncated.png", png.data(), png.size() - 20);
  atomic_write_text(src / "c_notes.txt", "not an image");

  o.skip_bad = true;
  o.overwrite = true;
  const auto res = import_folder(src, tmp / "out", o);
  CHECK(res.images == 2);
  CHECK(res.skipped == 5);
  const auto skipped = read_jsonl(tmp / "out" / "skipped.jsonl");
  REQUIRE(skipped.size() == 5);
  CHECK(skipped[0]["file"] == "b_truncated.png");
  CHECK(skipped[0]["reason"].get<std::string>().find("truncated") != std::string::npos);
  CHECK(skipped[1]["file"] == "c_notes.txt");
  CHECK(skipped[1]["reason"].get<std::string>().find("unknown image format") != std::string::npos);
  CHECK(skipped[2]["file"] == "e_corrupt.jpg");
  CHECK(skipped[3]["file"] == "f_bad.dcm");
  CHECK(skipped[4]["file"] == "g_bad.nii.gz");
  CHECK(load_dataset(tmp / "out").records.size() == 2);
  // only bad files: error even with skip_bad; the reasons are in the message and nothing is
  // written (imports are all-or-nothing: no folder with only skipped.jsonl)
  const fs::path bad_only = tmp / "bad_only";
  atomic_write_text(bad_only / "x.txt", "x");
  CHECK_THROWS_WITH(import_folder(bad_only, tmp / "out_bad", o),
                    Catch::Contains("no image could be imported") && Catch::Contains("x.txt") &&
                        Catch::Contains("unknown image format"));
  CHECK_FALSE(fs::exists(tmp / "out_bad"));
  CHECK_FALSE(fs::exists(tmp / "out_bad.partial"));
  // empty and missing folders
  ensure_dir(tmp / "empty");
  CHECK_THROWS_WITH(import_folder(tmp / "empty", tmp / "out_e", o), Catch::Contains("empty") && Catch::Contains("empty"));
  CHECK_THROWS_WITH(import_folder(tmp / "nope", tmp / "out_n", o), Catch::Contains("does not exist"));
  o.modality.clear();
  CHECK_THROWS_AS(import_folder(src, tmp / "out_m", o), OptionError);
  CHECK_THROWS_WITH(import_folder(src, tmp / "out_m", o), Catch::StartsWith("modality: "));  // a field, not a flag
}

TEST_CASE("folder import of real DICOM and NIfTI: frames, slices, HU window recorded", "[import][dicom][nifti][real-data]") {
  const auto ct = test::package_file("python3-pydicom", std::string(test::kPydicomFiles) + "CT_small.dcm");
  const auto xa = test::package_file("libgdcm3.0", "usr/share/doc/libgdcm3.0/examples/00191113.dcm");
  const auto ch2 = test::package_file("mricron-data", "usr/share/mricron/templates/ch2.nii.gz");
  test::TempDir tmp;
  const fs::path src = tmp / "src";
  ensure_dir(src);
  fs::copy_file(ct, src / "ct.dcm");
  fs::copy_file(xa, src / "xa_noext");  // DICOM recognised by its DICM header
  fs::copy_file(ch2, src / "t1.nii.gz");
  FolderImportOptions o;
  o.modality = "mixed";
  o.window = parse_window("40,80");
  o.slice_step = 20;
  const auto res = import_folder(src, tmp / "out", o);
  const int nifti_slices = (181 + 19) / 20;
  CHECK(res.images == 1 + nifti_slices + 4);
  const Dataset ds = load_dataset(tmp / "out");
  const SampleStack hu = read_dicom(ct);
  int frames = 0;
  for (const auto& r : ds.records) {
    const json e = json::parse(r.extra_json);
    INFO(r.path << " " << r.extra_json);
    CHECK(sha256_file(ds.image_path(r)) == r.sha256);
    REQUIRE(e.contains("window"));
    CHECK(e["window"]["center"] == 40.0);
    CHECK(e["window"]["width"] == 80.0);
    CHECK(e["normalisation"]["method"] == "window");
    const Image img = read_image(ds.image_path(r));
    if (e["source"] == "ct.dcm") {
      CHECK(e["format"] == "dicom");
      CHECK(e["units"] == "HU");
      CHECK(e["bit_depth"] == 16);
      // every pixel is the windowed HU value, to 16-bit precision
      for (int y = 0; y < img.height; y += 7)
        for (int x = 0; x < img.width; x += 5)
          CHECK(img.at(0, y, x) == Approx(apply_window(hu.image_data(0)[y * hu.width + x], *o.window)).margin(1e-5));
    } else if (e["source"] == "xa_noext") {
      CHECK(e["frame"] == frames);
      ++frames;
      CHECK(r.path.find("_f000") != std::string::npos);
    } else {
      CHECK(e["source"] == "t1.nii.gz");
      CHECK(e["axis"] == "z");
      CHECK(e["slice"].get<int>() % 20 == 0);
      CHECK(img.width == 181);
      CHECK(img.height == 217);
    }
  }
  CHECK(frames == 4);
}

TEST_CASE("MedMNIST fetch from a file:// URL verifies the md5, caches, and imports", "[fetch][real-data]") {
  const auto breast = test::medmnist_file("breastmnist");
  const auto pneu = test::medmnist_file("pneumoniamnist");
  test::TempDir tmp;
  fs::copy_file(breast, tmp / "breastmnist.npz");
  const std::string url = "file://" + (tmp / "breastmnist.npz").string();
  const auto r = fetch_medmnist("BreastMNIST", tmp / "ds", url, tmp / "cache");
  CHECK_FALSE(r.cached);
  CHECK(r.import.images == 780);
  CHECK(md5_file(tmp / "cache" / "medmnist" / "breastmnist.npz") == "750601b1f35ba3300ea97c75c52ff8f6");
  CHECK(load_dataset(tmp / "ds").records.size() == 780);
  // second time: the cache is used, the URL is not touched
  const auto again = fetch_medmnist("breastmnist", tmp / "ds2", "file:///nonexistent/x.npz", tmp / "cache");
  CHECK(again.cached);
  // md5 mismatch (the shared pneumoniamnist is a rebuilt file): error, nothing kept
  fs::copy_file(pneu, tmp / "pneumoniamnist.npz");
  try {
    fetch_medmnist("pneumoniamnist", tmp / "ds3", "file://" + (tmp / "pneumoniamnist.npz").string(), tmp / "cache");
    FAIL("expected md5 mismatch");
  } catch (const InputError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("md5 mismatch") != std::string::npos);
    CHECK(msg.find("28209eda62fecd6e6a2d98b1501bb15f") != std::string::npos);
    CHECK(msg.find("pneumoniamnist.npz") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(tmp / "cache" / "medmnist" / "pneumoniamnist.npz"));
  CHECK_FALSE(fs::exists(tmp / "ds3" / "manifest.jsonl"));
  for (const auto& e : fs::directory_iterator(tmp / "cache" / "medmnist"))
    CHECK(e.path().filename().string().find(".download") == std::string::npos);
  // missing source and unknown names
  CHECK_THROWS_WITH(fetch_medmnist("octmnist", tmp / "ds4", "file:///nonexistent/octmnist.npz", tmp / "cache"),
                    Catch::Contains("download failed") && Catch::Contains("/nonexistent/octmnist.npz"));
  CHECK_THROWS_WITH(fetch_medmnist("nosuchmnist", tmp / "ds5", "", tmp / "cache"), Catch::Contains("unknown MedMNIST"));
}
