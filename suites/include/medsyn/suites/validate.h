#pragma once
// Suite files (suites/schema/suite.schema.json, documented in suites/README.md): loading and
// validation. Validation reports every problem at once, each with its JSON path and reason:
// schema errors (unknown keys, wrong types, missing fields), unknown references (a modality's
// dataset, a model's modalities, gates' model/modality), and files that do not exist (dataset
// sources, checkpoints, image folders, training configs, TorchScript extractors).
// Relative paths resolve against the suite file's folder; ${MEDSYN_DATA} expands to the shared data
// folder ($MEDSYN_SHARED_DATA_DIR, else the build's ../shared/data next to the checkout).
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace medsyn::suites {

struct SuiteProblem {
  std::string path;     // JSON path, e.g. $.models.spec_chest.modalities[0]
  std::string message;  // what is wrong
};

// The embedded copy of suites/schema/suite.schema.json.
const nlohmann::ordered_json& suite_schema();

// Expands ${MEDSYN_DATA} and resolves a relative path against `suite_dir`.
std::filesystem::path resolve_suite_path(const std::string& value, const std::filesystem::path& suite_dir);
std::filesystem::path shared_data_dir();

// Validates a parsed suite; `suite_dir` resolves relative paths. Empty = valid.
std::vector<SuiteProblem> validate_suite(const nlohmann::ordered_json& suite, const std::filesystem::path& suite_dir);

// Reads and validates a suite file. Throws InputError naming the file when it is not JSON.
std::vector<SuiteProblem> validate_suite_file(const std::filesystem::path& file);

// Warnings, not errors: modalities whose n_generate is below a metric's minimum sample size
// (metrics/sample_size.h), so that metric will be null in results.json. FID's minimum depends on
// the feature dimension, known here for builtin:pixels extractors only (the real set's size is
// known only when the data is imported; the runner records those in results.json's notes).
std::vector<SuiteProblem> sample_size_warnings(const nlohmann::ordered_json& suite);
std::vector<SuiteProblem> sample_size_warnings_file(const std::filesystem::path& file);

// Warnings: gates naming a Fréchet metric by the spelling the suite's feature space does not
// use ("fid" with a non-Inception extractor is reported as "fd", and the reverse;
// core/feature_space.h), so the gate would find no such metric in results.json.
std::vector<SuiteProblem> frechet_gate_warnings(const nlohmann::ordered_json& suite);

// Every warning of a valid suite file: sample sizes, then gate metric names.
std::vector<SuiteProblem> suite_warnings_file(const std::filesystem::path& file);

}  // namespace medsyn::suites
