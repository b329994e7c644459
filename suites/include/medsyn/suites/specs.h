#pragma once
// Typed evaluation options of a suite (`evaluations.<name>` in suites/schema/suite.schema.json),
// parsed once by load_suite. Each default is written here exactly once and, where the library
// has the same option, taken from the library's option struct (metrics::FidelityOptions{}, ...),
// so the suite format, the CLI (which uses the same structs) and the library cannot disagree.
// suites/README.md lists the defaults and the decisions behind them.
//
// A spec's JSON (to_json, keys sorted when hashed) is the `spec` of the work units it configures
// and thereby part of their cache key: a field added here is in the key without further work.
// Fields that only decide *which* units exist (not what a unit computes) are "planning fields";
// unit_spec_json() leaves them out so that, e.g., adding a downstream modality does not recompute
// the other modalities' downstream units. Each spec lists its planning fields in one place.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "medsyn/downstream/adherence.h"
#include "medsyn/metrics/clip_score.h"
#include "medsyn/downstream/experiment.h"
#include "medsyn/engine/engine.h"
#include "medsyn/memorization/audit.h"
#include "medsyn/memorization/contrastive.h"
#include "medsyn/metrics/diversity.h"
#include "medsyn/metrics/fidelity.h"

namespace medsyn::suites {

// The suite's default extractor/embedder: the library has none (the CLI requires --extractor /
// --embedder); pixels at MedMNIST's native 28x28 need no weights and run everywhere.
inline constexpr const char* kDefaultPixelsSpec = "builtin:pixels:28";

// "builtin:contrastive:suite": the contrastive embedder (memorization/contrastive.h) trained by
// the run itself on its real training images (every modality's train split, one unit of the
// features stage), then used as the fidelity extractor. Options after '?' (layer=, views=,
// zooms=) are builtin:contrastive's. is_suite_extractor() is true for this spec with any options.
inline constexpr const char* kSuiteExtractorSpec = "builtin:contrastive:suite";
bool is_suite_extractor(const std::string& spec);

// How the suite-trained extractor is trained (`evaluations.fidelity.extractor_training`). The
// library's defaults (memorization::ContrastiveTrainOptions) are tuned for copy detection; a
// fidelity space differs in four: fewer epochs (the quickstart's budget), SimCLR augmentations
// (invariance to crops and photometric changes, not only to the copy edits), a 16-d projection
// (a Fréchet distance needs more images than dimensions: the quickstart's demo modalities have
// 32) and single views (no flip or zoom averaging: a mirrored anatomy is a fidelity defect).
// The seed is derived from the suite seed (provenance.seeds "extractor_training").
struct ExtractorTrainingSpec {
  int epochs = 20;
  int size = memorization::ContrastiveTrainOptions{}.size;
  int width = memorization::ContrastiveTrainOptions{}.width;
  int dim = 16;
  int pool = memorization::ContrastiveTrainOptions{}.pool;
  int batch = memorization::ContrastiveTrainOptions{}.batch;
  double temperature = memorization::ContrastiveTrainOptions{}.temperature;
  double lr = memorization::ContrastiveTrainOptions{}.lr;
  std::string augment = "simclr";  // copy | simclr
  std::string view_zooms;          // "" = none (memorization's default averages five zooms)
  bool flip_symmetric = false;
  std::int64_t max_images = 0;     // per modality: the first N training images (0 = all)
};

struct FidelitySpec {
  std::string extractor = kDefaultPixelsSpec;
  // Set exactly when `extractor` is the suite-trained one (defaults when the suite gives none).
  std::optional<ExtractorTrainingSpec> extractor_training;
  int bootstrap = metrics::FidelityOptions{}.bootstrap;
  double ci_level = metrics::FidelityOptions{}.ci_level;
  int k = metrics::FidelityOptions{}.k;
  int kid_subsets = metrics::FidelityOptions{}.kid_subsets;
  std::int64_t kid_subset_size = metrics::FidelityOptions{}.kid_subset_size;  // capped at the smaller set when run
  std::string real_split = "train";  // the real role compared against: train | val | test
};

struct DiversitySpec {
  std::int64_t pairs = metrics::DiversityOptions{}.pairs;  // 0 = every pair ("all" in JSON)
  int scales = 0;  // 0 = the most scales (at most the library's default) the smallest image allows
  int win_size = metrics::DiversityOptions{}.ms_ssim.ssim.win_size;
  int bootstrap = metrics::DiversityOptions{}.bootstrap.replicates;
  bool reference = true;  // planning: also the real training images (results.json `reference`)
};

// Prompt replay (CheXGenBench's protocol, memorization/replay.h): `prompts` training records are
// sampled per (model, modality) and their prompts generated `images_per_prompt` times each.
struct ReplaySpec {
  int prompts = 16;
  int images_per_prompt = 4;
};

struct MemorizationSpec {
  std::string embedder = kDefaultPixelsSpec;
  int k = memorization::AuditOptions{}.k;
  std::string index = memorization::to_string(memorization::AuditOptions{}.index);  // flat | ivf | hnsw
  double threshold_quantile = memorization::AuditOptions{}.threshold_quantile;
  std::vector<double> thresholds = memorization::AuditOptions{}.thresholds;
  int top_pairs = memorization::AuditOptions{}.top_pairs;
  bool redact_real = memorization::AuditOptions{}.redact_real;
  std::string train_zooms = memorization::AuditOptions{}.train_zooms;
  // planning: absent = no replay units. The replay units' own spec holds it; the audit's does not.
  std::optional<ReplaySpec> replay;
};

struct DownstreamSpec {
  // planning: the modalities with experiments; absent = every modality whose real records all
  // carry integer labels (>= 2 classes)
  std::optional<std::vector<std::string>> modalities;
  std::vector<double> fractions = downstream::DownstreamOptions{}.fractions;
  std::vector<std::string> arms = downstream::DownstreamOptions{}.arms;
  int seeds = downstream::DownstreamOptions{}.seeds;
  double synthetic_ratio = downstream::DownstreamOptions{}.synthetic_ratio;
  std::string label_field = downstream::DownstreamOptions{}.label_field;
  std::string adjust = downstream::DownstreamOptions{}.adjust;  // holm | bh
  std::string test = downstream::DownstreamOptions{}.test;      // t | wilcoxon
  int epochs = downstream::ClassifierOptions{}.epochs;
};

// Prompt adherence: CAS (real-trained classifiers on the synthetic images, against the classes
// their prompts name) and the reverse CAS (downstream/adherence.h).
struct AdherenceSpec {
  // planning: the modalities scored; absent = every modality whose real records all carry
  // integer labels (>= 2 classes), as for downstream
  std::optional<std::vector<std::string>> modalities;
  int seeds = downstream::AdherenceOptions{}.seeds;
  int epochs = downstream::ClassifierOptions{}.epochs;
  std::string label_field = downstream::AdherenceOptions{}.label_field;
  bool reverse = downstream::AdherenceOptions{}.reverse;
  double ci_level = downstream::AdherenceOptions{}.ci_level;
};

// Prompt alignment: a CLIP-style score of each generated image with its prompt
// (metrics/clip_score.h), from the user's image tower and a file of prompt embeddings computed by
// the user's text tower. Paths relative to the suite file; ${MEDSYN_DATA} expands.
struct AlignmentSpec {
  // planning: the modalities scored; absent = every modality
  std::optional<std::vector<std::string>> modalities;
  std::string image_tower;        // planning: an extractor spec (e.g. torchscript-preset:cmmd-clip:PATH)
  std::string prompt_embeddings;  // planning: E.json ({prompt: vector}) or E.npy (N x d)
  std::string prompts;            // planning: E.npy's prompt list; "" = the sidecar E.npy.prompts.txt
  int bootstrap = metrics::ClipScoreOptions{}.bootstrap;
  double ci_level = metrics::ClipScoreOptions{}.ci_level;
};

struct ComputeSpec {
  bool measure = engine::CostOptions{}.measure;
  int measure_steps = engine::CostOptions{}.measure_steps;
};

// The evaluations a suite asks for; absent = that evaluation (and its stages) does not run.
struct EvaluationSpecs {
  std::optional<FidelitySpec> fidelity;
  std::optional<DiversitySpec> diversity;
  std::optional<MemorizationSpec> memorization;
  std::optional<DownstreamSpec> downstream;
  std::optional<AdherenceSpec> adherence;
  std::optional<AlignmentSpec> alignment;
  std::optional<ComputeSpec> compute;
};

// Parsing: `where` names the object (e.g. "S.json: $.evaluations.diversity"); an error names
// where + ".field" and what is wrong (InputError). Absent fields keep their defaults. The same
// functions read a unit.json's spec back.
FidelitySpec fidelity_spec_from_json(const nlohmann::json& j, const std::string& where);
DiversitySpec diversity_spec_from_json(const nlohmann::json& j, const std::string& where);
MemorizationSpec memorization_spec_from_json(const nlohmann::json& j, const std::string& where);
DownstreamSpec downstream_spec_from_json(const nlohmann::json& j, const std::string& where);
AdherenceSpec adherence_spec_from_json(const nlohmann::json& j, const std::string& where);
AlignmentSpec alignment_spec_from_json(const nlohmann::json& j, const std::string& where);
ComputeSpec compute_spec_from_json(const nlohmann::json& j, const std::string& where);
// `evaluations` of a suite file; `where` = "FILE: $.evaluations".
EvaluationSpecs evaluation_specs_from_json(const nlohmann::json& j, const std::string& where);

// Every field, in the suite file's form (parsing it back gives the same spec).
nlohmann::json to_json(const FidelitySpec& s);
nlohmann::json to_json(const DiversitySpec& s);
nlohmann::json to_json(const MemorizationSpec& s);
nlohmann::json to_json(const DownstreamSpec& s);
nlohmann::json to_json(const AdherenceSpec& s);
nlohmann::json to_json(const AlignmentSpec& s);
nlohmann::json to_json(const ComputeSpec& s);

// The fields that only decide which units exist (left out of unit specs).
const std::vector<std::string>& planning_fields(const std::string& evaluation);
// to_json(spec) without its planning fields: the `spec` of the evaluation's units.
template <class Spec>
nlohmann::ordered_json unit_spec_json(const Spec& s, const std::string& evaluation) {
  nlohmann::json j = to_json(s);
  for (const auto& f : planning_fields(evaluation)) j.erase(f);
  return nlohmann::ordered_json::parse(j.dump());
}

ExtractorTrainingSpec extractor_training_spec_from_json(const nlohmann::json& j, const std::string& where);
nlohmann::json to_json(const ExtractorTrainingSpec& s);
// The training options (seed and device: set by the caller).
memorization::ContrastiveTrainOptions to_options(const ExtractorTrainingSpec& s);

// The library options a spec configures (device, seeds, paths: set by the caller).
metrics::FidelityOptions to_options(const FidelitySpec& s);
metrics::DiversityOptions to_options(const DiversitySpec& s);  // ms_ssim.scales: see DiversitySpec::scales
memorization::AuditOptions to_options(const MemorizationSpec& s);
downstream::DownstreamOptions to_options(const DownstreamSpec& s);
downstream::AdherenceOptions to_options(const AdherenceSpec& s);
engine::CostOptions to_options(const ComputeSpec& s);

}  // namespace medsyn::suites
