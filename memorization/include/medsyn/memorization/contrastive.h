#pragma once
// builtin:contrastive:PATH — a small CNN image encoder trained self-supervised (SimCLR / NT-Xent)
// on the real training images, used as the memorization Embedder. This header has no LibTorch.
//
// Model (1 input channel, SIZE x SIZE, SIZE stored in the file; default 32):
//   conv3x3(1->w) BN ReLU, conv3x3 s2 (w->2w) BN ReLU, conv3x3 s2 (2w->4w) BN ReLU,
//   conv3x3 s2 (4w->4w) BN ReLU, global average pool -> h (4w)
//   projection head: Linear(4w, 4w) ReLU Linear(4w, dim) -> z
//   embedding = z / |z| (the projection output, the space the contrastive loss made invariant to
//   the augmentations; `?layer=backbone` uses h / |h| instead).
// Training: two augmented views per image; augmentations drawn per image from std::mt19937_64:
//   horizontal flip (p = 0.5), random crop with scale in [0.6, 1] and aspect in [3/4, 4/3] at a
//   random position, resized back (bilinear affine resampling, border padding), brightness x U(0.8,1.2),
//   contrast x U(0.8,1.2) about the image mean, Gaussian noise with sigma ~ U(0, 0.03), clamp to [0,1].
//   Loss: NT-Xent (temperature 0.2) over the 2B views of a batch. Adam (lr 1e-3, weight decay 1e-6).
// Determinism: on the CPU, the same data, options and seed give the same weights for a given
// thread count (initialisation from torch::manual_seed(seed), augmentations and batch order from
// the seed).
// File: a LibTorch archive (torch::serialize) with the parameters and buffers plus "medsyn_meta",
// a JSON string {"format": "medsynbench.contrastive/1", size, width, dim, temperature, epochs,
// seed, images, data manifest hash, loss per epoch}.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace medsyn::memorization {

struct ContrastiveTrainOptions {
  int epochs = 30;
  std::uint64_t seed = 0;
  int size = 32;          // input side (images are converted to gray and resized, bicubic antialias)
  int width = 16;         // channels of the first conv layer
  int dim = 64;           // projection output dimension
  int batch = 256;        // images per step (2 views each)
  double temperature = 0.2;
  double lr = 1e-3;
  std::string device = "cpu";
  std::string modality;   // only images of this modality ("" = all)
  std::string split;      // only images of this split ("" = all)
  std::size_t max_images = 0;  // 0 = all; otherwise the first N (manifest order)
};

struct ContrastiveTrainReport {
  std::filesystem::path out;
  std::string weights_sha256;
  std::string extractor_spec;  // "builtin:contrastive:<out>"
  std::size_t images = 0;
  int epochs = 0;
  std::vector<double> epoch_loss;
  double seconds = 0;
};

// Trains on the images of the dataset at `data_dir` and writes the model atomically to `out`.
ContrastiveTrainReport train_contrastive_embedder(const std::filesystem::path& data_dir,
                                                  const std::filesystem::path& out,
                                                  const ContrastiveTrainOptions& opt);
nlohmann::json train_report_to_json(const ContrastiveTrainReport& r);

// Registers "builtin:contrastive:" with medsyn::register_extractor_factory. Idempotent; the CLI
// calls it at start-up and run_audit calls it before building an embedder.
void register_extractors();

}  // namespace medsyn::memorization
