// The alignment stage (suite evaluation "alignment"): CLIP score of each generated image with its
// prompt from a user's image tower and prompt-embedding file, into results.json (metrics and the
// per-class section), the report, compare and gates; cached, and keyed by the embedding file's
// content. The figures are checked against `metrics clip-score` run by hand on the same images.
#include <catch2/catch.hpp>

#include <set>

#include "medsyn/core/fs.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/core/medmnist_import.h"
#include "medsyn/reports/results.h"
#include "medsyn/suites/runner.h"
#include "test_support.h"

using namespace medsyn;
namespace fs = std::filesystem;

namespace {

// The folder/command suite of the runner tests, with the alignment evaluation only: "gen" holds
// the real images with their own prompts, "spec" copies test images for whatever prompt it gets.
// DIR/bm holds the imported BreastMNIST.
void write_alignment_suite(const fs::path& dir, const fs::path& embeddings) {
  const std::string copy_cmd = "for f in $(ls " + (dir / "bm" / "images" / "test").string() +
                               "/*.png | head -n {n}); do cp $f {out}/; done";
  ordered_json s = {
      {"schema_version", 1},
      {"name", "alignment-test"},
      {"seed", 5},
      {"datasets", {{"breast", {{"source", {{"medmnist", test::medmnist_file("breastmnist").string()}}},
                                {"splits", {{"train", "train"}, {"holdout", "val"}, {"test", "test"}}}}}}},
      {"modalities", {{"breast_ultrasound", {{"dataset", "breast"}, {"specialty", "radiology"}, {"prompts", "from_manifest"}, {"n_generate", 12}}}}},
      {"models",
       {{"gen", {{"kind", "generalist"}, {"modalities", {"breast_ultrasound"}}, {"source", {{"type", "folder"}, {"path", (dir / "bm").string()}}}}},
        {"spec", {{"kind", "specialist"}, {"modalities", {"breast_ultrasound"}}, {"source", {{"type", "command"}, {"command", copy_cmd}}}}}}},
      {"evaluations",
       {{"alignment", {{"image_tower", "builtin:pixels:2"}, {"prompt_embeddings", embeddings.string()}, {"bootstrap", 50}}}}}};
  atomic_write_text(dir / "s.json", s.dump(2));
}

// One 4-d vector per prompt of the BreastMNIST manifest (builtin:pixels:2 on gray images: 1x2x2).
void write_embeddings(const fs::path& file, const fs::path& dataset, double tilt) {
  std::set<std::string> prompts;
  for (const auto& r : load_dataset(dataset).records) prompts.insert(r.prompt);
  json e = json::object();
  int i = 0;
  for (const auto& p : prompts) {
    e[p] = {1.0, tilt * i, 0.5 - 0.25 * i, 1.0 - tilt};
    ++i;
  }
  atomic_write_text(file, e.dump());
}

int computed(const suites::RunSummary& s) {
  int n = 0;
  for (const auto& [name, st] : s.stages)
    if (name != "report") n += st.computed;
  return n;
}

}  // namespace

