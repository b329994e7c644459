// Stage downstream: data-limited classifier experiments (real vs real+syn vs syn vs 2xreal) on
// the modalities with labels.
#include <algorithm>
#include <cmath>

#include "medsyn/core/error.h"
#include "medsyn/core/estimate.h"
#include "medsyn/core/json.h"
#include "medsyn/downstream/experiment.h"
#include "../run_context.h"

namespace fs = std::filesystem;

namespace medsyn::suites {

namespace {

// One point of an arm's curve: the fraction, the test AUROC over seeds (value, interval, n) and
// the training set sizes. The one place that reads downstream::ArmSummary's AUROC.
ojson downstream_point_json(const downstream::ArmSummary& s) {
  Estimate e = s.auroc;  // mean over seeds with its t interval (level and method from the library)
  ojson p = {{"fraction", s.fraction}};
  const ojson metric = to_json(e);
  for (auto it = metric.begin(); it != metric.end(); ++it) p[it.key()] = it.value();
  p["n_real"] = s.n_real;
  p["n_syn"] = s.n_syn;
  return p;
}

ojson num(double v) { return std::isfinite(v) ? ojson(v) : ojson(nullptr); }

}  // namespace

ojson compute_downstream(const UnitDescription& d, RunContext& c, const fs::path& w) {
  downstream::DownstreamOptions o = to_options(downstream_spec_from_json(json::parse(d.spec.dump()), d.id() + " spec"));
  o.real_dir = c.resolve(d.locations.at("real"));
  o.synthetic_dir = c.resolve(d.locations.at("synthetic"));
  o.modality = d.inputs["modality"];
  o.seed_base = d.inputs["seed"];
  o.classifier.device = c.device;
  o.command_line = c.opt.command_line;
  o.out_dir = w;
  try {
    downstream::validate(o);
    const auto r = downstream::run_downstream(o);
    ojson arms = ojson::object();
    for (const auto& arm : o.arms) {
      ojson pts = ojson::array();
      for (const auto& s : r.arms)
        if (s.arm == arm && s.feasible && s.auroc.n > 0) pts.push_back(downstream_point_json(s));
      if (!pts.empty()) arms[arm] = pts;
    }
    ojson cmps = ojson::array();
    for (const auto& x : r.comparisons) {
      const bool ci = std::isfinite(x.ci_low) && std::isfinite(x.ci_high);
      cmps.push_back({{"fraction", x.fraction}, {"a", x.a}, {"b", x.b}, {"mean_diff", num(x.mean_diff)},
                      {"ci_low", ci ? num(x.ci_low) : ojson(nullptr)}, {"ci_high", ci ? num(x.ci_high) : ojson(nullptr)},
                      {"p_adjusted", num(x.p_adjusted)}, {"verdict", x.verdict}});
    }
    return ojson{{"ok", true}, {"metric", "auroc"}, {"arms", arms}, {"comparisons", cmps}, {"notes", r.notes},
                 {"seconds", r.seconds}};
  } catch (const InputError& e) {
    return ojson{{"ok", false}, {"reason", e.what()}};
  }
}

void plan_downstream(RunContext& c) {
  const DownstreamSpec& spec = *c.suite.evaluations.downstream;
  std::vector<std::string> mods;
  if (spec.modalities) {
    mods = *spec.modalities;
  } else {
    for (const auto& m : c.suite.modalities)
      if (c.real.at(m.name).labelled) mods.push_back(m.name);
  }
  std::vector<std::pair<std::string, std::string>> todo;
  for (const auto& model : c.suite.models)
    for (const auto& mod : model.modalities)
      if (std::find(mods.begin(), mods.end(), mod) != mods.end()) todo.push_back({model.name, mod});
  const ojson unit_spec = unit_spec_json(spec, "downstream");
  Progress prog("stage downstream", static_cast<std::int64_t>(todo.size()), "experiments");
  for (const auto& [model, mod] : todo) {
    const RealData& rd = c.real.at(mod);
    const auto& g = c.generated.at(mm(model, mod));
    const ojson in = {{"real", rd.real_hash}, {"synthetic", g.manifest_hash}, {"modality", mod},
                      {"seed", c.seed_for("downstream:" + mod)},  // per modality: every model's `real` arm is the same
                      {"device", c.device}};
    c.downstream[mm(model, mod)] = c.run(make_unit("downstream", model + "-" + mod, unit_spec, in,
                                                   {{"real", c.location(rd.real_dir)}, {"synthetic", c.location(g.unit.dir)}}));
    prog.advance();
  }
}

}  // namespace medsyn::suites
