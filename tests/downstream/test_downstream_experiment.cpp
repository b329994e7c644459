// Downstream experiments on real data (BreastMNIST from ../shared/data/medmnist): determinism per
// seed, a small real experiment with a plausible AUROC, positive and negative controls at reduced
// size, output files that recompute, and the `medsynbench downstream` error paths.
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include <catch2/catch.hpp>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/image.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/core/medmnist_import.h"
#include "medsyn/downstream/experiment.h"
#include "medsyn/stats/auc.h"
#include "medsyn/stats/csv.h"
#include "test_support.h"

namespace ds = medsyn::downstream;
namespace fs = std::filesystem;
using medsyn::json;
using medsyn::test::TempDir;

namespace {

// BreastMNIST imported into a fresh folder (546 train / 78 val / 156 test, 1x28x28).
fs::path import_breast(const TempDir& tmp) {
  const fs::path out = tmp / "breast";
  medsyn::import_medmnist(medsyn::test::medmnist_file("breastmnist"), out);
  return out;
}

// A fast classifier for tests: fewer checkpoints and steps than the defaults.
ds::DownstreamOptions quick(const fs::path& real) {
  ds::DownstreamOptions o;
  o.real_dir = real;
  o.seeds = 2;
  o.classifier.epochs = 4;
  o.classifier.min_steps = 40;
  return o;
}

double mean_auroc(const ds::DownstreamResult& r, double f, const std::string& arm) {
  for (const auto& a : r.arms)
    if (a.fraction == f && a.arm == arm) return a.auroc.value;
  FAIL("no summary for " << arm << " at " << f);
  return 0;
}

const ds::Comparison& comparison(const ds::DownstreamResult& r, double f, const std::string& a, const std::string& b) {
  for (const auto& c : r.comparisons)
    if (c.fraction == f && c.a == a && c.b == b) return c;
  throw std::runtime_error("no comparison " + a + " vs " + b);
}

}  // namespace

TEST_CASE("training is deterministic per seed and does not depend on parallel jobs", "[downstream][experiment]") {
  TempDir tmp("medsyn-downstream");
  const fs::path real = import_breast(tmp);
  ds::DownstreamOptions o = quick(real);
  o.fractions = {0.1};
  o.arms = {"real", "2xreal"};
  o.classifier.epochs = 2;
  o.classifier.min_steps = 20;
  o.jobs = 1;
  const auto a = ds::run_downstream(o);
  o.jobs = 2;
  const auto b = ds::run_downstream(o);
  REQUIRE(a.runs.size() == 4);
  REQUIRE(b.runs.size() == 4);
  for (std::size_t i = 0; i < a.runs.size(); ++i) {
    CHECK(a.runs[i].arm == b.runs[i].arm);
    CHECK(a.runs[i].seed == b.runs[i].seed);
    CHECK(a.runs[i].subset_sha256 == b.runs[i].subset_sha256);
    CHECK(a.runs[i].test.auroc == b.runs[i].test.auroc);  // bit-identical
    CHECK(a.runs[i].best_val_auroc == b.runs[i].best_val_auroc);
  }
  // Paired design: both arms of a seed share the training seed; the seeds differ.
  CHECK(a.runs[0].train_seed == a.runs[1].train_seed);
  CHECK(a.runs[0].train_seed != a.runs[2].train_seed);
  CHECK(a.runs[0].subset_sha256 != a.runs[2].subset_sha256);
  // Another seed base gives other subsets and other models.
  o.seed_base = 99;
  const auto c = ds::run_downstream(o);
  CHECK(c.runs[0].subset_sha256 != a.runs[0].subset_sha256);
  CHECK(c.runs[0].test.auroc != a.runs[0].test.auroc);
  // 2xreal trains on twice the real images of every class.
  CHECK(a.runs[1].arm == "2xreal");
  CHECK(a.runs[1].n_real == 2 * a.runs[0].n_real);
  CHECK(a.runs[1].class_counts[0] == 2 * a.runs[0].class_counts[0]);
}

