#pragma once
// The memorization audit: for every synthetic image, its nearest training images in an embedding
// space, calibrated against held-out real images (new patients), per modality. Used by
// `medsynbench memorization` and by the suite runner. No LibTorch or FAISS in this header.
//
// Conventions (docs/memorization.md has the user-facing version):
//  - The Embedder is any FeatureExtractor spec (torchscript:PATH, builtin:pixels[:SIZE], ...) or
//    builtin:contrastive:PATH; its rows are L2-normalised by the audit (an all-zero row stays zero),
//    so the inner product is the cosine similarity s. Distance (DCR) d = 1 - s.
//  - Modalities are those of the synthetic set; each needs training and holdout images of the same
//    modality (otherwise it is listed in `skipped`).
//  - Calibration, quantiles, flags: see calibration.h (tau = threshold_quantile of holdout nearest
//    similarities; flagged means s > tau).
//  - Exact duplicates: images whose decoded pixels (channels, size and float values) hash equal.
//  - SSIM of a pair: both images converted to one channel (luma) and resized (bicubic, antialias)
//    to the smaller height and smaller width of the two when their sizes differ; Gaussian SSIM
//    (metrics/ssim.h, window 11, or the largest odd window that fits smaller images).
//  - Gallery views (gallery.h): the index holds every training image and its centred zooms
//    (train_zooms, default 1.1 and 1.2); a neighbour is a training image, its similarity the best
//    over its views (the view is reported). Holdout queries search the same gallery, so tau
//    calibrates the views too.
//  - Planted copies: when synthetic records carry "planted_kind" (and "planted_source"), the flag
//    rate per kind is reported (summary.json "planted"); "none" marks genuinely new real images.
//  - Files (when out_dir is set): neighbors.csv, summary.json, histogram_<modality>.png,
//    pairs_<modality>.png (modality names with characters outside [A-Za-z0-9._-] replaced by '_').
//    redact_real: no pixel of any real image is written; pair grids show a hatched "redacted" panel
//    instead of the training image; CSV and JSON hold paths, sha256 and scores only (as always).
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "medsyn/memorization/calibration.h"
#include "medsyn/memorization/knn.h"

namespace medsyn::memorization {

struct AuditOptions {
  std::filesystem::path train, holdout, synthetic;  // dataset folders (or .jsonl manifests)
  std::string train_split, holdout_split, synthetic_split;  // optional split filters ("" = all)
  std::string embedder;                              // extractor spec
  std::filesystem::path out_dir;                     // "" = compute only, write nothing
  int k = 5;
  IndexKind index = IndexKind::flat;
  double threshold_quantile = 0.99;
  std::vector<double> thresholds = {0.5, 0.95};
  int top_pairs = 32;
  bool redact_real = false;
  std::string device = "cpu";
  int batch = 64;
  bool use_cache = true;
  std::filesystem::path cache_dir;  // "" = default_cache_dir()
  std::size_t recall_sample = 1000; // queries used to measure recall@k of ivf/hnsw
  std::uint64_t seed = 0;           // recall sample
  // Gallery views (gallery.h): centred zooms of every training image indexed besides the image;
  // "" or "none" = the images only.
  std::string train_zooms = "1.1,1.2";
  // Sharded gallery search (issue 15, shards.h): with the flat index and more training images
  // than this, the gallery is searched shard by shard (each shard's images with all their views)
  // and the per-shard top lists merged: the same neighbours, similarities and order as one flat
  // search (search_exact, shards.h, also when the gallery fits one shard). 0 = one index, FAISS's
  // own (BLAS) search and the index cache; ignored for ivf/hnsw.
  std::int64_t gallery_shard_size = 0;
};

struct Neighbor {
  std::int64_t train_row = -1;  // row in the modality's training selection
  std::string train_path, train_sha256;
  double similarity = 0;
  double ssim = 0;
  std::string train_view = "1";  // the gallery view that matched: "1" (the image) or a zoom label
};

struct SyntheticMatch {
  std::string path, sha256;
  std::vector<Neighbor> neighbors;  // rank 1..k
  bool flagged = false;             // neighbors[0].similarity > tau
  bool exact_copy = false;          // pixel-identical to a training image
};

struct DuplicateGroup {
  std::string pixel_hash;
  std::vector<std::string> paths;  // training images sharing those pixels
};

// Flag rate of planted copies (synthetic records with a "planted_kind" field; see planted.h).
struct PlantedRate {
  std::size_t n = 0, flagged = 0;
  std::size_t nearest_is_source = 0;  // rank-1 neighbour is the record's "planted_source" image
  double rate() const { return n ? static_cast<double>(flagged) / static_cast<double>(n) : 0.0; }
};

struct ModalityAudit {
  std::string modality;
  std::size_t n_train = 0, n_holdout = 0, n_synthetic = 0;
  Calibration calibration;
  std::vector<double> synthetic_nn, holdout_nn;  // nearest similarity per image (selection order)
  std::vector<std::string> holdout_paths;
  std::vector<SyntheticMatch> synthetic;
  std::vector<DuplicateGroup> train_duplicates;
  std::size_t train_duplicate_images = 0;  // images beyond the first in each group
  std::size_t synthetic_exact_copies = 0;
  int gallery_views = 1;           // 1 + number of train zooms
  std::size_t gallery_rows = 0;    // n_train * gallery_views
  std::string index_description;
  int gallery_shards = 1;          // flat searches merged (gallery_shard_size)
  bool index_cache_hit = false;
  double index_seconds = 0;
  std::size_t index_memory_bytes = 0;
  double recall_at_k = 1.0;          // measured for ivf/hnsw; 1 (exact) for flat
  std::size_t recall_queries = 0;    // 0 for flat
  std::map<std::string, PlantedRate> planted;  // kind -> rate; empty without planted_kind fields
  // AuthPct (Alaa et al. 2022, metrics/authpct.h) on the same embeddings (training images' first
  // view vs synthetic): a cross-check of the calibrated threshold that needs no holdout. -1 when
  // fewer than 2 training images.
  std::int64_t authentic = -1;
  double authpct = -1;
  // The C_T data-copying test (Meehan et al. 2020, metrics/ct.h) on the same embeddings, with the
  // holdout as the held-out real sample: << 0 means synthetic images sit closer to the training
  // set than held-out real images do. NaN with the reason in c_t_note when it cannot be computed.
  double c_t = std::numeric_limits<double>::quiet_NaN();
  std::string c_t_note;
  std::vector<std::string> warnings;
  std::filesystem::path histogram_png, pairs_png;  // "" when not written
};

struct AuditResult {
  std::string embedder_spec, embedder_id, embedder_hash, preprocessing;
  int dim = 0;
  std::string device;
  AuditOptions options;
  std::vector<ModalityAudit> modalities;
  std::vector<std::string> skipped;  // "modality: reason"
  std::string train_manifest_sha256, holdout_manifest_sha256, synthetic_manifest_sha256;
  double seconds = 0;
  std::filesystem::path neighbors_csv, summary_json;  // "" when not written
};

// Runs the audit; writes the files when options.out_dir is set. InputError for bad options or data
// (naming the flag, file or field).
AuditResult run_audit(const AuditOptions& options);

// summary.json content: every figure per modality, embedder id and hash, tau, index and recall,
// provenance (core provenance_json).
nlohmann::json audit_to_json(const AuditResult& r);

// Checks options without touching data (the CLI calls it before loading anything).
void validate_audit_options(const AuditOptions& o);

}  // namespace medsyn::memorization
