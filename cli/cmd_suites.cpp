// Commands of the suites module: `report` and `compare` (reports library) and `suite validate`
// (suites library; `run` is in cmd_run.cpp). Each command has its own register_* function below;
// register_suite_commands calls them all, so adding a command is one function and one call.
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "commands.h"
#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/estimate.h"
#include "medsyn/core/json.h"
#include "medsyn/core/npy.h"
#include "medsyn/metrics/calibrated.h"
#include "medsyn/core/progress.h"
#include "medsyn/reports/compare.h"
#include "medsyn/reports/report.h"
#include "medsyn/reports/results.h"
#include "medsyn/suites/validate.h"

namespace medsyn::cli {

namespace {

namespace rep = medsyn::reports;
namespace fs = std::filesystem;

// ---- medsynbench report RUN_DIR/results.json --out DIR
void register_report_command(CLI::App& root) {
  struct Args {
    std::string results, out;
    rep::ReportOptions o;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  auto* c = root.add_subcommand("report", "Tables (md, tex, csv), figures (PNG) and a self-contained index.html from a results.json");
  c->add_option("results", a->results, "RUN_DIR/results.json")->required();
  c->add_option("--out", a->out, "Output folder")->required();
  c->add_flag("--strict", a->o.strict, "Missing or unreadable images (samples, memorization figures) are errors, not notes");
  c->add_option("--samples", a->o.samples_per_grid, "At most this many samples per (modality, model) grid")->capture_default_str();
  c->add_option("--columns", a->o.grid_columns, "Samples per row in grids")->capture_default_str();
  c->add_option("--panel", a->o.panel, "Pixels per sample in grids")->capture_default_str();
  c->add_option("--reader-study", a->o.reader_study,
                 "A reader study's reader_study.json (reader-study analyze); default RUN_DIR/reader-study/reader_study.json when present");
  c->add_flag("--redact-real", a->o.redact_real, "Draw no real images: sample grids omit their row of real images (with a note)");
  c->add_flag("--json", a->json, "Print the list of written files as JSON");
  c->callback([a] {
    const auto r = rep::load_results(a->results);
    a->o.out_dir = a->out;
    const auto res = rep::write_report(r, a->o);
    if (a->json) {
      json j;
      j["command"] = "report";
      j["results"] = a->results;
      j["out"] = a->out;
      j["files"] = json::array();
      for (const auto& f : res.files) j["files"].push_back(f.string());
      j["notes"] = res.notes;
      print_json(j);
    } else {
      std::cout << "report of suite '" << r.suite_name << "': " << res.files.size() << " files in " << a->out << "\n";
      for (const auto& f : res.files) std::cout << "  " << f.string() << "\n";
      for (const auto& n : res.notes) std::cout << "note: " << n << "\n";
    }
  });
}

// ---- medsynbench compare BASE.json CAND.json [--gates S.json] [--junit FILE.xml] [--json]
// compare's paired FID difference (reports/compare.h PairedDelta): for fid_population entries whose
// runs recorded their feature files and used the same real features, a paired bootstrap of the
// difference of bias-corrected FIDs (metrics/calibrated.h), resampling the real set once for both.
rep::PairedDelta paired_fid(int replicates, std::vector<std::string>& notes) {
  return [replicates, &notes](const rep::Results& base, const rep::Results& cand, const rep::Entry& b,
                              const rep::Entry& c) -> std::optional<Estimate> {
    if (replicates <= 0 || b.section != "results" || (b.metric != "fid_population" && b.metric != "fd_population"))
      return std::nullopt;
    auto files = [](const rep::Results& r, const rep::Entry& e) -> const rep::FeatureFiles* {
      auto m = r.features.find(e.model);
      if (m == r.features.end()) return nullptr;
      auto f = m->second.find(e.modality);
      return f == m->second.end() ? nullptr : &f->second;
    };
    const rep::FeatureFiles* fb = files(base, b);
    const rep::FeatureFiles* fc = files(cand, c);
    const std::string subject = b.subject();
    if (!fb || !fc) {
      notes.push_back(subject + ": unpaired (a run did not record its feature files)");
      return std::nullopt;
    }
    if (fb->real_key.empty() || fb->real_key != fc->real_key) {
      notes.push_back(subject + ": unpaired (the runs used different real images)");
      return std::nullopt;
    }
    for (const auto* p : {&fb->real, &fb->synthetic, &fc->synthetic})
      if (!fs::exists(*p)) {
        notes.push_back(subject + ": unpaired (" + p->string() + " is missing)");
        return std::nullopt;
      }
    metrics::IntervalOptions io;
    io.bootstrap = replicates;
    io.ci_level = b.m.ci_level;
    io.seed = 0;
    return metrics::fid_population_difference(read_feature_matrix(fb->real), read_feature_matrix(fb->synthetic),
                                              read_feature_matrix(fc->synthetic), io, "real " + b.modality,
                                              "baseline " + b.model, "candidate " + c.model);
  };
}

void register_compare_command(CLI::App& root) {
  struct Args {
    std::string base, cand, gates, junit, rule = "delta-ci";
    int paired_replicates = 100;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  auto* c = root.add_subcommand("compare",
                                "Deltas with CIs and verdicts between two results.json files, then regression gates "
                                "(exit 0 pass, 1 regression, 2 bad input)");
  c->add_option("baseline", a->base, "Baseline results.json")->required();
  c->add_option("candidate", a->cand, "Candidate results.json")->required();
  c->add_option("--gates", a->gates, "Gates: a suite file (its \"gates\") or a JSON array of gates (docs/reports.md)");
  c->add_option("--junit", a->junit, "Also write a JUnit XML file for CI systems");
  c->add_option("--rule", a->rule, "Verdict rule: delta-ci (CI of the difference excludes 0) | overlap (CIs do not overlap)")
      ->capture_default_str();
  c->add_option("--paired-replicates", a->paired_replicates,
                "Bootstrap replicates of the paired FID difference (fid_population or fd_population; 0 = unpaired, by --rule)")
      ->capture_default_str();
  c->add_flag("--json", a->json, "Print JSON");
  c->callback([a] {
    const auto rule = rep::parse_verdict_rule(a->rule);
    if (a->paired_replicates < 0)
      throw InputError("--paired-replicates must be >= 0, got " + std::to_string(a->paired_replicates));
    const auto base = rep::load_results(a->base);
    const auto cand = rep::load_results(a->cand);
    std::vector<rep::Gate> gates;
    if (!a->gates.empty()) gates = rep::load_gates(a->gates);
    std::vector<std::string> paired_notes;
    auto cmp = rep::compare_results(base, cand, a->gates.empty() ? nullptr : &gates, rule,
                                    paired_fid(a->paired_replicates, paired_notes));
    cmp.warnings.insert(cmp.warnings.end(), paired_notes.begin(), paired_notes.end());
    if (!a->junit.empty()) atomic_write_text(a->junit, rep::compare_to_junit(cmp));
    if (a->json) std::cout << rep::compare_to_json(cmp).dump(2) << std::endl;
    else std::cout << rep::compare_to_text(cmp);
    for (const auto& w : cmp.warnings) std::cerr << "warning: " << w << "\n";
    if (!cmp.passed) set_exit_code(static_cast<int>(ExitCode::check_failed));
  });
}

}  // namespace

void register_suite_validate_command(CLI::App& root) {
  struct Args {
    std::string file;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* suite = group(root, "suite", "Benchmark suite files");
  CLI::App* v = suite->add_subcommand("validate", "Check a suite file: every error at once, with its JSON path");
  v->add_option("suite", a->file, "Suite JSON file")->required();
  v->add_flag("--json", a->json, "Print JSON");
  v->callback([a] {
    const auto problems = suites::validate_suite_file(a->file);
    const auto warnings = problems.empty() ? suites::suite_warnings_file(a->file)
                                           : std::vector<suites::SuiteProblem>{};
    if (a->json) {
      nlohmann::json arr = nlohmann::json::array(), warr = nlohmann::json::array();
      for (const auto& p : problems) arr.push_back({{"path", p.path}, {"message", p.message}});
      for (const auto& w : warnings) warr.push_back({{"path", w.path}, {"message", w.message}});
      print_json({{"suite", a->file}, {"valid", problems.empty()}, {"problems", arr}, {"warnings", warr}});
    } else if (problems.empty()) {
      std::cout << a->file << ": valid\n";
    }
    for (const auto& w : warnings) log_warn(a->file + ": " + w.path + ": " + w.message);
    if (!problems.empty()) {
      std::string msg = a->file + ": " + std::to_string(problems.size()) + " problem(s):";
      for (const auto& p : problems) msg += "\n  " + p.path + ": " + p.message;
      throw InputError(msg);
    }
  });
}

void register_suite_commands(CLI::App& root) {
  register_report_command(root);
  register_compare_command(root);
  register_suite_validate_command(root);
}

}  // namespace medsyn::cli
