// The suite runner: planning and caching (a rerun computes nothing, one changed option reruns only
// the units it feeds), resume after a kill -9 inside a stage (same results.json except timestamps
// and timings), --only, and a tiny end-to-end run with a trained engine on BreastMNIST.
#include <cmath>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <map>
#include <set>
#include <sstream>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/core/medmnist_import.h"
#include "medsyn/core/npy.h"
#include "medsyn/metrics/fid.h"
#include "medsyn/metrics/stats.h"
#include "medsyn/reports/results.h"
#include "medsyn/suites/runner.h"
#include "medsyn/suites/suite.h"
#include "medsyn/suites/unit_store.h"
#include "medsyn/suites/validate.h"
#include "test_support.h"

using namespace medsyn;
namespace fs = std::filesystem;

namespace {

bool have_breast() { return test::medmnist_file_if_present("breastmnist").has_value(); }

// A suite over BreastMNIST with two "generators" that need no training: a folder of real test
// images (generalist) and an external command copying them (specialist). Cheap evaluations.
std::string folder_suite(const fs::path& folder, int pairs = 20) {
  const std::string npz = test::medmnist_file("breastmnist").string();
  const std::string copy_cmd = "for f in $(ls " + (folder / "images" / "test").string() +
                               "/*.png | head -n {n}); do cp $f {out}/; done";
  ordered_json s = {
      {"schema_version", 1},
      {"name", "runner-test"},
      {"seed", 3},
      {"datasets", {{"breast", {{"source", {{"medmnist", npz}}}, {"splits", {{"train", "train"}, {"holdout", "val"}, {"test", "test"}}}}}}},
      {"modalities", {{"breast_ultrasound", {{"dataset", "breast"}, {"specialty", "radiology"}, {"prompts", "from_manifest"}, {"n_generate", 12}}}}},
      {"models",
       {{"gen", {{"kind", "generalist"}, {"modalities", {"breast_ultrasound"}}, {"source", {{"type", "folder"}, {"path", folder.string()}}}}},
        {"spec", {{"kind", "specialist"}, {"modalities", {"breast_ultrasound"}}, {"source", {{"type", "command"}, {"command", copy_cmd}}}}}}},
      {"evaluations",
       {{"fidelity", {{"extractor", "builtin:pixels:2"}, {"bootstrap", 5}, {"k", 2}, {"kid_subsets", 5}}},
        {"diversity", {{"pairs", pairs}, {"bootstrap", 5}}},
        {"memorization", {{"embedder", "builtin:pixels:8"}, {"k", 2}, {"top_pairs", 2}}},
        {"downstream", {{"fractions", {1.0}}, {"arms", {"real", "syn"}}, {"seeds", 2}, {"epochs", 1}}},
        {"compute", ordered_json::object()}}}};
  return s.dump(2);
}

// results.json without what legitimately changes between runs: timestamps, the command line and
// measured timings.
json normalised(const fs::path& results) {
  json j = read_json_file(results);
  for (const char* k : {"started", "finished", "time", "command_line"}) j["provenance"].erase(k);
  if (j.contains("compute")) {
    for (auto& [name, e] : j["compute"]["models"].items()) {
      e.erase("wall_time_s");
      e.erase("images_per_s");
    }
    j["compute"].erase("notes");
  }
  return j;
}

int computed(const suites::RunSummary& s) {
  int n = 0;
  for (const auto& [name, st] : s.stages)
    if (name != "report") n += st.computed;
  return n;
}

// BreastMNIST imported to DIR/bm and folder_suite over it written to DIR/s.json.
void write_folder_suite(const fs::path& dir) {
  import_medmnist(test::medmnist_file("breastmnist"), dir / "bm");
  atomic_write_text(dir / "s.json", folder_suite(dir / "bm"));
}

}  // namespace

