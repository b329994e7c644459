// `medsynbench run S.json --out RUN_DIR [--resume] [--only STAGE,...] [--limit N] [--device D]
// [--executor local|slurm ...]` and the plumbing command `run-unit RUN_DIR UNIT_ID`:
// the suite runner (suites/include/medsyn/suites/runner.h; docs/suites.md). `suite validate` lives
// in cmd_suites.cpp.
#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "commands.h"
#include "torch_command.h"
#include "medsyn/core/error.h"
#include "medsyn/core/json.h"
#include "medsyn/suites/runner.h"

namespace medsyn::cli {

namespace {

// Prints what run_units did with each unit; the exit code: 0 when none failed, else 2 for one
// unit on bad input (as a single command would), 1 otherwise (the log names each unit).
int report_unit_outcomes(const std::vector<suites::UnitOutcome>& outcomes) {
  int failed = 0;
  bool fault = false;
  for (const auto& o : outcomes) {
    using S = suites::UnitOutcome::Status;
    if (o.status == S::failed) {
      ++failed;
      fault = fault || !o.input_error;
      std::cerr << "error: unit " << o.id << " failed: " << o.error << "\n";
    }
    std::cout << o.id << (o.status == S::computed ? ": computed" : o.status == S::failed ? ": FAILED" : ": already complete") << "\n";
  }
  if (failed == 0) return 0;
  return outcomes.size() == 1 && !fault ? 2 : 1;
}

}  // namespace

void register_run_commands(CLI::App& root) {
  struct Args {
    std::string suite, out, only, device, executor = "local";
    long limit = 0;
    bool resume = false, json = false;
    suites::SlurmOptions slurm;
    std::vector<std::string> first_units;  // a folded wave's task: compute these, then plan
  };
  auto a = std::make_shared<Args>();
  auto* c = root.add_subcommand("run", "Run a benchmark suite: " + suites::stage_list(" -> ") +
                                           " (cached work units; reruns do only what is missing)");
  c->add_option("suite", a->suite, "Suite JSON file")->required();
  c->add_option("--out", a->out, "Run folder (units/, results.json, report/)")->required();
  c->add_flag("--resume", a->resume, "Continue an interrupted run in --out (also continues partial training units)");
  c->add_option("--only", a->only,
                "Comma-separated stages to compute (others must already be done): " + suites::stage_list(","));
  c->add_option("--limit", a->limit, "Cap images per split and generated images per modality (quick runs)");
  c->add_option("--device", a->device, "Compute device: cpu | cuda | cuda:N (default: the suite's device, else cpu)");
  c->add_flag("--json", a->json, "Print the run summary as JSON");
  // The Slurm executor (docs/cluster.md): the same units, computed by job arrays.
  c->add_option("--executor", a->executor, "Who computes the units: local (this process, default) | slurm (job arrays)")
      ->check(CLI::IsMember({"local", "slurm"}));
  c->add_flag("--wait", a->slurm.wait,
              "slurm: follow the jobs until results.json is written (exit 0) or a unit fails (exit 1, naming it)");
  c->add_option("--slurm-partition", a->slurm.partition, "slurm: partition (sbatch --partition)");
  c->add_option("--slurm-account", a->slurm.account, "slurm: account (sbatch --account)");
  c->add_option("--slurm-time", a->slurm.time, "slurm: time limit per job, HH:MM:SS (sbatch --time)");
  c->add_option("--slurm-mem", a->slurm.mem, "slurm: memory per job, e.g. 16G (sbatch --mem)");
  c->add_option("--slurm-cpus", a->slurm.cpus, "slurm: CPUs per unit task (sbatch --cpus-per-task; sets MEDSYN_THREADS)");
  c->add_option("--slurm-gpus", a->slurm.gpus, "slurm: GPUs per task of a unit on a cuda device (sbatch --gres=gpu:N; default 1)");
  c->add_option("--slurm-extra", a->slurm.extra, "slurm: more sbatch arguments for every job, as one string");
  c->add_option("--max-array", a->slurm.max_array, "slurm: at most N tasks per job array (units packed several to a task)");
  c->add_flag("--dry-run", a->slurm.dry_run, "slurm: write the sbatch scripts and print the job graph, submit nothing");
  c->add_flag("--slurm-continue", a->slurm.continuation, "internal: this process is a Slurm continue job")->group("");
  c->add_option("--slurm-first-units", a->first_units,
                "internal: with --slurm-continue, compute these planned units first (a wave of one task)")
      ->group("");
  MEDSYN_TORCH_CALLBACK(c, a, [a, c] {
    suites::RunOptions o;
    o.suite_file = a->suite;
    o.out = a->out;
    o.resume = a->resume;
    if (!a->only.empty()) {
      try {
        o.only = suites::parse_stage_list(a->only);
      } catch (const InputError& e) {
        throw InputError(std::string("--only: ") + e.what());
      }
    }
    if (c->count("--limit")) {
      if (a->limit < 2) throw InputError("--limit: must be at least 2, got " + std::to_string(a->limit));
      o.limit = a->limit;
    }
    o.device = a->device;
    o.executor = a->executor;
    o.slurm = a->slurm;
    if (a->executor != "slurm")
      for (const char* f : {"--wait", "--dry-run", "--max-array", "--slurm-partition", "--slurm-account", "--slurm-time",
                            "--slurm-mem", "--slurm-cpus", "--slurm-gpus", "--slurm-extra"})
        if (c->count(f)) throw InputError(std::string(f) + ": only with --executor slurm");
    if (const char* p = std::getenv("MEDSYN_SLURM_POLL_S"); p && *p) o.slurm_poll_seconds = std::max(0.1, std::atof(p));
    if (!a->first_units.empty()) {  // the only task of a wave: its units, then (all done) the next wave
      if (!a->slurm.continuation || a->executor != "slurm")
        throw InputError("--slurm-first-units: only with --executor slurm --slurm-continue (a Slurm task)");
      if (const int rc = report_unit_outcomes(suites::run_units(a->out, a->first_units, a->resume)); rc != 0) {
        set_exit_code(rc);
        return;
      }
    }
    o.command_line = "medsynbench run " + a->suite + " --out " + a->out + (a->resume ? " --resume" : "") +
                     (a->only.empty() ? "" : " --only " + a->only) +
                     (c->count("--limit") ? " --limit " + std::to_string(a->limit) : "") +
                     (a->device.empty() ? "" : " --device " + a->device) +
                     (a->executor == "local" ? "" : " --executor " + a->executor);
    const auto s = suites::run_suite(o);
    if (!s.slurm_graph.empty() && (a->slurm.dry_run || !a->json)) std::cout << s.slurm_graph;
    if (!s.slurm_jobs.empty() && !a->slurm.dry_run) {
      std::string ids;
      for (const auto& id : s.slurm_jobs) ids += (ids.empty() ? "" : " ") + id;
      std::cout << "slurm jobs: " << ids << "\n";
    }
    if (s.exit_code != 0) {
      std::cerr << "error: the Slurm run did not finish:\n" << s.failure
                << "fix the cause, then `medsynbench run ... --resume --executor slurm` submits only what is missing\n";
      set_exit_code(s.exit_code);
      return;
    }
    if (a->json) {
      json j;
      j["command"] = "run";
      j["results"] = s.results_json.empty() ? json(nullptr) : json(s.results_json.string());
      j["report"] = s.report_dir.empty() ? json(nullptr) : json(s.report_dir.string());
      j["seconds"] = s.seconds;
      j["notes"] = s.notes;
      j["executor"] = a->executor;
      j["slurm_jobs"] = s.slurm_jobs;
      j["stages"] = json::object();
      for (const auto& [name, st] : s.stages)
        j["stages"][name] = {{"units", st.units}, {"computed", st.computed}, {"cached", st.cached}, {"seconds", st.seconds}};
      print_json(j);
    } else {
      for (const auto& name : suites::stage_names()) {
        if (!s.stages.count(name) || !s.slurm_jobs.empty()) continue;  // Slurm: the jobs compute
        const auto& st = s.stages.at(name);
        std::cout << name << ": " << st.units << " unit(s), " << st.computed << " computed, " << st.cached << " cached\n";
      }
      for (const auto& n : s.notes) std::cout << "note: " << n << "\n";
      if (!s.results_json.empty()) std::cout << "results: " << s.results_json.string() << "\n";
      if (!s.report_dir.empty()) std::cout << "report:  " << (s.report_dir / "index.html").string() << "\n";
    }
  });

  // `run-unit RUN_DIR UNIT_ID...`: plumbing for cluster executors (what one Slurm task runs).
  struct UnitArgs {
    std::string dir;
    std::vector<std::string> units;
    bool resume = false;
  };
  auto u = std::make_shared<UnitArgs>();
  auto* ru = root.add_subcommand("run-unit",
                                 "Plumbing: compute planned units of a run folder, in one process (what a Slurm task of "
                                 "`run --executor slurm` runs); exit 1 if a unit failed (the others still run)");
  ru->add_option("dir", u->dir, "Run folder (holds run.json and units/)")->required();
  ru->add_option("units", u->units, "Unit ids <stage>/<folder>, as listed in RUN_DIR/slurm/*.units")->required();
  ru->add_flag("--resume", u->resume, "Continue a partial resumable unit (training) from its checkpoint");
  MEDSYN_TORCH_CALLBACK(ru, u, [u] {
    // One unit: its own exit status (2 on bad input, as before); several: 1 (the log names each).
    if (const int rc = report_unit_outcomes(suites::run_units(u->dir, u->units, u->resume)); rc != 0) set_exit_code(rc);
  });
}

}  // namespace medsyn::cli
