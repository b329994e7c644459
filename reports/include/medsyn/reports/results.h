#pragma once
// The results file (RUN_DIR/results.json) as plain structs, with loading and validation.
//
// Format: reports/schema/results.schema.json (JSON Schema, embedded in this library) plus the
// semantic rules below; reports/README.md documents every field. Conventions:
//  - Paths in the file (samples, memorization figures, ...) are relative to the folder that holds
//    results.json (`Results::base_dir`) and may not leave it.
//  - A metric object is the JSON form of medsyn::Estimate (core/estimate.h): {value, ci_low, ci_high,
//    n, ci_level, ci_method, note, ...}; null (NaN here) = not computed, `note` says why. ci_low and
//    ci_high are both null or both numbers with ci_low <= ci_high. The point estimate need not lie
//    inside a bootstrap percentile interval (FID is biased upwards under resampling).
//  - Display order: models and modalities in the order of the file's "models" / "modalities"
//    objects (modalities only named by models follow, first seen first).
//  - Semantic rules (each error names its JSON path): every model under results / samples /
//    memorization / downstream / adherence / per_class / compute.models is declared in "models"; every modality of a
//    model's entries is one the model covers; with a "modalities" section, every modality a model
//    covers is declared there; downstream fractions increase within an arm.
// Loading never throws on the first problem: it collects every error and throws one InputError
// "FILE: N problem(s):\n  $.path: reason\n  ...".
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "medsyn/core/estimate.h"
#include "medsyn/reports/json_schema.h"

