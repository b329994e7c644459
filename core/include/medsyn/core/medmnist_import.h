#pragma once
// Imports an official MedMNIST v2 .npz (2D, any size) into the dataset layout:
//   OUT/images/<split>/<index:05d>.png  (pixels identical to the arrays)
//   OUT/manifest.jsonl                  (records in the file's order within each split:
//                                        train, val, test)
// Each record: path, modality, specialty, prompt ("chest x-ray, pneumonia"), label (int),
// label_name, split, index (row in that split), sha256 (of the PNG).
// Multi-label sets (chestmnist): `labels` (0/1 array) and label_name listing the positives
// ("no finding" when none); no integer `label`.
#include <cstddef>
#include <filesystem>
#include <map>
#include <string>

#include "medsyn/core/error.h"

namespace medsyn {

struct MedMnistImportResult {
  std::string name;  // catalog name used
  std::size_t images = 0;
  std::map<std::string, std::size_t> per_split;
};

// The largest official 2D set (TissueMNIST) has 236,386 images; 1,000,000 leaves room for
// future sets while stopping a small file that honestly declares millions of images before it
// fills the disk.
constexpr std::size_t kDefaultMaxMedMnistImages = 1000000;

struct MedMnistImportOptions {
  std::string name;           // overrides the catalog name inferred from the file name
  std::size_t max_images = kDefaultMaxMedMnistImages;  // refused (before anything is written) above this
  bool overwrite = false;     // replace an existing dataset in OUT
};

// Thrown when the file declares more images than MedMnistImportOptions::max_images.
class ImageLimitError : public InputError {
 public:
  using InputError::InputError;
};

// All or nothing: the dataset is written into the sibling "OUT.partial" and renamed to OUT at
// the end, so a failure (missing member, bad labels, full disk) leaves no files. An existing
// dataset in OUT is refused unless `overwrite`, and then replaced whole (check_dataset_output).
// Before writing, the image count is checked against `max_images` and the free disk space
// against an estimate (one file-system block per PNG plus its manifest line).
// Labels must be whole numbers in range (float labels such as 1.5 are refused, naming the file
// and member); multi-label rows hold 0/1 flags, one per label name.
// `name` overrides the catalog name inferred from the file name ("pneumoniamnist.npz",
// "pneumoniamnist_64.npz"). Throws InputError for unknown names, missing keys, bad shapes.
MedMnistImportResult import_medmnist(const std::filesystem::path& npz, const std::filesystem::path& out_dir,
                                     const MedMnistImportOptions& opts);
inline MedMnistImportResult import_medmnist(const std::filesystem::path& npz, const std::filesystem::path& out_dir,
                                            const std::string& name = "") {
  MedMnistImportOptions o;
  o.name = name;
  return import_medmnist(npz, out_dir, o);
}

}  // namespace medsyn
