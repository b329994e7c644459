// The reader study kit (readerstudy/, `medsynbench reader-study`, the report's section): the
// blinded page and key, seeded orders, simulated readers whose accuracy and agreement analyze
// must recover, every documented bad input (exit 2 naming the file), and the report section.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <set>

#include "medsyn/core/fs.h"
#include "medsyn/core/estimate.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/json.h"
#include "medsyn/readerstudy/analysis.h"
#include "medsyn/readerstudy/study.h"
#include "readerstudy_test_util.h"
#include "test_support.h"

using namespace medsyn;
namespace fs = std::filesystem;
namespace rs = medsyn::readerstudy;
using test::shell_quote;

namespace {

std::string q(const fs::path& p) { return shell_quote(p.string()); }

int count_of(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (std::size_t pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + needle.size())) ++n;
  return n;
}

// real/ and two synthetic folders (models "gen" and "spec") with two modalities.
struct Sets {
  test::TempDir tmp{"medsyn-rs"};
  Sets(int n_real = 30, int n_syn = 20) {
    test::write_image_set(tmp / "real", {"chest_xray", "retina"}, n_real, false, "", 1);
    test::write_image_set(tmp / "gen", {"chest_xray", "retina"}, n_syn, true, "gen", 2);
    test::write_image_set(tmp / "spec", {"chest_xray", "retina"}, n_syn, true, "spec", 3);
  }
  std::string make_args(const fs::path& out, const std::string& extra = "") const {
    return "reader-study make --real " + q(tmp / "real") + " --synthetic " + q(tmp / "gen") + " " + q(tmp / "spec") +
           " --out " + q(out) + " " + extra;
  }
};

void write_json(const fs::path& p, const nlohmann::ordered_json& j) { write_json_file(p, j); }

}  // namespace