TEST_CASE("run: a rerun computes nothing and one changed option reruns only its units", "[suites][runner]") {
  test::medmnist_file("breastmnist");  // skips the test when the shared data is missing
  test::TempDir tmp;
  write_folder_suite(tmp.path());
  suites::RunOptions o;
  o.suite_file = tmp / "s.json";
  o.out = tmp / "run";
  o.limit = 24;
  o.resume = true;  // nothing to resume yet (no run.json): the run starts (issue 14)
  const auto first = suites::run_suite(o);
  o.resume = false;
  CHECK(first.stages.at("data").computed == 2);      // import + real-breast_ultrasound
  CHECK(first.stages.at("generate").computed == 2);
  CHECK(first.stages.at("fidelity").computed == 2);
  CHECK(first.stages.at("diversity").computed == 3);  // two synthetic sets + the real reference
  CHECK(first.stages.at("memorization").computed == 2);
  CHECK(first.stages.at("downstream").computed == 2);
  REQUIRE(fs::exists(tmp / "run" / "results.json"));
  REQUIRE(fs::exists(tmp / "run" / "report" / "index.html"));
  // Every unit folder holds its description (unit.json), which reads back with a matching key.
  int described = 0;
  for (const auto& e : fs::recursive_directory_iterator(tmp / "run" / "units"))
    if (e.path().filename() == "unit.json") {
      const auto d = suites::unit_description_from_json(read_json_file(e.path()), e.path().string());
      CHECK(e.path().parent_path().filename() == d.folder_name());
      CHECK(e.path().parent_path().parent_path().filename() == d.stage);
      CHECK(read_json_file(e.path().parent_path() / "done.json")["key"] == d.key);
      ++described;
    }
  CHECK(described == computed(first));
  const auto r = reports::load_results(tmp / "run" / "results.json");  // schema + semantic checks
  CHECK(r.suite_name == "runner-test");
  // builtin:pixels is not Inception: the Fréchet distance is "fd" (core/feature_space.h), its
  // space recorded on the metric object, the floor likewise, and a note says so.
  CHECK(r.find("gen", "breast_ultrasound", "fid") == nullptr);
  REQUIRE(r.find("gen", "breast_ultrasound", "fd"));
  CHECK(r.find("gen", "breast_ultrasound", "fd")->has_value());
  CHECK(r.find("gen", "breast_ultrasound", "fd")->n == 12);  // n_generate, not capped by --limit 24
  CHECK(r.find("gen", "breast_ultrasound", "fd_population"));
  CHECK(r.reference.at("breast_ultrasound").count("fd_real_floor") == 1);
  CHECK(r.reference.at("breast_ultrasound").count("fid_real_floor") == 0);
  {
    const json raw = read_json_file(tmp / "run" / "results.json");
    CHECK(raw["results"]["gen"]["breast_ultrasound"]["fd"]["feature_space"] == "builtin:pixels(1x2x2)");
    CHECK(raw["provenance"]["extractor"]["id"] == "builtin:pixels(1x2x2)");
    bool noted = false;
    for (const auto& n : raw["notes"]) noted = noted || n.get<std::string>().find("reported as fd") != std::string::npos;
    CHECK(noted);
  }
  CHECK(r.find("spec", "breast_ultrasound", "ms_ssim")->has_value());
  CHECK(r.memorization.at("gen").count("breast_ultrasound") == 1);
  // AuthPct beside the calibrated audit: a percentage with a Wilson interval around it.
  const Estimate& ap = r.memorization.at("gen").at("breast_ultrasound").authpct;
  REQUIRE(ap.has_value());
  CHECK(ap.ci_method == "wilson");
  CHECK(ap.ci_low <= ap.value);
  CHECK(ap.value <= ap.ci_high);
  CHECK(ap.ci_high <= 100.0);
  // C_T on the audit's embeddings: a number, or null with the reason (three k-means cells need
  // held-out images in each).
  const Estimate& ct = r.memorization.at("gen").at("breast_ultrasound").c_t;
  CHECK((ct.has_value() || !ct.note.empty()));
  REQUIRE(r.find("gen", "breast_ultrasound", "cmmd"));
  CHECK(r.find("gen", "breast_ultrasound", "cmmd")->has_value());
  CHECK(r.downstream.at("spec").count("breast_ultrasound") == 1);
  {  // intensity comparison (issue 19): the "gen" folder holds real test images, so its drift is small
    const auto& ie = r.intensity.at("gen").at("breast_ultrasound");
    CHECK(ie.n_generated == 12);
    REQUIRE(ie.rows.size() == 1);  // gray: one row, "all"
    CHECK(ie.rows[0].channel == "all");
    CHECK(ie.rows[0].mean_diff.has_ci());
    CHECK(std::abs(ie.rows[0].mean_diff.value) < 0.1);
    CHECK(ie.rows[0].wasserstein < 0.1);
    // a real image of the same modality and class for every sample shown
    CHECK(r.samples_real.at("gen").at("breast_ultrasound").size() == r.samples.at("gen").at("breast_ultrasound").size());
  }
  CHECK(!r.compute.at("gen").params);  // a folder has no training cost: null, never a made-up number
  const json j1 = read_json_file(tmp / "run" / "results.json");
  CHECK(j1["provenance"]["suite_hash"] == j1["suite"]["hash"]);
  CHECK(j1["provenance"]["seeds"].contains("generate:spec:breast_ultrasound"));
  CHECK(j1["provenance"]["inputs"].contains("dataset:breast"));

  // compare decides fid_population by the paired bootstrap over the recorded feature files; a run
  // against itself is "unchanged" (its two synthetic sets are resampled independently, so the
  // paired interval is not [0, 0] but contains 0).
  {
    const std::string rj = test::shell_quote((tmp / "run" / "results.json").string());
    auto cr = test::run_cli("compare " + rj + " " + rj + " --json --paired-replicates 20");
    INFO(cr.err);
    REQUIRE(cr.exit_code == 0);
    int paired = 0;
    const json out = json::parse(cr.out);
    for (const auto& d : out["deltas"])
      if (d["metric"] == "fd_population") {
        CHECK(d["method"].get<std::string>().rfind("paired bootstrap", 0) == 0);
        CHECK(d["delta"]["ci_low"].get<double>() <= 0.0);
        CHECK(d["delta"]["ci_high"].get<double>() >= 0.0);
        CHECK(d["verdict"] == "unchanged");
        ++paired;
      }
    CHECK(paired == 2);
    cr = test::run_cli("compare " + rj + " " + rj + " --json --paired-replicates 0");
    REQUIRE(cr.exit_code == 0);
    const json unpaired = json::parse(cr.out);
    for (const auto& d : unpaired["deltas"]) CHECK(d["method"] == "delta-ci");
  }

  const auto again = suites::run_suite(o);
  CHECK(computed(again) == 0);
  CHECK(normalised(tmp / "run" / "results.json") == normalised(tmp / "run" / "results.json"));
  CHECK(normalised(tmp / "run" / "results.json").dump() == [&] {
    json j = j1;
    for (const char* k : {"started", "finished", "time", "command_line"}) j["provenance"].erase(k);
    for (auto& [name, e] : j["compute"]["models"].items()) {
      e.erase("wall_time_s");
      e.erase("images_per_s");
    }
    j["compute"].erase("notes");
    return j.dump();
  }());

  // A different number of diversity pairs: only the diversity units run again.
  atomic_write_text(tmp / "s.json", folder_suite(tmp / "bm", 30));
  const auto changed = suites::run_suite(o);
  CHECK(changed.stages.at("diversity").computed == 3);
  CHECK(computed(changed) == 3);

  // --only: a stage whose inputs are missing is an error naming it; the report alone is fine.
  suites::RunOptions fresh = o;
  fresh.out = tmp / "run2";
  fresh.only = {"fidelity"};
  CHECK_THROWS_AS(suites::run_suite(fresh), InputError);
  fresh.only = {"data"};  // later stages are not planned at all
  const auto data_only = suites::run_suite(fresh);
  CHECK(data_only.stages.at("data").computed == 2);
  CHECK(computed(data_only) == 2);
  CHECK(!fs::exists(fresh.out / "results.json"));
  o.only = {"report"};
  const auto rep = suites::run_suite(o);
  CHECK(computed(rep) == 0);
  CHECK(rep.stages.at("report").computed == 1);
}

namespace {

// The folder suite with fidelity only, in the space of the suite-trained embedder (tiny training).
std::string suite_extractor_suite(const fs::path& folder, int epochs) {
  auto s = ordered_json::parse(folder_suite(folder));
  s["evaluations"] = {{"fidelity",
                       {{"extractor", "builtin:contrastive:suite"},
                        {"extractor_training", {{"epochs", epochs}, {"dim", 4}, {"batch", 8}, {"width", 4}}},
                        {"bootstrap", 5}, {"k", 2}, {"kid_subsets", 5}}}};
  return s.dump(2);
}

// The folders of a stage's units, by unit name (the part before "-<key16>").
std::map<std::string, fs::path> units_of(const fs::path& run, const std::string& stage) {
  std::map<std::string, fs::path> out;
  for (const auto& e : fs::directory_iterator(run / "units" / stage))
    if (e.is_directory()) out[read_json_file(e.path() / "unit.json")["name"].get<std::string>()] = e.path();
  return out;
}

}  // namespace

