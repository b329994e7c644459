// The per-class section of results.json (issue 16 item 6: suites compute it for labelled
// modalities): schema and semantic checks, loading, the worst-class rule, the report's long-tail
// section and metrics.csv rows, compare entries and gates on per-class metrics.
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

ordered_json metric(double v, double lo, double hi, long long n, const char* method = "percentile bootstrap") {
  return {{"value", v}, {"ci_low", lo}, {"ci_high", hi}, {"n", n}, {"ci_level", 0.95}, {"ci_method", method}, {"estimand", "test"}};
}
ordered_json null_metric(const std::string& why, long long n) {
  return {{"value", nullptr}, {"ci_low", nullptr}, {"ci_high", nullptr}, {"n", n}, {"note", why}};
}

// chest_xray of the generalist: "normal" FD 12, "pneumonia" FD 30 (worse), "covid" too small.
ordered_json with_per_class(double pneumonia_fd) {
  auto j = test::base_results_json();
  const ordered_json classes = {
      {{"name", "normal"}, {"label", 0}, {"n_real", 300}, {"n_synthetic", 120},
       {"metrics", {{"fd", metric(12, 10, 14, 120)}, {"precision", metric(0.6, 0.55, 0.65, 120)},
                    {"ms_ssim", metric(0.3, 0.28, 0.32, 120, "basic bootstrap")},
                    {"fraction_memorized", metric(0.0, 0.0, 0.03, 120, "wilson")}}},
       {"reference", {{"fd_real_floor", metric(2, 1.5, 2.5, 300)}, {"ms_ssim", metric(0.29, 0.27, 0.31, 300)}}}},
      {{"name", "pneumonia"}, {"label", 1}, {"n_real", 280}, {"n_synthetic", 70},
       {"metrics", {{"fd", metric(pneumonia_fd, pneumonia_fd - 2, pneumonia_fd + 2, 70)}, {"precision", metric(0.7, 0.6, 0.8, 70)},
                    {"ms_ssim", metric(0.45, 0.4, 0.5, 70, "basic bootstrap")},
                    {"fraction_memorized", metric(0.0, 0.0, 0.05, 70, "wilson")}}}},
      {{"name", "covid"}, {"label", 2}, {"n_real", 12}, {"n_synthetic", 4},
       {"metrics", {{"fd", null_metric("n too small: FID synthetic has 4 images, needs at least 10", 4)},
                    {"precision", null_metric("n too small: PRDC", 4)},
                    {"ms_ssim", null_metric("n too small: MS-SSIM diversity has 4 images, needs at least 10", 4)},
                    {"fraction_memorized", null_metric("n too small: 4 synthetic images of this class, needs at least 10", 4)}}}}};
  j["per_class"] = {{"generalist",
                     {{"chest_xray",
                       {{"label_field", "label"},
                        {"sources", {{"by_prompt", 194}, {"by_label", 0}, {"no_class", 6}}},
                        {"classes", classes}}}}}};
  return j;
}

const PerClassRow* row(const PerClassEntry& e, const std::string& name) { return e.row(name); }

}  // namespace

TEST_CASE("per_class: the worst class is the worst value in the metric's direction among classes with a value",
          "[reports][per_class]") {
  std::vector<PerClassRow> rows(4);
  rows[0].name = "a";
  rows[0].metrics["fd"] = Estimate::point(5);
  rows[0].metrics["precision"] = Estimate::point(0.4);
  rows[1].name = "b";
  rows[1].metrics["fd"] = Estimate::null_because("n too small");  // never chosen, however it compares
  rows[1].metrics["precision"] = Estimate::null_because("n too small");
  rows[2].name = "c";
  rows[2].metrics["fd"] = Estimate::point(9);
  rows[2].metrics["precision"] = Estimate::point(0.4);  // tie with "a": the first class wins
  rows[3].name = "d";
  rows[3].metrics["fd"] = Estimate::point(9);  // tie with "c": "c" stays
  CHECK(worst_class_index(rows, "fd", Better::lower) == 2);
  CHECK(worst_class_index(rows, "fd", Better::higher) == 0);
  CHECK(worst_class_index(rows, "precision", Better::higher) == 0);
  CHECK(worst_class_index(rows, "fd", Better::none) == -1);  // no direction: no worst class
  CHECK(worst_class_index(rows, "kid", Better::lower) == -1);  // no class has it
  std::vector<PerClassRow> only_null(1);
  only_null[0].metrics["fd"] = Estimate::null_because("n too small");
  CHECK(worst_class_index(only_null, "fd", Better::lower) == -1);
}

