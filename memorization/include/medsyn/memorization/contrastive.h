#pragma once
// builtin:contrastive:PATH — a small CNN image encoder trained self-supervised (SimCLR / NT-Xent)
// on the real training images, used as the memorization Embedder. This header has no LibTorch.
//
// Model (1 input channel, SIZE x SIZE, SIZE stored in the file; default 28):
//   conv3x3(1->w) BN ReLU, conv3x3 s2 (w->2w) BN ReLU, conv3x3 s2 (2w->4w) BN ReLU,
//   conv3x3 s2 (4w->4w) BN ReLU, average pool to POOL x POOL, flatten -> h (4w * POOL^2)
//   projection head: Linear(4w POOL^2, 4w) ReLU Linear(4w, dim) -> z
//   POOL = 4 keeps a coarse spatial layout (which patient is which lies in the layout more than in
//   globally pooled texture); POOL = 1 is plain global pooling (files of format /1).
// Embedding (the projection output z, the space the loss made invariant; `?layer=backbone` uses h):
//   flip-symmetrised: e(x) = n(n(z(x)) + n(z(hflip x))), n = L2 normalisation, so a mirrored
//   copy embeds exactly like its source; then averaged over centred zooms ("view_zooms", default
//   "0.9,1.1,1.2,1.2x1,1x1.2" plus 1): n(mean_s e(zoom_s x)). Averaging over zooms makes a copy
//   cropped by a few pixels and resized back (a zoom of 1.1-1.3 per axis) embed closer to its
//   source than the trained invariance alone does at CPU training budgets (docs/memorization.md).
//   `?views=single` turns both off; `?zooms=...` replaces the stored zoom list.
// Training: two augmented views per image; augmentations drawn per image from stats::Rng (medsyn/stats/random.h).
//   augment = "copy" (default; the copy edits a memorization audit looks for): horizontal flip
//   (p = 0.5), per-axis zoom-in of up to 1 / (1 - 0.25), shift of up to +-3 px, brightness and
//   contrast x U(0.9, 1.1), Gaussian noise sigma ~ U(0, 0.02). augment = "simclr": flip, crops of
//   60-100% of the area (aspect 3/4-4/3), brightness/contrast x U(0.8, 1.2), noise sigma <= 0.03.
//   Resampling is bilinear affine with border padding; values clamped to [0, 1].
//   Loss: NT-Xent (temperature 0.1) over the 2B views of a batch; Adam (lr 1e-3, weight decay
//   1e-6) with a cosine learning-rate decay to 0 over all steps.
// Determinism: on the CPU, the same data, options and seed give the same weights for a given
// thread count (initialisation from torch::manual_seed(seed), augmentations and batch order from
// the seed).
// File: a LibTorch archive (torch::serialize) with the parameters and buffers plus "medsyn_meta",
// a JSON string {"format": "medsynbench.contrastive/2", size, width, dim, pool, view_zooms (string),
// flip_symmetric, augment, temperature, epochs, seed, images, data manifest hash, loss per epoch}.
// Files of format /1 (global pooling, no views) still load.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace medsyn::memorization {

struct ContrastiveTrainOptions {
  int epochs = 100;
  std::uint64_t seed = 0;
  int size = 28;          // input side (images are converted to gray and resized, bicubic antialias)
  int width = 16;         // channels of the first conv layer
  int dim = 64;           // projection output dimension
  int pool = 4;           // spatial grid kept before the head (1 = global average pooling)
  int batch = 64;         // images per step (2 views each)
  double temperature = 0.1;
  double lr = 1e-3;       // peak; cosine decay to 0
  std::string augment = "copy";                          // "copy" | "simclr"
  // Embedding views besides zoom 1: comma-separated zooms, isotropic ("1.1") or per axis
  // ("1.2x1" = x zoom 1.2, y zoom 1); "" = none. Stored in the model file.
  std::string view_zooms = "0.9,1.1,1.2,1.2x1,1x1.2";
  bool flip_symmetric = true;                            // embedding averaged with the mirrored image
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

// One source of training images: the records of `modality` / `split` ("" = all) of the dataset
// at `data_dir`, at most opt.max_images of them (manifest order).
struct ContrastiveTrainingSet {
  std::filesystem::path data_dir;
  std::string modality, split;
};
// Trains on the union of several datasets' images (a suite's real training splits, one per
// modality), in the order given; opt.modality / opt.split are ignored (each set names its own),
// opt.max_images caps each set. The file's medsyn_meta lists the sets (manifest hash, modality,
// split, images) instead of one data_manifest_sha256. Same determinism as above.
ContrastiveTrainReport train_contrastive_embedder(const std::vector<ContrastiveTrainingSet>& sets,
                                                  const std::filesystem::path& out, const ContrastiveTrainOptions& opt);
nlohmann::json train_report_to_json(const ContrastiveTrainReport& r);

// Registers "builtin:contrastive:" with medsyn::register_extractor_factory. Idempotent; the CLI
// calls it at start-up and run_audit calls it before building an embedder.
void register_extractors();

}  // namespace medsyn::memorization
