// The audit end to end on small hand-made datasets: outputs, exact duplicates, planted-kind rates,
// skipped modalities and redaction (no real pixel in any written file).
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/memorization/audit.h"
#include "medsyn/memorization/gallery.h"
#include "medsyn/memorization/plots.h"
#include "medsyn/metrics/authpct.h"
#include "medsyn/metrics/ct.h"
#include "medsyn/metrics/extractor.h"
#include "medsyn/metrics/feature_extract.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace medsyn;
using namespace medsyn::memorization;

namespace {

// Real images use only the grey levels 37 and 201; synthetic ones only 90 and 150, so any real
// pixel in a figure is recognisable by its value.
constexpr int kRealLo = 37, kRealHi = 201, kSynLo = 90, kSynHi = 150;

std::vector<int> pattern(std::uint64_t seed) {  // 7 x 7 blocks of 4 px
  std::mt19937_64 rng(seed);
  std::vector<int> p(49);
  for (auto& b : p) b = static_cast<int>(rng() % 2);
  return p;
}

Image render(const std::vector<int>& p, int lo, int hi) {
  Image im(1, 28, 28);
  for (int y = 0; y < 28; ++y)
    for (int x = 0; x < 28; ++x) im.at(0, y, x) = (p[(y / 4) * 7 + x / 4] ? hi : lo) / 255.f;
  return im;
}

struct Item {
  Image img;
  std::string modality = "chest_xray";
  std::string extra = "{}";
  std::string copy_of;  // write the bytes of this file instead of img
};

void write_set(const fs::path& dir, const std::vector<Item>& items) {
  std::vector<Record> recs;
  for (std::size_t i = 0; i < items.size(); ++i) {
    Record r;
    r.path = "img/" + std::to_string(i) + ".png";
    r.modality = items[i].modality;
    r.extra_json = items[i].extra;
    ensure_dir(dir / "img");
    if (!items[i].copy_of.empty())
      atomic_write_bytes(dir / r.path, read_file_bytes(items[i].copy_of));
    else
      write_png(dir / r.path, items[i].img);
    recs.push_back(r);
  }
  write_manifest(dir, recs);
}

std::set<int> grey_levels(const fs::path& png) {
  const Image im = read_image(png);
  std::set<int> s;
  for (float v : im.data) s.insert(static_cast<int>(std::lround(v * 255)));
  return s;
}

std::vector<std::string> lines(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

struct Fixture {
  test::TempDir tmp{"medsyn-memo-audit"};
  fs::path train = tmp / "train", holdout = tmp / "holdout", synthetic = tmp / "synthetic";
  explicit Fixture(bool with_copy) {
    std::vector<Item> tr, ho, sy;
    for (int i = 0; i < 40; ++i) tr.push_back({render(pattern(i == 1 ? 0 : i), kRealLo, kRealHi)});  // 0 == 1
    for (int i = 0; i < 20; ++i) ho.push_back({render(pattern(1000 + i), kRealLo, kRealHi)});
    for (int i = 2; i < 7; ++i)  // near-copies of training images 2..6 in synthetic grey levels
      sy.push_back({render(pattern(i), kSynLo, kSynHi), "chest_xray", R"({"planted_kind":"recolour","planted_source":"img/)" + std::to_string(i) + R"(.png"})"});
    for (int i = 0; i < 5; ++i) sy.push_back({render(pattern(5000 + i), kSynLo, kSynHi), "chest_xray", R"({"planted_kind":"none"})"});
    write_set(train, tr);
    write_set(holdout, ho);
    if (with_copy) {
      Item c;
      c.copy_of = (train / "img/7.png").string();
      c.extra = R"({"planted_kind":"exact","planted_source":"img/7.png"})";
      sy.push_back(c);
      Item other{render(pattern(9000), kSynLo, kSynHi), "dermatoscopy"};  // no such modality in train
      sy.push_back(other);
    }
    write_set(synthetic, sy);
  }
  AuditOptions options(const std::string& out) const {
    AuditOptions o;
    o.train = train;
    o.holdout = holdout;
    o.synthetic = synthetic;
    o.embedder = "builtin:pixels:28";
    o.out_dir = tmp / out;
    o.k = 3;
    o.threshold_quantile = 0.95;
    o.cache_dir = tmp / "cache";
    return o;
  }
};

}  // namespace

TEST_CASE("audit writes every output with consistent figures", "[memorization][audit]") {
  Fixture f(true);
  const auto r = run_audit(f.options("out"));
  REQUIRE(r.modalities.size() == 1);
  REQUIRE(r.skipped.size() == 1);
  CHECK(r.skipped[0].rfind("dermatoscopy:", 0) == 0);
  const auto& m = r.modalities[0];
  CHECK(m.n_train == 40);
  CHECK(m.n_holdout == 20);
  CHECK(m.n_synthetic == 11);
  CHECK(r.embedder_id == "l2(builtin:pixels(1x28x28))");
  // Training images 0 and 1 share pixels.
  REQUIRE(m.train_duplicates.size() == 1);
  CHECK(m.train_duplicate_images == 1);
  CHECK(m.train_duplicates[0].paths == std::vector<std::string>{"img/0.png", "img/1.png"});
  // The exact copy: similarity 1, nearest is its source, flagged, pixel-identical.
  const auto& copy = m.synthetic[10];
  CHECK(copy.exact_copy);
  CHECK(copy.flagged);
  CHECK(copy.neighbors[0].train_path == "img/7.png");
  CHECK(copy.neighbors[0].similarity == Approx(1.0).margin(1e-5));
  CHECK(copy.neighbors[0].ssim == Approx(1.0).margin(1e-9));
  CHECK(m.synthetic_exact_copies == 1);
  // AuthPct on the same embeddings, recomputed here from independently extracted and L2-normalised
  // pixel features with metrics::authpct; an exact copy (distance 0) is never authentic.
  REQUIRE(m.authentic >= 0);
  CHECK(m.authentic <= 10);
  CHECK(m.authpct == Approx(100.0 * static_cast<double>(m.authentic) / 11.0).epsilon(1e-12));
  {
    auto ex = make_extractor("builtin:pixels:28", "cpu");
    ExtractOptions xo;
    xo.use_cache = false;
    auto embed = [&](const fs::path& dir) {
      const Dataset ds = load_dataset(dir);
      Matrix32 x = extract_features(ds, ds.select("chest_xray", ""), *ex, xo).features;
      for (std::int64_t r = 0; r < x.rows; ++r) {
        double nrm = 0;
        for (std::int64_t c = 0; c < x.cols; ++c) nrm += double(x.data[r * x.cols + c]) * x.data[r * x.cols + c];
        for (std::int64_t c = 0; c < x.cols; ++c) x.data[r * x.cols + c] = static_cast<float>(x.data[r * x.cols + c] / std::sqrt(nrm));
      }
      return x;
    };
    CHECK(metrics::authpct(embed(f.train), embed(f.synthetic)).authentic == m.authentic);
    // C_T on the same embeddings with the holdout as the held-out sample: what metrics::c_t_score gives.
    metrics::CtOptions cto;
    cto.seed = f.options("x").seed;
    const double want = metrics::c_t_score(embed(f.train), embed(f.holdout), embed(f.synthetic), cto).c_t;
    if (std::isnan(want)) CHECK(std::isnan(m.c_t));
    else CHECK(m.c_t == Approx(want).epsilon(1e-9));
  }
  // Recoloured copies find their source image first.
  REQUIRE(m.planted.count("recolour"));
  CHECK(m.planted.at("recolour").n == 5);
  CHECK(m.planted.at("recolour").nearest_is_source == 5);
  CHECK(m.planted.at("exact").flagged == 1);
  CHECK(m.planted.at("none").n == 5);
  // Flags agree with tau; tau is the holdout quantile.
  for (const auto& s : m.synthetic) CHECK(s.flagged == (s.neighbors[0].similarity > m.calibration.tau));
  CHECK(m.calibration.holdout.count == 20);
  CHECK(m.calibration.tau == Approx(quantile(m.holdout_nn, 0.95)));
  for (std::size_t i = 0; i + 1 < m.synthetic[0].neighbors.size(); ++i)
    CHECK(m.synthetic[0].neighbors[i].similarity >= m.synthetic[0].neighbors[i + 1].similarity);
  // The gallery holds each training image and its zooms 1.1 and 1.2; neighbours are distinct images.
  CHECK(m.gallery_views == 3);
  CHECK(m.gallery_rows == 120);
  for (const auto& s : m.synthetic) {
    REQUIRE(s.neighbors.size() == 3);
    std::set<std::string> distinct;
    for (const auto& nb : s.neighbors) distinct.insert(nb.train_path);
    CHECK(distinct.size() == 3);
  }

  const auto csv = lines(f.tmp / "out/neighbors.csv");
  REQUIRE(csv.size() == 1 + 11 * 3);
  CHECK(csv[0] == "modality,synthetic,synthetic_sha256,rank,train,train_sha256,similarity,distance,ssim,above_tau,train_view");
  CHECK(csv[1].rfind("chest_xray,img/0.png,", 0) == 0);
  const json s = read_json_file(f.tmp / "out/summary.json");
  const auto& js = s["modalities"]["chest_xray"];
  CHECK(js["tau"].get<double>() == Approx(m.calibration.tau));
  CHECK(js["train_exact_duplicates"]["groups"] == 1);
  CHECK(js["planted"]["exact"]["flag_rate"].get<double>() == 1.0);
  CHECK(js["synthetic_to_train"]["p99"].is_number());
  CHECK(js["mann_whitney"]["p"].is_number());
  CHECK(s["embedder"]["id"] == r.embedder_id);
  CHECK(js["gallery"]["views"] == 3);
  CHECK(js["authpct"]["authentic"] == m.authentic);
  CHECK(js["authpct"]["authpct"].get<double>() == m.authpct);
  CHECK(s["options"]["train_zooms"] == "1.1,1.2");
  CHECK(s["provenance"].contains("git_commit"));
  CHECK(fs::exists(f.tmp / "out/histogram_chest_xray.png"));
  CHECK(fs::exists(f.tmp / "out/pairs_chest_xray.png"));
  CHECK_FALSE(fs::exists(f.tmp / "out/histogram_dermatoscopy.png"));

  // Second run: embeddings and index come from the cache, same numbers.
  const auto r2 = run_audit(f.options("out2"));
  CHECK(r2.modalities[0].index_cache_hit);
  CHECK(r2.modalities[0].synthetic_nn == m.synthetic_nn);
  CHECK(r2.modalities[0].calibration.tau == m.calibration.tau);
}

TEST_CASE("a training image cropped and resized back is matched through the gallery's zoomed view",
          "[memorization][audit][gallery]") {
  Fixture f(false);
  // Synthetic: training image 9 zoomed by 1.2 (its centre cropped and enlarged), saved as 8-bit PNG.
  const Image src = read_image(f.train / "img/9.png");
  test::TempDir syn_dir;
  write_set(syn_dir.path(), {Item{zoom_centred(src, Zoom{1.2, 1.2}), "chest_xray", R"({"planted_kind":"crop"})"}});
  auto o = f.options("zoomed");
  o.synthetic = syn_dir.path();
  const auto with_views = run_audit(o).modalities.at(0).synthetic.at(0);
  CHECK(with_views.neighbors[0].train_path == "img/9.png");
  CHECK(with_views.neighbors[0].train_view == "1.2");
  CHECK(with_views.neighbors[0].similarity > 0.9999);
  CHECK(with_views.flagged);
  o.train_zooms = "none";
  o.out_dir = f.tmp / "zoomed-none";
  const auto plain = run_audit(o).modalities.at(0);
  CHECK(plain.gallery_views == 1);
  CHECK(plain.synthetic.at(0).neighbors[0].train_view == "1");
  CHECK(plain.synthetic.at(0).neighbors[0].similarity < with_views.neighbors[0].similarity - 0.01);
}

TEST_CASE("redaction (--redact-real) writes no pixel of a real image", "[memorization][audit][redaction]") {
  Fixture f(false);
  auto o = f.options("plain");
  run_audit(o);
  const auto plain = grey_levels(f.tmp / "plain/pairs_chest_xray.png");
  // Without redaction the training images are in the grid (so the check below can fail).
  CHECK(plain.count(kRealLo));
  CHECK(plain.count(kRealHi));
  o.out_dir = f.tmp / "redacted";
  o.redact_real = true;
  const auto r = run_audit(o);
  CHECK(r.options.redact_real);
  for (const auto& entry : fs::directory_iterator(f.tmp / "redacted")) {
    if (entry.path().extension() != ".png") continue;
    const auto levels = grey_levels(entry.path());
    INFO(entry.path());
    CHECK_FALSE(levels.count(kRealLo));
    CHECK_FALSE(levels.count(kRealHi));
  }
  const auto red = grey_levels(f.tmp / "redacted/pairs_chest_xray.png");
  CHECK(red.count(kSynLo));  // the synthetic images are still shown
  CHECK(red.count(kRedactedHatch));
  // Text files hold ids, hashes and scores only: the same as without redaction.
  CHECK(lines(f.tmp / "redacted/neighbors.csv") == lines(f.tmp / "plain/neighbors.csv"));
  CHECK(read_json_file(f.tmp / "redacted/summary.json")["options"]["redact_real"] == true);
}

TEST_CASE("audit input errors name the flag or file", "[memorization][audit]") {
  Fixture f(false);
  auto o = f.options("x");
  o.k = 0;
  CHECK_THROWS_WITH(run_audit(o), Catch::Contains("--k"));
  o = f.options("x");
  o.threshold_quantile = 1.0;
  CHECK_THROWS_WITH(run_audit(o), Catch::Contains("--threshold-quantile"));
  o = f.options("x");
  o.holdout = f.tmp / "missing";
  CHECK_THROWS_WITH(run_audit(o), Catch::Contains("--holdout"));
  o = f.options("x");
  o.embedder = "builtin:nothing";
  CHECK_THROWS_AS(run_audit(o), InputError);
  o = f.options("x");
  o.embedder = "builtin:contrastive:" + (f.tmp / "no-model.pt").string();
  CHECK_THROWS_WITH(run_audit(o), Catch::Contains("no-model.pt"));
  o = f.options("x");
  o.train_zooms = "1.1,9";
  CHECK_THROWS_WITH(run_audit(o), Catch::Contains("--train-zooms"));
  o = f.options("x");
  o.synthetic_split = "val";
  CHECK_THROWS_AS(run_audit(o), InputError);
  // Only a modality the training set lacks: nothing can be audited.
  test::TempDir other;
  write_set(other.path(), {Item{render(pattern(1), kSynLo, kSynHi), "dermatoscopy"}});
  o = f.options("x");
  o.synthetic = other.path();
  CHECK_THROWS_WITH(run_audit(o), Catch::Contains("no modality could be audited"));
}
