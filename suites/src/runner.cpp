// run_suite: load the suite, prepare the run folder, plan every stage in order through the unit
// store (units compute when missing), then results.json and report/ (runner.h).
#include "medsyn/suites/runner.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/json.h"
#include "medsyn/core/progress.h"
#include "medsyn/core/option_error.h"
#include "medsyn/core/provenance.h"
#include "medsyn/core/torch_bridge.h"
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

// Plans stages 0..last in order through the store; returns whether every unit is complete.
// With a collecting store (a remote executor) one pass describes a wave: every missing unit
// whose inputs are complete (a unit reading a pending one is deferred by the store; a stage that
// needs a pending unit's outputs to plan throws PendingInputs and waits). The data stage's
// results (splits, labels, prompts) shape every later stage, so a pass stops after data when
// data has pending units.
bool plan_stages(RunContext& c, UnitStore& store, std::size_t last) {
  bool complete = true;
  for (std::size_t i = 0; i <= last; ++i) {
    const Stage& st = stage_table()[i];
    if (!st.plan || !c.suite.has_evaluation(st.evaluation)) continue;
    const auto t0 = std::chrono::steady_clock::now();
    const std::size_t before = store.pending().size();
    const int deferred_before = store.deferred();
    try {
      st.plan(c);
    } catch (const PendingInputs&) {
      complete = false;
      if (std::string(st.name) == "data") return false;
      continue;
    }
    if (store.pending().size() != before || store.deferred() != deferred_before) {
      complete = false;
      if (std::string(st.name) == "data") return false;
      continue;
    }
    const auto& s = store.stats()[st.name];
    if (s.units > 0)
      log_info(std::string("stage ") + st.name + ": " + std::to_string(s.units) + " unit(s), " + std::to_string(s.computed) +
               " computed, " + std::to_string(s.cached) + " cached (" + reports::format_value(seconds_since(t0), 1) + " s)");
  }
  return complete;
}

// The `run` arguments a Slurm continue job repeats (absolute paths: it runs elsewhere).
std::vector<std::string> continue_args(const RunOptions& o) {
  std::vector<std::string> a = {fs::absolute(o.suite_file).lexically_normal().string(), "--out",
                                fs::absolute(o.out).lexically_normal().string(), "--executor", "slurm"};
  if (o.resume) a.push_back("--resume");
  if (!o.only.empty()) {
    std::string only;
    for (const auto& s : o.only) only += (only.empty() ? "" : ",") + s;
    a.insert(a.end(), {"--only", only});
  }
  if (o.limit) a.insert(a.end(), {"--limit", std::to_string(*o.limit)});
  if (!o.device.empty()) a.insert(a.end(), {"--device", o.device});
  const SlurmOptions& s = o.slurm;
  for (const auto& [flag, v] : {std::pair<const char*, std::string>{"--slurm-partition", s.partition}, {"--slurm-account", s.account},
                                {"--slurm-time", s.time}, {"--slurm-mem", s.mem}, {"--slurm-extra", s.extra}})
    if (!v.empty()) a.insert(a.end(), {flag, v});
  if (s.cpus > 0) a.insert(a.end(), {"--slurm-cpus", std::to_string(s.cpus)});
  a.insert(a.end(), {"--slurm-gpus", std::to_string(s.gpus)});
  if (s.max_array > 0) a.insert(a.end(), {"--max-array", std::to_string(s.max_array)});
  return a;
}

// The device as the units record it. The Slurm planner may run on a login node without a GPU:
// it checks the syntax only and writes what LibTorch's check gives on a GPU node ("cuda:N").
std::string unit_device(const std::string& spec, bool remote) {
  if (!remote) return validate_device(spec);
  try {
    const int idx = parse_device_index(spec);
    return idx < 0 ? std::string("cpu") : "cuda:" + std::to_string(idx);
  } catch (const OptionError& e) {
    throw InputError(std::string("device: ") + e.what());
  }
}

}  // namespace