TEST_CASE("run: the alignment stage scores each generated image with its prompt (CLIP score) like metrics clip-score",
          "[suites][runner][alignment]") {
  test::medmnist_file("breastmnist");  // skips the test when the shared data is missing
  test::TempDir tmp;
  import_medmnist(test::medmnist_file("breastmnist"), tmp / "bm");
  write_embeddings(tmp / "e.json", tmp / "bm", 0.5);
  write_alignment_suite(tmp.path(), tmp / "e.json");
  suites::RunOptions o;
  o.suite_file = tmp / "s.json";
  o.out = tmp / "run";
  o.limit = 24;
  const auto first = suites::run_suite(o);
  CHECK(first.stages.at("alignment").computed == 2);
  const auto r = reports::load_results(tmp / "run" / "results.json");  // schema + semantic checks
  const json rj = read_json_file(tmp / "run" / "results.json");
  for (const char* model : {"gen", "spec"}) {
    INFO(model);
    const json& mets = rj["results"][model]["breast_ultrasound"];
    REQUIRE(mets.contains("clip_score"));
    CHECK(mets["clip_score"]["value"].is_number());
    CHECK(mets["clip_score"]["ci_low"].get<double>() <= mets["clip_score"]["value"].get<double>());
    CHECK(mets["clip_score"]["value"].get<double>() <= mets["clip_score"]["ci_high"].get<double>());
    CHECK(mets["clip_score_w25"]["value"].get<double>() == Approx(mets["clip_score"]["value"].get<double>() * 0.025).epsilon(1e-12));
    CHECK(mets["clip_score"]["feature_space"].get<std::string>().find("pixels") != std::string::npos);
    const json& a = rj["alignment"][model]["breast_ultrasound"];
    CHECK(a["n"] == 12);
    CHECK(!a["classes"].empty());
    CHECK(a["prompt_embeddings"]["sha256"] == sha256_file(tmp / "e.json"));

    // The same images scored by hand with the CLI: equal figures (its own plumbing, same library).
    fs::path gen_dir;
    for (const auto& d : fs::directory_iterator(tmp / "run" / "units" / "generate"))
      if (d.path().filename().string().rfind(std::string(model) + "-breast_ultrasound-", 0) == 0) gen_dir = d.path();
    REQUIRE(!gen_dir.empty());
    const auto cli = test::run_cli("metrics clip-score --json --no-cache --bootstrap 0 --images " + test::shell_quote(gen_dir.string()) +
                                   " --extractor builtin:pixels:2 --prompt-embeddings " + test::shell_quote((tmp / "e.json").string()));
    INFO(cli.err);
    REQUIRE(cli.exit_code == 0);
    const json c = json::parse(cli.out)["modalities"]["breast_ultrasound"];
    CHECK(c["clip_score"]["value"].get<double>() == Approx(mets["clip_score"]["value"].get<double>()).epsilon(1e-12));
    CHECK(c["mean_cosine"].get<double>() == Approx(a["mean_cosine"].get<double>()).epsilon(1e-12));
    // Classes: the suite's rule (the class the prompt names, suites/classes.h). The folder model's
    // images carry their own labels, which name the same classes, so the CLI (own labels) agrees.
    CHECK(a["classes"].size() == 2);
    if (std::string(model) == "gen")
      for (const auto& [label, g] : c["classes"].items())
        CHECK(g["clip_score"]["value"].get<double>() == Approx(a["classes"][label]["clip_score"]["value"].get<double>()).epsilon(1e-12));
  }
  const std::string md = read_file_text(tmp / "run" / "report" / "report.md");
  CHECK(md.find("CLIP score") != std::string::npos);
  // A gate on the score.
  const std::string rq = test::shell_quote((tmp / "run" / "results.json").string());
  atomic_write_text(tmp / "gates.json", R"([{"metric": "clip_score", "op": ">=", "value": 0},
    {"name": "impossible alignment", "metric": "clip_score", "model": "gen", "op": ">", "value": 100}])");
  const auto cr = test::run_cli("compare " + rq + " " + rq + " --gates " + test::shell_quote((tmp / "gates.json").string()));
  CHECK(cr.exit_code == 1);
  CHECK((cr.out + cr.err).find("impossible alignment") != std::string::npos);

  // Cached: nothing recomputes. New embedding content (same path): only the alignment units do.
  CHECK(computed(suites::run_suite(o)) == 0);
  write_embeddings(tmp / "e.json", tmp / "bm", 0.9);
  const auto third = suites::run_suite(o);
  CHECK(third.stages.at("alignment").computed == 2);
  CHECK(computed(third) == 2);

  // A prompt missing from the file: the unit records why, results.json has no number, a note names it.
  json e = read_json_file(tmp / "e.json");
  e.erase(e.begin());
  atomic_write_text(tmp / "e.json", e.dump());
  suites::run_suite(o);
  const json rj2 = read_json_file(tmp / "run" / "results.json");
  CHECK(!rj2["results"]["gen"]["breast_ultrasound"].contains("clip_score"));
  bool noted = false;
  for (const auto& n : rj2["notes"]) noted = noted || n.get<std::string>().find("has no embedding for the prompt") != std::string::npos;
  CHECK(noted);
}

TEST_CASE("suite: alignment needs its image tower and prompt embeddings, and the files must exist", "[suites][alignment]") {
  test::medmnist_file("breastmnist");
  test::TempDir tmp;
  import_medmnist(test::medmnist_file("breastmnist"), tmp / "bm");
  write_alignment_suite(tmp.path(), tmp / "missing.json");
  auto r = test::run_cli("suite validate " + test::shell_quote((tmp / "s.json").string()));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("$.evaluations.alignment.prompt_embeddings") != std::string::npos);
  ordered_json s = ordered_json::parse(read_file_text(tmp / "s.json"));
  s["evaluations"]["alignment"].erase("image_tower");
  atomic_write_text(tmp / "s.json", s.dump(2));
  r = test::run_cli("suite validate " + test::shell_quote((tmp / "s.json").string()));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("image_tower") != std::string::npos);
}
