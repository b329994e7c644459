#pragma once
// `medsynbench compare BASE.json CAND.json [--gates S.json] [--junit FILE.xml] [--json]`:
// per metric, model and modality the candidate-minus-baseline delta with its CI and a verdict, then
// regression gates. docs/reports.md is the user-facing description of the rules below.
//
// Entries compared: every metric object of `results` (metric name as is), memorization
// `fraction_memorized` ("memorization.fraction_memorized"), every downstream point
// ("downstream.<metric>", with arm and fraction) and the prompt-adherence numbers
// ("adherence.cas_accuracy", "adherence.reverse_auroc", ...: AdherenceEntry::metrics()) and every
// per-class metric ("per_class.<metric>", e.g. "per_class.fd", "per_class.ms_ssim",
// "per_class.fraction_memorized", with the class in `label`), matched by (section, model, modality,
// metric, arm, fraction, label).
//
// Verdict rules (direction from the metric table: lower-is-better for FID, KID, MS-SSIM, fraction
// memorized; higher-is-better for precision, recall, AUROC...):
//  - delta_ci (default): each side's standard error is taken from its CI as
//    se = (ci_high - ci_low) / (2 z), z = the normal quantile of the CI level (1.95996 for 95%);
//    delta = cand - base, CI = delta +- z sqrt(se_base^2 + se_cand^2) (independent samples).
//    The CI excludes 0 -> "improved" or "regressed" (by direction; "changed" for metrics without a
//    direction); otherwise "unchanged".
//  - overlap: the two CIs overlap -> "unchanged", else improved / regressed / changed.
//  - Either side without a CI: equal values -> "unchanged", otherwise "no_ci" (reported, never a
//    regression on its own; use a gate with a fixed threshold for such metrics).
//  - paired (any rule): when a PairedDelta hook is given and returns an estimate for an entry
//    (the CLI does so for fid_population when both runs recorded their feature files and used the
//    same real features: a paired bootstrap that resamples the real set once for both), the delta
//    and its CI are that estimate's, and the verdict is "improved"/"regressed" when its CI excludes
//    0, else "unchanged". `method` says which rule decided each delta.
//
// Gates (JSON, gate_schema()): an array of gate objects, or an object whose "gates" member is that
// array (a suite file). A gate selects entries by metric (required; qualified as above), model
// ("*" = any, the default), kind (generalist | specialist), modality ("*" default), arm, fraction,
// label (the class of a "per_class.<metric>" entry; "*" = every class, the default: a threshold
// gate over every class is a gate on the worst class);
// then for each selected entry checks  cand[field] OP rhs  with field = value (default) | ci_low |
// ci_high, OP one of <= < >= >, and rhs either a fixed "value" or the baseline's "baseline" field
// (value | ci_low | ci_high) plus "margin" plus "relative_margin" x |baseline field|. OP
// "not_regressed" instead requires the entry's verdict not to be "regressed". An entry present on
// only one side, or a gate that selects nothing, fails unless "on_missing": "skip".
// Exit status: with gates, 1 if any gate check fails; without gates, 1 if any verdict is
// "regressed" or an entry of the baseline is missing from the candidate; else 0. Bad input: 2.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "medsyn/reports/results.h"

namespace medsyn::reports {

enum class VerdictRule { delta_ci, overlap };
VerdictRule parse_verdict_rule(const std::string& s);  // "delta-ci" | "overlap"; InputError otherwise

struct Entry {
  std::string section;  // "results" | "memorization" | "downstream" | "adherence" | "per_class"
  std::string model, kind, modality, metric, arm;  // metric qualified: "fid", "memorization.fraction_memorized", ...
  double fraction = kNaN;                          // downstream only
  Estimate m;
  std::string label;            // per_class only: the class name
  std::string key() const;      // identity used for matching
  std::string subject() const;  // "fid(generalist, chest_xray)", "downstream.auroc(g, breast, real+syn @ 0.1)"
};
std::vector<Entry> comparable_entries(const Results& r);
Better metric_direction(const Results& r, const std::string& qualified_metric);

struct MetricDelta {
  Entry base, cand;
  Better better = Better::none;
  double delta = kNaN, delta_low = kNaN, delta_high = kNaN;  // cand - base, CI per the rule (NaN without CIs)
  std::string verdict;  // improved | regressed | unchanged | changed | no_ci
  std::string method;   // "delta-ci" | "overlap" | the paired estimate's ci_method
};

struct Gate {
  std::string name, json_path;  // json_path: where it was defined, e.g. $.gates[2]
  std::string metric, model = "*", kind, modality = "*", arm;
  std::optional<double> fraction;
  std::string label = "*";  // per_class metrics: the class ("*" = every class)
  std::string field = "value", op;
  std::optional<double> value;
  std::string baseline;  // "" when `value` is used
  double margin = 0, relative_margin = 0;
  bool skip_missing = false;
  std::string describe() const;  // e.g. "fid <= baseline.ci_high"
};
// The JSON Schema of one gate object (also $defs.gate of suites/schema/suite.schema.json).
const nlohmann::ordered_json& gate_schema();
// Parses gates (InputError "FILE: N problem(s): $.gates[1].op: ..." naming every bad field).
std::vector<Gate> parse_gates(const nlohmann::ordered_json& j, const std::string& file);
std::vector<Gate> load_gates(const std::filesystem::path& file);

struct GateCheck {
  std::string gate, subject, detail;
  bool passed = false, skipped = false;
};

struct CompareReport {
  std::string base_file, cand_file;
  VerdictRule rule = VerdictRule::delta_ci;
  std::vector<MetricDelta> deltas;
  std::vector<std::string> missing_in_candidate, new_in_candidate;  // subjects
  bool gates_given = false;
  std::vector<GateCheck> checks;
  std::vector<std::string> warnings;
  bool passed = true;
  int count(const std::string& verdict) const;
};

// Optional paired difference cand - base for one entry (nullopt: use the rule). The reports library
// computes no metrics itself; the caller (cli/cmd_suites.cpp) supplies this from the features.
using PairedDelta = std::function<std::optional<Estimate>(const Results& base, const Results& cand, const Entry& b,
                                                          const Entry& c)>;

CompareReport compare_results(const Results& base, const Results& cand, const std::vector<Gate>* gates,
                              VerdictRule rule = VerdictRule::delta_ci, const PairedDelta& paired = {});
nlohmann::ordered_json compare_to_json(const CompareReport& c);
std::string compare_to_text(const CompareReport& c);
std::string compare_to_junit(const CompareReport& c);

// Two-sided normal quantile for a CI level (0.95 -> 1.959964).
double normal_quantile_two_sided(double level);

}  // namespace medsyn::reports
