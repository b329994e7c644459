// Prompt adherence (CAS, reverse CAS; downstream/adherence.h) on real data: BreastMNIST from
// ../shared/data/medmnist with half of its training split held out as the "synthetic" images.
//  - sanity: held-out real images with prompts naming their true class score like the real test
//    split (high CAS), and the reverse classifier trained on them recognises real test images;
//  - the same images with prompts naming permuted classes score at chance;
//  - how the intended class is found (prompt, label field, excluded) is counted;
//  - outputs recompute; bad inputs are InputErrors (exit 2) naming the record and field; too few
//    images give null estimates with the reason.
#include <cmath>
#include <map>

#include <catch2/catch.hpp>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/core/medmnist_import.h"
#include "medsyn/downstream/adherence.h"
#include "medsyn/stats/auc.h"
#include "medsyn/stats/csv.h"
#include "medsyn/stats/random.h"
#include "test_support.h"

namespace ds = medsyn::downstream;
namespace fs = std::filesystem;
using medsyn::json;
using medsyn::Record;
using medsyn::test::TempDir;

namespace {

struct HeldOut {
  fs::path real, syn;
  std::size_t held = 0;
};

// BreastMNIST imported to DIR/breast; every second training record moves to DIR/syn (split "",
// no label, the prompt of its true class, or with `permute` the prompt of a randomly permuted
// class), so the real-trained classifiers never see those images. `extras`: three more synthetic
// records (a modality-level prompt without a label: excluded; an unknown prompt with a label: by
// label; split test: not used).
HeldOut held_out(const TempDir& tmp, bool permute, bool extras) {
  HeldOut h{tmp / "breast", tmp / "syn"};
  medsyn::import_medmnist(medsyn::test::medmnist_file("breastmnist"), h.real);
  const medsyn::Dataset ds = medsyn::load_dataset(h.real);
  std::vector<Record> keep, held;
  std::size_t t = 0;
  for (const auto& r : ds.records) {
    if (r.split == "train" && t++ % 2 == 1) held.push_back(r);
    else keep.push_back(r);
  }
  std::map<long, std::string> prompt_of;
  for (const auto& r : keep)
    if (r.split == "train") prompt_of[*r.label] = r.prompt;
  REQUIRE(prompt_of.size() == 2);
  std::vector<long> labels;
  for (const auto& r : held) labels.push_back(*r.label);
  if (permute) {
    medsyn::stats::Rng rng(7);
    medsyn::stats::shuffle(rng, labels);
  }
  std::vector<Record> syn;
  for (std::size_t i = 0; i < held.size(); ++i) {
    Record o = held[i];
    o.path = "images/" + std::to_string(i) + ".png";
    fs::create_directories(h.syn / "images");
    fs::copy_file(ds.image_path(held[i]), h.syn / o.path);
    o.split = "";
    o.label.reset();
    o.label_name.clear();
    o.prompt = prompt_of.at(labels[i]);
    syn.push_back(o);
  }
  h.held = syn.size();
  if (extras) {
    for (int e = 0; e < 3; ++e) {
      Record o = syn[static_cast<std::size_t>(e)];
      o.path = "images/extra" + std::to_string(e) + ".png";
      fs::copy_file(h.syn / syn[static_cast<std::size_t>(e)].path, h.syn / o.path);
      if (e == 0) o.prompt = "Breast  ultrasound";  // names no class
      if (e == 1) {
        o.prompt = "a breast ultrasound image";
        o.label = 1;
      }
      if (e == 2) o.split = "test";
      syn.push_back(o);
    }
  }
  medsyn::write_manifest(h.real, keep);
  medsyn::write_manifest(h.syn, syn);
  return h;
}

// A fast classifier for tests (fewer steps and checkpoints than the defaults).
ds::AdherenceOptions quick(const HeldOut& h) {
  ds::AdherenceOptions o;
  o.real_dir = h.real;
  o.synthetic_dir = h.syn;
  o.seeds = 3;
  o.classifier.epochs = 6;
  o.classifier.min_steps = 60;
  return o;
}

void check_stated(const medsyn::Estimate& e) {
  CHECK(e.has_value());
  CHECK(e.has_ci());
  CHECK(e.ci_level == 0.95);
  CHECK(!e.ci_method.empty());
  CHECK(!e.estimand.empty());
  CHECK(e.ci_low <= e.value);
  CHECK(e.value <= e.ci_high);
}

}  // namespace