TEST_CASE("real BreastMNIST training reaches a plausible test AUROC", "[downstream][experiment]") {
  TempDir tmp("medsyn-downstream");
  const fs::path real = import_breast(tmp);
  ds::DownstreamOptions o;  // default classifier
  o.real_dir = real;
  o.fractions = {0.1, 1.0};
  o.arms = {"real", "2xreal"};
  o.seeds = 2;
  const auto r = ds::run_downstream(o);
  CHECK(r.data.n_train == 546);
  CHECK(r.data.n_val == 78);
  CHECK(r.data.n_test == 156);
  CHECK(r.data.classes == std::vector<long>{0, 1});
  // 2xreal does not exist at 1.0: skipped with a note, never silently capped.
  bool note = false;
  for (const auto& n : r.notes) note = note || n.find("2xreal infeasible at fraction 1") != std::string::npos;
  CHECK(note);
  for (const auto& a : r.arms)
    if (a.arm == "2xreal" && a.fraction == 1.0) CHECK_FALSE(a.feasible);
  const double full = mean_auroc(r, 1.0, "real");
  INFO("BreastMNIST real@1.0 test AUROC " << full);
  CHECK(full >= 0.80);
  CHECK(mean_auroc(r, 0.1, "real") > 0.6);
  for (const auto& run : r.runs) {
    CHECK(run.test.accuracy > 0.5);
    CHECK(run.best_checkpoint >= 1);
  }
}

TEST_CASE("positive and negative controls behave at reduced size", "[downstream][experiment]") {
  TempDir tmp("medsyn-downstream");
  const fs::path real = import_breast(tmp);
  ds::DownstreamOptions o = quick(real);
  o.fractions = {0.05};
  o.arms = {"real", "real+syn", "syn"};
  o.seeds = 3;
  o.synthetic_ratio = 4;

  o.control = ds::Control::positive;
  const auto pos = ds::run_downstream(o);
  CHECK(pos.data.n_train + pos.data.n_synthetic == 546);
  const double pos_syn = mean_auroc(pos, 0.05, "syn");
  const double pos_mix = mean_auroc(pos, 0.05, "real+syn");
  const double pos_real = mean_auroc(pos, 0.05, "real");
  INFO("positive: real " << pos_real << ", real+syn " << pos_mix << ", syn " << pos_syn);
  CHECK(pos_syn > 0.6);              // real images with true labels carry signal
  CHECK(pos_mix > pos_real);         // five times the data helps at 5%

  o.control = ds::Control::negative;
  const auto neg = ds::run_downstream(o);
  const double neg_syn = mean_auroc(neg, 0.05, "syn");
  const double neg_mix = mean_auroc(neg, 0.05, "real+syn");
  INFO("negative: syn " << neg_syn << ", real+syn " << neg_mix);
  CHECK(std::abs(neg_syn - 0.5) < 0.15);  // permuted labels: chance
  CHECK(comparison(neg, 0.05, "real+syn", "real").verdict != "better");
  CHECK(neg_mix < pos_mix);
}

