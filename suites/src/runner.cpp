// run_suite: load the suite, prepare the run folder, plan every stage in order through the unit
// store (units compute when missing), then results.json and report/ (runner.h).
#include "medsyn/suites/runner.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/json.h"
#include "medsyn/core/progress.h"
#include "medsyn/core/provenance.h"
#include "medsyn/reports/report.h"
#include "medsyn/reports/results.h"
#include "medsyn/torch/runtime.h"
#include "run_context.h"

namespace fs = std::filesystem;

namespace medsyn::suites {

namespace {

// The MEDSYN_SUITE_KILL_AT test hook (runner.h): SIGKILL inside the k-th computed unit of a stage.
UnitStore::AfterWork kill_hook(const std::string& value) {
  const auto colon = value.rfind(':');
  int at = 0;
  try {
    if (colon != std::string::npos) at = std::stoi(value.substr(colon + 1));
  } catch (const std::exception&) {
  }
  if (colon == std::string::npos || at < 1)
    throw InputError(std::string(kKillHookEnv) + "='" + value + "': expected STAGE:K (K >= 1)");
  auto count = std::make_shared<int>(0);
  return [stage = value.substr(0, colon), at, count](const UnitDescription& d, const fs::path& partial) {
    if (d.stage != stage || ++*count != at) return;
    log_warn(std::string(kKillHookEnv) + ": killing this process inside unit " + partial.string());
    ::kill(::getpid(), SIGKILL);
  };
}

void write_report(const Suite& suite, const fs::path& out, RunContext& c, const std::string& started, RunSummary& summary) {
  const ojson r = build_results(c, started);
  const auto errors = reports::validate_results(r);
  if (!errors.empty()) throw Error(reports::format_errors("results.json (runner output)", errors));
  summary.results_json = out / "results.json";
  write_json_file(summary.results_json, r);
  reports::ReportOptions ro;
  ro.out_dir = out / "report";
  ro.samples_per_grid = suite.report.value("samples_per_grid", ro.samples_per_grid);
  ro.grid_columns = suite.report.value("grid_columns", ro.grid_columns);
  ro.panel = suite.report.value("panel", ro.panel);
  const auto rep = reports::write_report(reports::load_results(summary.results_json), ro);
  summary.report_dir = ro.out_dir;
  for (const auto& n : rep.notes) summary.notes.push_back("report: " + n);
}

}  // namespace

RunSummary run_suite(const RunOptions& options) {
  const auto t_start = std::chrono::steady_clock::now();
  const std::string started = utc_now_iso8601();
  const Suite suite = load_suite(options.suite_file);
  if (options.out.empty()) throw InputError("the run folder is required");
  if (options.limit && *options.limit < 2) throw InputError("limit: must be at least 2, got " + std::to_string(*options.limit));
  // Nothing to resume (e.g. killed before run.json was written) is not an error: the run starts,
  // reusing any unit already finished in the folder.
  if (options.resume && !fs::exists(options.out / "run.json"))
    log_warn(options.out.string() + " holds no run.json: nothing to resume, starting the run");
  for (const auto& s : options.only)
    if (std::find(stage_names().begin(), stage_names().end(), s) == stage_names().end())
      throw InputError("unknown stage '" + s + "' (stages: " + stage_list(", ") + ")");
  const std::string device = validate_device(options.device.empty() ? suite.device : options.device);
  init_torch_runtime(0);  // MEDSYN_THREADS or all cores
  ensure_dir(options.out);
  const fs::path run_json = options.out / "run.json";
  if (fs::exists(run_json)) {
    const json prev = read_json_file(run_json);
    if (prev.value("suite_name", "") != suite.name && !options.resume)
      throw InputError("run folder " + options.out.string() + " holds a run of suite '" + prev.value("suite_name", "") +
                       "'; choose another folder (or resume to reuse its units)");
  }
  write_json_file(run_json, json{{"suite_name", suite.name}, {"suite_hash", suite.hash}, {"suite_file", fs::absolute(suite.file).string()},
                                 {"limit", options.limit ? json(*options.limit) : json(nullptr)}, {"device", device},
                                 {"started", started}});

  RunContext c{suite, options, device, options.out};
  UnitStore store(options.out, options.resume, {options.only.begin(), options.only.end()},
                  [&c](const UnitDescription& d, const fs::path& work) { return compute_unit(d, c, work); });
  if (const char* k = std::getenv(kKillHookEnv); k && *k) store.set_after_work(kill_hook(k));  // tests only
  c.store = &store;
  log_info("suite '" + suite.name + "' -> " + options.out.string() + " (device " + device +
           (options.limit ? ", limit " + std::to_string(*options.limit) : std::string()) + ")");

  // Every stage plans its units (keys, cache lookups); only allowed stages compute. Stages after
  // the last one allowed are not even planned.
  std::size_t last = stage_table().size() - 1;
  if (!options.only.empty()) {
    last = 0;
    for (std::size_t i = 0; i < stage_table().size(); ++i)
      if (store.allowed(stage_table()[i].name)) last = i;
  }
  RunSummary summary;
  for (std::size_t i = 0; i <= last; ++i) {
    const Stage& st = stage_table()[i];
    if (!st.plan || !suite.has_evaluation(st.evaluation)) continue;
    const auto t0 = std::chrono::steady_clock::now();
    st.plan(c);
    const auto& s = store.stats()[st.name];
    if (s.units > 0)
      log_info(std::string("stage ") + st.name + ": " + std::to_string(s.units) + " unit(s), " + std::to_string(s.computed) +
               " computed, " + std::to_string(s.cached) + " cached (" + reports::format_value(seconds_since(t0), 1) + " s)");
  }
  summary.stages = store.stats();
  if (store.allowed("report")) {
    write_report(suite, options.out, c, started, summary);
    ++summary.stages["report"].units;
    ++summary.stages["report"].computed;
  }
  summary.notes.insert(summary.notes.begin(), c.notes.begin(), c.notes.end());
  summary.seconds = seconds_since(t_start);
  return summary;
}

}  // namespace medsyn::suites
