// compute_comparison: the generalist against the coordinated suite of specialists (report.h).
#include <algorithm>

#include "medsyn/reports/report.h"

namespace medsyn::reports {

// ---------------------------------------------------------------- compute comparison

ComputeComparison compute_comparison(const Results& r) {
  ComputeComparison c;
  if (r.compute.empty()) return c;
  const auto names = r.metric_names();
  // FID, else FD (the same distance outside an Inception space), else the first metric.
  c.quality_metric = std::find(names.begin(), names.end(), "fid") != names.end()  ? "fid"
                     : std::find(names.begin(), names.end(), "fd") != names.end() ? "fd"
                                                                                  : (names.empty() ? "" : names[0]);
  for (const auto& mod : r.modalities)
    if (!models_for(r, mod.name).empty()) c.modalities.push_back(mod.name);
  auto quality = [&](const std::string& model, const std::string& mod) -> std::optional<double> {
    const Estimate* m = c.quality_metric.empty() ? nullptr : r.find(model, mod, c.quality_metric);
    if (m && m->has_value()) return m->value;
    return std::nullopt;
  };
  auto row_of = [&](const ModelInfo& m, const ComputeEntry& e) {
    ComputeRow row{m.label, m.is_generalist() ? "generalist" : "specialist", e.params, e.training_flops,
                   e.wall_time_s, e.steps, e.images_per_s, {}};
    for (const auto& mod : c.modalities) row.quality.push_back(m.covers(mod) ? quality(m.name, mod) : std::nullopt);
    return row;
  };
  std::vector<ComputeRow> gens;
  for (const auto* g : r.generalists()) {
    if (auto it = r.compute.find(g->name); it != r.compute.end()) gens.push_back(row_of(*g, it->second));
    else c.notes.push_back("generalist '" + g->name + "' has no compute entry");
  }
  std::vector<const ModelInfo*> specs;
  for (const auto* s : r.specialists()) {
    if (r.compute.count(s->name)) specs.push_back(s);
    else c.notes.push_back("specialist '" + s->name + "' has no compute entry; the specialists' sum leaves it out");
  }
  c.rows = gens;
  if (!specs.empty()) {
    ComputeRow sum{"specialists (sum of " + std::to_string(specs.size()) + ")", "specialists", 0.0, 0.0, 0.0, 0.0, 0.0, {}};
    double inv_rate = 0;
    for (const auto* s : specs) {
      const auto& e = r.compute.at(s->name);
      auto add = [&](std::optional<double>& acc, const std::optional<double>& v, const char* field) {
        if (!acc) return;
        if (!v) {
          acc.reset();
          c.notes.push_back("specialist '" + s->name + "' has no " + field + "; the specialists' " + field + " is unknown");
        } else {
          *acc += *v;
        }
      };
      add(sum.params, e.params, "params");
      add(sum.training_flops, e.training_flops, "training_flops");
      add(sum.wall_time_s, e.wall_time_s, "wall_time_s");
      add(sum.steps, e.steps, "steps");
      if (sum.images_per_s) {
        if (e.images_per_s && *e.images_per_s > 0) inv_rate += 1.0 / *e.images_per_s;
        else {
          sum.images_per_s.reset();
          c.notes.push_back("specialist '" + s->name + "' has no images_per_s; the specialists' images/s is unknown");
        }
      }
    }
    if (sum.images_per_s) sum.images_per_s = static_cast<double>(specs.size()) / inv_rate;
    const Better dir = r.metric_info(c.quality_metric).better;
    for (const auto& mod : c.modalities) {
      std::optional<double> best;
      for (const auto* s : specs)
        if (s->covers(mod))
          if (auto q = quality(s->name, mod); q && (!best || (dir == Better::higher ? *q > *best : *q < *best))) best = q;
      sum.quality.push_back(best);
    }
    c.rows.push_back(sum);
    auto ratio = [](const std::optional<double>& a, const std::optional<double>& b) -> std::optional<double> {
      if (a && b && *b != 0) return *a / *b;
      return std::nullopt;
    };
    for (const auto& g : gens) {
      ComputeRow rr{g.label + " / specialists", "ratio", ratio(g.params, sum.params), ratio(g.training_flops, sum.training_flops),
                    ratio(g.wall_time_s, sum.wall_time_s), ratio(g.steps, sum.steps), ratio(g.images_per_s, sum.images_per_s), {}};
      for (std::size_t i = 0; i < c.modalities.size(); ++i) rr.quality.push_back(ratio(g.quality[i], sum.quality[i]));
      c.rows.push_back(rr);
    }
  }
  if (gens.empty() && specs.empty()) c.rows.clear();
  return c;
}

}  // namespace medsyn::reports
