#pragma once
// Command registration for the medsynbench executable.
//
// Conventions every command follows:
//  - `medsynbench <group> <command> [options]`; --help works on every level.
//  - Results go to stdout (--json for JSON, a human table otherwise); logs/progress to stderr.
//  - Exit codes: 0 success; 1 a check/comparison failed (throw CheckFailed or call
//    set_exit_code(1) after printing); 2 bad usage or input (throw InputError naming the
//    file/line/field). main.cpp does the mapping.
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json_fwd.hpp>

namespace medsyn {
struct Estimate;
}

namespace medsyn::cli {

void register_data_commands(CLI::App& root);
void register_data_import_commands(CLI::App& root);  // data import folder, data fetch, data demo (cmd_data_import.cpp)
void register_metrics_commands(CLI::App& root);       // features ..., metrics ...
void register_engine_commands(CLI::App& root);        // train, generate, engine ...
void register_memorization_commands(CLI::App& root);  // memorization [...], memorization train-embedder
void register_downstream_commands(CLI::App& root);    // stats ..., downstream
void register_suite_commands(CLI::App& root);         // suite ..., run, report, compare
void register_run_commands(CLI::App& root);           // run (cmd_run.cpp)

// Exit status for commands that report a failed check without an exception.
void set_exit_code(int code);
int exit_code();

// Prints JSON (pretty, 2 spaces) to stdout.
void print_json(const nlohmann::json& j);

// An estimate for people: "12.3456 [11.2, 13.4] (95% CI)" or "null (reason)".
std::string format_estimate(const Estimate& e, int precision);

// Standard --device option: validated when the command runs.
CLI::Option* add_device_option(CLI::App* cmd, std::string& device);

}  // namespace medsyn::cli

namespace medsyn::cli {
// Returns the existing top-level group `name` or creates it (several cli files add to "metrics").
CLI::App* group(CLI::App& root, const std::string& name, const std::string& description);
void register_features_commands(CLI::App& root);  // features extract, metrics fidelity (cmd_features.cpp)
void register_stats_commands(CLI::App& root);  // stats auc|delong|paired|adjust|bootstrap (cmd_stats.cpp)
void register_reader_study_commands(CLI::App& root);  // reader-study make|analyze (cmd_reader_study.cpp)
}  // namespace medsyn::cli
