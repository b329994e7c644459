// The Slurm executor against a real one-node Slurm cluster (munged, slurmctld and slurmd from the
// Debian packages, started by slurm_cluster.sh below the test's temp folder and stopped by the
// pids it recorded): a small suite (folder and command models, one tiny training unit) gives the
// same results.json with `--executor slurm --wait` as locally; a task cancelled with scancel makes
// --wait exit 1 naming the unit, its job and its log, and `--resume` completes the run with the
// same results; --dry-run writes the scripts and prints the job graph without submitting.
// Skipped when not root or the packages are missing; under CI=true it must run.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "medsyn/core/fs.h"
#include "medsyn/core/json.h"
#include "medsyn/core/medmnist_import.h"
#include "medsyn/suites/slurm.h"
#include "medsyn/suites/unit_store.h"
#include "test_support.h"

using namespace medsyn;
namespace fs = std::filesystem;

namespace {

std::string sh(const std::string& cmd) {  // stdout of a shell command
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
  }
  return out;
}

// A one-node cluster for the lifetime of the object; SLURM_CONF points the clients at it.
class SlurmCluster {
 public:
  explicit SlurmCluster(const fs::path& dir) : dir_(dir), script_(test::source_dir() / "tests" / "suites" / "slurm_cluster.sh") {
    if (::geteuid() != 0) test::skip_test("the Slurm test starts munged, slurmctld and slurmd: it needs root");
    for (const char* b : {"munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "scancel"})
      if (std::system(("command -v " + std::string(b) + " >/dev/null 2>&1").c_str()) != 0)
        test::skip_test(std::string(b) + " is missing (scripts/install-deps installs munge slurmctld slurmd slurm-client)");
    const int rc = std::system((test::shell_quote(script_.string()) + " start " + test::shell_quote(dir_.string()) + " > " +
                                test::shell_quote((dir_.string() + ".start.log")) + " 2>&1")
                                   .c_str());
    std::ifstream log(dir_.string() + ".start.log");
    const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    INFO(text);
    REQUIRE(rc == 0);
    ::setenv("SLURM_CONF", (dir_ / "slurm.conf").c_str(), 1);
  }
  ~SlurmCluster() {
    std::system((test::shell_quote(script_.string()) + " stop " + test::shell_quote(dir_.string())).c_str());
    ::unsetenv("SLURM_CONF");
  }

 private:
  fs::path dir_, script_;
};

// results.json without what legitimately differs between executors and runs: timestamps, the
// command line, host names and measured timings (Slurm job ids are in no result).
json normalised(const fs::path& results) {
  json j = read_json_file(results);
  for (const char* k : {"started", "finished", "time", "command_line", "host"}) j["provenance"].erase(k);
  if (j.contains("compute")) {
    for (auto& [name, e] : j["compute"]["models"].items()) {
      e.erase("wall_time_s");
      e.erase("images_per_s");
    }
    j["compute"].erase("notes");
  }
  return j;
}

// BreastMNIST with a folder model, a command model (which sleeps $MEDSYN_TEST_SLEEP seconds first:
// not part of its key, so a test can hold it running) and a tiny trained engine.
void write_suite(const fs::path& dir) {
  const fs::path bm = dir / "bm";
  import_medmnist(test::medmnist_file("breastmnist"), bm);
  atomic_write_text(dir / "engine.json", R"({"name": "tiny", "image_size": 28, "channels": 1,
    "unet": {"channels": [8, 16], "self_attention_resolutions": [], "cross_attention_resolutions": [14], "mid_attention": false,
             "heads": 2, "groups": 4},
    "text": {"dim": 16, "layers": 1, "heads": 2, "max_tokens": 8},
    "train": {"steps": 4, "batch": 8, "warmup": 2, "checkpoint_every": 2},
    "sample": {"sampler": "ddim", "steps": 3, "guidance": 2.0, "batch": 16}})");
  const std::string copy_cmd = "sleep ${MEDSYN_TEST_SLEEP:-0}; for f in $(ls " + (bm / "images" / "test").string() +
                               "/*.png | head -n {n}); do cp $f {out}/; done";
  const ordered_json s = {
      {"schema_version", 1},
      {"name", "slurm-test"},
      {"seed", 3},
      {"datasets", {{"breast", {{"source", {{"medmnist", test::medmnist_file("breastmnist").string()}}},
                                {"splits", {{"train", "train"}, {"holdout", "val"}, {"test", "test"}}}}}}},
      {"modalities", {{"breast_ultrasound", {{"dataset", "breast"}, {"specialty", "radiology"}, {"prompts", "from_manifest"}, {"n_generate", 10}}}}},
      {"models",
       {{"gen", {{"kind", "generalist"}, {"modalities", {"breast_ultrasound"}}, {"source", {{"type", "folder"}, {"path", bm.string()}}}}},
        {"spec", {{"kind", "specialist"}, {"modalities", {"breast_ultrasound"}}, {"source", {{"type", "command"}, {"command", copy_cmd}}}}},
        {"tiny", {{"kind", "specialist"}, {"modalities", {"breast_ultrasound"}}, {"source", {{"type", "train"}, {"config", "engine.json"}}}}}}},
      {"evaluations",
       {{"fidelity", {{"extractor", "builtin:pixels:2"}, {"bootstrap", 5}, {"k", 2}, {"kid_subsets", 5}}},
        {"diversity", {{"pairs", 20}, {"bootstrap", 5}}},
        {"memorization", {{"embedder", "builtin:pixels:8"}, {"k", 2}, {"top_pairs", 2}}},
        {"compute", {{"measure", false}}}}}};
  atomic_write_text(dir / "s.json", s.dump(2));
}

double timed(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<json> jobs_of(const fs::path& run) {
  std::vector<json> out;
  std::ifstream f(run / "slurm" / "jobs.jsonl");
  std::string line;
  while (std::getline(f, line))
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

}  // namespace

TEST_CASE("slurm executor: GPU requests only for GPU units, packing, dry-run scripts", "[suites][slurm]") {
  using suites::make_unit;
  // Which units ask for a GPU: those that record a cuda device (and features only with TorchScript).
  CHECK(suites::unit_needs_gpu(make_unit("train", "m", {}, {{"device", "cuda:0"}})));
  CHECK_FALSE(suites::unit_needs_gpu(make_unit("train", "m", {}, {{"device", "cpu"}})));
  CHECK_FALSE(suites::unit_needs_gpu(make_unit("generate", "m-x", {{"source", "folder"}}, {{"device", ""}})));
  CHECK(suites::unit_needs_gpu(make_unit("generate", "m-x", {{"source", "train"}}, {{"device", "cuda:1"}})));
  CHECK_FALSE(suites::unit_needs_gpu(
      make_unit("features", "real-x", {{"extractor", "builtin:pixels:2"}}, {{"extractor", {{"device", "cuda:0"}}}})));
  CHECK(suites::unit_needs_gpu(
      make_unit("features", "real-x", {{"extractor", "torchscript-preset:inception"}}, {{"extractor", {{"device", "cuda:0"}}}})));
  CHECK(suites::node_local_reason("/tmp/run").find("/tmp") != std::string::npos);
  CHECK(suites::node_local_reason(test::source_dir()).empty());  // the checkout: not /tmp, not a tmpfs here

  // A wave of 5 CPU and 3 GPU units with --max-array 2: two arrays of 2 tasks, units packed, the
  // GPU array alone asks for GPUs; the continue job depends on both. Nothing is submitted.
  test::TempDir tmp;
  suites::SlurmWave w;
  w.run_dir = tmp.path();
  w.run_args = {"s.json", "--out", tmp.path().string(), "--executor", "slurm"};
  for (int i = 0; i < 5; ++i) w.units.push_back(make_unit("generate", "cpu" + std::to_string(i), {}, {{"device", ""}}));
  for (int i = 0; i < 3; ++i) w.units.push_back(make_unit("generate", "gpu" + std::to_string(i), {}, {{"device", "cuda:0"}}));
  w.later_stages = {"generate", "features"};
  suites::SlurmOptions o;
  o.dry_run = true;
  o.max_array = 2;
  o.gpus = 2;
  o.time = "01:00:00";
  o.partition = "gpu";
  const auto sub = suites::submit_wave(w, o);
  INFO(sub.graph);
  CHECK(sub.graph.find("dry run") != std::string::npos);
  CHECK(sub.graph.find("array generate (CPU): 5 unit(s) in 2 task(s) [--array=0-1]") != std::string::npos);
  CHECK(sub.graph.find("array generate (GPU): 3 unit(s) in 2 task(s) [--array=0-1] --gres=gpu:2") != std::string::npos);
  CHECK(sub.graph.find("--dependency=afterok:[1]:[2]") != std::string::npos);
  const std::string cpu = read_file_text(tmp / "slurm" / "wave-001-generate.sbatch");
  const std::string gpu = read_file_text(tmp / "slurm" / "wave-001-generate-gpu.sbatch");
  CHECK(cpu.find("--gres") == std::string::npos);
  CHECK(gpu.find("#SBATCH --gres=gpu:2") != std::string::npos);
  for (const auto* s : {&cpu, &gpu}) {
    CHECK(s->find("#SBATCH --partition=gpu") != std::string::npos);
    CHECK(s->find("#SBATCH --time=01:00:00") != std::string::npos);
    CHECK(s->find("run-unit \"$DIR\" \"${MINE[@]}\"") != std::string::npos);
    CHECK(s->find("i += 2") != std::string::npos);
  }
  CHECK(read_file_text(tmp / "slurm" / "wave-001-generate.units") ==
        w.units[0].id() + "\n" + w.units[1].id() + "\n" + w.units[2].id() + "\n" + w.units[3].id() + "\n" + w.units[4].id() + "\n");
  CHECK(read_file_text(tmp / "slurm" / "continue-001.sbatch").find("run 's.json' '--out'") != std::string::npos);
  CHECK(!fs::exists(tmp / "slurm" / "jobs.jsonl"));  // nothing submitted

  // A wave of one task (one unit here) has no continue job: its task computes the unit and then
  // plans the next wave in the same process (`run ... --slurm-continue --slurm-first-units`).
  suites::SlurmWave one = w;
  one.units = {make_unit("data", "real-x", {}, {})};
  one.resume = true;
  one.run_args.push_back("--resume");
  const auto folded = suites::submit_wave(one, o);
  INFO(folded.graph);
  CHECK(folded.graph.find("array data (CPU): 1 unit(s) in 1 task(s) [--array=0-0]") != std::string::npos);
  CHECK(folded.graph.find("no separate continue job") != std::string::npos);
  CHECK(folded.graph.find("--dependency") == std::string::npos);
  CHECK(folded.job_ids.size() == 1);
  const std::string fs2 = read_file_text(tmp / "slurm" / "wave-002-data.sbatch");
  CHECK(fs2.find("\"$BIN\" run 's.json' '--out' " + test::shell_quote(tmp.path().string()) +
                 " '--executor' 'slurm' '--resume' --slurm-continue --slurm-first-units \"${MINE[@]}\"") != std::string::npos);
  CHECK(fs2.find("run-unit") == std::string::npos);
  CHECK(fs2.find("failed.tsv") != std::string::npos);  // a unit that failed is still recorded
  CHECK(!fs::exists(tmp / "slurm" / "continue-002.sbatch"));
  // The internal flag belongs to such a task only.
  auto first = test::run_cli("run s.json --out " + test::shell_quote(tmp.path().string()) + " --slurm-first-units data/x");
  CHECK(first.exit_code == 2);
  CHECK(first.err.find("--slurm-first-units: only with --executor slurm --slurm-continue") != std::string::npos);

  // run-unit: bad input is exit 2 naming what is wrong.
  const std::string dir = test::shell_quote(tmp.path().string());
  auto r = test::run_cli("run-unit " + dir + " data/x");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("run.json") != std::string::npos);
  write_json_file(tmp / "run.json", json{{"suite_name", "s"}, {"suite_file", (tmp / "s.json").string()}, {"limit", nullptr}});
  for (const char* bad : {"x", "data/../../etc", "data/a/b"}) {
    r = test::run_cli("run-unit " + dir + " " + bad);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("expected <stage>/<folder>") != std::string::npos);
  }
  r = test::run_cli("run-unit " + dir + " data/real-x-0123456789abcdef");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("no unit 'data/real-x-0123456789abcdef' was planned") != std::string::npos);
  // A planned description whose key does not match its content (edited by hand) is refused too.
  const auto d = make_unit("data", "real-x", {{"a", 1}}, {{"b", 2}});
  ordered_json bad = suites::to_json(d);
  bad["spec"]["a"] = 3;
  ensure_dir(tmp / "units" / "data");
  write_json_file(suites::pending_description_path(tmp / "units" / d.id()), bad);
  r = test::run_cli("run-unit " + dir + " " + d.id());
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("does not match the description") != std::string::npos);
}

