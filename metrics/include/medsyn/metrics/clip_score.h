#pragma once
// CLIP-style alignment of generated images with their prompts, from the user's own models: image
// embeddings from a user-supplied image tower (any extractor, e.g. torchscript-preset:cmmd-clip)
// and prompt embeddings computed by the user's text tower, given as a file. No tokenizer here.
//
// Score (CLIPScore, Hessel et al. 2021): per image s = w * max(cos(image_emb, prompt_emb), 0);
// reported as the mean over the images of a group
//   clip_score      w = 100 ("mean cosine x 100", torchmetrics' CLIPScore convention)
//   clip_score_w25  w = 2.5 (the paper's CLIP-S; = clip_score x 0.025, interval included)
// per modality and per (modality, class) (class = the record's label_name, else its label).
// Interval: percentile bootstrap over the group's images (stats/intervals.h bootstrap_mean), the
// estimand "mean CLIP score of the images this generator produces for these prompts"; a group of
// one image has a null interval with the reason.
//
// Prompt embedding files (read_prompt_embeddings):
//   E.json  {"prompt text": [v1, v2, ...], ...}  (an object; every vector the same length)
//   E.npy   N x d (float32/float64), row i = prompt i of a list: --prompts FILE, else the sidecar
//           E.npy.prompts.txt; the list is UTF-8 text with one prompt per line (a final newline
//           and '\r' line ends allowed) or a .json array of strings. N must equal the list length.
// Errors are InputError naming the file and the field: a duplicate or empty prompt, a vector of
// another length, a non-finite or all-zero vector, a prompt of an image missing from the file
// (names the image), image and prompt dimensions that differ.
// No LibTorch here (the image features come from the caller).
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "medsyn/core/estimate.h"
#include "medsyn/core/npy.h"

namespace medsyn::metrics {

struct PromptEmbeddings {
  std::filesystem::path file, prompts_file;  // prompts_file: "" for JSON files
  std::vector<std::string> prompts;          // row order
  std::vector<std::vector<double>> vectors;  // one per prompt, all of length dim
  int dim = 0;
  std::map<std::string, std::size_t> index;  // prompt -> row
};

PromptEmbeddings read_prompt_embeddings(const std::filesystem::path& file,
                                        const std::filesystem::path& prompts_file = {});

struct ClipScoreOptions {
  int bootstrap = 1000;  // replicates (0 = no intervals)
  double ci_level = 0.95;
  std::uint64_t seed = 0;
};

// The images to score: row i of `features` with prompts[i], modalities[i], labels[i] ("" = no
// class), names[i] (for messages: the image path).
struct ClipScoreInput {
  FeatureView features;
  std::vector<std::string> prompts, modalities, labels, names;
};

struct ClipScoreGroup {
  std::string modality, label;  // label "" = every image of the modality
  std::int64_t n = 0;
  Estimate clip_score, clip_score_w25;
  double mean_cosine = 0;  // plain mean of the cosines (not clipped at 0)
};

// Groups in order: for each modality (first seen), the modality, then its classes (sorted).
std::vector<ClipScoreGroup> clip_scores(const ClipScoreInput& in, const PromptEmbeddings& pe,
                                        const ClipScoreOptions& opt = {});

// {"n", "clip_score", "clip_score_w25", "mean_cosine"} for one group.
nlohmann::json clip_score_group_to_json(const ClipScoreGroup& g);

}  // namespace medsyn::metrics
