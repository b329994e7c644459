// `medsynbench run S.json --out RUN_DIR [--resume] [--only STAGE,...] [--limit N] [--device D]`:
// the suite runner (suites/include/medsyn/suites/runner.h; docs/suites.md). `suite validate` lives
// in cmd_suites.cpp.
#include <iostream>
#include <memory>

#include "commands.h"
#include "torch_command.h"
#include "medsyn/core/error.h"
#include "medsyn/core/json.h"
#include "medsyn/suites/runner.h"

namespace medsyn::cli {

void register_run_commands(CLI::App& root) {
  struct Args {
    std::string suite, out, only, device;
    long limit = 0;
    bool resume = false, json = false;
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
    o.command_line = "medsynbench run " + a->suite + " --out " + a->out + (a->resume ? " --resume" : "") +
                     (a->only.empty() ? "" : " --only " + a->only) +
                     (c->count("--limit") ? " --limit " + std::to_string(a->limit) : "") +
                     (a->device.empty() ? "" : " --device " + a->device);
    const auto s = suites::run_suite(o);
    if (a->json) {
      json j;
      j["command"] = "run";
      j["results"] = s.results_json.empty() ? json(nullptr) : json(s.results_json.string());
      j["report"] = s.report_dir.empty() ? json(nullptr) : json(s.report_dir.string());
      j["seconds"] = s.seconds;
      j["notes"] = s.notes;
      j["stages"] = json::object();
      for (const auto& [name, st] : s.stages)
        j["stages"][name] = {{"units", st.units}, {"computed", st.computed}, {"cached", st.cached}, {"seconds", st.seconds}};
      print_json(j);
    } else {
      for (const auto& name : suites::stage_names()) {
        if (!s.stages.count(name)) continue;
        const auto& st = s.stages.at(name);
        std::cout << name << ": " << st.units << " unit(s), " << st.computed << " computed, " << st.cached << " cached\n";
      }
      for (const auto& n : s.notes) std::cout << "note: " << n << "\n";
      if (!s.results_json.empty()) std::cout << "results: " << s.results_json.string() << "\n";
      if (!s.report_dir.empty()) std::cout << "report:  " << (s.report_dir / "index.html").string() << "\n";
    }
  });
}

}  // namespace medsyn::cli