TEST_CASE("adherence: held-out real images with their true classes score like the real test split",
          "[downstream][adherence]") {
  TempDir tmp("medsyn-adherence");
  const HeldOut h = held_out(tmp, false, true);
  ds::AdherenceOptions o = quick(h);
  o.out_dir = tmp / "out";
  const auto r = ds::run_adherence(o);
  // How each image's intended class was found.
  CHECK(r.sources.records == h.held + 3);
  CHECK(r.sources.by_prompt == h.held);
  CHECK(r.sources.by_label == 1);
  CHECK(r.sources.no_label == 1);
  CHECK(r.sources.split_excluded == 1);
  CHECK(r.sources.conflicts == 0);
  CHECK(r.cas.n == h.held + 1);
  CHECK(r.real.n == 156);
  CHECK(r.reverse.n_train == h.held + 1);
  INFO("CAS accuracy " << r.cas.accuracy.value << " AUROC " << r.cas.auroc.value << "; real-test accuracy "
                       << r.real.accuracy.value << " AUROC " << r.real.auroc.value << "; reverse AUROC "
                       << r.reverse.auroc.value);
  // Real images with the classes their prompts name are recognised as well as the real test split
  // (the two image sets differ only by sampling: 274 vs 156 images).
  CHECK(r.cas.auroc.value >= 0.75);
  CHECK(r.real.auroc.value >= 0.75);
  CHECK(std::abs(r.cas.auroc.value - r.real.auroc.value) < 0.08);
  CHECK(std::abs(r.cas.accuracy.value - r.real.accuracy.value) < 0.1);
  CHECK(r.reverse.auroc.value >= 0.7);  // trained on them, the classifier recognises real test images
  for (const auto* e : {&r.cas.accuracy, &r.cas.balanced_accuracy, &r.cas.auroc, &r.cas.auroc_delong, &r.real.accuracy,
                        &r.reverse.auroc, &r.reverse.auroc_delong})
    check_stated(*e);
  CHECK(r.cas.auroc.ci_method == "t over seeds");
  CHECK(r.cas.auroc_delong.ci_method == "delong");
  CHECK(r.cas.auroc.n == static_cast<long long>(h.held + 1));
  REQUIRE(r.cas.classes.size() == 2);
  for (const auto& c : r.cas.classes) {
    check_stated(c.accuracy);
    check_stated(c.auroc);
  }
  REQUIRE(r.cas.worst_class >= 0);
  const auto& worst = r.cas.classes[static_cast<std::size_t>(r.cas.worst_class)];
  for (const auto& c : r.cas.classes) CHECK(worst.accuracy.value <= c.accuracy.value);
  // Notes say what was excluded.
  bool excluded_note = false;
  for (const auto& n : r.notes) excluded_note = excluded_note || n.find("1 of " + std::to_string(h.held + 3) + " synthetic images excluded") == 0;
  CHECK(excluded_note);

  // Outputs: results.json with provenance; predictions recompute the ensemble AUROC.
  const json j = medsyn::read_json_file(o.out_dir / "results.json");
  CHECK(j["schema"] == ds::kAdherenceSchema);
  CHECK(j["provenance"].contains("git_commit"));
  CHECK(j["provenance"]["inputs"]["synthetic"]["manifest_sha256"].get<std::string>().size() == 64);
  CHECK(j["labels"]["by_prompt"] == h.held);
  CHECK(j["cas"]["auroc_delong"]["ci_method"] == "delong");
  for (const char* dir : {"cas", "real", "reverse"}) {
    INFO(dir);
    const auto csv = medsyn::stats::read_csv(o.out_dir / "predictions" / (std::string(dir) + ".csv"));
    const auto labels = csv.binary_labels("label");
    const auto scores = csv.numeric("ensemble");
    CHECK(medsyn::stats::auroc(labels, scores) == Approx(j[dir]["auroc_delong"]["value"].get<double>()).epsilon(1e-12));
    CHECK(medsyn::stats::auroc(labels, csv.numeric("seed2")) == Approx(j[dir]["seed_auroc"][2].get<double>()).epsilon(1e-12));
  }
  CHECK(medsyn::read_file_text(o.out_dir / "table.md").find("| CAS | real train | synthetic |") != std::string::npos);

  // Deterministic: the same options give the same numbers whatever the parallelism.
  o.out_dir.clear();
  o.jobs = 1;
  o.reverse = false;
  const auto again = ds::run_adherence(o);
  CHECK(again.cas.seed_accuracy == r.cas.seed_accuracy);
  CHECK(again.cas.seed_auroc == r.cas.seed_auroc);
  CHECK(!again.reverse.computed);
  CHECK(again.reverse.accuracy.note == "reverse CAS not requested");
}