TEST_CASE("slurm executor on a real one-node cluster: same results as local, scancel then --resume, --dry-run",
          "[suites][slurm][cluster]") {
  test::medmnist_file("breastmnist");  // skips the test when the shared data is missing
  test::TempDir tmp("medsyn-slurm");
  SlurmCluster cluster(tmp / "cluster");
  write_suite(tmp.path());
  ::setenv("MEDSYN_SLURM_POLL_S", "0.5", 1);
  const std::string suite = test::shell_quote((tmp / "s.json").string());
  auto run = [&](const std::string& out, const std::string& more) {
    return test::run_cli("run " + suite + " --out " + test::shell_quote((tmp / out).string()) + " --limit 16 " + more);
  };

  // 1. Local and Slurm: the same results.json (except timestamps, host, timings).
  test::CliResult local, slurm;
  const double t_local = timed([&] { local = run("local", ""); });
  INFO(local.err);
  REQUIRE(local.exit_code == 0);
  const double t_slurm = timed([&] { slurm = run("slurm", "--executor slurm --wait"); });
  INFO(slurm.out + slurm.err);
  REQUIRE(slurm.exit_code == 0);
  std::cout << "slurm executor overhead on the small suite: local " << t_local << " s, slurm " << t_slurm << " s, ratio "
            << t_slurm / t_local << "\n";
  CHECK(slurm.err.find("looks node-local") != std::string::npos);  // the test's run folder is below /tmp: a warning
  CHECK(slurm.err.find("stage fidelity: 3/3 unit(s) done on Slurm") != std::string::npos);
  CHECK(slurm.out.find("slurm jobs:") != std::string::npos);
  CHECK(normalised(tmp / "slurm" / "results.json") == normalised(tmp / "local" / "results.json"));
  CHECK(fs::exists(tmp / "slurm" / "report" / "index.html"));
  // The thread counts the units ran with (the same both ways: part of the comparison above).
  const json threads = read_json_file(tmp / "slurm" / "results.json")["provenance"]["unit_threads"];
  REQUIRE(threads.is_array());
  CHECK(threads.size() == 1);
  CHECK(threads[0].get<int>() >= 1);
  // Per stage one array (CPU here), each task a `run-unit`; every description was consumed.
  std::set<std::string> stages;
  for (const auto& j : jobs_of(tmp / "slurm"))
    if (j["kind"] == "units") {
      stages.insert(j["stage"].get<std::string>());
      CHECK(j["gpu"] == false);
    }
  CHECK(stages == std::set<std::string>{"data", "train", "generate", "features", "fidelity", "diversity", "memorization", "compute"});
  // Waves of a single task (the data import, the real splits, the last fidelity unit) plan the
  // next wave in that task: no continue job for them.
  std::set<int> folded_waves, continue_waves;
  for (const auto& j : jobs_of(tmp / "slurm")) {
    if (j["kind"] == "units" && j.value("continues", false)) folded_waves.insert(j["wave"].get<int>());
    if (j["kind"] == "continue") continue_waves.insert(j["wave"].get<int>());
  }
  CHECK(folded_waves.size() >= 2);
  for (const int wv : folded_waves) CHECK(continue_waves.count(wv) == 0);
  for (const auto& e : fs::recursive_directory_iterator(tmp / "slurm" / "units")) {
    CHECK(e.path().extension() != ".partial");
    CHECK(e.path().filename().string().find(".unit.json") == std::string::npos);
  }
  // A second submission finds every unit complete: nothing is submitted, results are rebuilt here.
  const auto again = run("slurm", "--executor slurm --wait");
  CHECK(again.exit_code == 0);
  CHECK(again.out.find("slurm jobs:") == std::string::npos);

  // 2. scancel a running task: --wait exits 1 naming the unit, its job and its log; --resume completes.
  ::setenv("MEDSYN_TEST_SLEEP", "120", 1);  // the command model's unit runs (sleeps) until cancelled
  auto waiting = std::async(std::launch::async, [&] { return run("killed", "--executor slurm --wait"); });
  const fs::path gen_dir = tmp / "killed" / "units" / "generate";
  std::string job, unit;
  for (int i = 0; i < 600 && job.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (!fs::exists(gen_dir)) continue;
    for (const auto& e : fs::directory_iterator(gen_dir))
      if (e.path().filename().string().rfind("spec-", 0) == 0 && e.path().extension() == ".partial")
        unit = "generate/" + e.path().stem().string();
    if (unit.empty()) continue;
    for (const auto& j : jobs_of(tmp / "killed"))
      if (j["kind"] == "units" && j["stage"] == "generate")
        for (std::size_t k = 0; k < j["units"].size(); ++k)
          if (j["units"][k] == unit) job = j["job"].get<std::string>() + "_" + std::to_string(k % j["tasks"].get<std::size_t>());
  }
  ::unsetenv("MEDSYN_TEST_SLEEP");
  REQUIRE(!job.empty());
  CHECK(sh("squeue -h -j " + job + " -o %T").find("RUNNING") != std::string::npos);
  const auto twice = run("killed", "--executor slurm --resume");  // jobs of the run are still queued or running
  CHECK(twice.exit_code == 2);
  CHECK(twice.err.find("still queued or running") != std::string::npos);
  REQUIRE(std::system(("scancel " + job).c_str()) == 0);
  const auto killed = waiting.get();
  INFO(killed.out + killed.err);
  CHECK(killed.exit_code == 1);
  CHECK(killed.err.find("unit " + unit) != std::string::npos);
  CHECK(killed.err.find("Slurm job " + job) != std::string::npos);
  CHECK(killed.err.find(".out") != std::string::npos);
  CHECK(!fs::exists(tmp / "killed" / "results.json"));
  const auto resumed = run("killed", "--executor slurm --resume --wait");
  INFO(resumed.out + resumed.err);
  REQUIRE(resumed.exit_code == 0);
  CHECK(normalised(tmp / "killed" / "results.json") == normalised(tmp / "local" / "results.json"));

  // 3. Sharded units (execution.shard_size, issue 15): feature and generation shards run as tasks
  // of their stage's arrays, the set's units in a later wave; results equal the local sharded run.
  {
    ordered_json sharded = ordered_json::parse(read_file_text(tmp / "s.json"));
    sharded["execution"] = {{"shard_size", 4}};
    atomic_write_text(tmp / "sharded.json", sharded.dump(2));
    const std::string ssuite = test::shell_quote((tmp / "sharded.json").string());
    const auto sl = test::run_cli("run " + ssuite + " --out " + test::shell_quote((tmp / "sharded-local").string()) + " --limit 16");
    INFO(sl.err);
    REQUIRE(sl.exit_code == 0);
    const auto ss = test::run_cli("run " + ssuite + " --out " + test::shell_quote((tmp / "sharded-slurm").string()) +
                                  " --limit 16 --executor slurm --wait");
    INFO(ss.out + ss.err);
    REQUIRE(ss.exit_code == 0);
    CHECK(normalised(tmp / "sharded-slurm" / "results.json") == normalised(tmp / "sharded-local" / "results.json"));
    std::map<std::string, int> shard_tasks;  // stage -> shard units submitted
    for (const auto& j : jobs_of(tmp / "sharded-slurm"))
      if (j["kind"] == "units")
        for (const auto& u : j["units"])
          if (u.get<std::string>().find(".shard-") != std::string::npos) ++shard_tasks[j["stage"].get<std::string>()];
    CHECK(shard_tasks["features"] >= 4 + 3 * 3);  // real: 16 rows; three synthetic sets of 10
    CHECK(shard_tasks["generate"] >= 3);           // the command and the trained model's sets
  }

  // 4. --dry-run: scripts and the job graph, nothing submitted.
  const auto dry = run("dry", "--executor slurm --dry-run --max-array 1 --slurm-time 00:10:00 --slurm-cpus 1");
  INFO(dry.out + dry.err);
  REQUIRE(dry.exit_code == 0);
  CHECK(dry.out.find("dry run: nothing submitted") != std::string::npos);
  CHECK(dry.out.find("array data (CPU): 1 unit(s) in 1 task(s) [--array=0-0] --cpus-per-task=1 --time=00:10:00") != std::string::npos);
  // The first wave (the data import) is one task: it plans the next wave itself, no continue job.
  CHECK(dry.out.find("its task then plans the next wave in the same process") != std::string::npos);
  CHECK(fs::exists(tmp / "dry" / "slurm" / "wave-001-data.sbatch"));
  CHECK(read_file_text(tmp / "dry" / "slurm" / "wave-001-data.sbatch").find("--slurm-continue --slurm-first-units") != std::string::npos);
  CHECK(!fs::exists(tmp / "dry" / "slurm" / "continue-001.sbatch"));
  CHECK(!fs::exists(tmp / "dry" / "slurm" / "jobs.jsonl"));
  CHECK(sh("squeue -h -n " + suites::slurm_job_name(tmp / "dry")).empty());
  // A single-task wave whose units finished but whose planning failed: --wait names that task and
  // its log (a hand-made jobs.jsonl: job 999999 is not in squeue, its unit is done).
  {
    const fs::path fake = tmp / "fake";
    ensure_dir(fake / "units" / "data" / "real-x");
    atomic_write_text(fake / "units" / "data" / "real-x" / "done.json", "{}");
    ensure_dir(fake / "slurm");
    const std::string log = (fake / "slurm" / "logs" / "wave-001-data-%A_%a.out").string();
    atomic_write_text(fake / "slurm" / "jobs.jsonl",
                      json{{"job", "999999"}, {"kind", "units"}, {"stage", "data"}, {"wave", 1}, {"units", {"data/real-x"}},
                           {"tasks", 1}, {"log", log}, {"continues", true}}.dump() + "\n");
    std::ostringstream progress;
    std::string failure;
    CHECK(suites::wait_for_slurm_run(fake, 0, 0.1, progress, failure) == 1);
    CHECK(failure.find("the task 999999_0 that plans the next wave") != std::string::npos);
    CHECK(failure.find((fake / "slurm" / "logs" / "wave-001-data-999999_0.out").string()) != std::string::npos);
  }

  // Bad input stays exit 2; slurm flags need the slurm executor.
  CHECK(run("bad", "--executor slurm --slurm-gpus 0").exit_code == 2);
  CHECK(run("bad", "--max-array 2").exit_code == 2);
  ::unsetenv("MEDSYN_SLURM_POLL_S");
}
