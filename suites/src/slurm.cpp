// The Slurm executor: sbatch scripts, submission, and following a run with squeue (slurm.h).
#include "medsyn/suites/slurm.h"

#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <map>
#include <ostream>
#include <set>
#include <sstream>
#include <thread>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/json.h"
#include "medsyn/core/progress.h"
#include "medsyn/core/provenance.h"
#include "medsyn/suites/runner.h"

namespace fs = std::filesystem;

namespace medsyn::suites {

using ojson = nlohmann::ordered_json;

namespace {

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

struct Captured {
  int rc = -1;
  std::string out, err;
};

// Runs a shell command line, capturing stdout and stderr (the Slurm clients are short-lived).
Captured capture(const std::string& cmd) {
  char err_path[] = "/tmp/medsyn-slurm-XXXXXX";
  const int fd = ::mkstemp(err_path);
  if (fd < 0) throw Error("cannot create a temporary file for " + cmd);
  ::close(fd);
  Captured r;
  FILE* p = ::popen((cmd + " 2>" + quote(err_path)).c_str(), "r");
  if (!p) throw Error("cannot run: " + cmd);
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  std::ifstream e(err_path);
  r.err.assign(std::istreambuf_iterator<char>(e), std::istreambuf_iterator<char>());
  std::error_code ec;
  fs::remove(err_path, ec);
  return r;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

bool is_cuda(const ojson& v) { return v.is_string() && v.get<std::string>().rfind("cuda", 0) == 0; }

// "wave-NNN": one more than the highest wave number already in RUN_DIR/slurm.
int next_wave(const fs::path& dir) {
  int last = 0;
  if (fs::exists(dir))
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string f = e.path().filename().string();
      if (f.rfind("wave-", 0) == 0 && f.size() > 8) last = std::max(last, std::atoi(f.substr(5, 3).c_str()));
    }
  return last + 1;
}

std::string three(int n) {
  std::ostringstream s;
  s << std::setw(3) << std::setfill('0') << n;
  return s.str();
}

// #SBATCH lines shared by every job of the run.
std::string common_header(const fs::path& run_dir, const SlurmOptions& o, const std::string& log) {
  std::string h = "#!/bin/bash\n#SBATCH --job-name=" + slurm_job_name(run_dir) + "\n#SBATCH --output=" + log + "\n";
  if (!o.partition.empty()) h += "#SBATCH --partition=" + o.partition + "\n";
  if (!o.account.empty()) h += "#SBATCH --account=" + o.account + "\n";
  if (!o.time.empty()) h += "#SBATCH --time=" + o.time + "\n";
  if (!o.mem.empty()) h += "#SBATCH --mem=" + o.mem + "\n";
  return h;
}

// One job submitted (or, in a dry run, only written): its jobs.jsonl record.
void record_job(const fs::path& run_dir, const json& j) {
  std::ofstream f(run_dir / "slurm" / "jobs.jsonl", std::ios::app);  // one line per job, appended
  f << j.dump() << "\n";
  if (!f) throw Error("cannot write " + (run_dir / "slurm" / "jobs.jsonl").string());
}

std::string sbatch(const std::string& args, const fs::path& script) {
  const std::string cmd = "sbatch --parsable " + args + " " + quote(script.string());
  const Captured r = capture(cmd);
  if (r.rc != 0) throw Error("sbatch failed (exit " + std::to_string(r.rc) + "): " + cmd + "\n" + trim(r.err));
  std::string id = trim(r.out);
  if (const auto semi = id.find(';'); semi != std::string::npos) id = id.substr(0, semi);  // "id;cluster"
  if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos)
    throw Error("sbatch printed no job id: " + cmd + "\n" + r.out + r.err);
  return id;
}

}  // namespace

bool unit_needs_gpu(const UnitDescription& d) {
  if (d.stage == "features")
    return d.inputs.contains("extractor") && is_cuda(d.inputs["extractor"].value("device", ojson(""))) &&
           d.spec.value("extractor", std::string()).rfind("torchscript", 0) == 0;
  return d.inputs.contains("device") && is_cuda(d.inputs["device"]);
}