TEST_CASE("run: builtin:contrastive:suite trains one cached embedder unit and reports fd in its space with its hash",
          "[suites][runner][suite-extractor]") {
  test::medmnist_file("breastmnist");  // skips the test when the shared data is missing
  test::TempDir tmp;
  import_medmnist(test::medmnist_file("breastmnist"), tmp / "bm");
  atomic_write_text(tmp / "s.json", suite_extractor_suite(tmp / "bm", 2));
  suites::RunOptions o;
  o.suite_file = tmp / "s.json";
  o.out = tmp / "run";
  o.limit = 24;
  const auto first = suites::run_suite(o);
  CHECK(first.stages.at("features").computed == 4);  // the embedder + the real set + two synthetic sets
  auto units = units_of(o.out, "features");
  REQUIRE(units.count("embedder") == 1);
  const fs::path emb = units.at("embedder");
  REQUIRE(fs::exists(emb / "embedder.pt"));
  const std::string weights = sha256_file(emb / "embedder.pt");
  const json training = read_json_file(emb / "training.json");
  CHECK(training["weights_sha256"] == weights);
  CHECK(training["epochs"] == 2);
  CHECK(training["images"].get<int>() > 0);
  // The features units read the embedder: its key and hash are their inputs.
  const json fu = read_json_file(units.at("gen-breast_ultrasound") / "unit.json");
  CHECK(fu["inputs"]["extractor"]["embedder"] == read_json_file(emb / "done.json")["key"]);
  CHECK(fu["inputs"]["extractor"]["weights_sha256"] == weights);

  const json r = read_json_file(o.out / "results.json");
  const std::string id = r["provenance"]["extractor"]["id"];
  CHECK(id.rfind("builtin:contrastive(projection, views=single, sha256=" + weights.substr(0, 16), 0) == 0);
  CHECK(r["provenance"]["extractor"]["weights_sha256"] == weights);
  const json& t = r["provenance"]["extractor"]["trained_by_suite"];
  CHECK(t["images"] == training["images"]);
  CHECK(t["epochs"] == 2);
  CHECK(t["options"]["dim"] == 4);
  CHECK(t["seed"] == r["provenance"]["seeds"]["extractor_training"]);
  const json& fd = r["results"]["gen"]["breast_ultrasound"]["fd"];
  CHECK(fd["value"].is_number());
  CHECK(fd["feature_space"] == id);
  CHECK(!r["results"]["gen"].at("breast_ultrasound").contains("fid"));
  CHECK(r["reference"]["breast_ultrasound"].contains("fd_real_floor"));
  CHECK(reports::load_results(o.out / "results.json").find("spec", "breast_ultrasound", "fd"));  // schema-valid
  {  // the report names the space and the weights' hash
    const std::string md = read_file_text(o.out / "report" / "report.md");
    CHECK(md.find("Feature space") != std::string::npos);
    CHECK(md.find(weights) != std::string::npos);
  }

  // Cached: a rerun computes nothing.
  CHECK(computed(suites::run_suite(o)) == 0);

  // Deterministic: the same suite in a fresh run folder trains the same weights.
  suites::RunOptions o2 = o;
  o2.out = tmp / "run-again";
  suites::run_suite(o2);
  CHECK(sha256_file(units_of(o2.out, "features").at("embedder") / "embedder.pt") == weights);

  // Other training images (a different --limit): a new embedder, and every features unit changes,
  // also that of a synthetic set whose images did not change.
  o.limit = 20;
  const auto other = suites::run_suite(o);
  CHECK(other.stages.at("features").computed == 4);
  std::set<std::string> embedders, gen_features;
  for (const auto& e : fs::directory_iterator(o.out / "units" / "features")) {
    const std::string name = read_json_file(e.path() / "unit.json")["name"];
    if (name == "embedder") embedders.insert(e.path().filename().string());
    if (name == "gen-breast_ultrasound") gen_features.insert(e.path().filename().string());
  }
  CHECK(embedders.size() == 2);
  CHECK(gen_features.size() == 2);
  // Other training options: the embedder and the features units again, nothing upstream.
  atomic_write_text(tmp / "s.json", suite_extractor_suite(tmp / "bm", 3));
  const auto retrained = suites::run_suite(o);
  CHECK(retrained.stages.at("features").computed == 4);
  CHECK(retrained.stages.at("data").computed == 0);
  CHECK(retrained.stages.at("generate").computed == 0);
  CHECK(retrained.stages.at("fidelity").computed == 2);
}

TEST_CASE("run: the adherence stage scores CAS per model and modality into results.json, report and gates",
          "[suites][runner][adherence]") {
  test::medmnist_file("breastmnist");  // skips the test when the shared data is missing
  test::TempDir tmp;
  write_folder_suite(tmp.path());
  // The folder suite with prompt adherence only: "gen" holds real images with their own prompts,
  // "spec" copies the same test images whatever the prompt (its images do not follow the prompts).
  ordered_json s = ordered_json::parse(read_file_text(tmp / "s.json"));
  s["name"] = "adherence-test";
  s["evaluations"] = {{"adherence", {{"seeds", 2}, {"epochs", 1}}}};
  atomic_write_text(tmp / "s.json", s.dump(2));
  suites::RunOptions o;
  o.suite_file = tmp / "s.json";
  o.out = tmp / "run";
  o.limit = 24;
  const auto first = suites::run_suite(o);
  CHECK(first.stages.at("adherence").computed == 2);
  CHECK(computed(first) == 2 + 2 + 2);  // data (2), generate (2), adherence (2)
  const auto r = reports::load_results(tmp / "run" / "results.json");  // schema + semantic checks
  for (const char* model : {"gen", "spec"}) {
    INFO(model);
    const auto& e = r.adherence.at(model).at("breast_ultrasound");
    CHECK(e.n_synthetic == 12);
    CHECK(e.n_used == 12);  // every prompt is a training prompt naming a class
    CHECK(e.seeds == 2);
    for (const auto* x : {&e.cas.accuracy, &e.cas.auroc, &e.real.accuracy, &e.reverse.accuracy}) {
      CHECK(x->has_value());
      CHECK(x->ci_method == "t over seeds");
      CHECK(x->ci_level == 0.95);
    }
    CHECK(e.cas.classes.size() == 2);
    CHECK(e.cas.worst() != nullptr);
    CHECK(!e.results_json.empty());
    CHECK(fs::exists(tmp / "run" / e.results_json));
  }
  // The real-trained classifiers are shared by the models of a modality (same seed, same data):
  // the real reference is identical, so CAS differences between models are paired.
  CHECK(r.adherence.at("gen").at("breast_ultrasound").real.accuracy.value ==
        r.adherence.at("spec").at("breast_ultrasound").real.accuracy.value);
  const std::string md = read_file_text(tmp / "run" / "report" / "report.md");
  CHECK(md.find("Prompt adherence (Classification Accuracy Score)") != std::string::npos);
  CHECK(read_file_text(tmp / "run" / "report" / "metrics.csv").find("adherence,gen,generalist,breast_ultrasound,cas_accuracy") !=
        std::string::npos);
  // compare and gates know the adherence numbers.
  const std::string rj = test::shell_quote((tmp / "run" / "results.json").string());
  auto cr = test::run_cli("compare " + rj + " " + rj + " --json");
  INFO(cr.err);
  REQUIRE(cr.exit_code == 0);
  int adherence_deltas = 0;
  const json compared = json::parse(cr.out);
  for (const auto& d : compared["deltas"])
    if (d["metric"].get<std::string>().rfind("adherence.", 0) == 0) {
      CHECK(d["verdict"] == "unchanged");
      ++adherence_deltas;
    }
  CHECK(adherence_deltas >= 2 * 8);
  atomic_write_text(tmp / "gates.json", R"([{"metric": "adherence.cas_accuracy", "op": ">=", "value": 0},
    {"name": "impossible", "metric": "adherence.real_accuracy", "model": "gen", "op": ">", "value": 1}])");
  cr = test::run_cli("compare " + rj + " " + rj + " --gates " + test::shell_quote((tmp / "gates.json").string()));
  CHECK(cr.exit_code == 1);
  CHECK((cr.out + cr.err).find("impossible") != std::string::npos);
  // A rerun computes nothing.
  CHECK(computed(suites::run_suite(o)) == 0);
}

