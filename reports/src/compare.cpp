#include "medsyn/reports/compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "medsyn/core/error.h"
#include "medsyn/core/feature_space.h"

namespace medsyn::reports {

using ojson = nlohmann::ordered_json;

VerdictRule parse_verdict_rule(const std::string& s) {
  if (s == "delta-ci" || s == "delta_ci") return VerdictRule::delta_ci;
  if (s == "overlap") return VerdictRule::overlap;
  throw InputError("--rule must be 'delta-ci' or 'overlap', got '" + s + "'");
}

double normal_quantile_two_sided(double level) {
  // Solve erfc(z / sqrt 2) = 1 - level by bisection (monotone; 1e-12 is plenty).
  const double target = 1 - level;
  double lo = 0, hi = 40;
  for (int i = 0; i < 200; ++i) {
    const double mid = (lo + hi) / 2;
    (std::erfc(mid / std::sqrt(2.0)) > target ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

namespace {
std::string num_str(double v) { return std::isfinite(v) ? ojson(v).dump() : std::string("null"); }
std::string fmt(double v) {
  if (!std::isfinite(v)) return "-";
  char b[64];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}
ojson jnum(double v) { return std::isfinite(v) ? ojson(v) : ojson(nullptr); }
}  // namespace

std::string Entry::key() const {
  return section + "\x1f" + model + "\x1f" + modality + "\x1f" + metric + "\x1f" + arm + "\x1f" + num_str(fraction) +
         (label.empty() ? std::string() : "\x1f" + label);
}

std::string Entry::subject() const {
  std::string s = metric + "(" + model + ", " + modality;
  if (!arm.empty()) s += ", " + arm + " @ " + num_str(fraction);
  if (!label.empty()) s += ", class " + label;
  return s + ")";
}

std::vector<Entry> comparable_entries(const Results& r) {
  std::vector<Entry> out;
  const auto metrics = r.metric_names();
  for (const auto& model : r.models)
    for (const auto& mod : r.modalities)
      for (const auto& met : metrics)
        if (const Estimate* m = r.find(model.name, mod.name, met)) out.push_back({"results", model.name, model.kind, mod.name, met, "", kNaN, *m});
  for (const auto& model : r.models)
    if (auto it = r.memorization.find(model.name); it != r.memorization.end())
      for (const auto& mod : r.modalities)
        if (auto e = it->second.find(mod.name); e != it->second.end())
        {
          out.push_back({"memorization", model.name, model.kind, mod.name, "memorization.fraction_memorized", "", kNaN,
                         e->second.fraction_memorized});
          if (e->second.authpct.has_value())
            out.push_back({"memorization", model.name, model.kind, mod.name, "memorization.authpct", "", kNaN,
                           e->second.authpct});
          if (e->second.c_t.has_value())
            out.push_back({"memorization", model.name, model.kind, mod.name, "memorization.c_t", "", kNaN, e->second.c_t});
          if (e->second.replay_prompts >= 0) {
            out.push_back({"memorization", model.name, model.kind, mod.name, "memorization.replay.fraction_flagged", "", kNaN,
                           e->second.replay_fraction_flagged});
            out.push_back({"memorization", model.name, model.kind, mod.name, "memorization.replay.fraction_train_copied", "", kNaN,
                           e->second.replay_fraction_train_copied});
          }
        }
  for (const auto& model : r.models)
    if (auto it = r.downstream.find(model.name); it != r.downstream.end())
      for (const auto& mod : r.modalities)
        if (auto e = it->second.find(mod.name); e != it->second.end())
          for (const auto& [arm, pts] : e->second.arms)
            for (const auto& p : pts)
              out.push_back({"downstream", model.name, model.kind, mod.name, "downstream." + e->second.metric, arm, p.fraction, p.metric});
  for (const auto& model : r.models)
    if (auto it = r.adherence.find(model.name); it != r.adherence.end())
      for (const auto& mod : r.modalities)
        if (auto e = it->second.find(mod.name); e != it->second.end())
          for (const auto& [name, m] : e->second.metrics())
            out.push_back({"adherence", model.name, model.kind, mod.name, "adherence." + name, "", kNaN, m});
  for (const auto& model : r.models)
    if (auto it = r.per_class.find(model.name); it != r.per_class.end())
      for (const auto& mod : r.modalities)
        if (auto e = it->second.find(mod.name); e != it->second.end())
          for (const auto& met : e->second.metric_names())
            for (const auto& c : e->second.classes)
              if (auto x = c.metrics.find(met); x != c.metrics.end())
                out.push_back({"per_class", model.name, model.kind, mod.name, "per_class." + met, "", kNaN, x->second, c.name});
  return out;
}

Better metric_direction(const Results& r, const std::string& q) {
  const auto dot = q.find('.');
  return r.metric_info(dot == std::string::npos ? q : q.substr(dot + 1)).better;
}

int CompareReport::count(const std::string& verdict) const {
  return static_cast<int>(std::count_if(deltas.begin(), deltas.end(), [&](const MetricDelta& d) { return d.verdict == verdict; }));
}

// ---------------------------------------------------------------- gates

const ojson& gate_schema() {
  static const ojson s = ojson::parse(R"({
  "type": "object",
  "required": ["metric", "op"],
  "additionalProperties": false,
  "properties": {
    "name": {"type": "string"},
    "description": {"type": "string"},
    "metric": {"type": "string", "minLength": 1},
    "model": {"type": "string", "minLength": 1},
    "kind": {"enum": ["generalist", "specialist"]},
    "modality": {"type": "string", "minLength": 1},
    "arm": {"type": "string", "minLength": 1},
    "fraction": {"type": "number"},
    "label": {"type": "string", "minLength": 1},
    "field": {"enum": ["value", "ci_low", "ci_high"]},
    "op": {"enum": ["<=", "<", ">=", ">", "not_regressed"]},
    "value": {"type": "number"},
    "baseline": {"enum": ["value", "ci_low", "ci_high"]},
    "margin": {"type": "number"},
    "relative_margin": {"type": "number"},
    "on_missing": {"enum": ["fail", "skip"]}
  }
})");
  return s;
}

std::string Gate::describe() const {
  std::string lhs = metric + (field == "value" ? "" : "." + field);
  if (op == "not_regressed") return metric + " not regressed";
  std::string rhs;
  if (value) rhs = fmt(*value);
  else {
    rhs = "baseline." + baseline;
    if (margin != 0) rhs += (margin > 0 ? " + " : " - ") + fmt(std::fabs(margin));
    if (relative_margin != 0) rhs += (relative_margin > 0 ? " + " : " - ") + fmt(std::fabs(relative_margin)) + " x |baseline." + baseline + "|";
  }
  return lhs + " " + op + " " + rhs;
}

std::vector<Gate> parse_gates(const ojson& j, const std::string& file) {
  const ojson* arr = &j;
  std::string base = "$";
  if (j.is_object()) {
    if (!j.contains("gates")) throw InputError(at_file(file, "$.gates: required key is missing (a gates file is an array of gates or an object with \"gates\")"));
    arr = &j["gates"];
    base = "$.gates";
  }
  std::vector<SchemaError> errs;
  if (!arr->is_array()) {
    errs.push_back({base, "expected an array of gates"});
    throw InputError(format_errors(file, errs));
  }
  std::vector<Gate> gates;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const auto& g = (*arr)[i];
    const std::string path = json_path_index(base, i);
    auto e = validate_json_schema(g, gate_schema());
    for (auto& x : e) {
      x.path = path + x.path.substr(1);
      errs.push_back(x);
    }
    if (!e.empty() || !g.is_object()) continue;
    Gate gate;
    gate.json_path = path;
    gate.metric = g["metric"].get<std::string>();
    gate.op = g["op"].get<std::string>();
    if (g.contains("model")) gate.model = g["model"].get<std::string>();
    if (g.contains("kind")) gate.kind = g["kind"].get<std::string>();
    if (g.contains("modality")) gate.modality = g["modality"].get<std::string>();
    if (g.contains("arm")) gate.arm = g["arm"].get<std::string>();
    if (g.contains("fraction")) gate.fraction = g["fraction"].get<double>();
    if (g.contains("label")) gate.label = g["label"].get<std::string>();
    if (g.contains("field")) gate.field = g["field"].get<std::string>();
    if (g.contains("value")) gate.value = g["value"].get<double>();
    if (g.contains("baseline")) gate.baseline = g["baseline"].get<std::string>();
    if (g.contains("margin")) gate.margin = g["margin"].get<double>();
    if (g.contains("relative_margin")) gate.relative_margin = g["relative_margin"].get<double>();
    gate.skip_missing = g.value("on_missing", std::string("fail")) == "skip";
    const bool has_value = gate.value.has_value(), has_base = !gate.baseline.empty();
    if (gate.op == "not_regressed") {
      if (has_value || has_base) errs.push_back({path, "op \"not_regressed\" takes neither \"value\" nor \"baseline\""});
    } else if (has_value == has_base) {
      errs.push_back({path, "give exactly one of \"value\" (a fixed threshold) or \"baseline\" (value | ci_low | ci_high)"});
    }
    if (has_value && (g.contains("margin") || g.contains("relative_margin")))
      errs.push_back({path, "\"margin\" and \"relative_margin\" apply to \"baseline\" gates only"});
    const bool qualified = gate.metric.find('.') != std::string::npos;
    if (qualified && gate.metric.rfind("memorization.", 0) != 0 && gate.metric.rfind("downstream.", 0) != 0 &&
        gate.metric.rfind("adherence.", 0) != 0 && gate.metric.rfind("per_class.", 0) != 0)
      errs.push_back({json_path_key(path, "metric"), "unknown section in '" + gate.metric + "' (use a results metric such as \"fid\", "
                                                     "\"memorization.fraction_memorized\", \"downstream.<metric>\", "
                                                     "\"adherence.<metric>\" or \"per_class.<metric>\")"});
    if ((!gate.arm.empty() || gate.fraction) && gate.metric.rfind("downstream.", 0) != 0)
      errs.push_back({path, "\"arm\" and \"fraction\" select downstream entries only (metric \"downstream.<metric>\")"});
    if (g.contains("label") && gate.metric.rfind("per_class.", 0) != 0)
      errs.push_back({json_path_key(path, "label"), "\"label\" selects a class of per-class entries only (metric \"per_class.<metric>\")"});
    gate.name = g.contains("name") ? g["name"].get<std::string>() : gate.describe();
    gates.push_back(gate);
  }
  if (!errs.empty()) throw InputError(format_errors(file, errs));
  return gates;
}

std::vector<Gate> load_gates(const std::filesystem::path& file) {
  return parse_gates(read_ordered_json_file(file), file.string());
}

namespace {

bool matches(const Gate& g, const Entry& e) {
  if (e.metric != g.metric) return false;
  if (g.model != "*" && e.model != g.model) return false;
  if (!g.kind.empty() && e.kind != g.kind) return false;
  if (g.modality != "*" && e.modality != g.modality) return false;
  if (!g.arm.empty() && e.arm != g.arm) return false;
  if (g.fraction && !(std::fabs(e.fraction - *g.fraction) <= 1e-12)) return false;
  if (g.label != "*" && e.label != g.label) return false;
  return true;
}

double field_of(const Estimate& m, const std::string& f) { return f == "ci_low" ? m.ci_low : f == "ci_high" ? m.ci_high : m.value; }

bool apply(double a, const std::string& op, double b) {
  if (op == "<=") return a <= b;
  if (op == "<") return a < b;
  if (op == ">=") return a >= b;
  return a > b;
}

MetricDelta make_delta(const Entry& b, const Entry& c, Better better, VerdictRule rule,
                       const std::optional<Estimate>& paired) {
  MetricDelta d{b, c, better, kNaN, kNaN, kNaN, "", rule == VerdictRule::delta_ci ? "delta-ci" : "overlap"};
  d.delta = c.m.value - b.m.value;
  auto directional = [&](bool cand_lower) {
    if (better == Better::none) return std::string("changed");
    return (better == Better::lower) == cand_lower ? std::string("improved") : std::string("regressed");
  };
  if (paired && paired->has_ci()) {
    d.method = paired->ci_method;
    d.delta = paired->value;
    d.delta_low = paired->ci_low;
    d.delta_high = paired->ci_high;
    d.verdict = (d.delta_low > 0 || d.delta_high < 0) ? directional(d.delta < 0) : "unchanged";
    return d;
  }
  if (!b.m.has_value() || !c.m.has_value()) {
    d.verdict = (b.m.has_value() == c.m.has_value()) ? "unchanged" : "no_ci";
    return d;
  }
  if (!b.m.has_ci() || !c.m.has_ci()) {
    d.verdict = d.delta == 0 ? "unchanged" : "no_ci";
    return d;
  }
  const double z = normal_quantile_two_sided(b.m.ci_level);
  const double zc = normal_quantile_two_sided(c.m.ci_level);
  const double se_b = (b.m.ci_high - b.m.ci_low) / (2 * z), se_c = (c.m.ci_high - c.m.ci_low) / (2 * zc);
  const double half = z * std::sqrt(se_b * se_b + se_c * se_c);
  d.delta_low = d.delta - half, d.delta_high = d.delta + half;
  if (rule == VerdictRule::delta_ci) {
    if (d.delta_low > 0 || d.delta_high < 0) d.verdict = directional(d.delta < 0);
    else d.verdict = "unchanged";
  } else {
    const bool overlap = c.m.ci_low <= b.m.ci_high && b.m.ci_low <= c.m.ci_high;
    d.verdict = overlap ? "unchanged" : directional(c.m.ci_high < b.m.ci_low);
  }
  return d;
}

}  // namespace

CompareReport compare_results(const Results& base, const Results& cand, const std::vector<Gate>* gates, VerdictRule rule,
                              const PairedDelta& paired) {
  CompareReport rep;
  rep.base_file = base.file.string();
  rep.cand_file = cand.file.string();
  rep.rule = rule;
  if (base.suite_name != cand.suite_name)
    rep.warnings.push_back("suites differ: baseline '" + base.suite_name + "', candidate '" + cand.suite_name + "'");
  else if (base.suite_hash != cand.suite_hash)
    rep.warnings.push_back("suite '" + base.suite_name + "' changed between the runs (hash " + base.suite_hash + " vs " + cand.suite_hash + ")");

  const auto be = comparable_entries(base), ce = comparable_entries(cand);
  std::map<std::string, const Entry*> bmap, cmap;
  for (const auto& e : be) bmap[e.key()] = &e;
  for (const auto& e : ce) cmap[e.key()] = &e;
  std::map<std::string, std::size_t> delta_index;
  for (const auto& b : be) {
    auto it = cmap.find(b.key());
    if (it == cmap.end()) {
      rep.missing_in_candidate.push_back(b.subject());
      continue;
    }
    delta_index[b.key()] = rep.deltas.size();
    const std::optional<Estimate> pd = paired ? paired(base, cand, b, *it->second) : std::nullopt;
    rep.deltas.push_back(make_delta(b, *it->second, metric_direction(base, b.metric), rule, pd));
  }
  for (const auto& c : ce)
    if (!bmap.count(c.key())) rep.new_in_candidate.push_back(c.subject());

  if (gates) {
    rep.gates_given = true;
    for (const auto& g : *gates) {
      // Entries selected on either side, candidate order first, then baseline-only ones.
      std::vector<std::string> keys;
      for (const auto& c : ce)
        if (matches(g, c)) keys.push_back(c.key());
      for (const auto& b : be)
        if (matches(g, b) && !cmap.count(b.key())) keys.push_back(b.key());
      if (keys.empty()) {
        std::string why = "no entry of either file matches this gate (" + g.json_path + ")";
        // A gate on "fid" where the runs report "fd" (a non-Inception feature space; core/feature_space.h),
        // or the reverse: say so rather than only "no entry".
        if (const std::string other = other_frechet_spelling(g.metric); !other.empty()) {
          Gate alt = g;
          alt.metric = other;
          const bool other_present = std::any_of(ce.begin(), ce.end(), [&](const Entry& e) { return matches(alt, e); }) ||
                                     std::any_of(be.begin(), be.end(), [&](const Entry& e) { return matches(alt, e); });
          if (other_present)
            why += ": these results report '" + other + "' instead; " +
                   (other.rfind("fd", 0) == 0
                        ? "their feature space is not Inception, so the Fréchet distance is named fd, not fid "
                          "(docs/metrics.md, FID or FD): name the gate '" + other + "'"
                        : "their feature space is Inception: name the gate '" + other + "'");
        }
        rep.checks.push_back({g.name, g.metric + "(" + g.model + ", " + g.modality + (g.label != "*" ? ", class " + g.label : "") + ")",
                              why, false, g.skip_missing});
        if (g.skip_missing) rep.checks.back().passed = true;
        continue;
      }
      for (const auto& k : keys) {
        const Entry* c = cmap.count(k) ? cmap[k] : nullptr;
        const Entry* b = bmap.count(k) ? bmap[k] : nullptr;
        GateCheck chk{g.name, (c ? c : b)->subject(), "", false, false};
        auto missing = [&](const std::string& what) {
          chk.detail = what;
          chk.skipped = g.skip_missing;
          chk.passed = g.skip_missing;
        };
        if (!c) {
          missing("missing in the candidate");
        } else if (g.op == "not_regressed") {
          if (!b) missing("missing in the baseline");
          else {
            const auto& d = rep.deltas[delta_index[k]];
            chk.passed = d.verdict != "regressed";
            chk.detail = "verdict " + d.verdict + " (delta " + fmt(d.delta) + ", CI [" + fmt(d.delta_low) + ", " + fmt(d.delta_high) + "])";
          }
        } else {
          const double lhs = field_of(c->m, g.field);
          double rhs = kNaN;
          std::string rhs_text;
          if (g.value) {
            rhs = *g.value;
            rhs_text = fmt(rhs);
          } else if (!b) {
            missing("missing in the baseline");
          } else {
            const double ref = field_of(b->m, g.baseline);
            rhs = ref + g.margin + g.relative_margin * std::fabs(ref);
            rhs_text = "baseline " + g.baseline + " " + fmt(ref) +
                       (g.margin != 0 || g.relative_margin != 0 ? " with margin -> " + fmt(rhs) : "");
            if (!std::isfinite(ref)) rhs_text = "baseline has no " + g.baseline;
          }
          if (chk.detail.empty()) {
            if (!std::isfinite(lhs)) chk.detail = "candidate has no " + g.field;
            else if (!std::isfinite(rhs)) chk.detail = rhs_text;
            else {
              chk.passed = apply(lhs, g.op, rhs);
              chk.detail = "candidate " + g.field + " " + fmt(lhs) + " " + g.op + " " + rhs_text + (chk.passed ? "" : ": violated");
            }
          }
        }
        rep.checks.push_back(chk);
      }
    }
    rep.passed = std::all_of(rep.checks.begin(), rep.checks.end(), [](const GateCheck& c) { return c.passed; });
  } else {
    rep.passed = rep.count("regressed") == 0 && rep.missing_in_candidate.empty();
  }
  return rep;
}

ojson compare_to_json(const CompareReport& c) {
  ojson j;
  j["command"] = "compare";
  j["baseline"] = c.base_file;
  j["candidate"] = c.cand_file;
  j["rule"] = c.rule == VerdictRule::delta_ci ? "delta-ci" : "overlap";
  j["passed"] = c.passed;
  j["summary"] = {{"improved", c.count("improved")}, {"regressed", c.count("regressed")}, {"unchanged", c.count("unchanged")},
                  {"changed", c.count("changed")},   {"no_ci", c.count("no_ci")},         {"missing_in_candidate", c.missing_in_candidate.size()},
                  {"new_in_candidate", c.new_in_candidate.size()}};
  ojson deltas = ojson::array();
  for (const auto& d : c.deltas) {
    ojson x;
    x["section"] = d.cand.section;
    x["model"] = d.cand.model;
    x["modality"] = d.cand.modality;
    x["metric"] = d.cand.metric;
    if (!d.cand.arm.empty()) x["arm"] = d.cand.arm, x["fraction"] = d.cand.fraction;
    if (!d.cand.label.empty()) x["label"] = d.cand.label;
    x["better"] = to_string(d.better);
    x["baseline"] = {{"value", jnum(d.base.m.value)}, {"ci_low", jnum(d.base.m.ci_low)}, {"ci_high", jnum(d.base.m.ci_high)}, {"n", d.base.m.n}};
    x["candidate"] = {{"value", jnum(d.cand.m.value)}, {"ci_low", jnum(d.cand.m.ci_low)}, {"ci_high", jnum(d.cand.m.ci_high)}, {"n", d.cand.m.n}};
    x["delta"] = {{"value", jnum(d.delta)}, {"ci_low", jnum(d.delta_low)}, {"ci_high", jnum(d.delta_high)}};
    x["verdict"] = d.verdict;
    x["method"] = d.method;
    deltas.push_back(x);
  }
  j["deltas"] = deltas;
  j["missing_in_candidate"] = c.missing_in_candidate;
  j["new_in_candidate"] = c.new_in_candidate;
  j["gates_given"] = c.gates_given;
  ojson checks = ojson::array();
  for (const auto& k : c.checks)
    checks.push_back({{"gate", k.gate}, {"subject", k.subject}, {"passed", k.passed}, {"skipped", k.skipped}, {"detail", k.detail}});
  j["gates"] = checks;
  j["warnings"] = c.warnings;
  return j;
}

std::string compare_to_text(const CompareReport& c) {
  std::ostringstream os;
  char line[512];
  std::snprintf(line, sizeof line, "%-58s %-30s %-30s %-30s %s\n", "metric(model, modality)", "baseline [CI]", "candidate [CI]",
                "delta [CI]", "verdict");
  os << line;
  auto mc = [](const Estimate& m) { return fmt(m.value) + (m.has_ci() ? " [" + fmt(m.ci_low) + ", " + fmt(m.ci_high) + "]" : ""); };
  for (const auto& d : c.deltas) {
    const std::string delta = fmt(d.delta) + (std::isfinite(d.delta_low) ? " [" + fmt(d.delta_low) + ", " + fmt(d.delta_high) + "]" : "");
    std::snprintf(line, sizeof line, "%-58s %-30s %-30s %-30s %s\n", d.cand.subject().c_str(), mc(d.base.m).c_str(), mc(d.cand.m).c_str(),
                  delta.c_str(), d.verdict.c_str());
    os << line;
  }
  for (const auto& s : c.missing_in_candidate) os << "missing in candidate: " << s << "\n";
  for (const auto& s : c.new_in_candidate) os << "new in candidate: " << s << "\n";
  for (const auto& w : c.warnings) os << "warning: " << w << "\n";
  os << "verdicts (" << (c.rule == VerdictRule::delta_ci ? "delta-ci" : "overlap") << "): " << c.count("improved") << " improved, "
     << c.count("regressed") << " regressed, " << c.count("unchanged") << " unchanged, " << c.count("changed") << " changed, "
     << c.count("no_ci") << " without CI\n";
  if (c.gates_given) {
    int failed = 0, skipped = 0;
    for (const auto& k : c.checks) {
      os << (k.skipped ? "SKIP " : k.passed ? "PASS " : "FAIL ") << k.gate << ": " << k.subject << ": " << k.detail << "\n";
      failed += !k.passed;
      skipped += k.skipped;
    }
    os << "gates: " << c.checks.size() - failed - skipped << " passed, " << failed << " failed, " << skipped << " skipped\n";
  } else {
    os << "no gates given: the default gate is 'no metric regressed and none missing from the candidate'\n";
  }
  os << (c.passed ? "PASS" : "FAIL") << "\n";
  return os.str();
}

namespace {
std::string xml_escape(const std::string& s) {
  std::string out;
  for (unsigned char ch : s) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (ch < 0x20 && ch != '\n' && ch != '\t') out += ' ';  // not allowed in XML 1.0
        else out += static_cast<char>(ch);
    }
  }
  return out;
}
}  // namespace