namespace medsyn::reports {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Which direction is better for a metric (drives bold in tables and compare verdicts).
enum class Better { lower, higher, none };
const char* to_string(Better b);

struct MetricInfo {
  std::string label;  // "FID", "Precision", ...
  Better better = Better::none;
  int digits = 3;     // decimals in tables
  // The report's "best" is the value closest to the real data's own value (the reference row of
  // the modality), not the lowest/highest: diversity (MS-SSIM) should match the real data's, a
  // generator with near-zero MS-SSIM is noisy, not better. `better` still drives compare verdicts.
  bool best_near_reference = false;
};
// Built-in metric table (fid, kid, precision, recall, density, coverage, ms_ssim, vendi,
// fid_real_floor, fraction_memorized, auroc, accuracy, balanced_accuracy, f1); unknown names get
// label = name, better = none, digits = 3. ms_ssim and vendi have best_near_reference.
MetricInfo default_metric_info(const std::string& name);

struct ModelInfo {
  std::string name, kind, label;  // kind: "generalist" | "specialist"; label defaults to name
  std::vector<std::string> modalities;
  bool is_generalist() const { return kind == "generalist"; }
  bool covers(const std::string& modality) const;
};

struct ModalityInfo {
  std::string name, specialty, label;  // label defaults to name
};

struct MemorizationEntry {
  Estimate fraction_memorized;
  Estimate authpct;  // percent of authentic synthetic images (AuthPct); null when absent
  Estimate c_t;      // C_T data-copying statistic (<< 0 = copying); null when absent
  // Prompt replay (absent: replay_prompts = -1): flagged fraction of the replayed images and the
  // fraction of training images that are the nearest neighbour of a flagged one.
  Estimate replay_fraction_flagged, replay_fraction_train_copied;
  long long replay_prompts = -1, replay_generated = -1;
  long long n_synthetic = -1, n_train = -1, n_holdout = -1, exact_copies = -1;  // -1 = absent
  double tau = kNaN, threshold_quantile = kNaN;
  std::string embedder, histogram_png, pairs_png;  // relative paths ("" = absent)
};

struct DownstreamPoint {
  double fraction = 0;
  Estimate metric;
  long long n_real = -1, n_syn = -1;
};
struct DownstreamComparison {
  double fraction = 0;
  std::string a, b, verdict;
  double mean_diff = kNaN, ci_low = kNaN, ci_high = kNaN, p_adjusted = kNaN;
  double ci_level = 0.95;  // the file's ci_level (optional there), 0.95 when absent
  std::string ci_method;
};
struct DownstreamEntry {
  std::string metric;  // e.g. "auroc"
  std::vector<std::pair<std::string, std::vector<DownstreamPoint>>> arms;  // file order
  std::vector<DownstreamComparison> comparisons;
};

// Prompt adherence (downstream/adherence.h; results.json "adherence").
struct AdherenceClass {
  std::string name;
  long long label = -1, n = -1;
  Estimate accuracy, auroc;  // recall of the class (t over seeds); one-vs-rest ensemble AUROC (DeLong)
};
struct AdherenceScoresEntry {
  long long n = -1, n_train = -1;
  Estimate accuracy, balanced_accuracy, auroc, auroc_delong;
  std::vector<AdherenceClass> classes;
  std::string worst_class;  // "" = none
  const AdherenceClass* worst() const;
};
struct AdherenceEntry {
  std::string label_field, results_json;
  long long seeds = -1, n_synthetic = -1, n_used = -1;
  AdherenceScoresEntry cas, real, reverse;  // cas: real-trained on synthetic; real: on the real test split
  // The comparable numbers, named as compare and metrics.csv name them ("adherence.<name>"):
  // cas_accuracy, cas_balanced_accuracy, cas_auroc, cas_auroc_delong, cas_worst_class_accuracy,
  // real_accuracy, real_auroc, reverse_accuracy, reverse_balanced_accuracy, reverse_auroc,
  // reverse_auroc_delong (absent estimates left out).
  std::vector<std::pair<std::string, Estimate>> metrics() const;
};

// Per-class breakdown of one (model, modality) (results.json "per_class"; suites/classes.h says
// which class each image belongs to). Metrics have the per-modality names (fd / fid, kid,
// precision, ..., ms_ssim, fraction_memorized) and intervals; a class with too few images has
// null estimates whose note says why.
struct PerClassRow {
  std::string name;
  long long label = -1, n_real = -1, n_synthetic = -1;  // -1 = absent
  std::map<std::string, Estimate> metrics;    // this model's images of the class
  std::map<std::string, Estimate> reference;  // the class's real images: fd_real_floor, ms_ssim
};
struct PerClassEntry {
  std::string label_field;
  std::vector<PerClassRow> classes;                // class order (ascending label)
  std::map<std::string, std::string> worst_class;  // metric -> class name (file's "worst_class", else computed)
  // Metric names present in some class, canonical order (Results::metric_names' order, then
  // ms_ssim, fraction_memorized, then others alphabetically).
  std::vector<std::string> metric_names() const;
  const PerClassRow* row(const std::string& name) const;
  const PerClassRow* worst(const std::string& metric) const;  // nullptr: no class has a value
};
// The long-tail rule: among the classes whose `metric` value is a number, the one with the worst
// value in the metric's direction (the highest when lower is better, the lowest when higher is
// better); ties go to the first class in class order. -1 when no class has a value or the metric
// has no direction. MS-SSIM follows its compare direction (lower is better): the worst class is
// the least diverse one.
int worst_class_index(const std::vector<PerClassRow>& classes, const std::string& metric, Better better);

// Intensity/colour comparison of a generated set with the real set (metrics/intensity.h).
struct IntensityRow {
  std::string channel;  // "all", "gray", "red", "green", "blue", ...
  Estimate real_mean, generated_mean, mean_diff, real_std, generated_std;
  double wasserstein = kNaN;
  std::vector<double> real_hist, generated_hist;  // fractions per bin over [0, 1]
};
struct IntensityEntry {
  int channels = 0, bins = 0, corner = 0;
  long long n_real = 0, n_generated = 0;
  std::vector<IntensityRow> rows;
  bool has_background = false;
  Estimate real_background, generated_background;
};

struct ComputeEntry {
  std::optional<double> params, training_flops, wall_time_s, steps, images_per_s;
  std::string device;
};

// model -> modality -> metric -> Estimate (std::map: lookups; display order comes from the info lists).
using MetricTable = std::map<std::string, std::map<std::string, std::map<std::string, Estimate>>>;

// Feature files behind a model's FID on a modality (suite runs record them on the fid_population
// object as "features": {"real", "synthetic", "real_key"}; paths relative to results.json's folder,
// resolved here). compare's paired FID difference reads them.
struct FeatureFiles {
  std::filesystem::path real, synthetic;
  std::string real_key;  // content key of the real features (equal keys = the same real images)
};

struct Results {
  std::filesystem::path file;      // the results.json that was loaded ("" when parsed from memory)
  std::filesystem::path base_dir;  // its folder; relative paths resolve against it
  int schema_version = 1;
  std::string suite_name, suite_hash;
  nlohmann::ordered_json provenance;
  std::vector<ModelInfo> models;          // display order
  std::vector<ModalityInfo> modalities;   // display order
  std::map<std::string, MetricInfo> metric_overrides;  // the file's "metrics" section
  MetricTable results;
  std::map<std::string, std::map<std::string, Estimate>> reference;  // modality -> metric
  std::map<std::string, std::map<std::string, std::vector<std::string>>> samples;  // model -> modality
  // Real images of the same modality and class as samples[model][modality], one per sample.
  std::map<std::string, std::map<std::string, std::vector<std::string>>> samples_real;
  std::map<std::string, std::map<std::string, IntensityEntry>> intensity;          // model -> modality
  std::map<std::string, std::map<std::string, MemorizationEntry>> memorization;    // model -> modality
  std::map<std::string, std::map<std::string, DownstreamEntry>> downstream;        // model -> modality
  std::map<std::string, std::map<std::string, AdherenceEntry>> adherence;          // model -> modality
  std::map<std::string, std::map<std::string, PerClassEntry>> per_class;           // model -> modality
  std::map<std::string, ComputeEntry> compute;  // model -> cost
  std::map<std::string, std::map<std::string, FeatureFiles>> features;  // model -> modality
  std::string compute_device;
  std::vector<std::string> notes;

  const ModelInfo* model(const std::string& name) const;
  const ModalityInfo* modality(const std::string& name) const;
  const Estimate* find(const std::string& model, const std::string& modality, const std::string& metric) const;
  MetricInfo metric_info(const std::string& name) const;  // override, else the default table
  // Metric names present in `results`, canonical ones first (fid, kid, precision, recall, density,
  // coverage, ms_ssim, fid_real_floor), then the others alphabetically.
  std::vector<std::string> metric_names() const;
  std::vector<const ModelInfo*> generalists() const;
  std::vector<const ModelInfo*> specialists() const;
};

// Schema + semantic validation of a parsed results file; every error with its JSON path.
std::vector<SchemaError> validate_results(const nlohmann::ordered_json& j);

// Validates, then converts. InputError "FILE: N problem(s): ..." listing every error (FILE = `name`).
Results results_from_json(const nlohmann::ordered_json& j, const std::string& name);

// Reads, parses (InputError naming the file and parse position), validates and converts.
Results load_results(const std::filesystem::path& file);

// Parses a JSON file keeping key order (InputError naming the file on unreadable / invalid JSON).
nlohmann::ordered_json read_ordered_json_file(const std::filesystem::path& file);

// Formats a list of errors as "FILE: N problem(s):\n  $.a: ...\n  $.b: ...".
std::string format_errors(const std::string& file, const std::vector<SchemaError>& errors);

}  // namespace medsyn::reports