TEST_CASE("run: kill -9 inside a stage then --resume gives the same results.json", "[suites][runner][resume]") {
  test::medmnist_file("breastmnist");  // skips the test when the shared data is missing
  test::TempDir tmp;
  write_folder_suite(tmp.path());
  const std::string suite = test::shell_quote((tmp / "s.json").string());
  auto r = test::run_cli("run " + suite + " --out " + test::shell_quote((tmp / "ref").string()) + " --limit 24");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);

  for (const char* where : {"generate:2", "memorization:1", "downstream:2"}) {
    INFO(where);
    const fs::path out = tmp / (std::string("killed-") + std::string(where).substr(0, 4));
    ::setenv(suites::kKillHookEnv, where, 1);
    r = test::run_cli("run " + suite + " --out " + test::shell_quote(out.string()) + " --limit 24");
    ::unsetenv(suites::kKillHookEnv);
    CHECK(r.exit_code == 128 + 9);  // SIGKILL
    CHECK(!fs::exists(out / "results.json"));
    bool partial = false;  // the killed unit is left incomplete (no done.json, still .partial)
    for (const auto& e : fs::recursive_directory_iterator(out / "units"))
      if (e.is_directory() && e.path().extension() == ".partial") partial = true;
    CHECK(partial);
    r = test::run_cli("run " + suite + " --out " + test::shell_quote(out.string()) + " --limit 24 --resume");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.find("discarding the incomplete unit") != std::string::npos);
    CHECK(normalised(out / "results.json") == normalised(tmp / "ref" / "results.json"));
  }
}

namespace {

// Differences between two results.json documents, as "path: a vs b" lines. Skipped: `skip` paths
// (prefix match) and the "features" objects (unit folders). Numbers under a key starting with
// "fid" or "fd" (the Fréchet distance's name outside Inception spaces) may differ by `fid_rel`
// relative (from merged shard statistics); all else exactly.
void diff_json(const json& a, const json& b, const std::string& path, const std::vector<std::string>& skip, double fid_rel,
               bool in_fid, std::vector<std::string>& out) {
  for (const auto& s : skip)
    if (path.rfind(s, 0) == 0) return;
  if (a.is_object() && b.is_object()) {
    for (const auto& [k, v] : a.items()) {
      if (k == "features") continue;
      if (!b.contains(k)) {
        out.push_back(path + "/" + k + ": only in the first");
        continue;
      }
      diff_json(v, b[k], path + "/" + k, skip, fid_rel, in_fid || k.rfind("fid", 0) == 0 || k.rfind("fd", 0) == 0, out);
    }
    for (const auto& [k, v] : b.items())
      if (!a.contains(k) && k != "features") out.push_back(path + "/" + k + ": only in the second");
    return;
  }
  if (a.is_array() && b.is_array() && a.size() == b.size()) {
    for (std::size_t i = 0; i < a.size(); ++i) diff_json(a[i], b[i], path + "/" + std::to_string(i), skip, fid_rel, in_fid, out);
    return;
  }
  if (in_fid && a.is_number() && b.is_number()) {
    const double x = a.get<double>(), y = b.get<double>();
    if (std::abs(x - y) <= fid_rel * std::max(std::abs(x), std::abs(y))) return;
  }
  if (a.is_string() && b.is_string() && a.get<std::string>().rfind("units/", 0) == 0 && b.get<std::string>().rfind("units/", 0) == 0)
    return;  // a unit's folder: its key differs with its inputs
  if (a != b) out.push_back(path + ": " + a.dump() + " vs " + b.dump());
}

}  // namespace