TEST_CASE("reader-study make: blinded page, key and study files, one seeded order per reader", "[readerstudy][cli]") {
  Sets s;
  const auto out = s.tmp / "study";
  const auto r = test::run_cli(s.make_args(out, "--per-modality 20 --readers alice,bob,carol --seed 5 --calibration 2 --json"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto res = json::parse(r.out);
  CHECK(res["n_images"] == 40);
  CHECK(res["n_calibration"] == 4);
  const auto key = read_json_file(out / "key.json");
  const auto study = read_json_file(out / "study.json");
  const std::string html = read_file_text(out / "study.html");
  // key.json: exactly the documented fields, balanced sources, both models used.
  REQUIRE(key["images"].size() == 40);
  std::map<std::string, int> per_source, per_model;
  std::set<std::string> ids;
  for (const auto& img : key["images"]) {
    std::set<std::string> fields;
    for (const auto& [k, v] : img.items()) fields.insert(k);
    CHECK(fields == std::set<std::string>{"id", "source", "modality", "label", "prompt", "model", "file"});
    per_source[img["source"].get<std::string>()]++;
    if (img["model"].is_string()) per_model[img["model"].get<std::string>()]++;
    ids.insert(img["id"].get<std::string>());
    CHECK(fs::exists(img["file"].get<std::string>()));
    // Nothing that reveals the source is in the page: no file name, no folder, no model.
    CHECK(html.find(fs::path(img["file"].get<std::string>()).filename().string()) == std::string::npos);
  }
  CHECK(per_source["real"] == 20);
  CHECK(per_source["synthetic"] == 20);
  CHECK(per_model["gen"] == 10);
  CHECK(per_model["spec"] == 10);
  CHECK(ids.size() == 40);
  CHECK(html.find((s.tmp / "real").string()) == std::string::npos);
  CHECK(html.find("\"gen\"") == std::string::npos);
  CHECK(html.find("\"spec\"") == std::string::npos);
  CHECK(count_of(html, "\"source\":") == 4);  // only the 4 calibration examples carry their source
  // Self-contained: no network resources, no external scripts, fonts or styles.
  for (const char* bad : {"http://", "https://", "<link", "src=\"//", "@import", "url("}) CHECK(html.find(bad) == std::string::npos);
  CHECK(count_of(html, "data:image/png;base64,") == 44);
  // One hash everywhere.
  CHECK(key["study"] == study["study"]);
  CHECK(html.find(study["study"].get<std::string>()) != std::string::npos);
  // Each reader: a permutation of the ids, all different.
  std::set<std::vector<std::string>> orders;
  for (const auto& rd : study["design"]["readers"]) {
    auto order = rd["order"].get<std::vector<std::string>>();
    CHECK(std::set<std::string>(order.begin(), order.end()) == ids);
    orders.insert(order);
  }
  CHECK(orders.size() == 3);
  // Same seed: the same study; another seed: another.
  const auto again = test::run_cli(s.make_args(s.tmp / "again", "--per-modality 20 --readers alice,bob,carol --seed 5 --calibration 2"));
  REQUIRE(again.exit_code == 0);
  CHECK(read_json_file(s.tmp / "again" / "key.json")["study"] == key["study"]);
  CHECK(read_file_text(s.tmp / "again" / "study.html") == html);
  const auto other = test::run_cli(s.make_args(s.tmp / "other", "--per-modality 20 --readers alice,bob,carol --seed 6"));
  REQUIRE(other.exit_code == 0);
  CHECK(read_json_file(s.tmp / "other" / "key.json")["study"] != key["study"]);
  // A study folder is never overwritten; not enough images is an error naming the modality.
  const auto twice = test::run_cli(s.make_args(out, "--per-modality 20"));
  CHECK(twice.exit_code == 2);
  CHECK(twice.err.find("exists already") != std::string::npos);
  const auto big = test::run_cli(s.make_args(s.tmp / "big", "--per-modality 200"));
  CHECK(big.exit_code == 2);
  CHECK(big.err.find("chest_xray") != std::string::npos);
  const auto badq = test::run_cli(s.make_args(s.tmp / "badq", "--questions realism,colour"));
  CHECK(badq.exit_code == 2);
  CHECK(badq.err.find("colour") != std::string::npos);
}

TEST_CASE("reader-study make --balance-classes draws labels equally", "[readerstudy]") {
  Sets s;
  auto cands = rs::collect_candidates({{}, s.tmp / "real", {s.tmp / "gen", s.tmp / "spec"}});
  rs::MakeOptions o;
  o.per_modality = 16;
  o.balance_classes = true;
  o.seed = 3;
  rs::make_study(cands, o, s.tmp / "study", json::object());
  const auto key = read_json_file(s.tmp / "study" / "key.json");
  std::map<std::string, int> count;  // modality/source/label
  for (const auto& img : key["images"]) count[img["modality"].get<std::string>() + "/" + img["source"].get<std::string>() + "/" + img["label"].dump()]++;
  for (const auto& [k, n] : count) {
    INFO(k);
    CHECK(n == 4);  // 8 real (4 + 4) and 8 synthetic (2 models x (2 + 2)) per modality
  }
}

TEST_CASE("reader-study analyze recovers simulated readers' accuracy and agreement", "[readerstudy]") {
  Sets s(120, 60);
  const auto study_dir = s.tmp / "study";
  auto cands = rs::collect_candidates({{}, s.tmp / "real", {s.tmp / "gen", s.tmp / "spec"}});
  rs::MakeOptions o;
  o.per_modality = 200;  // 100 real + 100 synthetic per modality, 400 images
  o.readers = {"r1", "r2", "r3", "r4"};
  o.seed = 11;
  rs::make_study(cands, o, study_dir, json::object());
  const auto study = rs::load_study(study_dir);
  REQUIRE(study.images.size() == 400);

  // Four independent readers with accuracy 0.8: expected kappa = (2a - 1)^2 = 0.36 for balanced
  // sources; realism 4 (real) vs 3 (synthetic); prompt match 0.7 for synthetic images.
  std::vector<fs::path> files;
  for (int k = 0; k < 4; ++k) {
    test::SimulatedReader r;
    r.name = "r" + std::to_string(k + 1);
    r.seed = 100 + k;
    files.push_back(s.tmp / ("ratings-" + r.name + ".json"));
    write_json(files.back(), test::simulate_ratings(study_dir, r));
  }
  const auto ratings = rs::read_ratings(study, files);
  rs::AnalysisOptions ao;
  ao.bootstrap = 400;
  const auto a = rs::analyze_study(study, ratings, ao);
  const auto& all = a["overall"];
  const auto acc = estimate_from_json(json::parse(all["real_or_synthetic"]["accuracy"].dump()));
  // Within 4 standard errors of the truth (a 95% interval misses it 1 time in 20, so the check
  // is on the estimate and on the interval's width, not on coverage by one seed).
  CHECK(acc.n == 1600);
  const double se_acc = std::sqrt(0.8 * 0.2 / 1600);
  CHECK(std::fabs(acc.value - 0.8) < 4 * se_acc);
  CHECK((acc.ci_high - acc.ci_low) / (2 * 1.959964 * se_acc) == Approx(1.0).epsilon(0.1));
  CHECK(all["real_or_synthetic"]["binomial_p"].get<double>() < 1e-10);
  const auto& ag = all["agreement"]["real_or_synthetic"];
  CHECK(ag["method"] == "fleiss");
  CHECK(ag["n_items"] == 400);
  const auto kappa = estimate_from_json(json::parse(ag["kappa"].dump()));
  CHECK(kappa.ci_method == "percentile bootstrap over images");
  const double se_kappa = (kappa.ci_high - kappa.ci_low) / (2 * 1.959964);
  CHECK(se_kappa > 0.01);
  CHECK(se_kappa < 0.05);
  CHECK(std::fabs(kappa.value - 0.36) < 4 * se_kappa);
  const auto diff = estimate_from_json(json::parse(all["realism"]["difference"].dump()));
  const double se_diff = (diff.ci_high - diff.ci_low) / (2 * 1.959964);
  CHECK(se_diff > 0.01);
  CHECK(std::fabs(diff.value + 1.0) < 4 * se_diff);
  CHECK(all["realism"]["median_real"] == 4.0);
  CHECK(all["realism"]["median_synthetic"] == 3.0);
  CHECK(all["realism"]["mann_whitney"]["p"].get<double>() < 1e-10);
  const auto pm = estimate_from_json(json::parse(all["prompt_match"]["synthetic"].dump()));
  CHECK(std::fabs(pm.value - 0.7) < 0.05);
  CHECK(a["by_modality"].size() == 2);
  CHECK(all["per_reader"].size() == 4);
  for (const auto& r : a["readers"]) CHECK(r["partial"] == false);

  // Exactly k/n: recount the first reader's correct answers from the key.
  const auto ratings1 = read_json_file(files[0]);
  long correct = 0, n = 0;
  for (const auto& ans : ratings1["answers"]) {
    const auto* img = study.find(ans["image_id"].get<std::string>());
    ++n;
    correct += (ans["real_or_synthetic"] == "S") == (img->source == "synthetic");
  }
  const auto acc1 = estimate_from_json(json::parse(all["per_reader"][0]["accuracy"].dump()));
  CHECK(acc1.value == Approx(static_cast<double>(correct) / n).epsilon(1e-15));

  // Two readers: Cohen's kappa with the asymptotic interval; perfect vs chance readers.
  test::SimulatedReader perfect{"r1", 1.0}, coin{"r2", 0.5};
  perfect.seed = 5;
  coin.seed = 6;
  write_json(s.tmp / "p.json", test::simulate_ratings(study_dir, perfect));
  write_json(s.tmp / "c.json", test::simulate_ratings(study_dir, coin));
  const auto two = rs::analyze_study(study, rs::read_ratings(study, {s.tmp / "p.json", s.tmp / "c.json"}), ao);
  const auto& pr = two["overall"]["per_reader"];
  CHECK(pr[0]["accuracy"]["value"] == 1.0);
  CHECK(pr[0]["sensitivity"]["value"] == 1.0);
  CHECK(pr[0]["specificity"]["value"] == 1.0);
  CHECK(std::fabs(pr[1]["accuracy"]["value"].get<double>() - 0.5) < 0.06);
  CHECK(pr[1]["binomial_p"].get<double>() > 0.01);
  const auto& ck = two["overall"]["agreement"]["real_or_synthetic"];
  CHECK(ck["method"] == "cohen");
  const auto k2 = estimate_from_json(json::parse(ck["kappa"].dump()));
  CHECK(k2.ci_method == "asymptotic (Fleiss, Cohen, Everitt 1969)");
  CHECK(k2.ci_low < 0.0);  // a coin-flipping reader agrees with anyone only by chance
  CHECK(k2.ci_high > 0.0);
}

TEST_CASE("reader-study analyze: CSV ratings, partial readers, the report section", "[readerstudy][cli][reports]") {
  Sets s;
  const auto study_dir = s.tmp / "study";
  REQUIRE(test::run_cli(s.make_args(study_dir, "--per-modality 20 --readers alice,bob --seed 2")).exit_code == 0);
  test::SimulatedReader alice{"alice", 0.9};
  alice.answered = 0.5;  // partial
  write_json(s.tmp / "ratings-alice.json", test::simulate_ratings(study_dir, alice));
  // Bob on paper: CSV with empty cells for unanswered questions.
  const auto key = read_json_file(study_dir / "key.json");
  std::string csv = "reader,image_id,real_or_synthetic,realism,prompt_match\n";
  int i = 0;
  for (const auto& img : key["images"]) {
    const bool syn = img["source"] == "synthetic";
    csv += "bob," + img["id"].get<std::string>() + "," + (i % 4 == 0 ? "" : (syn ? "S" : "R")) + "," + (syn ? "2" : "4") + ",Y\n";
    ++i;
  }
  atomic_write_text(s.tmp / "bob.csv", csv);
  const auto run = s.tmp / "run";
  const auto r = test::run_cli("reader-study analyze " + q(study_dir) + " --ratings " + q(s.tmp / "ratings-alice.json") + " " +
                               q(s.tmp / "bob.csv") + " --out " + q(run / "reader-study") + " --bootstrap 200");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("accuracy") != std::string::npos);
  CHECK(r.out.find("(partial)") != std::string::npos);
  const auto a = read_json_file(run / "reader-study" / "reader_study.json");
  CHECK(a["readers"][0]["partial"] == true);
  CHECK(a["readers"][1]["partial"] == true);  // bob left a quarter of the R/S answers empty
  CHECK(a["readers"][1]["answered"] == 40);
  CHECK(a["provenance"]["study"] == key["study"]);
  CHECK(a["provenance"]["inputs"].size() == 2);
  // bob: perfect where he answered (30 of 40).
  CHECK(a["overall"]["per_reader"][1]["accuracy"]["value"] == 1.0);
  CHECK(a["overall"]["per_reader"][1]["accuracy"]["n"] == 30);

  // The report includes RUN_DIR/reader-study/reader_study.json.
  fs::copy_file(test::fixtures_dir() / "reports" / "results_base.json", run / "results.json");
  const auto rep = test::run_cli("report " + q(run / "results.json") + " --out " + q(run / "report"));
  INFO(rep.err);
  REQUIRE(rep.exit_code == 0);
  const std::string md = read_file_text(run / "report" / "report.md");
  CHECK(md.find("## Reader study") != std::string::npos);
  CHECK(md.find("Per reader") != std::string::npos);
  CHECK(fs::exists(run / "report" / "figures" / "reader_study.png"));
  CHECK(read_file_text(run / "report" / "index.html").find("Reader study") != std::string::npos);
  CHECK(read_file_text(run / "report" / "metrics.csv").find("reader_study") != std::string::npos);
  // Named with --reader-study; a file that is not an analysis is an error naming it.
  fs::rename(run / "reader-study", s.tmp / "elsewhere");
  const auto named = test::run_cli("report " + q(run / "results.json") + " --out " + q(run / "report3") + " --reader-study " +
                                   q(s.tmp / "elsewhere" / "reader_study.json"));
  REQUIRE(named.exit_code == 0);
  CHECK(read_file_text(run / "report3" / "report.md").find("## Reader study") != std::string::npos);
  atomic_write_text(s.tmp / "not-an-analysis.json", "{\"format\": \"x\"}");
  const auto wrong = test::run_cli("report " + q(run / "results.json") + " --out " + q(run / "report4") + " --reader-study " +
                                   q(s.tmp / "not-an-analysis.json"));
  CHECK(wrong.exit_code == 2);
  CHECK(wrong.err.find("not-an-analysis.json: not a reader study analysis") != std::string::npos);
  // Without the file, no section (the change is additive).
  REQUIRE(test::run_cli("report " + q(run / "results.json") + " --out " + q(run / "report2")).exit_code == 0);
  CHECK(read_file_text(run / "report2" / "report.md").find("Reader study") == std::string::npos);
}

TEST_CASE("reader-study analyze refuses bad input with exit 2 naming the file", "[readerstudy][cli]") {
  Sets s;
  const auto study_dir = s.tmp / "study", other_dir = s.tmp / "other";
  REQUIRE(test::run_cli(s.make_args(study_dir, "--per-modality 10 --readers alice,bob --seed 1")).exit_code == 0);
  REQUIRE(test::run_cli(s.make_args(other_dir, "--per-modality 10 --readers alice,bob --seed 2")).exit_code == 0);
  const auto good = s.tmp / "ratings-alice.json";
  write_json(good, test::simulate_ratings(study_dir, {"alice"}));
  auto analyze = [&](const std::string& files, const fs::path& dir = {}) {
    return test::run_cli("reader-study analyze " + q(dir.empty() ? study_dir : dir) + " --ratings " + files + " --out " + q(s.tmp / "out"));
  };
  REQUIRE(analyze(q(good)).exit_code == 0);

  SECTION("ratings of another study") {
    const auto f = s.tmp / "ratings-other.json";
    write_json(f, test::simulate_ratings(other_dir, {"bob"}));
    const auto r = analyze(q(good) + " " + q(f));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(f.string()) != std::string::npos);
    CHECK(r.err.find("another study") != std::string::npos);
  }
  SECTION("duplicate readers") {
    const auto f = s.tmp / "copy.json";
    fs::copy_file(good, f);
    const auto r = analyze(q(good) + " " + q(f));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("reader 'alice' also appears in") != std::string::npos);
    CHECK(r.err.find(f.string()) != std::string::npos);
  }
  SECTION("unknown image ids") {
    auto j = test::simulate_ratings(study_dir, {"bob"});
    j["answers"][3]["image_id"] = "i00000000";
    const auto f = s.tmp / "bob.json";
    write_json(f, j);
    const auto r = analyze(q(f));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(f.string() + ": answers[3]: image id 'i00000000' is not in this study") != std::string::npos);
    atomic_write_text(s.tmp / "x.csv", "reader,image_id,real_or_synthetic,realism,prompt_match\ncarol,nope,R,3,Y\n");
    const auto c = analyze(q(s.tmp / "x.csv"));
    CHECK(c.exit_code == 2);
    CHECK(c.err.find("x.csv:2: image id 'nope'") != std::string::npos);
  }
  SECTION("a tampered key") {
    auto key = read_json_file(study_dir / "key.json");
    key["images"][0]["source"] = key["images"][0]["source"] == "real" ? "synthetic" : "real";
    write_json_file(study_dir / "key.json", key);
    const auto r = analyze(q(good));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("key.json") != std::string::npos);
    CHECK(r.err.find("edited") != std::string::npos);
  }
  SECTION("a tampered study.json, a key of another study") {
    auto st = read_json_file(study_dir / "study.json");
    st["design"]["real_fraction"] = 0.25;
    write_json_file(study_dir / "study.json", st);
    auto r = analyze(q(good));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("study.json") != std::string::npos);
    fs::copy_file(other_dir / "study.json", study_dir / "study.json", fs::copy_options::overwrite_existing);
    r = analyze(q(good));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("key.json: the key belongs to another study") != std::string::npos);
  }
  SECTION("bad values and a bad CSV header") {
    auto j = test::simulate_ratings(study_dir, {"bob"});
    j["answers"][0]["realism"] = 7;
    write_json(s.tmp / "b.json", j);
    auto r = analyze(q(s.tmp / "b.json"));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("answers[0]: realism must be an integer 1-5") != std::string::npos);
    atomic_write_text(s.tmp / "h.csv", "reader,image,rs\nx,y,z\n");
    r = analyze(q(s.tmp / "h.csv"));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("h.csv:1: the header must be exactly") != std::string::npos);
    const auto id = read_json_file(study_dir / "key.json")["images"][0]["id"].get<std::string>();
    atomic_write_text(s.tmp / "d.csv", "reader,image_id,real_or_synthetic,realism,prompt_match\nx," + id + ",R,3,Y\nx," + id + ",S,3,Y\n");
    r = analyze(q(s.tmp / "d.csv"));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("d.csv:3: image " + id + " is answered twice") != std::string::npos);
  }
  SECTION("no key") {
    fs::remove(study_dir / "key.json");
    const auto r = analyze(q(good));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("key.json: missing") != std::string::npos);
  }
}