std::string node_local_reason(const fs::path& dir) {
  const fs::path a = fs::absolute(dir).lexically_normal();
  for (const char* p : {"/tmp", "/var/tmp", "/dev/shm", "/run"}) {
    const fs::path rel = a.lexically_relative(p);
    if (!rel.empty() && *rel.begin() != "..") return std::string("it is below ") + p;
  }
  fs::path probe = a;
  while (!probe.empty() && !fs::exists(probe)) probe = probe.parent_path();
  struct statfs s {};
  if (!probe.empty() && ::statfs(probe.c_str(), &s) == 0 && s.f_type == 0x01021994)  // TMPFS_MAGIC
    return "it is on a tmpfs (memory of this machine)";
  return "";
}

std::string slurm_job_name(const fs::path& run_dir) {
  return "msb-" + sha256_hex(fs::absolute(run_dir).lexically_normal().string()).substr(0, 10);
}

std::vector<std::string> active_slurm_jobs(const fs::path& run_dir) {
  const Captured q = capture("squeue -h -n " + quote(slurm_job_name(run_dir)) + " -o '%i'");
  if (q.rc != 0) throw Error("squeue failed (exit " + std::to_string(q.rc) + "): " + trim(q.err));
  std::vector<std::string> ids;
  std::istringstream in(q.out);
  std::string id;
  while (in >> id) ids.push_back(id);
  return ids;
}

std::uintmax_t jobs_log_offset(const fs::path& run_dir) {
  std::error_code ec;
  const auto n = fs::file_size(run_dir / "slurm" / "jobs.jsonl", ec);
  return ec ? 0 : n;
}