TEST_CASE("downstream command writes outputs that recompute", "[downstream][experiment][cli]") {
  TempDir tmp("medsyn-downstream");
  const fs::path real = import_breast(tmp);
  const fs::path out = tmp / "out";
  const auto r = medsyn::test::run_cli(
      "downstream --real " + medsyn::test::shell_quote(real.string()) + " --control positive --out " +
      medsyn::test::shell_quote(out.string()) +
      " --fractions 0.05,0.5 --seeds 2 --epochs 2 --min-steps 20 --json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json j = json::parse(r.out);
  CHECK(j["schema"] == ds::kDownstreamSchema);
  CHECK(j["provenance"].contains("git_commit"));
  CHECK(j["provenance"]["inputs"]["real"]["manifest_sha256"].get<std::string>().size() == 64);
  CHECK(j["options"]["control"] == "positive");
  CHECK_FALSE(j.contains("runs"));
  for (const char* f : {"results.json", "table.md", "table.csv", "comparisons.csv", "runs.csv",
                        "predictions/f0.05_seed00.csv", "predictions/f0.5_seed01.csv"})
    CHECK(fs::exists(out / f));
  // 4 comparisons per fraction at 0.05 (2xreal feasible), 2 at 0.5 (2xreal infeasible: the
  // held-out half leaves 2 x 0.5 of a class short by rounding or exactly at the limit).
  const json full = medsyn::read_json_file(out / "results.json");
  REQUIRE(full["runs"].size() == 14);
  // The saved predictions recompute the recorded test AUROC of every arm.
  const auto csv = medsyn::stats::read_csv(out / "predictions" / "f0.05_seed01.csv");
  const auto labels = csv.binary_labels("label");
  int checked = 0;
  for (const auto& run : full["runs"]) {
    if (run["fraction"].get<double>() != 0.05 || run["seed"].get<int>() != 1) continue;
    const auto scores = csv.numeric(run["arm"].get<std::string>());
    CHECK(medsyn::stats::auroc(labels, scores) == Approx(run["test"]["auroc"].get<double>()).epsilon(1e-12));
    ++checked;
  }
  CHECK(checked == 4);
  const std::string md = medsyn::read_file_text(out / "table.md");
  CHECK(md.find("| fraction | comparison |") != std::string::npos);
  CHECK(md.find("real+syn vs real") != std::string::npos);
}

TEST_CASE("downstream command rejects bad inputs with exit 2 naming the file and field", "[downstream][cli]") {
  TempDir tmp("medsyn-downstream");
  const fs::path real = import_breast(tmp);
  // A synthetic set without labels.
  const fs::path syn = tmp / "syn";
  fs::create_directories(syn / "img");
  std::vector<medsyn::Record> recs;
  for (int i = 0; i < 3; ++i) {
    medsyn::Image img(1, 28, 28, 0.1f * static_cast<float>(i));
    const std::string rel = "img/" + std::to_string(i) + ".png";
    medsyn::write_png(syn / rel, img);
    medsyn::Record r;
    r.path = rel;
    r.modality = "breast_ultrasound";
    if (i == 0) r.label = 1;
    recs.push_back(r);
  }
  medsyn::write_manifest(syn, recs);
  const std::string base = "downstream --real " + medsyn::test::shell_quote(real.string()) + " --out " +
                           medsyn::test::shell_quote((tmp / "out").string());
  const std::string synq = " --synthetic " + medsyn::test::shell_quote(syn.string());

  auto r = medsyn::test::run_cli(base + synq + " --seeds 1 --epochs 1 --min-steps 1");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("manifest.jsonl: record 2 (path 'img/1.png')") != std::string::npos);
  CHECK(r.err.find("field 'label' is missing") != std::string::npos);

  r = medsyn::test::run_cli(base + synq + " --label-field grade");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("field 'grade' is missing") != std::string::npos);

  // A synthetic label that is not a class of the real data.
  recs[1].label = 7;
  recs[2].label = 0;
  medsyn::write_manifest(syn, recs);
  r = medsyn::test::run_cli(base + synq);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("value '7' is not a class of the real data") != std::string::npos);

  r = medsyn::test::run_cli(base + synq + " --fractions 0.1,2");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--fractions") != std::string::npos);
  r = medsyn::test::run_cli(base + synq + " --arms real,fake");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("unknown arm 'fake'") != std::string::npos);
  r = medsyn::test::run_cli(base);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--synthetic") != std::string::npos);
  r = medsyn::test::run_cli(base + synq + " --modality chest_xray");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("no records with modality 'chest_xray'") != std::string::npos);

  // A real set without a validation split.
  auto ds_real = medsyn::load_dataset(real);
  std::vector<medsyn::Record> no_val;
  for (const auto& rec : ds_real.records)
    if (rec.split != "val") no_val.push_back(rec);
  medsyn::write_manifest(real, no_val);
  r = medsyn::test::run_cli(base + " --arms real");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("no records with split 'val'") != std::string::npos);
}
