#pragma once
// Helpers for the reader-study specs: small real/synthetic dataset folders and simulated readers.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "medsyn/readerstudy/study.h"

namespace medsyn::test {

// Writes `n` 24x24 PNGs per modality into DIR/images and DIR/manifest.jsonl (labels 0/1
// alternating, prompts "<modality>, class <label>"; synthetic records carry "model": model).
void write_image_set(const std::filesystem::path& dir, const std::vector<std::string>& modalities, int n,
                     bool synthetic, const std::string& model, std::uint64_t seed, const std::string& split = "");

struct SimulatedReader {
  std::string name;
  double accuracy = 0.8;        // P(correct real/synthetic answer), independent per image
  double realism_real = 4, realism_synthetic = 3;  // centre of the Likert answers (+-1 noise)
  double match_real = 0.9, match_synthetic = 0.7;  // P(Y)
  double answered = 1.0;        // fraction of images answered (partial readers)
  std::uint64_t seed = 1;
};
// The page's export format for `r` answering the study in `study_dir` (reads key.json to simulate).
nlohmann::ordered_json simulate_ratings(const std::filesystem::path& study_dir, const SimulatedReader& r);

}  // namespace medsyn::test