TEST_CASE("per_class: results.json section loads, renders the long-tail view and is compared and gated",
          "[reports][per_class]") {
  const auto r = results_from_json(with_per_class(30), "results.json");
  const auto& e = r.per_class.at("generalist").at("chest_xray");
  CHECK(e.label_field == "label");
  REQUIRE(e.classes.size() == 3);
  CHECK(row(e, "covid")->n_synthetic == 4);
  CHECK(std::isnan(row(e, "covid")->metrics.at("fd").value));
  CHECK(row(e, "normal")->reference.at("fd_real_floor").value == Approx(2));
  CHECK(e.metric_names() == std::vector<std::string>{"fd", "precision", "ms_ssim", "fraction_memorized"});
  // No worst_class in the file: computed by the rule (nulls never chosen; ties -> first class).
  REQUIRE(e.worst("fd"));
  CHECK(e.worst("fd")->name == "pneumonia");
  CHECK(e.worst("precision")->name == "normal");
  CHECK(e.worst("ms_ssim")->name == "pneumonia");  // the least diverse class
  CHECK(e.worst("fraction_memorized")->name == "normal");  // tie at 0: the first class
  // The file's own worst_class is read as written (and must name a class of the entry).
  auto j = with_per_class(30);
  j["per_class"]["generalist"]["chest_xray"]["worst_class"] = {{"fd", "pneumonia"}, {"kid", nullptr}};
  const auto r2 = results_from_json(j, "results.json");
  CHECK(r2.per_class.at("generalist").at("chest_xray").worst("fd")->name == "pneumonia");
  CHECK(r2.per_class.at("generalist").at("chest_xray").worst("kid") == nullptr);

  // The report: worst classes then every class, null cells say why; metrics.csv rows per class.
  const Document d = build_document(r, {});
  const Section* s = nullptr;
  for (const auto& x : d.sections)
    if (x.id == "per-class") s = &x;
  REQUIRE(s);
  const std::string md = render_markdown(d);
  CHECK(md.find("Per-class breakdown (long tail)") != std::string::npos);
  CHECK(md.find("Worst class") != std::string::npos);
  CHECK(md.find("| pneumonia | 30.00 [28.00, 32.00] | 2 / 3 |") != std::string::npos);
  CHECK(md.find("n too small") != std::string::npos);
  const std::string csv = render_csv(d);
  CHECK(csv.find("per_class,generalist,generalist,chest_xray,fd,pneumonia,,30.0,28.0,32.0,70") != std::string::npos);
  CHECK(csv.find("per_class,generalist,generalist,chest_xray,fd,covid,,,,,4") != std::string::npos);
  // A file without per_class has no such section (the golden reports are unchanged).
  const Document plain = build_document(results_from_json(test::base_results_json(), "base.json"), {});
  for (const auto& x : plain.sections) CHECK(x.id != "per-class");

  // compare: per-class entries carry their class; a worse pneumonia FD (CIs apart) regresses.
  const auto worse = results_from_json(with_per_class(60), "cand.json");
  const auto rep = compare_results(r, worse, nullptr);
  int per_class = 0;
  bool regressed = false;
  for (const auto& x : rep.deltas)
    if (x.base.section == "per_class") {
      ++per_class;
      if (x.base.metric == "per_class.fd" && x.base.label == "pneumonia") regressed = x.verdict == "regressed";
      if (x.base.label == "normal") CHECK(x.verdict == "unchanged");
    }
  CHECK(per_class == 12);  // 3 classes x 4 metrics
  CHECK(regressed);
  CHECK(compare_to_json(rep)["deltas"].back().contains("label"));
  // Gates: "label" selects one class; without it every class is checked (the worst one decides),
  // and a class with a null value fails (never silently passes).
  const auto gates = parse_gates(ordered_json::parse(R"([
      {"name": "normal ok", "metric": "per_class.fd", "label": "normal", "op": "<=", "value": 20},
      {"name": "every class", "metric": "per_class.fd", "op": "<=", "value": 40},
      {"name": "pneumonia not regressed", "metric": "per_class.fd", "label": "pneumonia", "op": "not_regressed"},
      {"name": "nobody", "metric": "per_class.fd", "label": "nobody", "op": "<=", "value": 1, "on_missing": "skip"}])"),
                                 "gates.json");
  const auto gated = compare_results(r, worse, &gates);
  REQUIRE(gated.checks.size() == 1 + 3 + 1 + 1);
  CHECK(gated.checks[0].passed);
  CHECK(gated.checks[0].subject == "per_class.fd(generalist, chest_xray, class normal)");
  CHECK(gated.checks[1].passed);                 // normal 12
  CHECK_FALSE(gated.checks[2].passed);           // pneumonia 60 > 40
  CHECK_FALSE(gated.checks[3].passed);           // covid: no value
  CHECK(gated.checks[3].detail.find("no value") != std::string::npos);
  CHECK_FALSE(gated.checks[4].passed);           // regressed
  CHECK(gated.checks[5].skipped);
  CHECK(gated.checks[5].subject == "per_class.fd(*, *, class nobody)");
  // "label" belongs to per-class metrics only; the section prefix is known.
  try {
    parse_gates(ordered_json::parse(R"([{"metric": "fd", "label": "normal", "op": "<=", "value": 1}])"), "g.json");
    FAIL("no error");
  } catch (const InputError& err) {
    CHECK(std::string(err.what()).find("$[0].label: \"label\" selects a class of per-class entries only") != std::string::npos);
  }
  CHECK_NOTHROW(parse_gates(ordered_json::parse(R"([{"metric": "per_class.kid", "op": "<=", "value": 1}])"), "g.json"));
}

