// Per-modality fidelity (FID/KID/PRDC with bootstrap CIs and the real-vs-real floor) and the
// `metrics fidelity` command.
#include "extractor_test_util.h"  // before Catch: LibTorch/glog define CHECK

#include <catch2/catch.hpp>

#include "medsyn/core/error.h"
#include "medsyn/core/json.h"
#include "medsyn/core/medmnist_import.h"
#include "medsyn/metrics/cmmd.h"
#include "medsyn/metrics/fid.h"
#include "medsyn/metrics/fidelity.h"
#include "medsyn/metrics/kid.h"
#include "medsyn/metrics/prdc.h"
#include "medsyn/metrics/stats.h"
#include "medsyn/stats/random.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace medsyn;
using namespace medsyn::metrics;
using medsyn::test::run_cli;
using medsyn::test::shell_quote;
using medsyn::test::TempDir;

namespace {
Matrix32 gaussian(std::int64_t n, int d, double shift, std::uint64_t seed) {
  stats::Rng rng(seed);
  Matrix32 m;
  m.rows = n;
  m.cols = d;
  for (std::int64_t i = 0; i < n * d; ++i) m.data.push_back(static_cast<float>(stats::standard_normal(rng) + shift));
  return m;
}
}  // namespace

TEST_CASE("fidelity_from_features: point estimates equal the metric functions", "[fidelity]") {
  const Matrix32 real = gaussian(120, 6, 0.0, 1), synth = gaussian(100, 6, 0.5, 2);
  FidelityOptions o;
  o.bootstrap = 30;
  o.seed = 7;
  o.kid_subset_size = 1000;
  const ModalityFidelity m = fidelity_from_features("mod", real, synth, o);
  CHECK(m.n_real == 120);
  CHECK(m.n_synthetic == 100);
  CHECK(m.dim == 6);
  CHECK(m.fid.value == frechet_distance(compute_stats(real), compute_stats(synth)).fid);
  KidOptions ko;
  ko.seed = 7;
  CHECK(m.kid.value == kid(real, synth, ko).kid_mean);
  const PrdcResult p = prdc(real, synth, 5);
  CHECK(m.precision.value == p.precision);
  CHECK(m.recall.value == p.recall);
  CHECK(m.density.value == p.density);
  CHECK(m.coverage.value == p.coverage);
  // Shift 0.5 in 6 dims: FID ~ 6 * 0.25 = 1.5, clearly above the floor of two real halves.
  CHECK(m.fid.value > 1.0);
  CHECK(m.fid_real_floor.value < m.fid.value);
  CHECK(m.floor_n_a == 60);
  CHECK(m.floor_n_b == 60);
  // The floor is FID between the documented halves.
  stats::Rng rng(7 ^ 0x9E3779B97F4A7C15ULL);
  const auto perm = stats::sample_without_replacement(rng, 120, 120);
  Matrix32 a, b;
  a.cols = b.cols = 6;
  for (std::size_t i = 0; i < perm.size(); ++i) {
    Matrix32& t = i < 60 ? a : b;
    t.rows++;
    t.data.insert(t.data.end(), real.data.begin() + perm[i] * 6, real.data.begin() + (perm[i] + 1) * 6);
  }
  CHECK(m.fid_real_floor.value == frechet_distance(compute_stats(a), compute_stats(b)).fid);
  // CMMD: the full sets' value with a bootstrap interval; its floor is CMMD between the same halves.
  CHECK(m.cmmd.value == cmmd(real, synth));
  CHECK(m.cmmd_real_floor.value == cmmd(a, b));
  CHECK(m.cmmd_real_floor.value < m.cmmd.value);
  CHECK_FALSE(m.cmmd_real_floor.has_ci());
  CHECK_FALSE(m.cmmd_real_floor.estimand.empty());
  // Every interval exists, states its estimand and method, and contains its own point estimate.
  for (const Estimate* e : {&m.fid, &m.fid_population, &m.kid, &m.cmmd, &m.precision, &m.recall, &m.density,
                            &m.coverage, &m.fid_real_floor, &m.fid_real_floor_population}) {
    CHECK(e->has_ci());
    CHECK(e->ci_low <= e->value);
    CHECK(e->value <= e->ci_high);
    CHECK(e->replicates == 30);
    CHECK_FALSE(e->estimand.empty());
    CHECK_FALSE(e->ci_method.empty());
  }
  CHECK(m.fid_population.estimand == "population Frechet distance");
  // Bias correction moves the estimate down (FID is biased upwards by finite samples).
  CHECK(m.fid_population.value < m.fid.value);
  CHECK(m.fid_real_floor_population.value < m.fid_real_floor.value);
  CHECK(m.fid.ci_low < m.fid.value * 1.5);
  CHECK(m.fid.ci_high > m.fid.value * 0.5);
  // Deterministic for a seed.
  const ModalityFidelity again = fidelity_from_features("mod", real, synth, o);
  CHECK(again.fid.ci_low == m.fid.ci_low);
  CHECK(again.coverage.ci_high == m.coverage.ci_high);
  // No bootstrap: no CIs.
  o.bootstrap = 0;
  const ModalityFidelity none = fidelity_from_features("mod", real, synth, o);
  CHECK_FALSE(none.fid.has_ci());
  CHECK(none.fid.value == m.fid.value);
  const json j = modality_fidelity_to_json(none, o);
  CHECK(j.at("fid").at("ci_low").is_null());
  CHECK(j.at("precision").at("k") == 5);
  CHECK(j.at("cmmd").at("value").get<double>() == m.cmmd.value);
  CHECK(j.at("cmmd").at("ci_low").is_null());
  CHECK(j.at("cmmd_real_floor").at("value").get<double>() == m.cmmd_real_floor.value);
}