SlurmSubmission submit_wave(const SlurmWave& w, const SlurmOptions& o) {
  const fs::path sd = w.run_dir / "slurm";
  ensure_dir(sd / "logs");
  const fs::path bin = fs::read_symlink("/proc/self/exe");
  const int n = next_wave(sd);
  SlurmSubmission sub;
  std::ostringstream g;
  g << "slurm job graph for " << w.run_dir.string() << ", wave " << n << (o.dry_run ? " (dry run: nothing submitted)" : "") << "\n";
  // The wave's arrays: one per stage and kind of node, units packed into at most max_array tasks.
  struct Array {
    std::string stage;
    bool gpu = false;
    std::vector<std::string> ids;
    int tasks = 0;
  };
  std::vector<Array> arrays;
  for (const auto& stage : stage_names())
    for (const bool gpu : {false, true}) {
      Array a{stage, gpu, {}, 0};
      for (const auto& d : w.units)
        if (d.stage == stage && unit_needs_gpu(d) == gpu) a.ids.push_back(d.id());
      if (a.ids.empty()) continue;
      const int n_ids = static_cast<int>(a.ids.size());
      a.tasks = o.max_array > 0 ? std::min(n_ids, o.max_array) : n_ids;
      arrays.push_back(std::move(a));
    }
  // A wave of a single task (one array, one task: a data import, the last fidelity unit...) plans
  // the next wave in that task's own process after its units: no separate continue job, so the
  // wave costs one Slurm dependency hop and one process start instead of two of each.
  const bool folded = arrays.size() == 1 && arrays.front().tasks == 1;
  // `run <the run's arguments> --slurm-continue`: what plans the next wave, in a folded task or
  // in the continue job.
  std::string continue_args;
  for (const auto& a : w.run_args) continue_args += " " + quote(a);
  continue_args += " --slurm-continue";
  std::vector<std::string> array_refs;
  for (const auto& [stage, gpu, ids, tasks] : arrays) {
    const std::string base = "wave-" + three(n) + "-" + stage + (gpu ? "-gpu" : "");
    const fs::path list = sd / (base + ".units"), script = sd / (base + ".sbatch");
    std::string text;
    for (const auto& id : ids) text += id + "\n";
    atomic_write_text(list, text);
    const std::string log_pattern = (sd / "logs" / (base + "-%A_%a.out")).string();
    std::string s = common_header(w.run_dir, o, log_pattern);
    s += "#SBATCH --array=0-" + std::to_string(tasks - 1) + "\n";
    if (o.cpus > 0) s += "#SBATCH --cpus-per-task=" + std::to_string(o.cpus) + "\n";
    if (gpu) s += "#SBATCH --gres=gpu:" + std::to_string(o.gpus) + "\n";
    s += "# medsynbench wave " + std::to_string(n) + ", stage " + stage + ": " + std::to_string(ids.size()) + " unit(s) in " +
         std::to_string(tasks) + " task(s); unit i (line i of the list, from 0) runs in task i mod " + std::to_string(tasks) + "\n";
    s += "set -u\nBIN=" + quote(bin.string()) + "\nDIR=" + quote(w.run_dir.string()) + "\nLIST=" + quote(list.string()) + "\n";
    s += "LOG=\"$DIR/slurm/logs/" + base + "-${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}.out\"\n";
    if (o.cpus > 0) s += "export MEDSYN_THREADS=\"${SLURM_CPUS_PER_TASK:-" + std::to_string(o.cpus) + "}\"\n";
    s += "mapfile -t UNITS < \"$LIST\"\nMINE=()\n";
    s += "for ((i = SLURM_ARRAY_TASK_ID; i < ${#UNITS[@]}; i += " + std::to_string(tasks) + ")); do MINE+=(\"${UNITS[$i]}\"); done\n";
    // One process for the task's units (one LibTorch start); a unit without done.json afterwards
    // is the one that failed (or was not reached when the task was killed).
    if (folded)  // the units, then (when they all finished) the planner: one process
      s += "\"$BIN\" run" + continue_args + " --slurm-first-units \"${MINE[@]}\"\nrc=$?\n";
    else
      s += "\"$BIN\" run-unit" + std::string(w.resume ? " --resume" : "") + " \"$DIR\" \"${MINE[@]}\"\nrc=$?\n";
    s += "if [ \"$rc\" -ne 0 ]; then\n  for u in \"${MINE[@]}\"; do\n    [ -f \"$DIR/units/$u/done.json\" ] && continue\n";
    s += "    printf '%s_%s\\t%s\\t%s\\t%s\\n' \"$SLURM_ARRAY_JOB_ID\" \"$SLURM_ARRAY_TASK_ID\" \"$u\" \"$LOG\" \"$rc\" >> \"$DIR/slurm/failed.tsv\"\n";
    s += "    echo \"medsynbench: unit $u failed (exit $rc)\" >&2\n  done\n";
    if (folded) s += "  echo \"medsynbench: exit $rc (when every unit above has done.json: planning the next wave failed)\" >&2\n";
    s += "  exit \"$rc\"\nfi\n";
    atomic_write_text(script, s);
    std::string id;
    if (!o.dry_run) {
      id = sbatch(o.extra, script);
      record_job(w.run_dir, json{{"job", id}, {"kind", "units"}, {"stage", stage}, {"wave", n}, {"gpu", gpu}, {"units", ids}, {"tasks", tasks},
                                 {"log", log_pattern}, {"script", script.string()}, {"continues", folded}, {"submitted", utc_now_iso8601()}});
    }
    sub.job_ids.push_back(id);
    const std::string ref = id.empty() ? "[" + std::to_string(array_refs.size() + 1) + "]" : id;
    array_refs.push_back(ref);
    g << "  " << ref << " array " << stage << (gpu ? " (GPU)" : " (CPU)") << ": " << ids.size() << " unit(s) in " << tasks
      << " task(s) [--array=0-" << tasks - 1 << "]";
    if (o.cpus > 0) g << " --cpus-per-task=" << o.cpus;
    if (gpu) g << " --gres=gpu:" << o.gpus;
    if (!o.mem.empty()) g << " --mem=" << o.mem;
    if (!o.time.empty()) g << " --time=" << o.time;
    g << "\n      script " << script.string() << "\n";
  }
  if (folded) {
    g << "  its task then plans the next wave in the same process (a wave of one task: no separate continue job)\n";
  } else {
    // The continue job: plans the next wave (or builds results.json and report/) once these ran.
    const std::string cbase = "continue-" + three(n);
    const fs::path cscript = sd / (cbase + ".sbatch");
    const std::string clog = (sd / "logs" / (cbase + "-%j.out")).string();
    std::string cs = common_header(w.run_dir, o, clog) + "# medsynbench: plan the next wave of the run after wave " +
                     std::to_string(n) + " (the last one builds results.json and report/)\nexec " + quote(bin.string()) + " run" +
                     continue_args + "\n";
    atomic_write_text(cscript, cs);
    std::string dep;
    for (const auto& id : sub.job_ids) dep += ":" + id;
    std::string cid;
    if (!o.dry_run) {
      cid = sbatch("--dependency=afterok" + dep + " --kill-on-invalid-dep=yes " + o.extra, cscript);
      record_job(w.run_dir, json{{"job", cid}, {"kind", "continue"}, {"wave", n}, {"log", clog}, {"script", cscript.string()},
                                 {"after", sub.job_ids}, {"submitted", utc_now_iso8601()}});
    }
    sub.job_ids.push_back(cid);
    std::string after;
    for (const auto& r : array_refs) after += (after.empty() ? "" : ":") + r;
    g << "  " << (cid.empty() ? "[" + std::to_string(array_refs.size() + 1) + "]" : cid) << " continue (1 task, CPU) --dependency=afterok:"
      << after << " --kill-on-invalid-dep=yes\n      script " << cscript.string() << "\n";
  }
  g << "  then further waves, each planned and submitted by the job that ends the previous wave (its continue job, or its "
       "only task) once its inputs exist (a unit's key holds the content hashes of its inputs), over the stages ";
  for (std::size_t i = 0; i < w.later_stages.size(); ++i) g << (i ? ", " : "") << w.later_stages[i];
  g << "; the last of them builds results.json and report/\n";
  if (!o.extra.empty()) g << "  every sbatch also gets: " << o.extra << "\n";
  sub.graph = g.str();
  return sub;
}

