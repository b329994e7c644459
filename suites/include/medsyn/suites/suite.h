#pragma once
// A validated suite file as plain structs (suites/schema/suite.schema.json; suites/README.md).
// load_suite() validates first (every problem at once, validate.h) and throws one InputError
// "FILE: N problem(s):\n  $.path: reason ..." when anything is wrong, so the runner only ever sees
// well-formed suites. Paths are resolved (relative to the suite file, ${MEDSYN_DATA} expanded).
// Evaluation options are typed specs (specs.h), parsed here once; absent evaluations do not run.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "medsyn/suites/specs.h"

namespace medsyn::suites {

struct DatasetSpec {
  std::string name;
  std::string kind;                 // "medmnist" | "folder" | "import" | "demo"
  std::filesystem::path path;       // medmnist .npz, dataset folder, import source folder ("" for demo)
  std::string demo;                 // demo modality name (kind == "demo")
  std::string format = "images", modality, specialty, label_from = "folder";  // kind == "import"
  std::string split_train, split_holdout, split_val, split_test;  // manifest split names
  std::optional<long> limit;        // per split
};

struct ModalitySpec {
  std::string name;                 // the key: used in results.json
  std::string dataset;              // key of datasets
  std::string manifest_modality;    // the manifest's modality value when given ("" = see runner.h)
  std::string label, specialty;
  bool prompts_from_manifest = true;
  std::vector<std::string> prompts;
  int n_generate = 100;
  double range_lo = 0.0, range_hi = 1.0;  // data_range
  bool has_window = false;
  double window_center = 0.5, window_width = 1.0;
};

struct ModelSpec {
  std::string name, kind, label;    // kind: generalist | specialist
  std::vector<std::string> modalities;
  std::string source;               // native | train | folder | command
  std::filesystem::path path;       // native: checkpoint run dir; train: config (may be empty); folder: dataset
  std::string command;              // command template
  double timeout_s = 0;             // command: 0 = none
  std::optional<int> steps, batch, sample_steps;
  std::optional<std::uint64_t> seed;
  std::optional<std::string> sampler;
  std::optional<double> guidance;
  bool is_generalist() const { return kind == "generalist"; }
};

struct Suite {
  std::filesystem::path file, dir;  // the suite file and its folder
  std::string name, description;
  std::string hash;                 // "sha256:<hex>" of the file's bytes
  std::uint64_t seed = 0;
  std::string device = "cpu";
  std::vector<DatasetSpec> datasets;
  std::vector<ModalitySpec> modalities;
  std::vector<ModelSpec> models;
  EvaluationSpecs evaluations;
  nlohmann::ordered_json report = nlohmann::ordered_json::object();
  // execution.shard_size: images per shard unit for features and generation (0 = no sharding;
  // docs/cluster.md "Sharding large units").
  std::int64_t shard_size = 0;
  nlohmann::ordered_json json;      // the whole file

  // "fidelity" | "diversity" | "memorization" | "downstream" | "adherence" | "alignment" | "compute"; "" = true.
  bool has_evaluation(const std::string& name) const;
  const DatasetSpec& dataset(const std::string& name) const;
  const ModalitySpec& modality(const std::string& name) const;
  const ModelSpec& model(const std::string& name) const;
};

// Reads, validates and converts a suite file (InputError listing every problem).
Suite load_suite(const std::filesystem::path& file);

}  // namespace medsyn::suites
