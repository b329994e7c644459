#pragma once
// The suite runner (`medsynbench run S.json --out RUN_DIR`): turns a suite into content-addressed
// work units, runs what is missing, then writes RUN_DIR/results.json (reports/schema) and
// RUN_DIR/report/ (reports library). docs/suites.md is the user guide.
//
// Stages, in order (each stage's units only need earlier stages' units):
//   data          import each dataset source; per modality a real/ dataset (splits train, val,
//                 test) and holdout/ (memorization calibration), limited and windowed
//   train         models with source "train" (engine::train; a killed unit resumes from its last
//                 checkpoint with --resume)
//   generate      per (model, modality): n_generate images, prompts from the manifest (label mix
//                 of the training split) or the suite's list
//   features      extractor features of the real split and of every synthetic set
//   fidelity      FID / KID / precision / recall / density / coverage with bootstrap CIs
//   diversity     mean pairwise MS-SSIM of each synthetic set (and of the real set: reference)
//   memorization  nearest training images, calibrated on the holdout (memorization audit)
//   downstream    data-limited classifier experiments (real vs real+syn vs syn vs 2xreal)
//   compute       engine cost accounting per model (params, FLOPs, wall time, steps, images/s)
//   report        results.json + report/ (always rebuilt from the units; cheap)
//
// Work units: RUN_DIR/units/<stage>/<name>-<key16>/ where key = sha256 of the unit format version,
// the tool version, the stage and every input that determines the result (input content hashes,
// options, seeds, device). A unit is computed in "<dir>.partial/", its done.json (key, inputs,
// summary) is written last, then the folder is renamed into place: a unit folder without
// ".partial" is complete. A rerun reuses complete units and computes only missing ones; after a
// kill, leftover .partial folders are discarded (with --resume a training unit continues from its
// newest checkpoint instead).
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "medsyn/suites/suite.h"

namespace medsyn::suites {

// Stage names in execution order.
const std::vector<std::string>& stage_names();

// Parses "generate,fidelity" (InputError naming the unknown stage).
std::vector<std::string> parse_stage_list(const std::string& text);

struct RunOptions {
  std::filesystem::path suite_file;
  std::filesystem::path out;              // RUN_DIR
  bool resume = false;                    // continue partial training units; RUN_DIR must exist
  std::vector<std::string> only;          // empty = all stages
  std::optional<long> limit;              // cap images per split and n_generate per modality
  std::string device;                     // "" = the suite's device (default cpu)
  std::string command_line;               // recorded in provenance
};

struct StageStats {
  int units = 0, cached = 0, computed = 0;
  double seconds = 0;
};

struct RunSummary {
  std::filesystem::path results_json;     // "" when report did not run
  std::filesystem::path report_dir;
  std::map<std::string, StageStats> stages;
  std::vector<std::string> notes;
  double seconds = 0;
};

// Runs the suite. InputError for bad suites/options/data (naming file and field), CheckFailed never.
RunSummary run_suite(const RunOptions& options);

// Test hook: when the environment variable MEDSYN_SUITE_KILL_AT="<stage>:<k>" is set, the process
// sends itself SIGKILL inside the k-th unit it computes in that stage (1-based), after the unit's
// work and before its done.json: the state a `kill -9` mid-stage leaves behind.
inline constexpr const char* kKillHookEnv = "MEDSYN_SUITE_KILL_AT";

}  // namespace medsyn::suites
