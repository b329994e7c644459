// `medsynbench compare`: verdicts, gates, exit codes, JUnit XML.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "medsyn/core/fs.h"
#include "medsyn/reports/compare.h"
#include "reports_test_util.h"
#include "test_support.h"

using namespace medsyn;
using namespace medsyn::reports;
using nlohmann::ordered_json;

namespace {

// Minimal XML well-formedness check: one root, properly nested and closed tags, quoted
// attributes, only the five predefined entities (or numeric ones).
bool well_formed_xml(const std::string& s, std::string& why) {
  std::vector<std::string> stack;
  std::size_t i = 0, roots = 0;
  if (s.rfind("<?xml", 0) == 0) i = s.find("?>") + 2;
  while (i < s.size()) {
    if (s[i] == '<') {
      const std::size_t end = s.find('>', i);
      if (end == std::string::npos) return why = "unterminated tag", false;
      std::string tag = s.substr(i + 1, end - i - 1);
      int quotes = 0;
      for (char c : tag) quotes += c == '"';
      if (quotes % 2) return why = "odd quotes in <" + tag + ">", false;
      if (tag.find('<') != std::string::npos) return why = "'<' inside a tag", false;
      if (tag[0] == '/') {
        const std::string name = tag.substr(1);
        if (stack.empty() || stack.back() != name) return why = "unexpected </" + name + ">", false;
        stack.pop_back();
      } else {
        const bool self = tag.back() == '/';
        const std::string name = tag.substr(0, tag.find_first_of(" /"));
        if (stack.empty()) ++roots;
        if (!self) stack.push_back(name);
      }
      i = end + 1;
    } else if (s[i] == '&') {
      const std::size_t semi = s.find(';', i);
      const std::string ent = s.substr(i, semi - i + 1);
      if (ent != "&amp;" && ent != "&lt;" && ent != "&gt;" && ent != "&quot;" && ent != "&apos;" && ent.rfind("&#", 0) != 0)
        return why = "bad entity " + ent, false;
      i = semi + 1;
    } else {
      if (s[i] == '>' ) return why = "stray '>'", false;
      if (stack.empty() && !std::isspace(static_cast<unsigned char>(s[i]))) return why = "text outside the root", false;
      ++i;
    }
  }
  if (!stack.empty()) return why = "unclosed <" + stack.back() + ">", false;
  if (roots != 1) return why = "expected one root element", false;
  return true;
}

std::string q(const std::filesystem::path& p) { return test::shell_quote(p.string()); }

void set_metric(ordered_json& j, const char* model, const char* mod, const char* metric, double v, double lo, double hi) {
  auto& m = j["results"][model][mod][metric];
  m["value"] = v, m["ci_low"] = lo, m["ci_high"] = hi;
}

}  // namespace

TEST_CASE("normal quantile of a two-sided CI level", "[reports][compare]") {
  CHECK(normal_quantile_two_sided(0.95) == Approx(1.959963985).epsilon(1e-9));
  CHECK(normal_quantile_two_sided(0.90) == Approx(1.644853627).epsilon(1e-9));
}

