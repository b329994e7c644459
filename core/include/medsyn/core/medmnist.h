#pragma once
// Knowledge about the 12 2D MedMNIST v2 sets: modality, specialty, label names, official md5
// and download URL. Used by `data import medmnist` and `data fetch medmnist`.
#include <optional>
#include <string>
#include <vector>

namespace medsyn {

struct MedMnistInfo {
  std::string name;        // e.g. "pneumoniamnist"
  std::string modality;    // e.g. "chest_xray"
  std::string specialty;   // e.g. "radiology"
  std::string prompt_modality;  // words used in prompts, e.g. "chest x-ray"
  std::string md5;         // official 28x28 file
  std::string licence;
  std::vector<std::string> label_names;
  bool multi_label = false;   // chestmnist
};

const std::vector<MedMnistInfo>& medmnist_catalog();
std::optional<MedMnistInfo> find_medmnist(const std::string& name);
std::string medmnist_url(const std::string& name);  // official 28x28 .npz download URL

}  // namespace medsyn