TEST_CASE("run: execution.shard_size gives the unsharded results (feature and generation shards)", "[suites][runner][shards]") {
  test::medmnist_file("breastmnist");  // skips the test when the shared data is missing
  test::TempDir tmp;
  write_folder_suite(tmp.path());
  ordered_json sharded = ordered_json::parse(read_file_text(tmp / "s.json"));
  // "plain": a shard size no set reaches (no shard unit, the same keys as without it), so its
  // audit searches with search_exact like the sharded one (without any shard_size the audit keeps
  // FAISS's BLAS search, whose similarities differ in the last bits with the gallery's size).
  ordered_json plain = sharded;
  plain["execution"] = {{"shard_size", 1000}};
  atomic_write_text(tmp / "s.json", plain.dump(2));
  sharded["execution"] = {{"shard_size", 5}};
  atomic_write_text(tmp / "sharded.json", sharded.dump(2));
  suites::RunOptions o;
  o.suite_file = tmp / "s.json";
  o.out = tmp / "plain";
  o.limit = 24;
  suites::run_suite(o);
  o.suite_file = tmp / "sharded.json";
  o.out = tmp / "sharded";
  const auto sum = suites::run_suite(o);
  // features: real (24 rows) in 5 shards + its unit, two synthetic sets (12 rows) in 3 + 1 each;
  // generate: "spec" (a command, 12 images over its prompts) in shards + its unit; "gen" is a
  // folder (nothing to generate: not sharded).
  CHECK(sum.stages.at("features").computed == 6 + 4 + 4);
  CHECK(sum.stages.at("generate").computed >= 4);

  // The set's features: the same rows as one unsharded extraction, and merged statistics.
  auto unit_dir = [](const fs::path& run, const std::string& stage, const std::string& name) {
    for (const auto& e : fs::directory_iterator(run / "units" / stage)) {
      const std::string f = e.path().filename().string();
      if (f.size() == name.size() + 17 && f.rfind(name + "-", 0) == 0) return e.path();
    }
    FAIL("no unit " << stage << "/" << name << " in " << run);
    return fs::path();
  };
  for (const std::string set : {"real-breast_ultrasound", "gen-breast_ultrasound"}) {
    INFO(set);
    const fs::path a = unit_dir(tmp / "plain", "features", set), b = unit_dir(tmp / "sharded", "features", set);
    CHECK(read_file_text(a / "features.npy") == read_file_text(b / "features.npy"));
    CHECK(!fs::exists(a / "fid_stats.npz"));
    CHECK(fs::exists(b / "fid_stats.npz"));
    CHECK(read_json_file(b / "done.json")["summary"]["shards"].get<int>() == (set[0] == 'r' ? 5 : 3));
  }
  // Generation shards: distinct seeds, the set's unit holds every image once.
  std::set<std::uint64_t> seeds;
  int shards = 0;
  for (const auto& e : fs::directory_iterator(tmp / "sharded" / "units" / "generate")) {
    const json u = read_json_file(e.path() / "unit.json");
    if (!u["inputs"].contains("prompt_seeds")) continue;
    ++shards;
    CHECK(u["inputs"]["n"].get<int>() <= 5);
    seeds.insert(u["inputs"]["prompt_seeds"][0].get<std::uint64_t>());
  }
  CHECK(shards >= 3);
  CHECK(static_cast<int>(seeds.size()) == shards);
  CHECK(load_dataset(unit_dir(tmp / "sharded", "generate", "spec-breast_ultrasound")).records.size() == 12);

  // Memorization searched the 24-image training gallery in 5 shards, merged (summary.json).
  const json ms = read_json_file(unit_dir(tmp / "sharded", "memorization", "gen-breast_ultrasound") / "summary.json");
  CHECK(ms["modalities"]["breast_ultrasound"]["index"]["shards"] == 5);

  // results.json: the folder model's results (features and memorization sharded) equal the
  // unsharded run's, the FID point (from merged statistics) to 1e-10 relative. "spec" generated other images
  // (its command copies the first n files whatever the seed), so its numbers are not compared.
  json ra = normalised(tmp / "plain" / "results.json"), rb = normalised(tmp / "sharded" / "results.json");
  CHECK(ra["suite"]["hash"] != rb["suite"]["hash"]);
  for (json* r : {&ra, &rb}) {
    (*r)["suite"].erase("hash");
    (*r)["suite"].erase("path");
    (*r)["provenance"].erase("suite_hash");
    (*r)["provenance"].erase("suite_file");
  }
  std::vector<std::string> diffs;
  diff_json(ra, rb, "", {"/results/spec", "/memorization/spec", "/downstream/spec", "/samples/spec", "/samples_real/spec",
                         "/intensity/spec", "/compute/models/spec", "/diversity/spec", "/per_class/spec"},
            1e-10, false, diffs);
  for (const auto& d : diffs) UNSCOPED_INFO(d);
  CHECK(diffs.empty());
  REQUIRE(ra["results"]["gen"]["breast_ultrasound"]["fd"]["value"].is_number());  // pixel features: fd
}

TEST_CASE("run and load_suite: invalid suites list every problem with its JSON path (exit 2)", "[suites][runner][errors]") {
  test::TempDir tmp;
  atomic_write_text(tmp / "bad.json", R"({"schema_version": 1, "name": "bad",
    "datasets": {"d": {"source": {"demo": "head_ct"}, "splits": {"train": "train", "test": "test"}}},
    "modalities": {"m": {"dataset": "d", "specialty": "radiology", "prompts": "from_manifest", "n_generate": "many"}},
    "models": {"s": {"kind": "specialist", "source": {"type": "train"}}},
    "evaluations": {"fidelity": {}}})");
  try {
    suites::load_suite(tmp / "bad.json");
    FAIL("no error");
  } catch (const InputError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("bad.json: 3 problem(s)") != std::string::npos);
    CHECK(msg.find("$.datasets.d.splits.holdout: required key is missing") != std::string::npos);
    CHECK(msg.find("$.modalities.m.n_generate") != std::string::npos);
    CHECK(msg.find("$.models.s.modalities: required key is missing") != std::string::npos);  // a specialist without modality
  }
  const auto r = test::run_cli("run " + test::shell_quote((tmp / "bad.json").string()) + " --out " +
                               test::shell_quote((tmp / "run").string()));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("$.models.s.modalities") != std::string::npos);
  CHECK(r.err.find("$.datasets.d.splits.holdout") != std::string::npos);
  CHECK(!fs::exists(tmp / "run" / "units"));
  CHECK(test::run_cli("run " + test::shell_quote((tmp / "bad.json").string()) + " --out x --only fidelity,colour").exit_code == 2);
}

TEST_CASE("run: a dataset folder with a symlink loop (or a link out of it) is bad input naming the link (exit 2)",
          "[suites][runner][errors]") {
  test::TempDir tmp;
  const fs::path src = tmp / "src";
  fs::create_directories(src / "scans");
  atomic_write_text(src / "scans" / "a.png", "not really a png");
  atomic_write_text(tmp / "s.json", ordered_json{
      {"schema_version", 1},
      {"name", "links"},
      {"datasets", {{"d", {{"source", {{"import", src.string()}, {"modality", "head_ct"}}},
                           {"splits", {{"train", "train"}, {"holdout", "val"}, {"test", "test"}}}}}}},
      {"modalities", {{"head_ct", {{"dataset", "d"}, {"specialty", "radiology"}, {"prompts", "from_manifest"}}}}},
      {"models", {{"gen", {{"kind", "generalist"}, {"modalities", {"head_ct"}},
                           {"source", {{"type", "command"}, {"command", "gen --prompt {prompt} --out {out}"}}}}}}},
      {"evaluations", {{"fidelity", {{"extractor", "builtin:pixels:8"}}}}}}.dump(2));
  // Runs the suite; exit 2 with every needle in the message and none of the absent ones.
  auto expect2 = [&](const std::vector<std::string>& needles, const std::vector<std::string>& absent = {}) {
    const auto r = test::run_cli("run " + test::shell_quote((tmp / "s.json").string()) + " --out " +
                                 test::shell_quote((tmp / "run").string()));
    INFO(r.err);
    CHECK(r.exit_code == 2);
    for (const auto& n : needles) CHECK(r.err.find(n) != std::string::npos);
    for (const auto& n : absent) CHECK(r.err.find(n) == std::string::npos);
  };

  // A link cycle the walk used to follow until std::filesystem threw (exit 3, no file named).
  fs::create_symlink("loop", src / "scans" / "loop");
  expect2({(src / "scans" / "loop").string() + ": is a symbolic link loop"});
  fs::remove(src / "scans" / "loop");

  // A link to a file outside the folder is refused (never hashed), like the importer refuses it.
  atomic_write_text(tmp / "secret.txt", "outside");
  fs::create_symlink(tmp / "secret.txt", src / "scans" / "b.png");
  expect2({(src / "scans" / "b.png").string() + ": is a symbolic link to", "outside the import folder"});
  fs::remove(src / "scans" / "b.png");

  // Hidden entries are ignored by the importer, so a hidden loop is not the hash's error: the run
  // gets past the hash to the import, which fails on the fake PNG (naming it, exit 2).
  fs::create_symlink(".loop", src / ".loop");
  expect2({"scans/a.png"}, {".loop"});
}

