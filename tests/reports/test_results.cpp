// results.json schema and loader; the JSON Schema validator; the suite schema and its example.
#include <catch2/catch.hpp>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/reports/compare.h"
#include "medsyn/reports/json_schema.h"
#include "medsyn/reports/results.h"
#include "reports_test_util.h"
#include "test_support.h"

using namespace medsyn;
using namespace medsyn::reports;
using nlohmann::ordered_json;
using test::load_error;

TEST_CASE("the results fixture is valid and loads in display order", "[reports][results]") {
  const auto r = results_from_json(test::base_results_json(), "results_base.json");
  CHECK(r.suite_name == "paper-mini");
  REQUIRE(r.models.size() == 4);
  CHECK(r.models[0].name == "generalist");
  CHECK(r.models[0].is_generalist());
  CHECK(r.specialists().size() == 3);
  REQUIRE(r.modalities.size() == 3);
  CHECK(r.modalities[0].name == "chest_xray");
  CHECK(r.modalities[0].label == "Chest X-ray");
  const Estimate* fid = r.find("spec_chest", "chest_xray", "fid");
  REQUIRE(fid);
  CHECK(fid->value == Approx(21.05));
  CHECK(fid->ci_low == Approx(19.64));
  CHECK(fid->n == 500);
  CHECK(r.find("spec_chest", "retina_fundus", "fid") == nullptr);
  CHECK(r.metric_names() == std::vector<std::string>{"fid", "kid", "precision", "recall", "ms_ssim"});
  CHECK(r.memorization.at("spec_breast").at("breast_ultrasound").fraction_memorized.value == Approx(0.012));
  const auto& d = r.downstream.at("generalist").at("breast_ultrasound");
  REQUIRE(d.arms.size() == 4);
  CHECK(d.arms[1].first == "real+syn");
  CHECK(d.arms[3].second.size() == 4);
  CHECK(r.compute.at("generalist").training_flops.value() == Approx(3.1e17));
}

TEST_CASE("values outside a metric's range are errors, not table cells", "[reports][results][hostile]") {
  auto j = test::base_results_json();
  j["results"]["generalist"]["chest_xray"]["fid"]["value"] = -5;
  j["results"]["generalist"]["chest_xray"]["precision"]["value"] = 7.5;
  j["results"]["generalist"]["chest_xray"]["ms_ssim"]["ci_high"] = 1.5;
  j["memorization"]["generalist"]["chest_xray"]["fraction_memorized"]["ci_low"] = -0.1;
  const std::string msg = load_error(j);
  INFO(msg);
  CHECK(msg.find("$.results.generalist.chest_xray.fid.value: -5 is outside the range of fid [0.0") != std::string::npos);
  CHECK(msg.find("$.results.generalist.chest_xray.precision.value: 7.5 is outside the range of precision [0.0, 1.0]") !=
        std::string::npos);
  CHECK(msg.find("$.results.generalist.chest_xray.ms_ssim.ci_high") != std::string::npos);
  CHECK(msg.find("$.memorization.generalist.chest_xray.fraction_memorized.ci_low") != std::string::npos);
  // KID (unbiased MMD^2) can be slightly negative: no range.
  auto k = test::base_results_json();
  k["results"]["generalist"]["chest_xray"]["kid"]["value"] = -0.0001;
  k["results"]["generalist"]["chest_xray"]["kid"]["ci_low"] = -0.001;
  CHECK(load_error(k).empty());
}

TEST_CASE("schema and semantic errors are all reported with JSON paths", "[reports][results]") {
  auto j = test::base_results_json();
  j["results"]["generalist"]["chest_xray"]["fid"]["ci_low"] = "low";
  j["suite"].erase("hash");
  j["suite"]["colour"] = "blue";
  j["models"]["spec_chest"]["modalities"] = ordered_json::array();
  j["models"]["spec_breast"]["kind"] = "expert";
  j["results"]["ghost"] = {{"chest_xray", ordered_json::object()}};
  j["results"]["spec_retina"]["chest_xray"] = ordered_json::object();
  j["results"]["generalist"]["retina_fundus"]["kid"]["ci_low"] = 0.5;  // > ci_high
  j["results"]["generalist"]["breast_ultrasound"]["recall"]["ci_high"] = nullptr;  // one bound only
  j["samples"]["generalist"]["chest_xray"][0] = "../outside.png";
  j["downstream"]["generalist"]["breast_ultrasound"]["arms"]["real"][2]["fraction"] = 0.01;
  j["compute"]["models"]["spec_chest"]["params"] = -3;
  const std::string msg = load_error(j);
  INFO(msg);
  CHECK(msg.rfind("results.json: 15 problems:", 0) == 0);
  CHECK(msg.find("$.results.generalist.chest_xray.fid.ci_low: expected number or null, got string") != std::string::npos);
  CHECK(msg.find("$.suite.hash: required key is missing") != std::string::npos);
  CHECK(msg.find("$.suite.colour: unknown key (allowed: name, hash, path, description)") != std::string::npos);
  CHECK(msg.find("$.models.spec_chest.modalities: must have at least 1 item(s), got 0") != std::string::npos);
  CHECK(msg.find("$.models.spec_breast.kind: must be one of \"generalist\", \"specialist\"") != std::string::npos);
  CHECK(msg.find("$.results.ghost: model 'ghost' is not declared in $.models") != std::string::npos);
  CHECK(msg.find("$.results.spec_retina.chest_xray: modality 'chest_xray' is not covered by model 'spec_retina'") != std::string::npos);
  CHECK(msg.find("$.results.generalist.retina_fundus.kid.ci_low: is greater than ci_high") != std::string::npos);
  CHECK(msg.find("$.results.generalist.breast_ultrasound.recall.ci_high: is null while ci_low is a number") != std::string::npos);
  CHECK(msg.find("$.samples.generalist.chest_xray[0]: \"../outside.png\" does not match the pattern") != std::string::npos);
  CHECK(msg.find("$.downstream.generalist.breast_ultrasound.arms.real[2].fraction: fractions must increase") != std::string::npos);
  CHECK(msg.find("$.compute.models.spec_chest.params: must be >= 0, got -3") != std::string::npos);
  // Emptying a model's modalities also makes its entries uncovered: reported, not hidden.
  CHECK(msg.find("$.samples.spec_chest.chest_xray: modality 'chest_xray' is not covered") != std::string::npos);
}