TEST_CASE("per_class: bad entries are errors with their JSON path", "[reports][per_class]") {
  auto j = with_per_class(30);
  auto& e = j["per_class"]["generalist"]["chest_xray"];
  e["classes"][1]["metrics"]["precision"]["value"] = 1.7;                          // outside [0, 1]
  e["classes"][0]["reference"]["fd_real_floor"]["ci_low"] = 5;                     // above ci_high
  e["classes"][2]["name"] = "normal";                                              // listed twice
  e["worst_class"] = {{"fd", "influenza"}};                                        // not a class here
  e["classes"][1]["n_synthetic"] = -3;                                             // schema
  j["per_class"]["nobody"] = {{"chest_xray", e}};                                  // undeclared model
  j["per_class"]["spec_chest"] = {{"retina_fundus", with_per_class(30)["per_class"]["generalist"]["chest_xray"]}};
  const std::string msg = load_error(j);
  INFO(msg);
  CHECK(msg.find("$.per_class.generalist.chest_xray.classes[1].metrics.precision.value: 1.7 is outside the range of precision") !=
        std::string::npos);
  CHECK(msg.find("$.per_class.generalist.chest_xray.classes[0].reference.fd_real_floor.ci_low: is greater than ci_high") !=
        std::string::npos);
  CHECK(msg.find("$.per_class.generalist.chest_xray.classes[2].name: class 'normal' is listed twice") != std::string::npos);
  CHECK(msg.find("$.per_class.generalist.chest_xray.worst_class.fd: class 'influenza' is not one of the entry's classes") !=
        std::string::npos);
  CHECK(msg.find("$.per_class.generalist.chest_xray.classes[1].n_synthetic") != std::string::npos);
  CHECK(msg.find("$.per_class.nobody: model 'nobody' is not declared in $.models") != std::string::npos);
  CHECK(msg.find("$.per_class.spec_chest.retina_fundus") != std::string::npos);  // a modality the model does not cover
  auto k = with_per_class(30);
  k["per_class"]["generalist"]["chest_xray"]["classes"][0].erase("metrics");
  CHECK(load_error(k).find("$.per_class.generalist.chest_xray.classes[0].metrics: required key is missing") != std::string::npos);
}