RunSummary run_suite(const RunOptions& options) {
  const auto t_start = std::chrono::steady_clock::now();
  std::string started = utc_now_iso8601();
  Suite suite = load_suite(options.suite_file);
  if (options.out.empty()) throw InputError("the run folder is required");
  if (options.limit && *options.limit < 2) throw InputError("limit: must be at least 2, got " + std::to_string(*options.limit));
  const bool slurm = options.executor == "slurm";
  if (!slurm && options.executor != "local")
    throw InputError("executor: '" + options.executor + "' is not an executor (local or slurm)");
  const SlurmOptions& so = options.slurm;
  if (slurm && (so.gpus < 1 || so.cpus < 0 || so.max_array < 0))
    throw InputError("--slurm-gpus must be at least 1, --slurm-cpus and --max-array at least 0");
  // Nothing to resume (e.g. killed before run.json was written) is not an error: the run starts,
  // reusing any unit already finished in the folder.
  if (options.resume && !fs::exists(options.out / "run.json"))
    log_warn(options.out.string() + " holds no run.json: nothing to resume, starting the run");
  for (const auto& s : options.only)
    if (std::find(stage_names().begin(), stage_names().end(), s) == stage_names().end())
      throw InputError("unknown stage '" + s + "' (stages: " + stage_list(", ") + ")");
  const std::string device = unit_device(options.device.empty() ? suite.device : options.device, slurm);
  if (slurm && !so.continuation)
    if (const std::string why = node_local_reason(options.out); !why.empty())
      log_warn("--out " + options.out.string() + " looks node-local (" + why +
               "): Slurm tasks on other nodes cannot see it; use a folder on a filesystem every node mounts");
  init_torch_runtime(0);  // MEDSYN_THREADS or all cores
  ensure_dir(options.out);
  const fs::path run_json = options.out / "run.json";
  std::string command_line = options.command_line;
  if (fs::exists(run_json)) {
    const json prev = read_json_file(run_json);
    if (prev.value("suite_name", "") != suite.name && !options.resume)
      throw InputError("run folder " + options.out.string() + " holds a run of suite '" + prev.value("suite_name", "") +
                       "'; choose another folder (or resume to reuse its units)");
    if (so.continuation) {  // a continue job: the run started when it was submitted
      started = prev.value("started", started);
      command_line = prev.value("command_line", command_line);
      suite.file = prev.value("suite_given", suite.file.string());  // results.json names the suite as the user did
    }
  }
  if (!so.continuation)
    write_json_file(run_json, json{{"suite_name", suite.name}, {"suite_hash", suite.hash}, {"suite_file", fs::absolute(suite.file).string()},
                                   {"limit", options.limit ? json(*options.limit) : json(nullptr)}, {"device", device},
                                   {"started", started}, {"command_line", command_line}, {"executor", options.executor},
                                   {"suite_given", options.suite_file.string()}});

  RunOptions opt = options;
  opt.command_line = command_line;
  opt.suite_file = suite.file;
  RunContext c{suite, opt, device, options.out};
  UnitStore store(options.out, options.resume, {options.only.begin(), options.only.end()},
                  [&c](const UnitDescription& d, const fs::path& work) { return compute_unit(d, c, work); });
  if (const char* k = std::getenv(kKillHookEnv); k && *k) store.set_after_work(kill_hook(k));  // tests only
  store.set_collecting(slurm);
  c.store = &store;
  log_info("suite '" + suite.name + "' -> " + options.out.string() + " (device " + device +
           (options.limit ? ", limit " + std::to_string(*options.limit) : std::string()) + (slurm ? ", executor slurm" : "") + ")");

  // Every stage plans its units (keys, cache lookups); only allowed stages compute. Stages after
  // the last one allowed are not even planned.
  std::size_t last = stage_table().size() - 1;
  if (!options.only.empty()) {
    last = 0;
    for (std::size_t i = 0; i < stage_table().size(); ++i)
      if (store.allowed(stage_table()[i].name)) last = i;
  }
  RunSummary summary;
  const auto jobs_offset = jobs_log_offset(options.out);
  const bool complete = plan_stages(c, store, last);
  summary.stages = store.stats();
  if (!complete) {  // Slurm: submit the wave's units and the job that plans what follows
    if (store.pending().empty()) throw Error("internal: the Slurm planner found units it cannot describe and none to run");
    SlurmWave w;
    w.run_dir = fs::absolute(options.out).lexically_normal();
    w.run_args = continue_args(options);
    w.resume = options.resume;
    w.units = store.pending();
    std::string stages;
    for (std::size_t i = 0; i <= last; ++i) {
      const Stage& st = stage_table()[i];
      const bool in_wave = std::any_of(w.units.begin(), w.units.end(), [&](const UnitDescription& d) { return d.stage == st.name; });
      if (in_wave) stages += (stages.empty() ? "" : ",") + std::string(st.name);
      if (st.plan && suite.has_evaluation(st.evaluation) && !stages.empty()) w.later_stages.push_back(st.name);
    }
    if (!so.continuation && !so.dry_run)
      if (const auto active = active_slurm_jobs(w.run_dir); !active.empty())
        throw InputError("--out " + options.out.string() + ": " + std::to_string(active.size()) + " Slurm job(s) of this run are still " +
                         "queued or running (squeue -n " + slurm_job_name(w.run_dir) + ", first " + active.front() +
                         "); wait for them or scancel them before submitting again");
    // The run's results.json is rebuilt by its last continue job; an older one would read as this
    // run's (and --wait tells success by its presence, not by clocks that differ between nodes).
    if (!so.dry_run && fs::exists(options.out / "results.json")) {
      log_warn("removing the previous " + (options.out / "results.json").string() + ": the last job of this run rebuilds it");
      fs::remove(options.out / "results.json");
    }
    const SlurmSubmission sub = submit_wave(w, so);
    summary.slurm_jobs = sub.job_ids;
    summary.slurm_graph = sub.graph;
    log_info("slurm: " + std::to_string(w.units.size()) + " unit(s) of " + stages + " " +
             (so.dry_run ? "planned (dry run)" : "submitted") + "; " + std::to_string(store.deferred()) +
             " deferred to later waves (their inputs are in this one)");
    if (so.wait && !so.dry_run) {
      summary.exit_code = wait_for_slurm_run(w.run_dir, jobs_offset, options.slurm_poll_seconds, std::cerr, summary.failure);
      if (summary.exit_code == 0) {
        summary.results_json = options.out / "results.json";
        summary.report_dir = options.out / "report";
      }
    }
    summary.seconds = seconds_since(t_start);
    return summary;
  }
  if (store.allowed("report") && !so.dry_run) {
    write_report(suite, options.out, c, started, summary);
    ++summary.stages["report"].units;
    ++summary.stages["report"].computed;
  }
  if (slurm && so.dry_run) summary.slurm_graph = "slurm job graph: nothing to submit, every unit of the run is complete\n";
  summary.notes.insert(summary.notes.begin(), c.notes.begin(), c.notes.end());
  summary.seconds = seconds_since(t_start);
  return summary;
}