TEST_CASE("keys that are not identifiers are quoted in JSON paths", "[reports][results]") {
  CHECK(json_path_key("$", "real+syn") == "$[\"real+syn\"]");
  CHECK(json_path_key("$.a", "b_1") == "$.a.b_1");
  CHECK(json_path_index("$.x", 3) == "$.x[3]");
  auto j = test::base_results_json();
  j["downstream"]["generalist"]["breast_ultrasound"]["arms"]["real+syn"][0]["n"] = 1.5;
  CHECK(load_error(j).find("$.downstream.generalist.breast_ultrasound.arms[\"real+syn\"][0].n: expected integer, got number 1.5") !=
        std::string::npos);
}

TEST_CASE("schema_version and missing sections", "[reports][results]") {
  auto j = test::base_results_json();
  j["schema_version"] = 2;
  j.erase("models");
  const auto msg = load_error(j);
  CHECK(msg.find("$.schema_version: must be 1, got 2") != std::string::npos);
  CHECK(msg.find("$.models: required key is missing") != std::string::npos);
  CHECK(load_error(ordered_json::array()).find("$: expected object, got array") != std::string::npos);
}

TEST_CASE("load_results names the file on unreadable or invalid JSON", "[reports][results]") {
  test::TempDir tmp;
  CHECK_THROWS_WITH(load_results(tmp / "nope.json"), Catch::Contains("nope.json"));
  atomic_write_text(tmp / "bad.json", "{\"schema_version\": 1,");
  CHECK_THROWS_WITH(load_results(tmp / "bad.json"), Catch::Contains("bad.json") && Catch::Contains("invalid JSON"));
}

TEST_CASE("the embedded results schema is the repository file", "[reports][results]") {
  const auto file = read_ordered_json_file(test::source_dir() / "reports" / "schema" / "results.schema.json");
  CHECK(file == results_schema());
}

TEST_CASE("the suite schema accepts the example suite and names paths of bad fields", "[reports][suite-schema]") {
  const auto schema = read_ordered_json_file(test::source_dir() / "suites" / "schema" / "suite.schema.json");
  auto suite = read_ordered_json_file(test::fixtures_dir() / "reports" / "suite_example.json");
  const auto ok = validate_json_schema(suite, schema);
  for (const auto& e : ok) UNSCOPED_INFO(e.str());
  CHECK(ok.empty());
  // The gate definition in the suite schema is the one compare uses.
  CHECK(schema["$defs"]["gate"] == gate_schema());
  // Gates of the example parse.
  CHECK(parse_gates(suite, "suite_example.json").size() == 3);

  suite["models"]["spec_chest"]["modalities"] = ordered_json::array();
  suite["models"]["spec_breast"]["source"] = {{"type", "folder"}};
  suite["modalities"]["retina_fundus"]["prompts"] = "from_dataset";
  suite["evaluations"]["fidelity"]["bootstrapp"] = 10;
  suite["gates"][1]["op"] = "=<";
  std::vector<std::string> msgs;
  for (const auto& e : validate_json_schema(suite, schema)) msgs.push_back(e.str());
  const std::string all = [&] { std::string s; for (auto& m : msgs) s += m + "\n"; return s; }();
  INFO(all);
  CHECK(all.find("$.models.spec_chest.modalities: must have at least 1 item(s)") != std::string::npos);
  CHECK(all.find("$.models.spec_breast.source.path: required key is missing") != std::string::npos);
  CHECK(all.find("$.modalities.retina_fundus.prompts: must be \"from_manifest\"") != std::string::npos);
  CHECK(all.find("$.evaluations.fidelity.bootstrapp: unknown key") != std::string::npos);
  CHECK(all.find("$.gates[1].op: must be one of") != std::string::npos);
}

TEST_CASE("the schema validator rejects unsupported keywords", "[reports][results]") {
  const auto schema = ordered_json::parse(R"({"type": "object", "patternProperties": {}})");
  CHECK_THROWS_WITH(validate_json_schema(ordered_json::object(), schema), Catch::Contains("unsupported keyword 'patternProperties'"));
}