TEST_CASE("adherence: prompts naming permuted classes score at chance", "[downstream][adherence]") {
  TempDir tmp("medsyn-adherence");
  const HeldOut h = held_out(tmp, true, false);
  const auto r = ds::run_adherence(quick(h));
  INFO("CAS AUROC " << r.cas.auroc.value << " balanced accuracy " << r.cas.balanced_accuracy.value << " DeLong ["
                    << r.cas.auroc_delong.ci_low << ", " << r.cas.auroc_delong.ci_high << "]; real-test AUROC "
                    << r.real.auroc.value << "; reverse AUROC " << r.reverse.auroc.value);
  CHECK(r.sources.by_prompt == h.held);
  // The classifiers are as good as before (same real training images) ...
  CHECK(r.real.auroc.value >= 0.75);
  // ... but the images do not show what their prompts name: chance (0.5), within about three
  // standard errors of an AUROC on ~270 images.
  CHECK(std::abs(r.cas.auroc.value - 0.5) < 0.12);
  CHECK(std::abs(r.cas.auroc_delong.value - 0.5) < 0.12);
  CHECK(std::abs(r.cas.balanced_accuracy.value - 0.5) < 0.1);
  // Trained on images with permuted classes, the reverse classifier has nothing to learn.
  CHECK(std::abs(r.reverse.auroc.value - 0.5) < 0.15);
}

TEST_CASE("adherence: bad inputs are errors naming the record and field; too few images are null with the reason",
          "[downstream][adherence]") {
  TempDir tmp("medsyn-adherence");
  const HeldOut h = held_out(tmp, false, false);
  ds::AdherenceOptions o = quick(h);
  auto message = [&](const ds::AdherenceOptions& x) {
    try {
      (void)ds::run_adherence(x);
    } catch (const medsyn::InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  {
    ds::AdherenceOptions x = o;
    x.seeds = 0;
    CHECK(message(x).find("--seeds") != std::string::npos);
    x = o;
    x.ci_level = 1.0;
    CHECK(message(x).find("--ci-level") != std::string::npos);
    x = o;
    x.synthetic_dir.clear();
    CHECK(message(x).find("--synthetic") != std::string::npos);
  }
  // A record label that is not a class of the real data.
  medsyn::Dataset syn = medsyn::load_dataset(h.syn);
  syn.records[4].prompt = "something else";
  syn.records[4].label = 7;
  medsyn::write_manifest(h.syn, syn.records);
  const std::string bad = message(o);
  INFO(bad);
  CHECK(bad.find("manifest.jsonl: record 5 (path 'images/4.png'): field 'label' value '7' is not a class of the real data") !=
        std::string::npos);
  // No record of the modality.
  for (auto& r : syn.records) r.modality = "chest_xray";
  medsyn::write_manifest(h.syn, syn.records);
  CHECK(message(o).find("no records with modality 'breast_ultrasound' (modalities present: chest_xray)") != std::string::npos);
  // No image whose prompt names a class: CAS and reverse are null with the reason, the real
  // reference is still scored.
  for (auto& r : syn.records) {
    r.modality = "breast_ultrasound";
    r.prompt = "breast ultrasound";
    r.label.reset();
  }
  medsyn::write_manifest(h.syn, syn.records);
  o.seeds = 1;
  o.classifier.epochs = 1;
  o.classifier.min_steps = 5;
  const auto r = ds::run_adherence(o);
  CHECK(r.sources.no_label == syn.records.size());
  CHECK(!r.cas.accuracy.has_value());
  CHECK(r.cas.accuracy.note.find("no synthetic image's prompt names a class") == 0);
  CHECK(!r.cas.auroc_delong.has_value());
  CHECK(r.reverse.accuracy.note.find("reverse CAS needs synthetic images of two or more classes") == 0);
  CHECK(r.real.accuracy.has_value());
  CHECK(!r.real.accuracy.has_ci());  // one seed: no interval over seeds, and it says so
  CHECK(r.real.accuracy.note == "one seed: no interval over seeds");
}

TEST_CASE("adherence command: exit 2 naming the option or file", "[downstream][adherence][cli]") {
  TempDir tmp("medsyn-adherence");
  const auto q = [](const fs::path& p) { return medsyn::test::shell_quote(p.string()); };
  auto r = medsyn::test::run_cli("adherence --real " + q(tmp / "missing") + " --synthetic " + q(tmp / "missing2") +
                                 " --out " + q(tmp / "out"));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("missing") != std::string::npos);
  r = medsyn::test::run_cli("adherence --real " + q(tmp.path()) + " --synthetic " + q(tmp.path()) + " --out " + q(tmp / "out") +
                            " --seeds 0");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--seeds") != std::string::npos);
  CHECK(!fs::exists(tmp / "out"));
}
