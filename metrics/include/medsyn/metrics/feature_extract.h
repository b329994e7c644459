#pragma once
// Feature extraction over a dataset: streaming in batches, the content-addressed feature cache and
// the features file + sidecar written by `medsynbench features extract`.
//
// Conventions:
//  - Rows follow the order of the records given (usually manifest order filtered by modality and
//    split). Row i of the N x D float32 matrix is records[i]; the sidecar lists each row's path.
//  - Image identity is content: the sha256 of each image file. When a manifest record carries a
//    `sha256` field it is checked against the file (a mismatch is an InputError naming the file).
//  - Cache key = sha256("medsynbench-features-v1", extractor id, weights sha256, preprocessing
//    description, dim, N, every image sha256 in row order). Entries live in the core ContentCache
//    under namespace "features" as <key>.npy (N x D float32) plus <key>.json (what produced it).
//  - Memory: images are decoded and preprocessed one batch at a time; only the N x D output (or,
//    with stream_features, nothing at all) grows with N.
//  - Sidecar: the features file F.npy gets F.npy.json (schema "medsynbench.features/1"; see
//    docs/features.md).
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "medsyn/core/manifest.h"
#include "medsyn/core/npy.h"
#include "medsyn/metrics/extractor.h"
#include "medsyn/metrics/stats.h"

namespace medsyn {

struct ExtractOptions {
  int batch = 64;                       // images per forward pass (>= 1)
  bool use_cache = true;                // read and write the feature cache
  std::filesystem::path cache_dir;      // empty = default_cache_dir()
  int threads = 0;                      // decode/preprocess threads; 0 = min(8, hardware cores)
  std::string progress_label = "features";
};

// sha256 of each record's image file (in order), checked against the manifest's sha256 fields.
std::vector<std::string> hash_images(const Dataset& ds, const std::vector<Record>& records);

std::string feature_cache_key(const FeatureExtractor& ex, const std::vector<std::string>& image_hashes);

// Called once per batch with rows [first_row, first_row + n) of the N x D matrix, row-major.
using FeatureSink = std::function<void(std::size_t first_row, const float* rows, std::size_t n, int dim)>;

// Decodes, preprocesses (in parallel, deterministic) and extracts features batch by batch, handing
// each batch to `sink`; holds at most one batch of images and features. No cache.
void stream_features(const Dataset& ds, const std::vector<Record>& records, FeatureExtractor& ex,
                     const ExtractOptions& opt, const FeatureSink& sink);

struct FeatureResult {
  Matrix32 features;                  // N x D
  std::vector<std::string> paths;     // row -> image path relative to the dataset folder
  std::vector<std::string> sha256;    // row -> image file sha256
  std::string cache_key;
  bool cache_hit = false;
  std::filesystem::path cache_file;   // the cache entry read or written ("" when the cache is off)
  double seconds = 0.0;               // wall time of hashing + extraction (or cache read)
};

// Features for `records` of `ds`, from the cache when present (logged on stderr), else extracted
// and stored in the cache. Throws InputError when there are no records or an image is unreadable.
FeatureResult extract_features(const Dataset& ds, const std::vector<Record>& records, FeatureExtractor& ex,
                               const ExtractOptions& opt = {});

// Sidecar for a features file. `spec` is the extractor spec as given; `source` describes the
// selection (dataset folder, modality, split); provenance_json is embedded.
nlohmann::json feature_sidecar(const FeatureResult& r, const FeatureExtractor& ex, const std::string& spec,
                               const std::string& device, const Dataset& ds, const std::string& modality,
                               const std::string& split);

// FID statistics (n, mean, covariance; float64) without holding the N x D matrix: from the feature
// cache when an entry exists, else batches stream straight into a metrics::StatsAccumulator (no
// feature cache entry is written then, since the features are never held). `from_cache` reports
// which.
metrics::GaussianStats extract_stats(const Dataset& ds, const std::vector<Record>& records, FeatureExtractor& ex,
                                     const ExtractOptions& opt = {}, bool* from_cache = nullptr);

// "F.npy" -> "F.npy.json".
std::filesystem::path sidecar_path(const std::filesystem::path& features_npy);

// Writes F.npy (N x D float32) and F.npy.json, both atomically.
void write_features(const std::filesystem::path& out_npy, const FeatureResult& r, const nlohmann::json& sidecar);

}  // namespace medsyn
