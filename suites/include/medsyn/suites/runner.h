#pragma once
// The suite runner (`medsynbench run S.json --out RUN_DIR`): turns a suite into content-addressed
// work units, runs what is missing, then writes RUN_DIR/results.json (reports/schema) and
// RUN_DIR/report/ (reports library). docs/suites.md is the user guide.
//
// Stages, in order (each stage's units only need earlier stages' units): stage_names(); the one
// list with what each stage does is stage_table() in src/stages.cpp (suites/README.md shows it).
// An evaluation absent from the suite skips its stages.
//
// Work units (unit_store.h): RUN_DIR/units/<stage>/<name>-<key16>/ with unit.json (the unit's
// description: stage, name, spec, inputs, key), its outputs and done.json. key = sha256 of the
// unit format, the tool version, the stage, the name, the spec (the typed options, specs.h) and
// every input that determines the result (content hashes, upstream keys, seeds, device). A rerun
// reuses complete units and computes only missing ones; after a kill, leftover .partial folders
// are discarded (when resuming, a training unit continues from its newest checkpoint instead).
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "medsyn/suites/slurm.h"
#include "medsyn/suites/suite.h"
#include "medsyn/suites/unit_store.h"

namespace medsyn::suites {

// Stage names in execution order ("report" last).
const std::vector<std::string>& stage_names();
// The stage names joined by `separator` (help texts).
std::string stage_list(const std::string& separator);

// Parses "generate,fidelity" (InputError naming the unknown stage).
std::vector<std::string> parse_stage_list(const std::string& text);

struct RunOptions {
  std::filesystem::path suite_file;
  std::filesystem::path out;              // RUN_DIR
  bool resume = false;                    // continue partial training units; RUN_DIR must hold a run
  std::vector<std::string> only;          // stages that may compute; empty = all
  std::optional<long> limit;              // cap images per split and n_generate per modality
  std::string device;                     // "" = the suite's device (default cpu)
  std::string command_line;               // recorded in provenance
  // Who computes the missing units: "local" (this process, stage by stage) or "slurm" (job
  // arrays, slurm.h; planning here, computing in `run-unit` tasks). Both plan the same units.
  std::string executor = "local";
  SlurmOptions slurm;
  double slurm_poll_seconds = 5;          // --wait: squeue interval (MEDSYN_SLURM_POLL_S)
};

struct RunSummary {
  std::filesystem::path results_json;     // "" when report did not run
  std::filesystem::path report_dir;
  std::map<std::string, StageStats> stages;
  std::vector<std::string> notes;
  double seconds = 0;
  // Slurm executor: the jobs submitted by this call (arrays, then the continue job), the job
  // graph, and with --wait its outcome: exit_code 0 (results.json written) or 1 (`failure`
  // names the unit, its job id and log file).
  std::vector<std::string> slurm_jobs;
  std::string slurm_graph;
  int exit_code = 0;
  std::string failure;
};

// Runs the suite. InputError for bad suites/options/data (naming file and field), CheckFailed never.
RunSummary run_suite(const RunOptions& options);

// `medsynbench run-unit RUN_DIR UNIT_ID...` (a Slurm task): computes the units UNIT_ID
// ("<stage>/<folder>") of the run in RUN_DIR from their descriptions (units/<id>.unit.json,
// written by the planner) through compute_unit_atomically, exactly as the local executor does; the
// suite, limit and device come from RUN_DIR/run.json. One process, suite load and LibTorch start
// for all of them. `resume`: a partial resumable unit continues. Every id is checked first
// (InputError for an unknown unit or a description that does not match its folder); a unit that
// fails is recorded in its outcome and the others still run (they are independent: one wave).
struct UnitOutcome {
  enum class Status { computed, already_complete, failed };
  std::string id;
  Status status = Status::computed;
  std::string error;         // failed: what went wrong
  bool input_error = false;  // failed on bad input (an InputError: exit 2), not a fault
};
std::vector<UnitOutcome> run_units(const std::filesystem::path& run_dir, const std::vector<std::string>& unit_ids, bool resume);

// One unit: false when it was already complete; its failure is rethrown.
bool run_unit(const std::filesystem::path& run_dir, const std::string& unit_id, bool resume);

// Test hook: when the environment variable MEDSYN_SUITE_KILL_AT="<stage>:<k>" is set, the process
// sends itself SIGKILL inside the k-th unit it computes in that stage (1-based), after the unit's
// work and before its done.json: the state a `kill -9` mid-stage leaves behind. run_suite reads it
// in one place and injects it into the unit store (UnitStore::set_after_work).
inline constexpr const char* kKillHookEnv = "MEDSYN_SUITE_KILL_AT";

}  // namespace medsyn::suites
