#pragma once
// Planted-copy validation sets: how to show that an audit (an embedder + calibration) catches
// memorized training images. From a real dataset with train and test splits it writes
//   OUT/train.jsonl      the training split (images copied byte for byte into OUT/images/train/)
//   OUT/holdout.jsonl    a random half of the test split (calibration: new patients)
//   OUT/synthetic.jsonl  the other half of the test split (planted_kind "none": genuinely new real
//                        images) plus planted copies of `n_sources` random training images, one per
//                        kind and source image:
//                          exact       the training image itself (pixels identical)
//                          hflip       mirrored left-right
//                          shift       translated by 1-2 px in x and y (border replicated)
//                          crop        a crop losing 1-3 px per side, resized back (bicubic)
//                          noise       Gaussian noise, sigma 2/255
//                          brightness  intensities scaled by 1 +- 0.05 (clamped to [0,1])
// Each synthetic record carries "planted_kind" and, for copies, "planted_source" (the training
// image's path). run_audit reports flag rates per planted kind when these fields are present.
// Everything is drawn from stats::Rng(seed) through medsyn/stats/random.h (the same with every
// standard library); transformed copies are written as 8-bit PNG, so the noise and brightness
// copies are quantised like real files.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace medsyn::memorization {

inline const std::vector<std::string>& planted_kinds() {
  static const std::vector<std::string> k = {"exact", "hflip", "shift", "crop", "noise", "brightness"};
  return k;
}

struct PlantedOptions {
  std::string train_split = "train";
  std::string test_split = "test";
  std::string modality;       // "" = all modalities
  std::size_t n_sources = 50; // training images copied (each in every kind)
  std::size_t max_train = 0;  // 0 = whole training split; else a random subset of this size
                              // (sources are drawn from it)
  std::size_t max_test = 0;   // 0 = whole test split; else a random subset
  std::uint64_t seed = 0;
};

struct PlantedSet {
  std::filesystem::path train, holdout, synthetic;  // the three .jsonl manifests
  std::size_t n_train = 0, n_holdout = 0, n_new = 0;
  std::map<std::string, std::size_t> copies;  // kind -> count
};

PlantedSet build_planted_set(const std::filesystem::path& real_dataset, const std::filesystem::path& out_dir,
                             const PlantedOptions& opt);

}  // namespace medsyn::memorization
