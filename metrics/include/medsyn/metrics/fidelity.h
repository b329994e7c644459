#pragma once
// Per-modality fidelity of a synthetic set against a real set, in one feature space:
// FID, KID, improved precision/recall, density/coverage, each with a bootstrap CI, plus the
// real-vs-real FID floor. Used by `medsynbench metrics fidelity` and by the suite runner.
//
// Conventions:
//  - Features come from one extractor (feature_extract.h; cached), per modality, real rows =
//    real records of that modality (optionally one split), synthetic rows likewise.
//  - Modalities evaluated: those present in both sets, in the synthetic set's first-seen order
//    (or only `modality`). The others are listed in `skipped`; none in common is an InputError.
//  - Every metric is a calibrated estimate from calibrated.h (estimand, method and interval
//    there; docs/uncertainty.md): fid (plug-in, comparable with pytorch-fid at these n),
//    fid_population (bias-corrected, interval for the population distance), kid, precision,
//    recall, density, coverage. Below the minimum sizes (sample_size.h) a metric is null with
//    the reason in its note; nothing throws for too few images.
//  - FID floor: the real rows are permuted with stats::Rng(seed ^ 0x9E3779B97F4A7C15) and
//    split into halves (floor(n/2) and the rest); fid_real_floor = plug-in FID(half A, half B)
//    (what two independent real samples of these sizes reach) and fid_real_floor_population its
//    bias-corrected version (the population distance is 0: its interval should contain 0).
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "medsyn/core/estimate.h"
#include "medsyn/core/npy.h"
#include "medsyn/metrics/feature_extract.h"
#include "medsyn/metrics/stats.h"

namespace medsyn::metrics {

struct FidelityOptions {
  std::string extractor_spec;  // see extractor.h
  std::string device = "cpu";
  std::string modality;        // "" = every modality present in both sets
  std::string real_split, synthetic_split;  // "" = all records
  int bootstrap = 100;         // replicates; 0 = no CIs
  double ci_level = 0.95;
  std::uint64_t seed = 0;
  int k = 5;                   // PRDC neighbourhood size
  int kid_subsets = 100;
  std::int64_t kid_subset_size = 1000;
  ExtractOptions extract;      // batch, cache
  // Statistics of all real / synthetic rows computed elsewhere (merged from shard units, issue
  // 15): the FID point estimate uses them (fid_estimates); null = one pass over the rows.
  std::shared_ptr<const GaussianStats> real_stats, synthetic_stats;
};

struct ModalityFidelity {
  std::string modality;
  std::int64_t n_real = 0, n_synthetic = 0;
  int dim = 0;
  // calibrated.h estimates (n = rows of both sets compared).
  Estimate fid, fid_population, fid_real_floor, fid_real_floor_population, kid, precision, recall, density, coverage;
  // Vendi score (q = 1, cosine kernel; vendi.h) of the synthetic and of the real features: a second
  // diversity figure next to MS-SSIM, read against the real set's own. Point estimates (no interval:
  // a bootstrap resample duplicates rows, which lowers the score by construction).
  Estimate vendi, vendi_real;
  // CMMD (cmmd.h: Gaussian RBF MMD^2 x 1000, sigma 10, the reference's biased estimator) with the
  // reflected bootstrap interval, and the same between the two halves of the real rows that give
  // the FID floor (point estimate): what two real samples of these sizes reach.
  Estimate cmmd, cmmd_real_floor;
  double kid_std = 0;                     // std over KID subsets of the point estimate
  int kid_subsets = 0;
  std::int64_t kid_subset_size = 0;
  std::int64_t floor_n_a = 0, floor_n_b = 0;
  std::string fid_diagnostics_json = "{}";  // fid_to_json(...)["diagnostics"] as text
  std::string real_cache_key, synthetic_cache_key;
  bool real_cache_hit = false, synthetic_cache_hit = false;
  std::vector<std::string> warnings;
};

struct FidelityReport {
  std::string extractor_spec, extractor_id, weights_sha256, preprocessing;
  std::string real_dir, synthetic_dir, real_manifest_sha256, synthetic_manifest_sha256;
  FidelityOptions options;
  std::vector<ModalityFidelity> modalities;
  std::vector<std::string> skipped;  // "modality 'x': only in the real set", ...
  double seconds = 0;
};

// Metrics for one modality from feature matrices already extracted (same dim, else InputError
// naming `modality`; too few rows give null estimates with the reason).
ModalityFidelity fidelity_from_features(const std::string& modality, const Matrix32& real, const Matrix32& synthetic,
                                        const FidelityOptions& opt);

// Loads both datasets, extracts (or reads cached) features per modality and evaluates them.
FidelityReport evaluate_fidelity(const std::filesystem::path& real_dir, const std::filesystem::path& synthetic_dir,
                                 const FidelityOptions& opt);

// to_json(m) (medsyn::Estimate's metric object) plus, always, "ci_level", "se" (null without an
// interval), "replicates" and "failed", as this file's JSON has always had them.
nlohmann::json metric_estimate_to_json(const Estimate& m);
// The Fréchet distances are named by core/feature_space.h: "fid", "fid_population",
// "fid_real_floor", "fid_real_floor_population" when `extractor_id` is Inception-family or empty
// (the suite's unit files, read back under these names), else "fd", "fd_population", ... each
// with "feature_space": extractor_id.
nlohmann::json modality_fidelity_to_json(const ModalityFidelity& m, const FidelityOptions& opt,
                                         const std::string& extractor_id = "");
// {"schema": "medsynbench.fidelity/1", "extractor", "real", "synthetic", "options",
//  "modalities": {name: {...}}, "skipped", "provenance"}; modalities named by r.extractor_id.
nlohmann::json fidelity_to_json(const FidelityReport& r);

}  // namespace medsyn::metrics