TEST_CASE("shipped suites: quickstart validates and paper lacks only its data files", "[suites]") {
  const auto qs = suites::validate_suite_file(test::source_dir() / "suites" / "quickstart.json");
  for (const auto& p : qs) UNSCOPED_INFO(p.path << ": " << p.message);
  if (have_breast()) CHECK(qs.empty());
  const auto paper = suites::validate_suite_file(test::source_dir() / "suites" / "paper.json");
  for (const auto& p : paper) {
    INFO(p.path << ": " << p.message);
    CHECK(p.message.find("does not exist") != std::string::npos);  // full-size data is fetched on the GPU machine
  }
}

TEST_CASE("run: tiny end-to-end with trained engines on BreastMNIST killed while training and resumed", "[suites][runner][engine]") {
  test::medmnist_file("breastmnist");  // skips the test when the shared data is missing
  test::TempDir tmp;
  atomic_write_text(tmp / "engine.json", R"({"name": "tiny", "image_size": 28, "channels": 1,
    "unet": {"channels": [8, 16], "self_attention_resolutions": [], "cross_attention_resolutions": [14], "mid_attention": false,
             "heads": 2, "groups": 4},
    "text": {"dim": 16, "layers": 1, "heads": 2, "max_tokens": 8},
    "train": {"steps": 6, "batch": 8, "warmup": 2, "checkpoint_every": 3},
    "sample": {"sampler": "ddim", "steps": 3, "guidance": 2.0, "batch": 16}})");
  ordered_json s = {
      {"schema_version", 1},
      {"name", "tiny-e2e"},
      {"datasets", {{"breast", {{"source", {{"medmnist", test::medmnist_file("breastmnist").string()}}},
                                {"splits", {{"train", "train"}, {"holdout", "val"}, {"test", "test"}}}}}}},
      {"modalities", {{"breast_ultrasound", {{"dataset", "breast"}, {"specialty", "radiology"}, {"prompts", "from_manifest"}, {"n_generate", 10}}}}},
      {"models",
       {{"gen", {{"kind", "generalist"}, {"modalities", {"breast_ultrasound"}}, {"source", {{"type", "train"}, {"config", "engine.json"}}}}},
        {"spec", {{"kind", "specialist"}, {"modalities", {"breast_ultrasound"}}, {"source", {{"type", "train"}, {"config", "engine.json"}, {"steps", 3}}}}}}},
      {"evaluations", {{"fidelity", {{"extractor", "builtin:pixels:2"}, {"bootstrap", 4}, {"k", 2}, {"kid_subsets", 4}}},
                       {"compute", {{"measure", false}}}}}};
  atomic_write_text(tmp / "s.json", s.dump(2));
  const std::string suite = test::shell_quote((tmp / "s.json").string());
  const std::string out = test::shell_quote((tmp / "run").string());
  ::setenv(suites::kKillHookEnv, "train:1", 1);
  auto r = test::run_cli("run " + suite + " --out " + out + " --limit 16");
  ::unsetenv(suites::kKillHookEnv);
  CHECK(r.exit_code == 128 + 9);
  r = test::run_cli("run " + suite + " --out " + out + " --limit 16 --resume --json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("resuming the incomplete unit") != std::string::npos);
  const json summary = json::parse(r.out);
  CHECK(summary["stages"]["train"]["computed"] == 2);
  const auto res = reports::load_results(tmp / "run" / "results.json");
  REQUIRE(res.compute.count("gen"));
  CHECK(res.compute.at("gen").steps == 6.0);
  CHECK(res.compute.at("spec").steps == 3.0);
  CHECK(*res.compute.at("gen").training_flops > *res.compute.at("spec").training_flops);
  REQUIRE(res.find("gen", "breast_ultrasound", "fd"));
  INFO(res.find("gen", "breast_ultrasound", "fd")->note);
  CHECK(res.find("gen", "breast_ultrasound", "fd")->has_value());
  CHECK(res.samples.at("gen").at("breast_ultrasound").size() == 10);
  CHECK(fs::exists(tmp / "run" / "report" / "figures" / "compute_vs_quality.png"));
  // Same weights as an uninterrupted run: the results match except timings.
  r = test::run_cli("run " + suite + " --out " + test::shell_quote((tmp / "ref").string()) + " --limit 16");
  REQUIRE(r.exit_code == 0);
  CHECK(normalised(tmp / "run" / "results.json") == normalised(tmp / "ref" / "results.json"));
}

