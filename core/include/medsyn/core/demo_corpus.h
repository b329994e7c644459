#pragma once
// `data demo`: the multi-modality demo corpus, built from real medical images shipped in Debian
// packages (fetched with apt-get download + dpkg-deb -x into a cache; nothing is installed) plus
// the MedMNIST files found in a data folder.
//
//   OUT/images/<modality>/<name>.png       images from the Debian packages
//   OUT/medmnist/<set>/...                 each MedMNIST file imported with import_medmnist
//   OUT/manifest.jsonl                     all records (MedMNIST paths prefixed "medmnist/<set>/")
//   OUT/SOURCES.md                         package, version, file, licence and image count per source
//
// Contents (modality: source): head_ct (invesalius-examples Cranium.inv3, axial slices in HU,
// brain window 40/80), brain_mri (mricron-data ch2.nii.gz, axial slices, volume min/max),
// fundus (python3-skimage retina.jpg, whole image and 4 crops resized to 256x256),
// histopathology (skimage ihc.png, 4 tiles), microscopy (skimage cell.png, 4 tiles),
// echocardiography (octave-dicom US-PAL-8-10x-echo.dcm, 10 palette-colour RLE frames),
// xray_angiography (libgdcm3.0 00191113.dcm, 4 JPEG-lossless frames), and the MedMNIST sets.
// Every record carries `source` {package, version, file, licence} (or {medmnist, md5, licence})
// and what was done to the pixels (slice, frame, crop, resize, window, normalisation).
// The output is deterministic for given package versions.
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace medsyn {

struct DemoOptions {
  std::filesystem::path out;
  std::filesystem::path cache_dir;                 // empty -> default_package_cache()
  std::optional<std::filesystem::path> medmnist_dir;  // none -> find_default_medmnist_dir()
  bool with_medmnist = true;
};

struct DemoResult {
  std::size_t images = 0;
  std::map<std::string, std::size_t> per_modality;
  std::vector<std::string> packages;   // "name version"
  std::vector<std::string> medmnist;   // imported set names
  std::filesystem::path medmnist_dir;  // where they came from (empty when none)
};

// $MEDSYN_SHARED_DATA_DIR/medmnist, then ../shared/data/medmnist relative to the current folder,
// then relative to the executable (<exe>/../../../shared/data/medmnist, i.e. a checkout's
// build/bin/medsynbench). Empty path when none exists.
std::filesystem::path find_default_medmnist_dir();

DemoResult build_demo_corpus(const DemoOptions& opts);

}  // namespace medsyn