TEST_CASE("fidelity_from_features: bad input", "[fidelity][errors]") {
  FidelityOptions o;
  o.bootstrap = 0;
  CHECK_THROWS_AS(fidelity_from_features("m", gaussian(20, 4, 0, 1), gaussian(20, 5, 0, 2), o), InputError);
  // Too few images: null estimates with the reason, never a number.
  const ModalityFidelity small = fidelity_from_features("m", gaussian(20, 4, 0, 1), gaussian(5, 4, 0, 2), o);
  CHECK(small.cmmd.has_value());  // CMMD has no minimum beyond two rows per set
  const ModalityFidelity one = fidelity_from_features("m", gaussian(20, 4, 0, 1), gaussian(1, 4, 0, 2), o);
  CHECK_FALSE(one.cmmd.has_value());
  CHECK(one.cmmd.note.rfind("n too small", 0) == 0);
  for (const Estimate* e : {&small.fid, &small.fid_population, &small.kid, &small.precision, &small.coverage}) {
    CHECK_FALSE(e->has_value());
    CHECK(e->note.rfind("n too small", 0) == 0);
  }
  // FID needs more images than dimensions: 20 real rows (floor halves of 10) in 12 dimensions.
  const ModalityFidelity wide = fidelity_from_features("m", gaussian(20, 12, 0, 1), gaussian(30, 12, 0, 2), o);
  CHECK(wide.fid.has_value());
  CHECK(wide.kid.has_value());
  CHECK_FALSE(wide.fid_real_floor.has_value());
  CHECK(wide.fid_real_floor.note.find("feature dimensions") != std::string::npos);
}

TEST_CASE("metrics fidelity on MedMNIST splits (real = test, 'synthetic' = train)", "[fidelity][cli][real]") {
  const fs::path npz = test::medmnist_file("breastmnist");
  TempDir tmp;
  import_medmnist(npz, tmp / "breast");
  const std::string ds = shell_quote((tmp / "breast").string());
  const std::string common = " --extractor builtin:pixels:8 --bootstrap 20 --kid-subsets 10 --seed 3 --cache-dir " +
                             shell_quote((tmp / "cache").string());
  auto r = run_cli("metrics fidelity --real " + ds + " --real-split test --synthetic " + ds +
                   " --synthetic-split train --json" + common);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json j = json::parse(r.out);
  CHECK(j.at("schema") == "medsynbench.fidelity/1");
  const json& m = j.at("modalities").at("breast_ultrasound");
  CHECK(m.at("n_real") == 156);
  CHECK(m.at("n_synthetic") == 546);
  CHECK(m.at("dim") == 64);
  // builtin:pixels is not an Inception space: the Fréchet distances are "fd", with the space named
  // (core/feature_space.h), and no "fid" key exists.
  for (const char* k : {"fid", "fid_population", "fid_real_floor", "fid_real_floor_population"}) CHECK_FALSE(m.contains(k));
  for (const char* k : {"fd", "fd_population", "fd_real_floor", "fd_real_floor_population"})
    CHECK(m.at(k).at("feature_space") == j.at("extractor").at("id"));
  CHECK(j.at("extractor").at("id") == "builtin:pixels(1x8x8)");
  for (const char* k : {"fd", "fd_real_floor", "kid", "precision", "recall", "density", "coverage"}) {
    INFO(k);
    CHECK(m.at(k).at("value").is_number());
    CHECK(m.at(k).at("ci_low").is_number());
    CHECK(m.at(k).at("ci_high").is_number());
    CHECK(m.at(k).at("ci_low").get<double>() <= m.at(k).at("ci_high").get<double>());
  }
  CHECK(m.at("fd_real_floor").at("n_a") == 78);
  // Real splits of one data set: FD is small and of the order of the floor; precision/recall high.
  CHECK(m.at("fd").at("value").get<double>() < 3 * m.at("fd_real_floor").at("value").get<double>() + 1.0);
  CHECK(m.at("precision").at("value").get<double>() > 0.5);
  CHECK(j.at("provenance").contains("git_commit"));
  // Second run: features come from the cache; same numbers.
  auto r2 = run_cli("metrics fidelity --real " + ds + " --real-split test --synthetic " + ds +
                    " --synthetic-split train --json" + common);
  REQUIRE(r2.exit_code == 0);
  const json j2 = json::parse(r2.out);
  CHECK(j2.at("modalities").at("breast_ultrasound").at("features").at("real").at("cache_hit") == true);
  CHECK(j2.at("modalities").at("breast_ultrasound").at("fd") == m.at("fd"));
  // Human-readable output.
  auto r3 = run_cli("metrics fidelity --real " + ds + " --real-split test --synthetic " + ds +
                    " --synthetic-split train" + common);
  CHECK(r3.exit_code == 0);
  CHECK(r3.out.find("FD  floor") != std::string::npos);  // FD, not FID: pixel features
  // No common modality: exit 2.
  test::write_tiny_dataset(tmp / "other", 10, 8, 8, "chest_xray");
  auto r4 = run_cli("metrics fidelity --real " + ds + " --synthetic " + shell_quote((tmp / "other").string()) + common);
  CHECK(r4.exit_code == 2);
  CHECK(r4.err.find("no modality in common") != std::string::npos);
}