TEST_CASE("run: prompt replay catches a generator that returns its training images, and the audit keys do not change",
          "[suites][runner][replay]") {
  test::medmnist_file("breastmnist");
  test::TempDir tmp;
  import_medmnist(test::medmnist_file("breastmnist"), tmp / "bm");
  // "copier" returns the first {n} training images for any prompt; "honest" returns unseen test
  // images; "gen" is a folder (it cannot be asked for a prompt: skipped with a note).
  auto copy_from = [&](const char* split) {
    return "for f in $(ls " + (tmp / "bm" / "images" / split).string() + "/*.png | head -n {n}); do cp $f {out}/; done";
  };
  auto suite = [&](bool replay) {
    ordered_json mem = {{"embedder", "builtin:pixels:8"}, {"k", 2}, {"top_pairs", 2}};
    if (replay) mem["replay"] = {{"prompts", 3}, {"images_per_prompt", 2}};
    const ordered_json s = {
        {"schema_version", 1},
        {"name", "replay-test"},
        {"seed", 5},
        {"datasets", {{"breast", {{"source", {{"medmnist", test::medmnist_file("breastmnist").string()}}},
                                  {"splits", {{"train", "train"}, {"holdout", "val"}, {"test", "test"}}}}}}},
        {"modalities", {{"breast_ultrasound", {{"dataset", "breast"}, {"specialty", "radiology"}, {"prompts", "from_manifest"}, {"n_generate", 8}}}}},
        {"models",
         {{"gen", {{"kind", "generalist"}, {"modalities", {"breast_ultrasound"}}, {"source", {{"type", "folder"}, {"path", (tmp / "bm").string()}}}}},
          {"copier", {{"kind", "specialist"}, {"modalities", {"breast_ultrasound"}}, {"source", {{"type", "command"}, {"command", copy_from("train")}}}}},
          {"honest", {{"kind", "specialist"}, {"modalities", {"breast_ultrasound"}}, {"source", {{"type", "command"}, {"command", copy_from("test")}}}}}}},
        {"evaluations", {{"memorization", mem}}}};
    atomic_write_text(tmp / "s.json", s.dump(2));
  };
  suite(true);
  suites::RunOptions o;
  o.suite_file = tmp / "s.json";
  o.out = tmp / "run";
  const auto first = suites::run_suite(o);
  CHECK(first.stages.at("generate").computed == 5);      // 3 sets + 2 replay sets (not the folder)
  CHECK(first.stages.at("memorization").computed == 5);  // 3 audits + 2 replay audits
  const json r = read_json_file(tmp / "run" / "results.json");
  const json& copier = r["memorization"]["copier"]["breast_ultrasound"]["replay"];
  INFO(copier.dump(2));
  CHECK(copier["prompts"] == 3);
  CHECK(copier["n_generated"] == 6);
  CHECK(copier["fraction_flagged"]["value"].get<double>() == 1.0);  // every image is a training image
  CHECK(copier["fraction_flagged"]["ci_method"] == "wilson");
  CHECK(copier["train_copied"] == 2);  // the same first two training images for every prompt
  CHECK(copier["fraction_train_copied"]["value"].get<double>() == Approx(2.0 / 546));
  const json details = read_json_file(tmp / "run" / copier["details_json"].get<std::string>());
  CHECK(details["items"].size() == 3);
  for (const auto& it : details["items"]) {
    CHECK(it["images"] == 2);
    CHECK(it["max_similarity_gallery"].get<double>() == Approx(1.0).margin(1e-6));
    CHECK(it["flagged"] == 2);
  }
  const json& honest = r["memorization"]["honest"]["breast_ultrasound"]["replay"];
  INFO(honest.dump(2));
  CHECK(honest["fraction_flagged"]["value"].get<double>() <= 0.5);
  CHECK(!r["memorization"]["gen"]["breast_ultrasound"].contains("replay"));
  bool noted = false;
  for (const auto& n : first.notes) noted = noted || n.find("prompt replay skipped for gen") != std::string::npos;
  CHECK(noted);
  const std::string md = read_file_text(tmp / "run" / "report" / "report.md");
  CHECK(md.find("Prompt replay") != std::string::npos);
  // Without replay: every audit unit is reused (replay is a planning field, not in their keys).
  suite(false);
  const auto second = suites::run_suite(o);
  CHECK(computed(second) == 0);
  CHECK(!read_json_file(tmp / "run" / "results.json")["memorization"]["copier"]["breast_ultrasound"].contains("replay"));
}

