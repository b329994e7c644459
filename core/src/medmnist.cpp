#include "medsyn/core/medmnist.h"

#include <algorithm>

namespace medsyn {

// Label names follow the MedMNIST v2 INFO table; modality/specialty names are MedSynBench's
// (snake_case, stable: suites and gates refer to them).
const std::vector<MedMnistInfo>& medmnist_catalog() {
  static const std::vector<MedMnistInfo> catalog = {
      {"pathmnist", "pathology", "pathology", "colon pathology", "a8b06965200029087d5bd730944a56c1", "CC BY 4.0",
       {"adipose", "background", "debris", "lymphocytes", "mucus", "smooth muscle", "normal colon mucosa",
        "cancer-associated stroma", "colorectal adenocarcinoma epithelium"}},
      {"chestmnist", "chest_xray", "radiology", "chest x-ray", "02c8a6516a18b556561a56cbdd36c4a8", "CC BY 4.0",
       {"atelectasis", "cardiomegaly", "effusion", "infiltration", "mass", "nodule", "pneumonia", "pneumothorax",
        "consolidation", "edema", "emphysema", "fibrosis", "pleural", "hernia"},
       true},
      {"dermamnist", "dermatoscopy", "dermatology", "dermatoscopy", "0744692d530f8e62ec473284d019b0c7",
       "CC BY-NC 4.0",
       {"actinic keratoses and intraepithelial carcinoma", "basal cell carcinoma", "benign keratosis-like lesions",
        "dermatofibroma", "melanoma", "melanocytic nevi", "vascular lesions"}},
      {"octmnist", "oct", "ophthalmology", "retinal oct", "c68d92d5b585d8d81f7112f81e2d0842", "CC BY 4.0",
       {"choroidal neovascularization", "diabetic macular edema", "drusen", "normal"}},
      {"pneumoniamnist", "chest_xray", "radiology", "chest x-ray", "28209eda62fecd6e6a2d98b1501bb15f", "CC BY 4.0",
       {"normal", "pneumonia"}},
      {"retinamnist", "fundus", "ophthalmology", "fundus photograph", "bd4c0672f1bba3e3a89f0e4e876791e4",
       "CC BY 4.0",
       {"diabetic retinopathy grade 0", "diabetic retinopathy grade 1", "diabetic retinopathy grade 2",
        "diabetic retinopathy grade 3", "diabetic retinopathy grade 4"}},
      {"breastmnist", "breast_ultrasound", "radiology", "breast ultrasound", "750601b1f35ba3300ea97c75c52ff8f6",
       "CC BY 4.0", {"malignant", "normal or benign"}},
      {"bloodmnist", "blood_microscopy", "hematology", "blood cell microscopy", "7053d0359d879ad8a5505303e11de1dc",
       "CC BY 4.0",
       {"basophil", "eosinophil", "erythroblast", "immature granulocytes", "lymphocyte", "monocyte", "neutrophil",
        "platelet"}},
      {"tissuemnist", "kidney_microscopy", "pathology", "kidney cortex microscopy",
       "ebe78ee8b05294063de985d821c1c34b", "CC BY 4.0",
       {"collecting duct, connecting tubule", "distal convoluted tubule", "glomerular endothelial cells",
        "interstitial endothelial cells", "leukocytes", "podocytes", "proximal tubule segments",
        "thick ascending limb"}},
      {"organamnist", "abdominal_ct", "radiology", "abdominal ct axial", "68e3f8846a6bd62f0c9bf841c0d9eacc",
       "CC BY 4.0",
       {"bladder", "femur-left", "femur-right", "heart", "kidney-left", "kidney-right", "liver", "lung-left",
        "lung-right", "pancreas", "spleen"}},
      {"organcmnist", "abdominal_ct", "radiology", "abdominal ct coronal", "b9ceb9546e10131b32923c5bbeaea2b1",
       "CC BY 4.0",
       {"bladder", "femur-left", "femur-right", "heart", "kidney-left", "kidney-right", "liver", "lung-left",
        "lung-right", "pancreas", "spleen"}},
      {"organsmnist", "abdominal_ct", "radiology", "abdominal ct sagittal", "9ab87b696fb54e2a387ebe992d6ed5f1",
       "CC BY 4.0",
       {"bladder", "femur-left", "femur-right", "heart", "kidney-left", "kidney-right", "liver", "lung-left",
        "lung-right", "pancreas", "spleen"}},
  };
  return catalog;
}

std::optional<MedMnistInfo> find_medmnist(const std::string& name) {
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const auto& info : medmnist_catalog())
    if (info.name == n) return info;
  return std::nullopt;
}

std::string medmnist_url(const std::string& name) {
  return "https://zenodo.org/records/10519652/files/" + name + ".npz?download=1";
}

}  // namespace medsyn