namespace {

// The planned description of unit `unit_id` of the run in run_dir (InputError naming what is wrong).
UnitDescription planned_unit(const fs::path& run_dir, const std::string& unit_id) {
  const auto slash = unit_id.find('/');
  if (slash == std::string::npos || unit_id.find("..") != std::string::npos || unit_id.find('/', slash + 1) != std::string::npos)
    throw InputError("unit id '" + unit_id + "': expected <stage>/<folder> as in " + run_dir.string() + "/slurm/*.units");
  const fs::path desc_file = pending_description_path(run_dir / "units" / unit_id);
  if (!fs::exists(desc_file)) throw InputError(desc_file.string() + ": not found (no unit '" + unit_id + "' was planned in this run)");
  const UnitDescription d = unit_description_from_json(read_json_file(desc_file), desc_file.string());
  if (d.id() != unit_id) throw InputError(desc_file.string() + ": describes unit " + d.id() + ", not " + unit_id);
  return d;
}

}  // namespace

std::vector<UnitOutcome> run_units(const fs::path& run_dir, const std::vector<std::string>& unit_ids, bool resume) {
  const fs::path run_json = run_dir / "run.json";
  if (!fs::exists(run_json)) throw InputError(run_json.string() + ": not found (run-unit needs a run folder planned by `run`)");
  if (unit_ids.empty()) throw InputError("run-unit: no unit id given");
  const json rj = read_json_file(run_json);
  // Every id is checked before any unit computes: a typo fails the task at once, not after hours.
  std::vector<UnitOutcome> out;
  std::vector<UnitDescription> todo;
  for (const auto& id : unit_ids) {
    const fs::path dir = run_dir / "units" / id;
    if (id.find("..") == std::string::npos && fs::exists(dir / "done.json")) {
      out.push_back({id, UnitOutcome::Status::already_complete, ""});
      continue;
    }
    todo.push_back(planned_unit(run_dir, id));
    out.push_back({id, UnitOutcome::Status::computed, ""});
  }
  if (todo.empty()) return out;

  // One suite load, one LibTorch start and one context (its extractors and embedders are loaded
  // once) for all the units of a task: the fixed cost a Slurm task pays once, not per unit.
  RunOptions o;
  o.suite_file = rj.at("suite_file").get<std::string>();
  o.out = run_dir;
  o.resume = resume;
  if (!rj["limit"].is_null()) o.limit = rj["limit"].get<long>();
  o.command_line = rj.value("command_line", "");
  const Suite suite = load_suite(o.suite_file);
  if (suite.name != rj.value("suite_name", ""))
    throw InputError(o.suite_file.string() + ": no longer the suite of run " + run_dir.string());
  const std::string device = validate_device(rj.value("device", "cpu"));
  init_torch_runtime(0);
  RunContext c{suite, o, device, run_dir};
  UnitStore::AfterWork hook;
  if (const char* k = std::getenv(kKillHookEnv); k && *k) hook = kill_hook(k);  // tests only
  std::size_t next = 0;
  for (auto& r : out) {
    if (r.status != UnitOutcome::Status::computed) continue;
    const UnitDescription& d = todo[next++];
    // Units of one task are independent (one wave): a failure is recorded and the others still run.
    try {
      compute_unit_atomically(run_dir / "units" / r.id, d, resume,
                              [&c](const UnitDescription& u, const fs::path& w) { return compute_unit(u, c, w); }, hook);
    } catch (const InputError& e) {
      r = {r.id, UnitOutcome::Status::failed, e.what(), true};
    } catch (const std::exception& e) {
      r = {r.id, UnitOutcome::Status::failed, e.what(), false};
    }
  }
  return out;
}

bool run_unit(const fs::path& run_dir, const std::string& unit_id, bool resume) {
  const auto r = run_units(run_dir, {unit_id}, resume);
  if (r.front().status == UnitOutcome::Status::failed) {
    if (r.front().input_error) throw InputError(r.front().error);
    throw Error(r.front().error);
  }
  return r.front().status == UnitOutcome::Status::computed;
}

}  // namespace medsyn::suites
