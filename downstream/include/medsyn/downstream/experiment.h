#pragma once
// Data-limited downstream experiments (`medsynbench downstream`): for each fraction f of the real
// training split and each seed, train the classifier of classifier.h on
//   real      f of the real training split (stratified by label)
//   real+syn  the same real images plus synthetic_ratio x as many synthetic ones (class-balanced)
//   syn       synthetic images only, as many as `real` has (class-balanced)
//   2xreal    twice the real images of every class (2f); infeasible where 2f exceeds the split
//             (always at f = 1.0): such cells are skipped and say so in `notes`
// select each model on the real validation split and evaluate it on the untouched real test split;
// then compare every arm with `real` (and `real+syn` with `2xreal`) over seeds (paired t-test and
// Wilcoxon signed-rank on test AUROC, paired DeLong per seed for binary tasks), correcting the
// p-values for multiple testing across the whole family (Holm by default, or BH). Subsets follow
// mix.h (nested across fractions, shared by all arms of a seed: a paired design).
//
// Plain structs, no LibTorch. run_downstream writes, when out_dir is set:
//   results.json       options, data, per-run metrics, per-arm summaries, comparisons, provenance
//   table.md           summary and comparison tables (Markdown)
//   table.csv          one row per (fraction, arm): mean and 95% CI of each metric
//   comparisons.csv    one row per comparison: differences, p-values, adjusted p, verdict
//   runs.csv           one row per trained model (fraction, arm, seed, sizes, metrics, selection)
//   predictions/f<fraction>_seed<k>.csv   test predictions of every arm of that fraction and seed:
//                      index,path,label,<arm>... (binary: P(class 1) per arm; K > 2: <arm>:p<c>)
//                      ready for `medsynbench stats auc|delong|bootstrap --label-col label`.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "medsyn/core/estimate.h"
#include "medsyn/downstream/classifier.h"

