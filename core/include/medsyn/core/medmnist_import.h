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

namespace medsyn {

struct MedMnistImportResult {
  std::string name;  // catalog name used
  std::size_t images = 0;
  std::map<std::string, std::size_t> per_split;
};

// `name` overrides the catalog name inferred from the file name ("pneumoniamnist.npz",
// "pneumoniamnist_64.npz"). Throws InputError for unknown names, missing keys, bad shapes.
MedMnistImportResult import_medmnist(const std::filesystem::path& npz, const std::filesystem::path& out_dir,
                                     const std::string& name = "");

}  // namespace medsyn
