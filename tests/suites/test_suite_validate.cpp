// Suite validation: every problem at once, each with its JSON path; exit 2 through the CLI.
#include <catch2/catch.hpp>

#include <algorithm>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/json.h"
#include "medsyn/suites/validate.h"
#include "test_support.h"

using namespace medsyn;
using nlohmann::ordered_json;
namespace fs = std::filesystem;

namespace {

bool has(const std::vector<suites::SuiteProblem>& ps, const std::string& path, const std::string& needle) {
  return std::any_of(ps.begin(), ps.end(), [&](const suites::SuiteProblem& p) {
    return p.path == path && p.message.find(needle) != std::string::npos;
  });
}

std::string good_suite(const std::string& npz) {
  return R"({"schema_version": 1, "name": "ok",
    "datasets": {"breast": {"source": {"medmnist": ")" + npz + R"("},
                            "splits": {"train": "train", "holdout": "val", "test": "test"}}},
    "modalities": {"breast_ultrasound": {"dataset": "breast", "specialty": "radiology", "prompts": "from_manifest"}},
    "models": {"gen": {"kind": "generalist", "modalities": ["breast_ultrasound"],
                       "source": {"type": "command", "command": "gen --prompt {prompt} --out {out}"}}},
    "evaluations": {"fidelity": {"extractor": "builtin:pixels:28"}},
    "gates": [{"metric": "fid", "model": "gen", "modality": "breast_ultrasound", "op": "<=", "value": 100}]})";
}

}  // namespace

TEST_CASE("a well-formed suite with existing files validates", "[suites]") {
  test::TempDir tmp;
  atomic_write_text(tmp / "s.json", good_suite("${MEDSYN_DATA}/medmnist/breastmnist.npz"));
  test::medmnist_file("breastmnist");  // skips the test when the shared data is missing
  const auto ps = suites::validate_suite_file(tmp / "s.json");
  for (const auto& p : ps) UNSCOPED_INFO(p.path << ": " << p.message);
  CHECK(ps.empty());
}

TEST_CASE("suite validate warns when n_generate is below a metric's minimum", "[suites][small]") {
  // builtin:pixels:28 = 784 dimensions; the default n_generate (100) is far below it for FID.
  auto suite = ordered_json::parse(good_suite("missing.npz"));
  auto w = suites::sample_size_warnings(suite);
  CHECK(has(w, "$.modalities.breast_ultrasound.n_generate", "FID will be null"));
  CHECK(has(w, "$.modalities.breast_ultrasound.n_generate", "784 feature dimensions"));
  suite["evaluations"]["fidelity"]["extractor"] = "builtin:pixels:8";  // 64 dimensions
  suite["modalities"]["breast_ultrasound"]["n_generate"] = 200;
  CHECK(suites::sample_size_warnings(suite).empty());
  suite["modalities"]["breast_ultrasound"]["n_generate"] = 8;
  w = suites::sample_size_warnings(suite);
  CHECK(has(w, "$.modalities.breast_ultrasound.n_generate", "diversity will be null"));
  CHECK(has(w, "$.modalities.breast_ultrasound.n_generate", "PRDC will be null"));
  // Through the CLI: warnings on stderr, exit 0; a duplicate key in the file is an error.
  test::TempDir tmp;
  test::medmnist_file("breastmnist");  // skips the test when the shared data is missing
  auto text = good_suite("${MEDSYN_DATA}/medmnist/breastmnist.npz");
  atomic_write_text(tmp / "w.json", text);
  auto r = test::run_cli("suite validate " + (tmp / "w.json").string());
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("FID will be null") != std::string::npos);
  text.insert(text.find("\"name\""), "\"name\": \"twice\", ");
  atomic_write_text(tmp / "d.json", text);
  r = test::run_cli("suite validate " + (tmp / "d.json").string());
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("duplicate key 'name'") != std::string::npos);
}

TEST_CASE("suite validate rejects an unknown extractor, an unknown split and an out-of-range seed",
          "[suites][errors][hostile]") {
  test::TempDir tmp;
  auto suite = ordered_json::parse(good_suite("missing.npz"));
  suite["evaluations"]["fidelity"]["extractor"] = "bogus:xyz";
  suite["evaluations"]["memorization"] = {{"embedder", "builtin:pixels:8?channels=7"}};
  suite["datasets"]["breast"]["splits"]["holdout"] = "validation";
  // 2^64 does not fit a seed: written by hand, since the JSON library would store it as a float.
  std::string text = suite.dump();
  text.insert(1, "\"seed\": 18446744073709551616, ");
  atomic_write_text(tmp / "s.json", text);
  const auto ps = suites::validate_suite_file(tmp / "s.json");
  for (const auto& p : ps) UNSCOPED_INFO(p.path << ": " << p.message);
  CHECK(has(ps, "$.evaluations.fidelity.extractor", "unknown extractor 'bogus:xyz'"));
  CHECK(has(ps, "$.evaluations.memorization.embedder", "channels"));
  CHECK(has(ps, "$.datasets.breast.splits.holdout", "unknown split 'validation'"));
  CHECK(has(ps, "$.seed", "must be an integer between 0 and 18446744073709551615"));
}