TEST_CASE("reader-study make --run reads a suite run folder", "[readerstudy][cli]") {
  test::TempDir tmp("medsyn-rs-run");
  const auto run = tmp / "run";
  // The layout the suite runner writes: units/data/real-<modality>-<key>/real (splits) and
  // units/generate/<model>-<modality>-<key> (manifest.jsonl), each with done.json.
  for (const char* m : {"chest_xray", "retina"}) {
    const auto d = run / "units" / "data" / (std::string("real-") + m + "-0123456789abcdef");
    test::write_image_set(d / "real", {m}, 24, false, "", 4, "test");
    write_json_file(d / "done.json", json{{"stage", "data"}, {"name", std::string("real-") + m}});
    for (const char* model : {"generalist", "spec"}) {
      const auto g = run / "units" / "generate" / (std::string(model) + "-" + m + "-fedcba9876543210");
      test::write_image_set(g, {m}, 12, true, "ignored", 5);
      write_json_file(g / "done.json", json{{"stage", "generate"}, {"name", std::string(model) + "-" + m},
                                            {"inputs", {{"modality", m}, {"model_name", model}}}});
    }
  }
  // An unfinished unit is ignored.
  test::write_image_set(run / "units" / "generate" / "late-retina-1111111111111111.partial", {"retina"}, 5, true, "late", 6);
  const auto r = test::run_cli("reader-study make --run " + q(run) + " --per-modality 16 --out " + q(tmp / "study"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto key = read_json_file(tmp / "study" / "key.json");
  std::set<std::string> models;
  for (const auto& img : key["images"])
    if (img["model"].is_string()) models.insert(img["model"].get<std::string>());
  CHECK(models == std::set<std::string>{"generalist", "spec"});
  CHECK(key["images"].size() == 32);
  const auto bad = test::run_cli("reader-study make --run " + q(tmp.path()) + " --out " + q(tmp / "s2"));
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("not a suite run folder") != std::string::npos);
}
