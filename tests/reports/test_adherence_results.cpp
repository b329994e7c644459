// The prompt-adherence section of results.json (suites stage adherence): schema and range checks,
// loading, the report's table and metrics.csv rows, compare entries and gates.
#include <catch2/catch.hpp>

#include "medsyn/core/error.h"
#include "medsyn/reports/compare.h"
#include "medsyn/reports/report_model.h"
#include "medsyn/reports/results.h"
#include "reports_test_util.h"

using namespace medsyn;
using namespace medsyn::reports;
using nlohmann::ordered_json;
using test::load_error;

namespace {

ordered_json metric(double v, double lo, double hi, const char* method = "t over seeds") {
  return {{"value", v}, {"ci_low", lo}, {"ci_high", hi}, {"n", 200}, {"ci_level", 0.95}, {"ci_method", method},
          {"estimand", "test"}};
}

ordered_json scores(double acc, double worst_acc) {
  return {{"n", 200},
          {"n_train", 546},
          {"accuracy", metric(acc, acc - 0.02, acc + 0.02)},
          {"balanced_accuracy", metric(acc - 0.05, acc - 0.08, acc - 0.02)},
          {"auroc", metric(0.85, 0.83, 0.87)},
          {"auroc_delong", metric(0.86, 0.80, 0.92, "delong")},
          {"classes", {{{"name", "malignant"}, {"label", 0}, {"n", 54}, {"accuracy", metric(worst_acc, worst_acc - 0.05, worst_acc + 0.05)},
                        {"auroc", metric(0.86, 0.80, 0.92, "delong")}},
                       {{"name", "normal, benign"}, {"label", 1}, {"n", 146}, {"accuracy", metric(0.9, 0.88, 0.92)},
                        {"auroc", metric(0.86, 0.80, 0.92, "delong")}}}},
          {"worst_class", "malignant"}};
}

ordered_json with_adherence(double cas_acc) {
  auto j = test::base_results_json();
  j["adherence"] = {{"generalist",
                     {{"breast_ultrasound",
                       {{"label_field", "label"}, {"seeds", 5}, {"n_synthetic", 200}, {"n_used", 200},
                        {"labels", {{"by_prompt", 200}}},
                        {"cas", scores(cas_acc, 0.55)}, {"real", scores(0.84, 0.6)}, {"reverse", scores(0.7, 0.3)}}}}}};
  return j;
}

}  // namespace

TEST_CASE("adherence: results.json section loads, renders and is compared", "[reports][adherence]") {
  const auto r = results_from_json(with_adherence(0.8), "results.json");
  const auto& e = r.adherence.at("generalist").at("breast_ultrasound");
  CHECK(e.seeds == 5);
  CHECK(e.n_used == 200);
  CHECK(e.cas.accuracy.value == Approx(0.8));
  CHECK(e.cas.auroc_delong.ci_method == "delong");
  REQUIRE(e.cas.worst());
  CHECK(e.cas.worst()->name == "malignant");
  CHECK(e.reverse.classes.size() == 2);
  const auto names = e.metrics();
  CHECK(names.size() == 11);
  CHECK(names.front().first == "cas_accuracy");
  CHECK(names[4].first == "cas_worst_class_accuracy");
  CHECK(names[4].second.value == Approx(0.55));

  // The report: a section with one row per (model, modality), metrics.csv rows of section adherence.
  const Document d = build_document(r, {});
  const Section* s = nullptr;
  for (const auto& x : d.sections)
    if (x.id == "adherence") s = &x;
  REQUIRE(s);
  const std::string md = render_markdown(d);
  CHECK(md.find("Prompt adherence (Classification Accuracy Score)") != std::string::npos);
  CHECK(md.find("malignant") != std::string::npos);
  CHECK(md.find("0.800") != std::string::npos);
  int rows = 0;
  for (const auto& rec : d.records) rows += rec.section == "adherence" ? 1 : 0;
  CHECK(rows == 11);

  // compare: a lower CAS accuracy (CIs apart) is a regression; gates select adherence.<name>.
  const auto worse = results_from_json(with_adherence(0.6), "cand.json");
  const auto rep = compare_results(r, worse, nullptr);
  bool regressed = false;
  for (const auto& x : rep.deltas)
    if (x.base.metric == "adherence.cas_accuracy") regressed = x.verdict == "regressed";
  CHECK(regressed);
  CHECK_FALSE(rep.passed);
  const auto gates = parse_gates(ordered_json::parse(R"([{"metric": "adherence.cas_accuracy", "op": ">=", "value": 0.7},
                                                         {"metric": "adherence.reverse_auroc", "op": "not_regressed"}])"),
                                 "gates.json");
  const auto gated = compare_results(r, worse, &gates);
  REQUIRE(gated.checks.size() == 2);
  CHECK_FALSE(gated.checks[0].passed);  // 0.6 < 0.7
  CHECK(gated.checks[1].passed);        // reverse AUROC unchanged
  CHECK_THROWS_AS(parse_gates(ordered_json::parse(R"([{"metric": "adherance.cas_accuracy", "op": ">=", "value": 0}])"), "g.json"),
                  InputError);
}

TEST_CASE("adherence: out-of-range values and undeclared models are errors with their JSON path", "[reports][adherence]") {
  auto j = with_adherence(0.8);
  j["adherence"]["generalist"]["breast_ultrasound"]["cas"]["accuracy"]["value"] = 1.5;
  j["adherence"]["generalist"]["breast_ultrasound"]["reverse"]["classes"][1]["auroc"]["ci_low"] = -0.2;
  j["adherence"]["nobody"] = {{"breast_ultrasound", j["adherence"]["generalist"]["breast_ultrasound"]}};
  std::string msg = load_error(j);
  INFO(msg);
  CHECK(msg.find("$.adherence.generalist.breast_ultrasound.cas.accuracy.value: 1.5 is outside the range of accuracy") !=
        std::string::npos);
  CHECK(msg.find("$.adherence.generalist.breast_ultrasound.reverse.classes[1].auroc.ci_low") != std::string::npos);
  CHECK(msg.find("$.adherence.nobody: model 'nobody' is not declared in $.models") != std::string::npos);
  j = with_adherence(0.8);
  j["adherence"]["generalist"]["breast_ultrasound"].erase("reverse");
  msg = load_error(j);
  CHECK(msg.find("$.adherence.generalist.breast_ultrasound.reverse: required key is missing") != std::string::npos);
}