TEST_CASE("verdicts follow the delta-CI rule and metric directions", "[reports][compare]") {
  auto bj = test::base_results_json();
  auto cj = bj;
  set_metric(cj, "generalist", "chest_xray", "fid", 30.0, 28.5, 31.6);            // clearly worse (lower is better)
  set_metric(cj, "generalist", "retina_fundus", "fid", 26.5, 24.6, 28.6);         // clearly better
  set_metric(cj, "generalist", "breast_ultrasound", "fid", 40.0, 36.6, 43.8);     // within noise
  set_metric(cj, "spec_chest", "chest_xray", "precision", 0.60, 0.575, 0.625);    // higher is better: worse
  const auto base = results_from_json(bj, "base.json"), cand = results_from_json(cj, "cand.json");
  const auto rep = compare_results(base, cand, nullptr);
  auto find = [&](const std::string& model, const std::string& mod, const std::string& metric) -> const MetricDelta& {
    for (const auto& d : rep.deltas)
      if (d.cand.model == model && d.cand.modality == mod && d.cand.metric == metric) return d;
    FAIL("no delta for " << metric);
    return rep.deltas.front();
  };
  const auto& chest = find("generalist", "chest_xray", "fid");
  CHECK(chest.verdict == "regressed");
  CHECK(chest.delta == Approx(30.0 - 24.31));
  // Half-width: z * sqrt(se_b^2 + se_c^2) with se = (hi - lo) / (2 z).
  const double z = normal_quantile_two_sided(0.95);
  const double half = z * std::sqrt(std::pow((26.02 - 22.87) / (2 * z), 2) + std::pow((31.6 - 28.5) / (2 * z), 2));
  CHECK(chest.delta_low == Approx(30.0 - 24.31 - half));
  CHECK(chest.delta_high == Approx(30.0 - 24.31 + half));
  CHECK(find("generalist", "retina_fundus", "fid").verdict == "improved");
  CHECK(find("generalist", "breast_ultrasound", "fid").verdict == "unchanged");
  CHECK(find("spec_chest", "chest_xray", "precision").verdict == "regressed");
  CHECK(find("spec_chest", "chest_xray", "fid").verdict == "unchanged");
  CHECK(rep.count("regressed") == 2);
  CHECK(rep.count("improved") == 1);
  CHECK_FALSE(rep.passed);
  // Every metric object of the file is compared: 30 results + 6 memorization + 29 downstream points.
  CHECK(rep.deltas.size() == 65);

  // Overlap rule: the breast CIs overlap -> unchanged; retina [24.6, 28.6] vs [29.55, 34.2] do not.
  const auto ov = compare_results(base, cand, nullptr, VerdictRule::overlap);
  CHECK(ov.count("improved") == 1);
}