TEST_CASE("suite validation reports every error at once with JSON paths", "[suites][errors]") {
  test::TempDir tmp;
  atomic_write_text(tmp / "s.json", R"({"schema_version": 1, "name": "bad", "colour": "red",
    "datasets": {"d": {"source": {"medmnist": "missing.npz"}, "splits": {"train": "train", "holdout": "val", "test": "test"}}},
    "modalities": {"chest": {"dataset": "dd", "specialty": "radiology", "prompts": "from_manifest"}},
    "models": {"s": {"kind": "specialist", "modalities": [], "source": {"type": "folder", "path": "nowhere"}},
               "g": {"kind": "generalist", "modalities": ["chest", "ct"], "source": {"type": "command", "command": "gen {prompt}"}}},
    "evaluations": {"fidelity": {"extractor": 5}},
    "gates": [{"metric": "fid", "model": "zz", "op": "<=", "value": 1}]})");
  const auto ps = suites::validate_suite_file(tmp / "s.json");
  CHECK(has(ps, "$.colour", "unknown key"));
  CHECK(has(ps, "$.models.s.modalities", "at least 1"));  // a specialist without modality
  CHECK(has(ps, "$.models.g.source.command", "\\{out\\}"));
  CHECK(has(ps, "$.evaluations.fidelity.extractor", "expected string"));
  CHECK(has(ps, "$.datasets.d.source.medmnist", "does not exist"));
  CHECK(has(ps, "$.modalities.chest.dataset", "unknown dataset 'dd'"));
  CHECK(has(ps, "$.models.s.source.path", "does not exist"));
  CHECK(has(ps, "$.models.g.modalities[1]", "unknown modality 'ct'"));
  CHECK(has(ps, "$.gates[0].model", "unknown model 'zz'"));
  CHECK(ps.size() == 9);
}

TEST_CASE("suite validate exits 2 naming the file and paths, 0 when valid", "[suites][cli]") {
  test::TempDir tmp;
  atomic_write_text(tmp / "bad.json", R"({"schema_version": 2, "name": "x"})");
  auto r = test::run_cli("suite validate " + test::shell_quote((tmp / "bad.json").string()));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("bad.json") != std::string::npos);
  CHECK(r.err.find("$.schema_version") != std::string::npos);
  CHECK(r.err.find("$.datasets: required key is missing") != std::string::npos);
  atomic_write_text(tmp / "notjson.json", "{");
  r = test::run_cli("suite validate " + test::shell_quote((tmp / "notjson.json").string()));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("invalid JSON") != std::string::npos);
  if (const auto breast = test::medmnist_file_if_present("breastmnist")) {
    atomic_write_text(tmp / "ok.json", good_suite(breast->string()));
    r = test::run_cli("suite validate " + test::shell_quote((tmp / "ok.json").string()) + " --json");
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(json::parse(r.out)["valid"] == true);
  }
}

TEST_CASE("execution.shard_size: an integer of at least 2, reported with its JSON path", "[suites][shards]") {
  auto suite = ordered_json::parse(good_suite("missing.npz"));
  suite["execution"] = {{"shard_size", 1000}};
  CHECK(!has(suites::validate_suite(suite, "."), "$.execution.shard_size", ""));
  suite["execution"]["shard_size"] = 1;
  CHECK(has(suites::validate_suite(suite, "."), "$.execution.shard_size", "must be >= 2"));
  suite["execution"]["shard_size"] = "1000";
  CHECK(has(suites::validate_suite(suite, "."), "$.execution.shard_size", "integer"));
  suite["execution"] = {{"shards", 4}};
  const auto ps = suites::validate_suite(suite, ".");
  CHECK(std::any_of(ps.begin(), ps.end(), [](const suites::SuiteProblem& p) { return p.path.rfind("$.execution", 0) == 0; }));
}