namespace {

struct JobRecord {
  json j;
  std::string id() const { return j.value("job", ""); }
};

std::vector<JobRecord> read_jobs(const fs::path& run_dir, std::uintmax_t offset) {
  std::vector<JobRecord> out;
  std::ifstream f(run_dir / "slurm" / "jobs.jsonl");
  if (!f) return out;
  f.seekg(static_cast<std::streamoff>(offset));
  std::string line;
  while (std::getline(f, line)) {
    if (trim(line).empty()) continue;
    try {
      out.push_back({json::parse(line)});
    } catch (const json::exception&) {  // a line being appended right now: read it next time
    }
  }
  return out;
}

bool unit_done(const fs::path& run_dir, const std::string& id) { return fs::exists(run_dir / "units" / id / "done.json"); }

std::string log_of(const std::string& pattern, const std::string& job, const std::string& task) {
  std::string s = pattern;
  for (const auto& [k, v] : {std::pair<std::string, std::string>{"%A", job}, {"%a", task}, {"%j", job}})
    if (const auto p = s.find(k); p != std::string::npos) s.replace(p, 2, v);
  return s;
}

// "JobState=... Reason=..." of a job Slurm still remembers (MinJobAge), else "".
std::string job_state(const std::string& job) {
  const Captured r = capture("scontrol -o show job " + quote(job));
  if (r.rc != 0) return "";
  std::string state, reason;
  std::istringstream in(r.out);
  std::string tok;
  while (in >> tok) {
    if (tok.rfind("JobState=", 0) == 0 && state.empty()) state = tok.substr(9);
    if (tok.rfind("Reason=", 0) == 0 && reason.empty()) reason = tok.substr(7);
  }
  return state + (reason.empty() || reason == "None" ? "" : " (" + reason + ")");
}

}  // namespace

