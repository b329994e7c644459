#pragma once
// Prompt adherence without downloaded weights: the Classification Accuracy Score (CAS, Ravuri &
// Vinyals 2019) with the downstream classifier of classifier.h.
//
//   cas       train on the REAL training split (labels from the manifest), select on the real val
//             split, predict the SYNTHETIC images: does the image show the class its prompt asked
//             for? Accuracy, balanced accuracy and AUROC against the intended labels, per class too.
//   real      the same models on the real test split: what CAS is to be read against (a
//             generator whose images are as recognisable as real ones reaches it).
//   reverse   train on the SYNTHETIC images with their intended labels, select on the real val
//             split, test on the real test split (Ravuri & Vinyals's "reverse" score; the
//             downstream `syn` arm with every labelled synthetic image).
//
// Intended label of a synthetic image (`LabelSources` counts each way):
//   1. its prompt names a class: the prompt, normalised as the engine does (lower case, runs of
//      white space -> one space, trimmed), equals the prompt of real TRAINING records of the
//      modality that all carry one class (the suite's prompts "from_manifest" are exactly these);
//   2. otherwise the record's own label (`label_field`), when it has one (a generator that
//      recorded the class it was conditioned on; must be a class of the real data);
//   3. otherwise the image is excluded and counted (a prompt that names no class, e.g. a
//      modality-level prompt, or one shared by training records of several classes).
//   Where prompt and record label disagree, the prompt wins and the disagreement is counted.
//   Records of split val/test are never used (as in experiment.h), so pointing `synthetic_dir` at
//   a real dataset cannot train the reverse classifier on the real test images.
//
// Intervals (every one a medsyn::Estimate stating level, method and estimand):
//   accuracy, balanced_accuracy, auroc, and each class's accuracy (its recall: the fraction of the
//   images prompted as that class that the classifier assigns to it): mean over classifier seeds
//   with a Student-t interval ("t over seeds": training randomness at this fixed test set; null
//   interval with one seed).
//   auroc_delong and each class's one-vs-rest auroc: AUROC of the seed ensemble (probabilities
//   averaged over seeds) with the DeLong interval (stats/auc.h, as pROC's ci.auc: test-sample
//   randomness for this trained ensemble). Binary tasks only for auroc_delong; K > 2: null with the
//   reason (the per-class one-vs-rest AUROCs carry theirs).
//   Too few images (none with an intended label, a single class where AUROC needs two) -> null
//   value with the reason in `note`, never an error.
//
// Plain structs, no LibTorch. run_adherence writes, when out_dir is set:
//   results.json   options, data, label sources, cas / real / reverse with per-class rows,
//                  per-seed values, notes, provenance (schema medsynbench.adherence/1)
//   table.md       the three directions and the per-class table (Markdown)
//   predictions/cas.csv, predictions/real.csv, predictions/reverse.csv
//                  index,path,label,ensemble,seed0,... (binary: P(class 1); K > 2: <col>:p<c>)
//                  ready for `medsynbench stats auc|delong --label-col label`.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "medsyn/core/estimate.h"
#include "medsyn/downstream/classifier.h"
#include "medsyn/downstream/experiment.h"

namespace medsyn::downstream {

inline constexpr const char* kAdherenceSchema = "medsynbench.adherence/1";

struct AdherenceOptions {
  std::filesystem::path real_dir;       // dataset with train/val/test splits and labels
  std::filesystem::path synthetic_dir;  // generated images with prompts (and/or labels)
  std::filesystem::path out_dir;        // empty: write nothing
  std::string modality;                 // empty: the real dataset's only modality
  std::string label_field = "label";    // manifest field holding the class (real; synthetic fallback)
  int seeds = 5;                        // classifier seeds 0 .. seeds-1, derived from seed_base
  std::uint64_t seed_base = 0;
  bool reverse = true;                  // also train on synthetic, test on real
  double ci_level = 0.95;               // of every interval
  ClassifierOptions classifier;
  int jobs = 0;                         // parallel training runs (CPU); 0 = all cores
  std::string command_line;             // recorded in results.json
};

// Options that need no files; InputError naming the option.
void validate(const AdherenceOptions& options);

// How the synthetic images' intended classes were found (see the header comment).
struct LabelSources {
  std::size_t records = 0;            // synthetic records of the modality
  std::size_t split_excluded = 0;     // of split val/test (never used)
  std::size_t by_prompt = 0;          // class named by the prompt
  std::size_t by_label = 0;           // prompt names none; the record's label field
  std::size_t no_label = 0;           // excluded: neither
  std::size_t ambiguous_prompt = 0;   // of no_label + by_label: the prompt is shared by several classes
  std::size_t conflicts = 0;          // prompt and record label disagree (the prompt won)
  std::size_t used() const { return by_prompt + by_label; }
};

struct ClassAdherence {
  long label = 0;           // the class's label value (integer labels) or index
  std::string name;         // label_name / text label
  std::size_t n = 0;        // test images of this class
  Estimate accuracy;        // recall of the class, mean over seeds (t interval)
  Estimate auroc;           // one-vs-rest AUROC of the seed ensemble (DeLong interval)
};

// One direction (cas, real or reverse).
struct AdherenceScores {
  std::size_t n = 0;                  // test images
  std::size_t n_train = 0;            // training images of each model
  Estimate accuracy, balanced_accuracy, auroc;  // mean over seeds, t interval
  Estimate auroc_delong;              // seed ensemble, DeLong (binary tasks)
  std::vector<ClassAdherence> classes;  // every class of the real data, in class order
  int worst_class = -1;               // index into classes: lowest accuracy among classes with images
  std::vector<double> seed_accuracy, seed_auroc;  // per seed
  std::vector<double> ensemble_probs;  // n x K, probabilities averaged over seeds
  std::vector<int> labels;             // n, class indices (intended labels for cas)
  std::vector<std::string> paths;      // n, image paths (for predictions/*.csv)
  std::vector<std::vector<double>> seed_probs;  // per seed: n x K
  bool computed = false;              // false: every estimate is null with the reason
};

struct AdherenceResult {
  DataSummary data;        // real data; n_synthetic = images used
  LabelSources sources;
  AdherenceScores cas, real, reverse;
  std::vector<std::string> notes;
  std::string started, finished;  // UTC ISO 8601
  double seconds = 0;
  int jobs = 0;
};

// Trains seeds x (cas, reverse) classifiers and scores them (and writes out_dir when set).
// InputError for bad options or inputs (naming the file, record and field).
AdherenceResult run_adherence(const AdherenceOptions& options);

// The results JSON (what results.json holds), with provenance_json; per-image values are in
// predictions/*.csv, not here.
nlohmann::json adherence_json(const AdherenceOptions& options, const AdherenceResult& result);
// The three directions and the per-class table in Markdown.
std::string adherence_markdown(const AdherenceOptions& options, const AdherenceResult& result);
// Writes results.json, table.md and predictions/*.csv into options.out_dir.
void write_adherence_outputs(const AdherenceOptions& options, const AdherenceResult& result);

// The prompt normalisation used to match prompts: lower case, runs of white space -> one space,
// trimmed (the engine's normalise_prompt; downstream may not link the engine, a suites test
// checks the two agree).
std::string normalise_adherence_prompt(const std::string& prompt);

}  // namespace medsyn::downstream