TEST_CASE("suite validate warns when a gate names the Frechet spelling the feature space does not report", "[suites][small]") {
  // builtin:pixels is not Inception: results.json reports "fd", so a "fid" gate would find nothing.
  auto suite = ordered_json::parse(good_suite("missing.npz"));
  auto w = suites::frechet_gate_warnings(suite);
  REQUIRE(w.size() == 1);
  CHECK(has(w, "$.gates[0].metric", "reports the Fréchet distance as 'fd'"));
  suite["gates"][0]["metric"] = "fd";
  CHECK(suites::frechet_gate_warnings(suite).empty());
  suite["gates"][0]["metric"] = "fid_population";
  CHECK(has(suites::frechet_gate_warnings(suite), "$.gates[0].metric", "as 'fd_population'"));
  // In Inception features the names are FID's: "fd" is the one that would find nothing.
  suite["evaluations"]["fidelity"]["extractor"] = "torchscript-preset:clean-fid-inception:/m/inception.pt";
  CHECK(suites::frechet_gate_warnings(suite).empty());
  suite["gates"][0]["metric"] = "fd";
  CHECK(has(suites::frechet_gate_warnings(suite), "$.gates[0].metric", "as 'fid'"));
  suite["gates"][0]["metric"] = "kid";  // other metrics: no opinion
  CHECK(suites::frechet_gate_warnings(suite).empty());
  // Through the CLI: a warning on stderr, exit 0.
  test::TempDir tmp;
  test::medmnist_file("breastmnist");  // skips the test when the shared data is missing
  atomic_write_text(tmp / "g.json", good_suite("${MEDSYN_DATA}/medmnist/breastmnist.npz"));
  const auto r = test::run_cli("suite validate " + (tmp / "g.json").string());
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("$.gates[0].metric: 'fid' is not reported by this suite") != std::string::npos);
}

TEST_CASE("suite validate: builtin:contrastive:suite as the fidelity extractor, not as the embedder", "[suites][errors]") {
  auto suite = ordered_json::parse(good_suite("missing.npz"));
  auto problems = [&](const std::string& prefix) {
    std::vector<suites::SuiteProblem> out;
    for (const auto& p : suites::validate_suite(suite, "."))
      if (p.path.rfind(prefix, 0) == 0) out.push_back(p);
    return out;
  };
  // Accepted with and without training options, and with builtin:contrastive's own options: no
  // file named "suite" is looked for.
  suite["evaluations"]["fidelity"] = {{"extractor", "builtin:contrastive:suite"}};
  CHECK(problems("$.evaluations").empty());
  suite["evaluations"]["fidelity"]["extractor"] = "builtin:contrastive:suite?layer=backbone";
  suite["evaluations"]["fidelity"]["extractor_training"] = {{"epochs", 5}, {"dim", 8}, {"augment", "copy"}, {"max_images", 100}};
  for (const auto& p : problems("$.evaluations")) UNSCOPED_INFO(p.path << ": " << p.message);
  CHECK(problems("$.evaluations").empty());
  // Rejected: an unknown option, a bad training field (schema), training options for another extractor,
  // and the suite-trained space as the memorization embedder.
  suite["evaluations"]["fidelity"]["extractor"] = "builtin:contrastive:suite?layer=head";
  CHECK(has(problems("$.evaluations"), "$.evaluations.fidelity.extractor", "unknown option 'layer=head'"));
  suite["evaluations"]["fidelity"]["extractor"] = "builtin:contrastive:suite";
  suite["evaluations"]["fidelity"]["extractor_training"] = {{"epochs", 0}, {"augment", "mixup"}, {"colour", 1}};
  CHECK(has(problems("$.evaluations"), "$.evaluations.fidelity.extractor_training.epochs", ""));
  CHECK(has(problems("$.evaluations"), "$.evaluations.fidelity.extractor_training.augment", ""));
  CHECK(has(problems("$.evaluations"), "$.evaluations.fidelity.extractor_training.colour", "unknown key"));
  suite["evaluations"]["fidelity"] = {{"extractor", "builtin:pixels:8"}, {"extractor_training", {{"epochs", 2}}}};
  CHECK(has(problems("$.evaluations"), "$.evaluations.fidelity.extractor_training",
            "only with \"extractor\": \"builtin:contrastive:suite\""));
  suite["evaluations"]["fidelity"] = {{"extractor", "builtin:contrastive:suite"}};
  suite["evaluations"]["memorization"] = {{"embedder", "builtin:contrastive:suite"}};
  CHECK(has(problems("$.evaluations"), "$.evaluations.memorization.embedder", "needs a trained file"));
  suite["evaluations"].erase("memorization");
  // The sample-size warning knows the trained space's dimension (16 by default, dim when given).
  suite["modalities"]["breast_ultrasound"]["n_generate"] = 12;
  CHECK(has(suites::sample_size_warnings(suite), "$.modalities.breast_ultrasound.n_generate", "16 feature dimensions"));
  suite["evaluations"]["fidelity"]["extractor_training"] = {{"dim", 8}};
  CHECK(!has(suites::sample_size_warnings(suite), "$.modalities.breast_ultrasound.n_generate", "FID will be null"));
}