TEST_CASE("compare CLI: exit codes, gates and JUnit XML", "[reports][compare]") {
  test::TempDir tmp;
  const auto base = test::make_run_dir(tmp / "base", {}, true);
  const auto same = test::make_run_dir(tmp / "same", {}, true);
  const auto worse = test::make_run_dir(tmp / "worse", [](ordered_json& j) {
    set_metric(j, "generalist", "chest_xray", "fid", 30.0, 28.5, 31.6);
    j["memorization"]["spec_breast"]["breast_ultrasound"]["fraction_memorized"]["value"] = 0.031;
    j["memorization"]["spec_breast"]["breast_ultrasound"]["fraction_memorized"]["ci_high"] = 0.048;
  }, true);
  const auto better = test::make_run_dir(tmp / "better", [](ordered_json& j) {
    set_metric(j, "generalist", "chest_xray", "fid", 18.0, 16.9, 19.2);
  }, true);
  const auto gates = test::fixtures_dir() / "reports" / "gates.json";

  SECTION("identical runs pass") {
    const auto r = test::run_cli("compare " + q(base) + " " + q(same) + " --gates " + q(gates));
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("gates: 14 passed, 0 failed, 0 skipped") != std::string::npos);
    CHECK(r.out.find("0 improved, 0 regressed, 65 unchanged") != std::string::npos);
    const auto nog = test::run_cli("compare " + q(base) + " " + q(same));
    CHECK(nog.exit_code == 0);
  }
  SECTION("an improvement passes") {
    const auto r = test::run_cli("compare " + q(base) + " " + q(better) + " --gates " + q(gates) + " --json");
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    const auto j = ordered_json::parse(r.out);
    CHECK(j["passed"] == true);
    CHECK(j["summary"]["improved"] == 1);
    CHECK(j["deltas"][0]["metric"] == "fid");
    CHECK(j["deltas"][0]["verdict"] == "improved");
  }
  SECTION("a regression fails with exit 1 and JUnit failures") {
    const auto junit = tmp / "junit.xml";
    const auto r = test::run_cli("compare " + q(base) + " " + q(worse) + " --gates " + q(gates) + " --junit " + q(junit));
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("FAIL FID(chest_xray) of the generalist may not rise above the baseline's CI upper bound: fid(generalist, chest_xray): "
                     "candidate value 30 <= baseline ci_high 26.02: violated") != std::string::npos);
    CHECK(r.out.find("FAIL fraction memorized <= 0.02 (every model, every modality): memorization.fraction_memorized(spec_breast, "
                     "breast_ultrasound)") != std::string::npos);
    CHECK(r.out.find("gates: 12 passed, 2 failed, 0 skipped") != std::string::npos);
    const std::string xml = test::slurp(junit);
    std::string why;
    CHECK(well_formed_xml(xml, why));
    INFO(why);
    CHECK(xml.find("<testsuites name=\"medsynbench compare\" tests=\"79\" failures=\"2\"") != std::string::npos);
    CHECK(xml.find("<testsuite name=\"gates\" tests=\"14\" failures=\"2\"") != std::string::npos);
    CHECK(xml.find("baseline&apos;s CI upper bound") != std::string::npos);
    CHECK(test::count_of(xml, "<failure ") == 2);

    // Without gates the default rule (no regressed verdict) decides, and JUnit marks the metric.
    const auto r2 = test::run_cli("compare " + q(base) + " " + q(worse) + " --junit " + q(junit));
    CHECK(r2.exit_code == 1);
    CHECK(r2.out.find("fid(generalist, chest_xray)") != std::string::npos);
    const std::string xml2 = test::slurp(junit);
    CHECK(well_formed_xml(xml2, why));
    // The memorization rise (0.012 -> 0.031, wide CIs) is within noise by the delta-CI rule: only
    // the gate with a fixed threshold catches it.
    CHECK(test::count_of(xml2, "<failure message=\"regressed\">") == 1);
  }
  SECTION("a metric missing from the candidate fails unless the gate skips it") {
    const auto dropped = test::make_run_dir(tmp / "dropped", [](ordered_json& j) { j["results"]["spec_chest"]["chest_xray"].erase("precision"); }, true);
    CHECK(test::run_cli("compare " + q(base) + " " + q(dropped)).exit_code == 1);
    const auto g = tmp / "g.json";
    atomic_write_text(g, R"([{"metric": "precision", "op": ">=", "baseline": "value", "margin": -0.05}])");
    auto r = test::run_cli("compare " + q(base) + " " + q(dropped) + " --gates " + q(g));
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("FAIL precision >= baseline.value - 0.05: precision(spec_chest, chest_xray): missing in the candidate") != std::string::npos);
    atomic_write_text(g, R"([{"metric": "precision", "op": ">=", "baseline": "value", "margin": -0.05, "on_missing": "skip"}])");
    r = test::run_cli("compare " + q(base) + " " + q(dropped) + " --gates " + q(g));
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("gates: 5 passed, 0 failed, 1 skipped") != std::string::npos);
  }
  SECTION("bad input exits 2 naming the file and JSON path") {
    const auto g = tmp / "bad_gates.json";
    atomic_write_text(g, R"({"gates": [{"metric": "fid", "op": "=<", "value": 1}, {"metric": "fid", "op": "<=", "value": 1, "baseline": "ci_high"},
                                       {"metric": "fid", "op": "<=", "valu": 3}, {"metric": "bogus.x", "op": "not_regressed"}]})");
    auto r = test::run_cli("compare " + q(base) + " " + q(same) + " --gates " + q(g));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("bad_gates.json: 4 problems:") != std::string::npos);
    CHECK(r.err.find("$.gates[0].op: must be one of \"<=\", \"<\", \">=\", \">\", \"not_regressed\", got \"=<\"") != std::string::npos);
    CHECK(r.err.find("$.gates[1]: give exactly one of \"value\"") != std::string::npos);
    CHECK(r.err.find("$.gates[2].valu: unknown key") != std::string::npos);
    CHECK(r.err.find("$.gates[3].metric: unknown section in 'bogus.x'") != std::string::npos);
    r = test::run_cli("compare " + q(base) + " " + q(tmp / "nope.json"));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("nope.json") != std::string::npos);
    r = test::run_cli("compare " + q(base) + " " + q(same) + " --rule sometimes");
    CHECK(r.exit_code == 2);
    const auto broken = test::make_run_dir(tmp / "broken", [](ordered_json& j) { j["models"]["spec_chest"]["kind"] = 3; }, true);
    r = test::run_cli("compare " + q(base) + " " + q(broken));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("$.models.spec_chest.kind: must be one of") != std::string::npos);
  }
}