TEST_CASE("run: per-class breakdowns of fidelity, diversity and memorization in results.json, report and gates",
          "[suites][runner][per_class]") {
  test::medmnist_file("breastmnist");  // skips the test when the shared data is missing
  test::TempDir tmp;
  write_folder_suite(tmp.path());
  // The folder suite without downstream and compute, 30 images per set. BreastMNIST's training
  // prompts name its two classes (malignant 147, normal or benign 399 of 546), so "spec" (a
  // command: 30 images split 8 / 22 over the two prompts) gets 8 malignant images: too few for
  // every metric (null with the reason), 22 benign ones: numbers.
  ordered_json s = ordered_json::parse(read_file_text(tmp / "s.json"));
  s["name"] = "per-class-test";
  s["modalities"]["breast_ultrasound"]["n_generate"] = 30;
  s["evaluations"].erase("downstream");
  s["evaluations"].erase("compute");
  atomic_write_text(tmp / "s.json", s.dump(2));
  suites::RunOptions o;
  o.suite_file = tmp / "s.json";
  o.out = tmp / "run";
  const auto first = suites::run_suite(o);
  CHECK(first.stages.at("fidelity").computed == 2);  // per class inside the per-modality units
  CHECK(first.stages.at("diversity").computed == 3);
  CHECK(first.stages.at("memorization").computed == 2);
  const auto r = reports::load_results(tmp / "run" / "results.json");  // schema + semantic checks
  const json raw = read_json_file(tmp / "run" / "results.json");
  REQUIRE(raw.contains("per_class"));
  const json& pc = raw["per_class"]["spec"]["breast_ultrasound"];
  INFO(pc.dump(1).substr(0, 4000));
  REQUIRE(pc["classes"].size() == 2);
  CHECK(pc["classes"][0]["name"] == "malignant");
  CHECK(pc["classes"][1]["name"] == "normal or benign");
  CHECK(pc["classes"][0]["n_synthetic"] == 8);
  CHECK(pc["classes"][1]["n_synthetic"] == 22);
  CHECK(pc["sources"]["by_prompt"] == 30);

  // Independent check of the split and the subset: the class's rows of both feature matrices,
  // chosen here from the manifests' labels (the command generator records the prompt's label),
  // give the same plug-in FD through the plain Gaussian statistics and frechet_distance.
  auto unit_dir = [&](const std::string& stage, const std::string& prefix) {
    for (const auto& e : fs::directory_iterator(tmp / "run" / "units" / stage))
      if (e.path().filename().string().rfind(prefix, 0) == 0 && e.path().extension() != ".json") return e.path();
    FAIL("no unit " << stage << "/" << prefix);
    return fs::path();
  };
  const fs::path data_dir = unit_dir("data", "real-breast_ultrasound");
  const Dataset real = load_dataset(data_dir / "real");
  const auto real_train = real.select("breast_ultrasound", "train");
  const Dataset gen = load_dataset(unit_dir("generate", "spec-breast_ultrasound"));
  const Matrix32 rf = read_feature_matrix(unit_dir("features", "real-breast_ultrasound") / "features.npy");
  const Matrix32 sf = read_feature_matrix(unit_dir("features", "spec-breast_ultrasound") / "features.npy");
  REQUIRE(rf.rows == static_cast<std::int64_t>(real_train.size()));
  REQUIRE(sf.rows == static_cast<std::int64_t>(gen.records.size()));
  auto rows_of = [](const Matrix32& m, const std::vector<Record>& recs, long label) {
    Matrix32 out;
    out.cols = m.cols;
    for (std::size_t i = 0; i < recs.size(); ++i)
      if (recs[i].label && *recs[i].label == label) {
        out.data.insert(out.data.end(), m.data.begin() + static_cast<std::ptrdiff_t>(i * m.cols),
                        m.data.begin() + static_cast<std::ptrdiff_t>((i + 1) * m.cols));
        ++out.rows;
      }
    return out;
  };
  const Matrix32 rb = rows_of(rf, real_train, 1), sb = rows_of(sf, gen.records, 1);
  CHECK(sb.rows == 22);
  CHECK(pc["classes"][1]["n_real"] == rb.rows);
  const double fd_direct = metrics::frechet_distance(metrics::compute_stats(rb), metrics::compute_stats(sb)).fid;
  const json& fd = pc["classes"][1]["metrics"]["fd"];
  CHECK(fd["value"].get<double>() == Approx(fd_direct).epsilon(1e-9));
  CHECK(fd["ci_method"] == raw["results"]["spec"]["breast_ultrasound"]["fd"]["ci_method"]);  // the per-modality method
  CHECK(fd["ci_low"].is_number());
  CHECK(fd["n"] == 22);
  CHECK(fd["feature_space"] == "builtin:pixels(1x2x2)");
  // The tiny class: null with the reason, never a number.
  const json& tiny = pc["classes"][0]["metrics"];
  for (const char* m : {"fd", "kid", "precision", "fraction_memorized"}) {
    INFO(m);
    CHECK(tiny[m]["value"].is_null());
    CHECK(tiny[m]["note"].get<std::string>().find("n too small") != std::string::npos);
  }
  CHECK(tiny["ms_ssim"]["value"].is_null());
  CHECK(!tiny["ms_ssim"]["note"].get<std::string>().empty());
  // Memorization per class: the flagged images of the unit's neighbours table, counted here by
  // the generated records' labels, with the per-modality Wilson interval.
  {
    const std::string csv = read_file_text(unit_dir("memorization", "spec-breast_ultrasound") / "neighbors.csv");
    std::map<std::string, long> label_of;
    for (const auto& rec : gen.records) label_of[rec.path] = rec.label.value_or(-1);
    long n1 = 0, flagged1 = 0;
    std::istringstream lines(csv);
    std::string line;
    std::getline(lines, line);  // header: modality,synthetic,synthetic_sha256,rank,...,above_tau,train_view
    while (std::getline(lines, line)) {
      std::vector<std::string> f;
      std::stringstream ls(line);
      for (std::string x; std::getline(ls, x, ',');) f.push_back(x);
      REQUIRE(f.size() == 11);
      if (f[3] != "1" || label_of[f[1]] != 1) continue;
      ++n1;
      flagged1 += (f[9] == "1" || f[9] == "true") ? 1 : 0;
    }
    CHECK(n1 == 22);
    const json& fm = pc["classes"][1]["metrics"]["fraction_memorized"];
    CHECK(fm["value"].get<double>() == Approx(static_cast<double>(flagged1) / 22.0));
    CHECK(fm["ci_method"] == "wilson");
  }
  // Diversity per class: a number for the benign images and for the class's real images.
  CHECK(pc["classes"][1]["metrics"]["ms_ssim"]["value"].is_number());
  CHECK(pc["classes"][1]["metrics"]["ms_ssim"]["n"] == 22);
  CHECK(pc["classes"][1]["reference"]["ms_ssim"]["value"].is_number());
  CHECK(pc["classes"][1]["reference"]["fd_real_floor"]["value"].is_number());
  // The worst class is chosen among the classes with a value: the benign one for "spec".
  CHECK(pc["worst_class"]["fd"] == "normal or benign");
  const auto& pe = r.per_class.at("spec").at("breast_ultrasound");
  REQUIRE(pe.worst("fd"));
  CHECK(pe.worst("fd")->name == "normal or benign");
  // "gen" (real images with their own labels and prompts): both classes computed where large enough.
  CHECK(raw["per_class"]["gen"]["breast_ultrasound"]["classes"].size() == 2);

  // The report's long-tail section names the worst class; metrics.csv has every per-class number.
  const std::string md = read_file_text(tmp / "run" / "report" / "report.md");
  CHECK(md.find("Per-class breakdown (long tail)") != std::string::npos);
  CHECK(md.find("normal or benign") != std::string::npos);
  CHECK(md.find("1 / 2") != std::string::npos);  // spec's FD: one of the two classes has a value
  CHECK(read_file_text(tmp / "run" / "report" / "metrics.csv").find("per_class,spec,specialist,breast_ultrasound,fd,normal or benign") !=
        std::string::npos);

  // compare and gates: per-class entries with their class; a gate selects a class by "label".
  const std::string rj = test::shell_quote((tmp / "run" / "results.json").string());
  auto cr = test::run_cli("compare " + rj + " " + rj + " --json");
  INFO(cr.err);
  REQUIRE(cr.exit_code == 0);
  int per_class_deltas = 0;
  const json compared = json::parse(cr.out);
  for (const auto& d : compared["deltas"])
    if (d["metric"] == "per_class.fd") {
      CHECK(d.contains("label"));
      ++per_class_deltas;
    }
  CHECK(per_class_deltas == 4);  // 2 models x 2 classes
  atomic_write_text(tmp / "gates.json",
                    R"([{"name": "benign FD bounded", "metric": "per_class.fd", "model": "spec", "label": "normal or benign", "op": "<=", "value": 1e9}])");
  cr = test::run_cli("compare " + rj + " " + rj + " --gates " + test::shell_quote((tmp / "gates.json").string()));
  CHECK(cr.exit_code == 0);
  // Over every class (the default): the malignant class has no value, so the gate fails there.
  atomic_write_text(tmp / "gates.json", R"([{"name": "every class", "metric": "per_class.fd", "model": "spec", "op": "<=", "value": 1e9}])");
  cr = test::run_cli("compare " + rj + " " + rj + " --gates " + test::shell_quote((tmp / "gates.json").string()));
  CHECK(cr.exit_code == 1);
  CHECK((cr.out + cr.err).find("class malignant") != std::string::npos);
  // "label" on a metric that is not per class is bad input naming the field.
  atomic_write_text(tmp / "gates.json", R"([{"metric": "fd", "label": "malignant", "op": "<=", "value": 1}])");
  cr = test::run_cli("compare " + rj + " " + rj + " --gates " + test::shell_quote((tmp / "gates.json").string()));
  CHECK(cr.exit_code == 2);
  CHECK(cr.err.find("$[0].label") != std::string::npos);
  // A rerun computes nothing.
  CHECK(computed(suites::run_suite(o)) == 0);
}