namespace medsyn::downstream {

inline constexpr const char* kDownstreamSchema = "medsynbench.downstream/1";

// Arm names, in their canonical order.
inline constexpr const char* kArmReal = "real";
inline constexpr const char* kArmRealSyn = "real+syn";
inline constexpr const char* kArmSyn = "syn";
inline constexpr const char* kArmTwiceReal = "2xreal";
std::vector<std::string> all_arms();

// Sanity controls that need no generator: the "synthetic" pool is a stratified half of the real
// training split, held out from every real arm (fixed by `seed_base`, the same for all seeds).
//   positive: the held-out images with their true labels (real+syn should beat real)
//   negative: the held-out images with labels randomly permuted (real+syn should not beat real;
//             syn should be at chance)
enum class Control { none, positive, negative };
Control parse_control(const std::string& name);  // "none" | "positive" | "negative"
std::string to_string(Control c);

struct DownstreamOptions {
  std::filesystem::path real_dir;       // dataset with train/val/test splits and labels
  std::filesystem::path synthetic_dir;  // dataset with labels (records of split "" or "train")
  std::filesystem::path out_dir;        // empty: write nothing
  std::string modality;                 // empty: the real dataset's only modality
  std::string label_field = "label";    // manifest field holding the class (integer or integer text)
  std::vector<double> fractions = {0.01, 0.05, 0.1, 0.25, 1.0};
  std::vector<std::string> arms = {"real", "real+syn", "syn", "2xreal"};
  double synthetic_ratio = 1.0;
  int seeds = 10;                       // seeds 0 .. seeds-1, each derived from seed_base
  std::uint64_t seed_base = 0;
  ClassifierOptions classifier;
  std::string adjust = "holm";          // "holm" | "bh"
  double alpha = 0.05;                  // for verdicts
  std::string test = "t";               // test behind verdicts and adjusted p: "t" | "wilcoxon"
  int jobs = 0;                         // parallel training runs (CPU); 0 = all cores
  Control control = Control::none;      // with a control, synthetic_dir must be empty
  std::string command_line;             // recorded in results.json
};

// Validates options that need no files (fractions, arms, ratio, seeds, ...). InputError naming
// the option.
void validate(const DownstreamOptions& options);

// Metrics of one model on the real test split.
struct TestMetrics {
  double auroc = 0, accuracy = 0, balanced_accuracy = 0, f1 = 0;
};

struct RunRecord {
  double fraction = 0;
  std::string arm;
  int seed = 0;                    // 0 .. seeds-1
  std::uint64_t train_seed = 0;    // derived; the same for every arm and fraction of a seed
  std::size_t n_real = 0, n_syn = 0;
  std::vector<std::size_t> class_counts;  // training images per class (real + synthetic)
  std::string subset_sha256;       // of the sorted training image paths
  TestMetrics test;
  double best_val_auroc = 0;
  int best_checkpoint = 0;
  int steps = 0;
  double seconds = 0;
};

struct ArmSummary {
  double fraction = 0;
  std::string arm;
  bool feasible = true;
  std::size_t n_real = 0, n_syn = 0;  // per run (the same for every seed)
  // Test metrics over seeds: value = mean, 95% Student-t interval (stats::t_interval_mean:
  // ci_method "t over seeds", n = seeds; no interval when n < 2, [mean, mean] when all equal).
  Estimate auroc, accuracy, balanced_accuracy, f1;
  // Sample standard deviation over seeds of the same four (NaN when n < 2).
  double auroc_sd = std::numeric_limits<double>::quiet_NaN(), accuracy_sd = std::numeric_limits<double>::quiet_NaN(),
         balanced_accuracy_sd = std::numeric_limits<double>::quiet_NaN(), f1_sd = std::numeric_limits<double>::quiet_NaN();
};

struct Comparison {
  double fraction = 0;
  std::string a, b;                 // a vs b; differences are a - b (test AUROC)
  std::size_t n = 0;                // seeds
  double mean_a = 0, mean_b = 0;
  double mean_diff = 0, ci_low = 0, ci_high = 0;  // paired t interval of the mean difference
  double t = 0, df = 0, p_t = 0;
  double w = 0, p_wilcoxon = 0;
  std::string wilcoxon_method;
  double p_adjusted = 0;            // of the verdict test (options.test), across the family
  double p_t_adjusted = 0, p_wilcoxon_adjusted = 0;
  // Paired DeLong per seed (binary tasks): p-values and how many seeds are significant each way.
  std::vector<double> delong_p, delong_diff;
  int delong_better = 0, delong_worse = 0;
  std::string verdict;              // "better" | "worse" | "no significant difference" | "not tested"
  std::vector<std::string> warnings;
};

struct DataSummary {
  std::string modality;
  std::vector<long> classes;        // original label values; index = class id
  std::vector<std::string> class_names;
  std::size_t n_train = 0, n_val = 0, n_test = 0, n_synthetic = 0;
  std::size_t n_synthetic_excluded = 0;  // synthetic records of split val/test (never used)
  int channels = 0, height = 0, width = 0;
  std::size_t synthetic_resized = 0;     // synthetic images resized / channel-converted
  std::string real_manifest_sha256, synthetic_manifest_sha256;
};

struct DownstreamResult {
  DataSummary data;
  std::vector<RunRecord> runs;
  std::vector<ArmSummary> arms;
  std::vector<Comparison> comparisons;
  std::vector<std::string> notes;   // infeasible cells, synthetic shortfalls, warnings
  std::string started, finished;    // UTC ISO 8601
  double seconds = 0;
  int jobs = 0;
};

// Runs the whole experiment (and writes out_dir when set). InputError for bad options or inputs
// (naming the file, record and field).
DownstreamResult run_downstream(const DownstreamOptions& options);

// The results JSON (what results.json holds), with provenance_json.
nlohmann::json downstream_json(const DownstreamOptions& options, const DownstreamResult& result);
// The summary and comparison tables in Markdown.
std::string downstream_markdown(const DownstreamOptions& options, const DownstreamResult& result);
// Writes results.json, table.md, table.csv, comparisons.csv, runs.csv into options.out_dir.
void write_downstream_outputs(const DownstreamOptions& options, const DownstreamResult& result);

// Parses "0.01,0.05,1" (InputError naming `option` on a bad item) and "real,syn".
std::vector<double> parse_fraction_list(const std::string& text, const std::string& option = "--fractions");
std::vector<std::string> parse_arm_list(const std::string& text, const std::string& option = "--arms");

}  // namespace medsyn::downstream
