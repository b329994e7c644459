// `medsynbench memorization` and `memorization train-embedder`: exit codes and outputs.
#include <catch2/catch.hpp>

#include <random>

#include "medsyn/core/fs.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace medsyn;
using test::run_cli;
using test::shell_quote;

namespace {
void write_random_set(const fs::path& dir, int n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Record> recs;
  ensure_dir(dir / "img");
  for (int i = 0; i < n; ++i) {
    Image im(1, 28, 28);
    for (float& v : im.data) v = static_cast<float>(rng() % 256) / 255.f;
    Record r;
    r.path = "img/" + std::to_string(i) + ".png";
    r.modality = "chest_xray";
    write_png(dir / r.path, im);
    recs.push_back(r);
  }
  write_manifest(dir, recs);
}

struct Sets {
  test::TempDir tmp{"medsyn-cli-memo"};
  Sets() {
    write_random_set(tmp / "train", 30, 1);
    write_random_set(tmp / "holdout", 12, 2);
    write_random_set(tmp / "synthetic", 8, 3);
  }
  std::string args(const std::string& extra = "", const std::string& embedder = "builtin:pixels:28") const {
    return "memorization --train " + shell_quote((tmp / "train").string()) + " --holdout " +
           shell_quote((tmp / "holdout").string()) + " --synthetic " + shell_quote((tmp / "synthetic").string()) +
           " --embedder " + shell_quote(embedder) + " --cache-dir " + shell_quote((tmp / "cache").string()) + " " + extra;
  }
};
}  // namespace

TEST_CASE("memorization CLI: a run prints JSON and writes the files", "[memorization][cli]") {
  Sets s;
  const auto out = s.tmp / "out";
  const auto r = run_cli(s.args("--out " + shell_quote(out.string()) + " --k 2 --json"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json j = json::parse(r.out);
  CHECK(j["modalities"]["chest_xray"]["n_synthetic"] == 8);
  CHECK(j["modalities"]["chest_xray"]["n_train"] == 30);
  for (const char* f : {"neighbors.csv", "summary.json", "histogram_chest_xray.png", "pairs_chest_xray.png"})
    CHECK(fs::exists(out / f));
  const auto t = run_cli(s.args("--out " + shell_quote((s.tmp / "out2").string()) + " --index hnsw"));
  INFO(t.err);
  REQUIRE(t.exit_code == 0);
  CHECK(t.out.find("tau") != std::string::npos);
  CHECK(t.out.find("recall@5") != std::string::npos);
  CHECK(t.out.find("gallery       90 rows (3 views per training image: zooms 1,1.1,1.2)") != std::string::npos);
  // --train-zooms none: the training images only.
  const auto u = run_cli(s.args("--out " + shell_quote((s.tmp / "out3").string()) + " --train-zooms none --json"));
  INFO(u.err);
  REQUIRE(u.exit_code == 0);
  const json ju = json::parse(u.out);
  CHECK(ju["modalities"]["chest_xray"]["gallery"]["views"] == 1);
  CHECK(ju["modalities"]["chest_xray"]["gallery"]["rows"] == 30);
}

TEST_CASE("memorization CLI: bad usage and bad input exit with 2", "[memorization][cli]") {
  Sets s;
  const std::string out = " --out " + shell_quote((s.tmp / "o").string());
  struct Case {
    std::string args, needle;
  };
  const std::vector<Case> cases = {
      {"memorization --holdout x --synthetic y --embedder builtin:pixels" + out, "--train"},
      {s.args(), "--out"},
      {s.args("--index lsh" + out), "--index"},
      {s.args("--thresholds 0.5,abc" + out), "--thresholds"},
      {s.args("--thresholds 1.5" + out), "--thresholds"},
      {s.args("--threshold-quantile 1" + out), "--threshold-quantile"},
      {s.args("--k 0" + out), "--k"},
      {s.args("--train-zooms 1.1,abc" + out), "--train-zooms"},
      {s.args("--device tpu" + out), "--device"},
      {"memorization --train " + shell_quote((s.tmp / "nope").string()) + " --holdout x --synthetic y --embedder builtin:pixels" + out, "nope"},
      {s.args(out, "builtin:contrastive:/no/such/model.pt"), "model.pt"},
      {"memorization train-embedder --out m.pt", "--data"},
      {"memorization train-embedder --data " + shell_quote((s.tmp / "train").string()) + " --out " +
           shell_quote((s.tmp / "m.pt").string()) + " --epochs 0", "--epochs"},
      {"memorization train-embedder --data " + shell_quote((s.tmp / "nope").string()) + " --out m.pt", "nope"},
  };
  for (const auto& c : cases) {
    const auto r = run_cli(c.args);
    INFO(c.args << "\nstderr: " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(c.needle) != std::string::npos);
  }
  CHECK(run_cli("memorization --help").exit_code == 0);
  CHECK(run_cli("memorization train-embedder --help").exit_code == 0);
}