std::string compare_to_junit(const CompareReport& c) {
  std::ostringstream os;
  int gate_fail = 0, gate_skip = 0, metric_fail = 0;
  for (const auto& k : c.checks) gate_fail += !k.passed, gate_skip += k.skipped;
  const bool metrics_decide = !c.gates_given;
  if (metrics_decide) metric_fail = c.count("regressed") + static_cast<int>(c.missing_in_candidate.size());
  const std::size_t metric_tests = c.deltas.size() + c.missing_in_candidate.size();
  os << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
     << "<testsuites name=\"medsynbench compare\" tests=\"" << c.checks.size() + metric_tests << "\" failures=\"" << gate_fail + metric_fail
     << "\" errors=\"0\">\n";
  os << "  <testsuite name=\"gates\" tests=\"" << c.checks.size() << "\" failures=\"" << gate_fail << "\" errors=\"0\" skipped=\"" << gate_skip
     << "\">\n";
  for (const auto& k : c.checks) {
    os << "    <testcase classname=\"gates\" name=\"" << xml_escape(k.gate + ": " + k.subject) << "\">";
    if (k.skipped) os << "<skipped message=\"" << xml_escape(k.detail) << "\"/>";
    else if (!k.passed) os << "<failure message=\"" << xml_escape(k.detail) << "\">" << xml_escape(k.detail) << "</failure>";
    else os << "<system-out>" << xml_escape(k.detail) << "</system-out>";
    os << "</testcase>\n";
  }
  os << "  </testsuite>\n";
  os << "  <testsuite name=\"metrics\" tests=\"" << metric_tests << "\" failures=\"" << metric_fail << "\" errors=\"0\" skipped=\"0\">\n";
  for (const auto& d : c.deltas) {
    const std::string detail = "baseline " + fmt(d.base.m.value) + ", candidate " + fmt(d.cand.m.value) + ", delta " + fmt(d.delta) +
                               (std::isfinite(d.delta_low) ? " [" + fmt(d.delta_low) + ", " + fmt(d.delta_high) + "]" : "") + ": " + d.verdict;
    os << "    <testcase classname=\"metrics." << xml_escape(d.cand.section) << "\" name=\"" << xml_escape(d.cand.subject()) << "\">";
    if (metrics_decide && d.verdict == "regressed") os << "<failure message=\"regressed\">" << xml_escape(detail) << "</failure>";
    else os << "<system-out>" << xml_escape(detail) << "</system-out>";
    os << "</testcase>\n";
  }
  for (const auto& s : c.missing_in_candidate) {
    os << "    <testcase classname=\"metrics.missing\" name=\"" << xml_escape(s) << "\">";
    if (metrics_decide) os << "<failure message=\"missing in the candidate\">missing in the candidate</failure>";
    else os << "<system-out>missing in the candidate</system-out>";
    os << "</testcase>\n";
  }
  os << "  </testsuite>\n</testsuites>\n";
  return os.str();
}

}  // namespace medsyn::reports