int wait_for_slurm_run(const fs::path& run_dir, std::uintmax_t offset, double poll_seconds, std::ostream& out, std::string& failure) {
  const std::string name = slurm_job_name(run_dir);
  std::map<std::string, int> printed;  // stage -> units reported done
  const auto t0 = std::chrono::steady_clock::now();
  int squeue_errors = 0;
  for (;;) {
    const Captured q = capture("squeue -h -n " + quote(name) + " -o '%i %T'");
    const auto jobs = read_jobs(run_dir, offset);
    // Per-stage progress: the units of this submission's arrays, done or not.
    std::map<std::string, std::pair<int, int>> stage_done;  // stage -> (done, total)
    for (const auto& r : jobs)
      if (r.j.value("kind", "") == "units")
        for (const auto& u : r.j["units"]) {
          auto& c = stage_done[r.j["stage"]];
          ++c.second;
          if (unit_done(run_dir, u.get<std::string>())) ++c.first;
        }
    for (const auto& s : stage_names()) {
      if (!stage_done.count(s)) continue;
      const auto [done, total] = stage_done[s];
      if (printed.count(s) && printed[s] == done) continue;
      printed[s] = done;
      out << "stage " << s << ": " << done << "/" << total << " unit(s) done on Slurm ("
          << std::fixed << std::setprecision(1) << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
          << " s)\n" << std::flush;
    }
    if (q.rc != 0) {  // the controller is briefly unreachable: keep waiting, give up after a while
      if (++squeue_errors > 30) throw Error("squeue keeps failing: " + trim(q.err));
    } else {
      squeue_errors = 0;
      if (trim(q.out).empty()) break;  // no job of this run is pending or running
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(poll_seconds));
  }
  if (fs::exists(run_dir / "results.json")) return 0;

  // Something stopped the chain: name what failed.
  std::set<std::string> mine;
  for (const auto& r : read_jobs(run_dir, offset)) mine.insert(r.id());
  std::ostringstream why;
  std::ifstream ft(run_dir / "slurm" / "failed.tsv");
  std::string line;
  std::set<std::string> reported;
  while (std::getline(ft, line)) {
    std::istringstream ls(line);
    std::string job_task, unit, log, rc;
    std::getline(ls, job_task, '\t');
    std::getline(ls, unit, '\t');
    std::getline(ls, log, '\t');
    std::getline(ls, rc, '\t');
    if (!mine.count(job_task.substr(0, job_task.find('_')))) continue;
    why << "unit " << unit << " failed (exit " << rc << ") in Slurm job " << job_task << "; log: " << log << "\n";
    reported.insert(unit);
  }
  const auto jobs = read_jobs(run_dir, offset);
  for (const auto& r : jobs) {
    if (r.j.value("kind", "") != "units") continue;
    const int tasks = r.j.value("tasks", 1);
    int i = 0;
    for (const auto& u : r.j["units"]) {
      const std::string id = u.get<std::string>(), task = std::to_string(i++ % tasks);
      if (unit_done(run_dir, id) || reported.count(id)) continue;
      const std::string job = r.id() + "_" + task, state = job_state(job);
      why << "unit " << id << " did not finish in Slurm job " << job << (state.empty() ? "" : " (" + state + ")")
          << "; log: " << log_of(r.j.value("log", ""), r.id(), task) << "\n";
      reported.insert(id);
    }
  }
  if (reported.empty()) {
    for (auto it = jobs.rbegin(); it != jobs.rend(); ++it) {
      const bool cont = it->j.value("kind", "") == "continue", folded = it->j.value("continues", false);
      if (!cont && !folded) continue;
      // A folded wave's only task computed its units (all done, or they would be reported above)
      // and then planned: that planning is what failed.
      const std::string job = folded ? it->id() + "_0" : it->id(), state = job_state(job);
      why << (folded ? "the task " + job + " that plans the next wave" : "the continue job " + job)
          << (state.empty() ? "" : " (" + state + ")") << " ended without results.json; log: "
          << log_of(it->j.value("log", ""), it->id(), "0") << "\n";
      break;
    }
  }
  failure = why.str().empty() ? "no job of the run is left and results.json was not written\n" : why.str();
  return 1;
}

}  // namespace medsyn::suites
