// build_document: every section of the report, written once (see report_model.h).
#include "medsyn/reports/report_model.h"
#include "medsyn/reports/reader_study.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "plot.h"

namespace medsyn::reports {

// ---------------------------------------------------------------- text and cells

Text::Text(std::string s) {
  if (!s.empty()) spans.push_back({Span::Kind::plain, std::move(s), Sym::down});
}
Text::Text(const char* s) : Text(std::string(s)) {}
bool Text::empty() const { return spans.empty(); }

Text operator+(Text a, const Text& b) {
  a.spans.insert(a.spans.end(), b.spans.begin(), b.spans.end());
  return a;
}
Text code(std::string s) {
  Text t;
  t.spans.push_back({Span::Kind::code, std::move(s), Sym::down});
  return t;
}
Text sub(std::string s) {
  Text t;
  t.spans.push_back({Span::Kind::sub, std::move(s), Sym::down});
  return t;
}
Text sym(Sym s) {
  Text t;
  t.spans.push_back({Span::Kind::symbol, "", s});
  return t;
}

Cell text_cell(Text t) {
  Cell c;
  c.text = std::move(t);
  return c;
}

Cell value_cell(const Estimate* e, int digits, bool best) {
  Cell c;
  c.is_value = true;
  if (!e) {
    c.text = "-";
    return c;
  }
  if (!e->has_value() && !e->note.empty()) {  // null with a reason: say why, never best
    // Below a minimum sample size (metrics/sample_size.h) the cell says so briefly; the full
    // reason is in results.json and the report's notes.
    c.text = e->note.rfind("n too small", 0) == 0 ? std::string("n too small") : e->note;
    c.null_reason = true;
    return c;
  }
  c.text = format_value(e->value, digits);
  if (e->has_ci()) {
    c.interval = "[" + format_value(e->ci_low, digits) + ", " + format_value(e->ci_high, digits) + "]";
    c.level = e->ci_level;
  }
  c.best = best && e->has_value();
  return c;
}

// ---------------------------------------------------------------- interval levels

std::string level_percent(double level) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g%%", level * 100);
  return buf;
}

void IntervalLevels::add(double level, const std::string& method, bool has_interval) {
  if (!has_interval) return;
  levels.insert(level);
  if (!method.empty()) methods.insert(method);
}
void IntervalLevels::add(const Estimate& e) { add(e.ci_level, e.ci_method, e.has_ci()); }

std::string IntervalLevels::label(bool plural) const {
  if (levels.empty()) return "";
  const std::string ci = plural ? "CIs" : "CI";
  if (!mixed()) return level_percent(*levels.begin()) + " " + ci;
  std::string s;
  for (double l : levels) s += (s.empty() ? "" : ", ") + level_percent(l);
  return ci + " (" + s + ")";
}

std::string IntervalLevels::method_list() const {
  std::string s;
  for (const auto& m : methods) s += (s.empty() ? "" : "; ") + m;
  return s;
}

namespace {

// "95% CIs (percentile bootstrap)"; mixed levels: "CIs, each marked with its level (90%, 95%)".
std::string ci_phrase(const IntervalLevels& lv) {
  std::string s;
  if (!lv.mixed()) {
    s = lv.label(true);
  } else {
    std::string ls;
    for (double l : lv.levels) ls += (ls.empty() ? "" : ", ") + level_percent(l);
    s = "CIs, each marked with its level (" + ls + ")";
  }
  const std::string m = lv.method_list();
  return m.empty() ? s : s + " (" + m + ")";
}

// "Point estimates with 95% CIs (...) in brackets" / "Point estimates (no intervals in the results)".
std::string estimates_phrase(const IntervalLevels& lv) {
  if (lv.levels.empty()) return "Point estimates (no intervals in the results)";
  return "Point estimates with " + ci_phrase(lv) + " in brackets";
}

// Marks every interval's level when one table mixes levels.
void mark_levels(Table& t) {
  std::set<double> levels;
  for (const auto& g : t.groups)
    for (const auto& row : g.rows)
      for (const auto& c : row.cells)
        if (!c.interval.empty()) levels.insert(c.level);
  if (levels.size() < 2) return;
  for (auto& g : t.groups)
    for (auto& row : g.rows)
      for (auto& c : row.cells) c.mark_level = !c.interval.empty();
}

Text arrow_of(const MetricInfo& info) {
  if (info.best_near_reference) return sym(Sym::near) + " real";
  if (info.better == Better::lower) return sym(Sym::down);
  if (info.better == Better::higher) return sym(Sym::up);
  return {};
}

// "FID ↓", "MS-SSIM ≈ real", "My score".
Text metric_header(const MetricInfo& info) {
  const Text a = arrow_of(info);
  return a.empty() ? Text(info.label) : Text(info.label + " ") + a;
}

std::string num_text(double v) { return std::isfinite(v) ? nlohmann::json(v).dump() : std::string(); }

std::string duration_text(double s) {
  char buf[64];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%.2f h", s / 3600);
  else if (s >= 60) std::snprintf(buf, sizeof buf, "%.1f min", s / 60);
  else std::snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

Text ratio_text(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, v >= 100 || v < 0.01 ? "%.3g" : "%.2f", v);
  return Text(buf) + sym(Sym::times);
}

std::string pv(const Results& r, const char* k) {
  const auto& p = r.provenance;
  return p.contains(k) && p[k].is_string() ? p[k].get<std::string>() : std::string("-");
}

void add_figures(Section& s, const ReportResult& files, const std::string& section) {
  for (const auto& f : files.figures)
    if (f.section == section) s.blocks.push_back(FigureBlock{f});
}

// ---------------------------------------------------------------- sections

Section models_section(const Results& r) {
  Section s{"models", "Models", {}};
  Table t;
  t.id = "models";
  t.header = {"Model", "Kind", "Modalities"};
  RowGroup g;
  for (const auto& m : r.models) {
    std::string mods;
    for (const auto& x : m.modalities) mods += (mods.empty() ? "" : ", ") + x;
    g.rows.push_back({Row::Style::normal, m.label, "", {text_cell(m.kind), text_cell(mods)}});
  }
  t.groups.push_back(std::move(g));
  s.blocks.push_back(std::move(t));
  return s;
}

// "Best" rule in words, for the legend and the tables.tex preamble.
std::string best_rule(const MetricInfo& info) {
  if (info.best_near_reference) return "closest to the real data's own " + info.label + " (reference row) is better";
  if (info.better == Better::none) return "no direction, never bold";
  return std::string(to_string(info.better)) + " is better";
}

Section quality_section(const Results& r, const ReportResult& files, Document& d) {
  Section s{"quality", "Quality per modality", {}};
  const auto metrics = table_metrics(r);
  Table t;
  t.id = "quality";
  t.latex = true;
  t.align = "ll" + std::string(metrics.size(), 'c');
  t.group_header = "Modality";
  t.header.push_back("Model");
  for (const auto& m : metrics) t.header.push_back(metric_header(r.metric_info(m)));
  IntervalLevels levels;
  for (const auto& mod : r.modalities) {
    RowGroup g{mod.label, {}};
    std::vector<std::set<std::string>> best;
    for (const auto& m : metrics) best.push_back(best_models(r, mod.name, m));
    for (const auto* model : models_for(r, mod.name)) {
      Row row{Row::Style::normal, model->label, model->kind, {}};
      bool any = false;  // a value, or a null with its reason
      for (std::size_t i = 0; i < metrics.size(); ++i) {
        const Estimate* v = r.find(model->name, mod.name, metrics[i]);
        if (v && (v->has_value() || !v->note.empty())) any = true;
        if (v) levels.add(*v);
        row.cells.push_back(value_cell(v, r.metric_info(metrics[i]).digits, best[i].count(model->name) > 0));
      }
      if (any) g.rows.push_back(std::move(row));
    }
    Row ref{Row::Style::reference, "real data (reference)", "", {}};
    bool any_ref = false;
    for (const auto& m : metrics) {
      const Estimate* v = reference_for(r, mod.name, m);
      if (v && v->has_value()) any_ref = true;
      if (v) levels.add(*v);
      ref.cells.push_back(value_cell(v, r.metric_info(m).digits, false));
    }
    if (any_ref && !g.rows.empty()) g.rows.push_back(std::move(ref));
    if (!g.rows.empty()) t.groups.push_back(std::move(g));
  }
  mark_levels(t);

  // Legend: intervals (level and method from the results) and the "best" rule per metric.
  Text legend = estimates_phrase(levels) + "; best per modality in bold";
  Text dirs, near;
  for (const auto& m : metrics) {
    const auto info = r.metric_info(m);
    d.best_rules.emplace_back(info.label, best_rule(info));
    if (info.best_near_reference) {
      near = near + (near.empty() ? "" : "; ") + metric_header(info) + ": the value closest to the real data's own " + info.label +
             " in the reference row, no bold without it";
    } else {
      dirs = dirs + (dirs.empty() ? "" : ", ") + metric_header(info);
    }
  }
  if (!dirs.empty() || !near.empty()) legend = legend + " (" + dirs + (dirs.empty() || near.empty() ? "" : "; ") + near + ")";
  legend = legend + ".";
  if (!t.groups.empty()) {
    s.blocks.push_back(Paragraph{legend});
    t.caption = Text("Quality per modality, generalist vs specialists (suite ") + code(r.suite_name) + "). " + legend;
    s.blocks.push_back(std::move(t));
  }
  add_figures(s, files, "quality");
  return s;
}

// Generated vs real intensity per channel (users see drift before they read an FID).
Section intensity_section(const Results& r, const ReportResult& files) {
  Section s{"intensity", "Intensity and colour: generated vs real", {}};
  Table t;
  t.id = "intensity";
  t.group_header = "Modality";
  t.header = {"Model", "Channel", "Mean (generated)", "Mean (real)", "Difference", "Std (generated)", "Std (real)", "Wasserstein-1"};
  IntervalLevels levels;
  for (const auto& mod : r.modalities) {
    RowGroup g{mod.label, {}};
    for (const auto& m : r.models) {
      auto a = r.intensity.find(m.name);
      if (a == r.intensity.end()) continue;
      auto e = a->second.find(mod.name);
      if (e == a->second.end()) continue;
      for (const auto& row : e->second.rows) {
        for (const Estimate* x : {&row.generated_mean, &row.real_mean, &row.mean_diff, &row.generated_std, &row.real_std}) levels.add(*x);
        g.rows.push_back({Row::Style::normal, m.label, m.kind,
                          {text_cell(row.channel), value_cell(&row.generated_mean, 3), value_cell(&row.real_mean, 3),
                           value_cell(&row.mean_diff, 3), value_cell(&row.generated_std, 3), value_cell(&row.real_std, 3),
                           text_cell(format_value(row.wasserstein, 3))}});
      }
      if (e->second.has_background)
        g.rows.push_back({Row::Style::normal, m.label, m.kind,
                          {text_cell("background (corners)"), value_cell(&e->second.generated_background, 3),
                           value_cell(&e->second.real_background, 3), text_cell("-"), text_cell("-"), text_cell("-"), text_cell("-")}});
    }
    if (!g.rows.empty()) t.groups.push_back(std::move(g));
  }
  mark_levels(t);
  const Text legend = estimates_phrase(levels) +
                      "; pixel values in [0, 1]; difference = generated - real mean; Wasserstein-1 between the pixel-value "
                      "distributions; background = mean of the four corner patches where the real images have a dark surround.";
  s.blocks.push_back(Paragraph{legend});
  t.caption = Text("Intensity and colour, generated vs real (suite ") + code(r.suite_name) + "). " + legend;
  s.blocks.push_back(std::move(t));
  add_figures(s, files, "intensity");
  return s;
}

Section memorization_section(const Results& r, const ReportResult& files) {
  Section s{"memorization", "Memorization", {}};
  Table t;
  t.id = "memorization";
  // AuthPct is a column only when some entry has it (results files from before it existed).
  bool any_authpct = false, any_ct = false;
  for (const auto& [model, mods] : r.memorization)
    for (const auto& [mod, e] : mods) {
      any_authpct = any_authpct || e.authpct.has_value();
      any_ct = any_ct || e.c_t.has_value() || !e.c_t.note.empty();
    }
  t.header = {"Model", "Modality", "Fraction memorized", "Exact copies", "Synthetic", "tau"};
  if (any_authpct) t.header.insert(t.header.begin() + 4, "AuthPct (%)");
  if (any_ct) t.header.insert(t.header.begin() + (any_authpct ? 5 : 4), "C_T");
  RowGroup g;
  IntervalLevels levels;
  for (const auto& m : r.models)
    if (auto it = r.memorization.find(m.name); it != r.memorization.end())
      for (const auto& mod : r.modalities)
        if (auto e = it->second.find(mod.name); e != it->second.end()) {
          const auto& x = e->second;
          levels.add(x.fraction_memorized);
          std::vector<Cell> cells = {text_cell(mod.label), value_cell(&x.fraction_memorized, 4),
                                     text_cell(x.exact_copies >= 0 ? std::to_string(x.exact_copies) : "-"),
                                     text_cell(x.n_synthetic >= 0 ? std::to_string(x.n_synthetic) : "-"),
                                     text_cell(format_value(x.tau, 4))};
          if (any_authpct) {
            if (x.authpct.has_value()) levels.add(x.authpct);
            cells.insert(cells.begin() + 3, value_cell(&x.authpct, 1));
          }
          if (any_ct) cells.insert(cells.begin() + (any_authpct ? 4 : 3), value_cell(&x.c_t, 2));
          g.rows.push_back({Row::Style::normal, m.label, "", std::move(cells)});
        }
  t.groups.push_back(std::move(g));
  mark_levels(t);
  std::string phrase = estimates_phrase(levels);
  phrase[0] = 'p';  // "Point estimates ..." after the colon
  s.blocks.push_back(Paragraph{"Fraction memorized: " + phrase + "."});
  s.blocks.push_back(std::move(t));
  // Prompt replay (CheXGenBench's protocol), when the suite asked for it.
  Table rt;
  rt.id = "memorization-replay";
  rt.header = {"Model", "Modality", "Prompts", "Images", "Flagged", "Training images copied"};
  RowGroup rg;
  IntervalLevels rlevels;
  for (const auto& m : r.models)
    if (auto it = r.memorization.find(m.name); it != r.memorization.end())
      for (const auto& mod : r.modalities)
        if (auto e = it->second.find(mod.name); e != it->second.end() && e->second.replay_prompts >= 0) {
          const auto& x = e->second;
          rlevels.add(x.replay_fraction_flagged);
          rlevels.add(x.replay_fraction_train_copied);
          rg.rows.push_back({Row::Style::normal, m.label, "",
                             {text_cell(mod.label), text_cell(std::to_string(x.replay_prompts)),
                              text_cell(x.replay_generated >= 0 ? std::to_string(x.replay_generated) : "-"),
                              value_cell(&x.replay_fraction_flagged, 4), value_cell(&x.replay_fraction_train_copied, 4)}});
        }
  if (!rg.rows.empty()) {
    rt.groups.push_back(std::move(rg));
    mark_levels(rt);
    std::string rphrase = estimates_phrase(rlevels);
    rphrase[0] = 'p';
    s.blocks.push_back(Paragraph{"Prompt replay: sampled training prompts generated again; \"flagged\" = nearest training "
                                 "image above the audit's calibrated tau, \"training images copied\" = training images that "
                                 "are the nearest neighbour of a flagged image, over all training images: " + rphrase + "."});
    s.blocks.push_back(std::move(rt));
  }
  add_figures(s, files, "memorization");
  return s;
}

Section downstream_section(const Results& r, const ReportResult& files) {
  Section s{"downstream", "Downstream (data-limited classifiers)", {}};
  for (const auto& m : r.models)
    if (auto it = r.downstream.find(m.name); it != r.downstream.end())
      for (const auto& mod : r.modalities)
        if (auto e = it->second.find(mod.name); e != it->second.end()) {
          const auto& dn = e->second;
          const auto info = r.metric_info(dn.metric);
          std::vector<double> fr;
          IntervalLevels levels;
          for (const auto& [arm, pts] : dn.arms)
            for (const auto& pt : pts) {
              if (std::find(fr.begin(), fr.end(), pt.fraction) == fr.end()) fr.push_back(pt.fraction);
              levels.add(pt.metric);
            }
          std::sort(fr.begin(), fr.end());
          std::string ci = levels.levels.empty() ? "no CI" : levels.mixed() ? "CI level marked per interval" : levels.label();
          if (const auto ml = levels.method_list(); !ml.empty()) ci += "; " + ml;
          s.blocks.push_back(Heading{m.label + ", " + mod.label + " (" + info.label + ", mean over seeds, " + ci + ")"});
          Table t;
          t.id = "downstream";
          t.header.push_back("Arm");
          for (double f : fr) t.header.push_back("f = " + num_text(f));
          RowGroup g;
          for (const auto& [arm, pts] : dn.arms) {
            Row row{Row::Style::normal, arm, "", {}};
            for (double f : fr) {
              auto pt = std::find_if(pts.begin(), pts.end(), [&](const DownstreamPoint& q) { return q.fraction == f; });
              row.cells.push_back(value_cell(pt == pts.end() ? nullptr : &pt->metric, info.digits));
            }
            g.rows.push_back(std::move(row));
          }
          t.groups.push_back(std::move(g));
          mark_levels(t);
          s.blocks.push_back(std::move(t));
          if (!dn.comparisons.empty()) {
            IntervalLevels cl;
            for (const auto& c : dn.comparisons) cl.add(c.ci_level, c.ci_method, std::isfinite(c.ci_low) && std::isfinite(c.ci_high));
            Table ct;
            ct.id = "downstream_comparisons";
            ct.header = {"Fraction", "Comparison", "Difference", cl.levels.empty() ? std::string("CI") : cl.label(), "adjusted p", "Verdict"};
            RowGroup cg;
            for (const auto& c : dn.comparisons) {
              Cell iv;  // the interval alone ("[-, -]" when absent, as the CI column always shows brackets)
              iv.is_value = true;
              iv.interval = "[" + format_value(c.ci_low, 4) + ", " + format_value(c.ci_high, 4) + "]";
              iv.level = c.ci_level;
              iv.mark_level = cl.mixed() && std::isfinite(c.ci_low);
              cg.rows.push_back({Row::Style::normal, num_text(c.fraction), "",
                                 {text_cell(c.a + " vs " + c.b), text_cell(format_value(c.mean_diff, 4)), iv,
                                  text_cell(format_value(c.p_adjusted, 4)), text_cell(c.verdict)}});
            }
            ct.groups.push_back(std::move(cg));
            s.blocks.push_back(std::move(ct));
          }
        }
  add_figures(s, files, "downstream");
  return s;
}

// Prompt adherence: does a generated image show the class its prompt asked for (CAS), and do
// classifiers trained on the generated images recognise real ones (reverse CAS)?
Section adherence_section(const Results& r) {
  Section s{"adherence", "Prompt adherence (Classification Accuracy Score)", {}};
  Table t;
  t.id = "adherence";
  t.group_header = "Modality";
  t.header = {"Model", "Images used", "CAS accuracy", "CAS AUROC", "CAS AUROC (ensemble)", "Worst class",
              "Worst-class accuracy", "Real-test accuracy", "Reverse CAS accuracy", "Reverse CAS AUROC"};
  IntervalLevels levels;
  for (const auto& mod : r.modalities) {
    RowGroup g{mod.label, {}};
    for (const auto& m : r.models) {
      auto a = r.adherence.find(m.name);
      if (a == r.adherence.end()) continue;
      auto e = a->second.find(mod.name);
      if (e == a->second.end()) continue;
      const auto& x = e->second;
      const AdherenceClass* worst = x.cas.worst();
      for (const Estimate* v : {&x.cas.accuracy, &x.cas.auroc, &x.cas.auroc_delong, &x.real.accuracy, &x.reverse.accuracy,
                                &x.reverse.auroc})
        levels.add(*v);
      if (worst) levels.add(worst->accuracy);
      const std::string used = x.n_used >= 0 && x.n_synthetic >= 0
                                   ? std::to_string(x.n_used) + " / " + std::to_string(x.n_synthetic)
                                   : std::string("-");
      g.rows.push_back({Row::Style::normal, m.label, m.kind,
                        {text_cell(used), value_cell(&x.cas.accuracy, 3), value_cell(&x.cas.auroc, 3),
                         value_cell(&x.cas.auroc_delong, 3), text_cell(worst ? worst->name : std::string("-")),
                         value_cell(worst ? &worst->accuracy : nullptr, 3), value_cell(&x.real.accuracy, 3),
                         value_cell(&x.reverse.accuracy, 3), value_cell(&x.reverse.auroc, 3)}});
    }
    if (!g.rows.empty()) t.groups.push_back(std::move(g));
  }
  mark_levels(t);
  const Text legend =
      Text("CAS: classifiers trained on the real training images (labels from the manifest), applied to the generated "
           "images and scored against the class each image's prompt names (images used: those whose prompt or label "
           "names a class). Real-test accuracy: the same classifiers on the real test split, the level a generator whose "
           "images are as recognisable as real ones reaches. Reverse CAS: classifiers trained on the generated images, "
           "tested on the real test split. Worst class: the class with the lowest CAS accuracy (its recall). ") +
      estimates_phrase(levels) +
      "; accuracy and AUROC are means over classifier seeds (t interval: training randomness, fixed images), "
      "the ensemble AUROC averages the seeds' probabilities (DeLong interval: sampling of the images).";
  s.blocks.push_back(Paragraph{legend});
  t.caption = Text("Prompt adherence (suite ") + code(r.suite_name) + "). " + legend;
  s.blocks.push_back(std::move(t));
  return s;
}

// The long-tail view (issue 16): per labelled (model, modality), the worst class of each metric,
// then every class's figures next to the class's real reference.
Section per_class_section(const Results& r) {
  Section s{"per-class", "Per-class breakdown (long tail)", {}};
  auto shown = [](const std::string& met) {  // population variants stay in results.json and metrics.csv
    return met.find("_population") == std::string::npos;
  };
  Table wt;
  wt.id = "per-class-worst";
  wt.group_header = "Modality";
  wt.header = {"Model", "Metric", "Worst class", "Value", "Classes with a value"};
  Table ct;
  ct.id = "per-class";
  ct.group_header = "Modality";
  std::vector<std::string> cols;  // metric columns of the class table: union over entries, canonical order
  for (const auto& [model, mods] : r.per_class)
    for (const auto& [mod, e] : mods)
      for (const auto& met : e.metric_names())
        if (shown(met) && std::find(cols.begin(), cols.end(), met) == cols.end()) cols.push_back(met);
  {
    PerClassEntry order;  // canonical order of the union
    for (const auto& met : cols) order.classes.push_back({"", -1, -1, -1, {{met, Estimate{}}}, {}});
    cols = order.metric_names();
  }
  ct.header = {"Model", "Class", "Synthetic"};
  for (const auto& met : cols) ct.header.push_back(metric_header(r.metric_info(met)));
  IntervalLevels levels;
  for (const auto& mod : r.modalities) {
    RowGroup wg{mod.label, {}}, cg{mod.label, {}};
    const PerClassEntry* ref_entry = nullptr;
    for (const auto& m : r.models) {
      auto a = r.per_class.find(m.name);
      if (a == r.per_class.end()) continue;
      auto e = a->second.find(mod.name);
      if (e == a->second.end()) continue;
      const PerClassEntry& x = e->second;
      if (!ref_entry) ref_entry = &x;
      for (const auto& met : x.metric_names()) {
        const MetricInfo info = r.metric_info(met);
        if (!shown(met) || info.better == Better::none) continue;
        int with_value = 0;
        for (const auto& c : x.classes)
          if (auto it = c.metrics.find(met); it != c.metrics.end() && it->second.has_value()) ++with_value;
        const PerClassRow* w = x.worst(met);
        const Estimate* we = w && w->metrics.count(met) ? &w->metrics.at(met) : nullptr;
        if (we) levels.add(*we);
        wg.rows.push_back({Row::Style::normal, m.label, m.kind,
                           {text_cell(metric_header(info)), text_cell(w ? w->name : std::string("- (no class has a value)")),
                            value_cell(we, info.digits),
                            text_cell(std::to_string(with_value) + " / " + std::to_string(x.classes.size()))}});
      }
      for (const auto& c : x.classes) {
        std::vector<Cell> cells = {text_cell(c.name), text_cell(c.n_synthetic >= 0 ? std::to_string(c.n_synthetic) : "-")};
        for (const auto& met : cols) {
          const auto it = c.metrics.find(met);
          if (it != c.metrics.end()) levels.add(it->second);
          cells.push_back(value_cell(it == c.metrics.end() ? nullptr : &it->second, r.metric_info(met).digits));
        }
        cg.rows.push_back({Row::Style::normal, m.label, m.kind, std::move(cells)});
      }
    }
    if (ref_entry)  // the real images of each class: FD floor and MS-SSIM, where computed
      for (const auto& c : ref_entry->classes) {
        if (c.reference.empty()) continue;
        std::vector<Cell> cells = {text_cell(c.name), text_cell(c.n_real >= 0 ? std::to_string(c.n_real) + " real" : "-")};
        for (const auto& met : cols) {
          const Estimate* e = nullptr;
          for (const std::string& name : {met, met + "_real_floor"})
            if (auto it = c.reference.find(name); !e && it != c.reference.end()) e = &it->second;
          if (e) levels.add(*e);
          cells.push_back(value_cell(e, r.metric_info(met).digits));
        }
        cg.rows.push_back({Row::Style::reference, "Real data", "", std::move(cells)});
      }
    if (!wg.rows.empty()) wt.groups.push_back(std::move(wg));
    if (!cg.rows.empty()) ct.groups.push_back(std::move(cg));
  }
  if (wt.groups.empty() && ct.groups.empty()) return s;
  mark_levels(wt);
  mark_levels(ct);
  const Text legend =
      Text("Where a modality's real images carry class labels, fidelity, diversity and memorization are computed per class "
           "with the per-modality method and intervals: a real image belongs to its label's class, a generated image to the "
           "class its prompt names (the prompt of real training images of one class), else to its own label, else to none. "
           "Worst class: among the classes whose value is a number, the one with the worst value in the metric's direction "
           "(highest FD, KID, MS-SSIM and fraction memorized; lowest precision, recall, density, coverage and Vendi); ties go to "
           "the first class; classes with too few images are null (\"n too small\") and never chosen. ") +
      estimates_phrase(levels) + ". Real data rows: the class's real images (their count, the real-vs-real FD/FID floor in the FD/FID column, "
      "their own MS-SSIM).";
  s.blocks.push_back(Paragraph{legend});
  wt.caption = Text("Worst class per metric (suite ") + code(r.suite_name) + "). " + legend;
  ct.caption = Text("Per-class figures (suite ") + code(r.suite_name) + ").";
  if (!wt.groups.empty()) s.blocks.push_back(std::move(wt));
  if (!ct.groups.empty()) s.blocks.push_back(std::move(ct));
  return s;
}

Section compute_section(const Results& r, const ReportResult& files, const ComputeComparison& cc) {
  Section s{"compute", "Compute: generalist vs specialists", {}};
  const auto qinfo = r.metric_info(cc.quality_metric);
  s.blocks.push_back(Paragraph{Text("Ratio = generalist / sum of specialists (images/s of the specialists: k / ") + sym(Sym::sum) + "(1/r" +
                               sub("i") + ")); " + qinfo.label + " of the specialists row: the specialist of that modality."});
  Table t;
  t.id = "compute";
  t.latex = true;
  t.align = "lrrrrr" + std::string(cc.modalities.size(), 'c');
  t.caption = "Compute: the generalist vs the sum of the specialists, with " + qinfo.label +
              " per modality (specialists: the specialist of that modality). Ratio = generalist / specialists.";
  t.header = {"Model", "Params", "Train FLOPs", "Wall time", "Steps", "Images/s"};
  for (const auto& m : cc.modalities) t.header.push_back(qinfo.label + " " + (r.modality(m) ? r.modality(m)->label : m));
  RowGroup g;
  for (const auto& row : cc.rows) {
    const bool ratio = row.role == "ratio";
    auto fmt = [&](const std::optional<double>& v, int kind) -> Text {
      if (!v) return "-";
      if (ratio) return ratio_text(*v);
      char b[32];
      switch (kind) {
        case 0: return plot::format_si(*v);
        case 1: return duration_text(*v);
        case 2: std::snprintf(b, sizeof b, "%.0f", *v); return std::string(b);
        default: std::snprintf(b, sizeof b, "%.1f", *v); return std::string(b);
      }
    };
    Row out{ratio ? Row::Style::ratio : Row::Style::normal, row.label, "", {}};
    for (const auto& c : {fmt(row.params, 0), fmt(row.training_flops, 0), fmt(row.wall_time_s, 1), fmt(row.steps, 2), fmt(row.images_per_s, 3)})
      out.cells.push_back(text_cell(c));
    for (const auto& q : row.quality)
      out.cells.push_back(text_cell(!q ? Text("-") : ratio ? ratio_text(*q) : Text(format_value(*q, qinfo.digits))));
    g.rows.push_back(std::move(out));
  }
  t.groups.push_back(std::move(g));
  s.blocks.push_back(std::move(t));
  add_figures(s, files, "compute");
  return s;
}

std::vector<Record> records(const Results& r) {
  std::vector<Record> out;
  const auto metrics = r.metric_names();
  for (const auto& model : r.models)
    for (const auto& mod : r.modalities)
      for (const auto& met : metrics)
        if (const Estimate* m = r.find(model.name, mod.name, met)) out.push_back({"results", model.name, model.kind, mod.name, met, "", kNaN, *m});
  for (const auto& mod : r.modalities)
    if (auto it = r.reference.find(mod.name); it != r.reference.end())
      for (const auto& [met, m] : it->second) out.push_back({"reference", "real", "reference", mod.name, met, "", kNaN, m});
  for (const auto& model : r.models)
    if (auto it = r.memorization.find(model.name); it != r.memorization.end())
      for (const auto& mod : r.modalities)
        if (auto e = it->second.find(mod.name); e != it->second.end())
          out.push_back({"memorization", model.name, model.kind, mod.name, "fraction_memorized", "", kNaN, e->second.fraction_memorized});
  for (const auto& model : r.models)
    if (auto it = r.memorization.find(model.name); it != r.memorization.end())
      for (const auto& mod : r.modalities)
        if (auto e = it->second.find(mod.name); e != it->second.end()) {
          if (e->second.authpct.has_value())
            out.push_back({"memorization", model.name, model.kind, mod.name, "authpct", "", kNaN, e->second.authpct});
          if (e->second.c_t.has_value())
            out.push_back({"memorization", model.name, model.kind, mod.name, "c_t", "", kNaN, e->second.c_t});
        }
  for (const auto& model : r.models)
    if (auto it = r.downstream.find(model.name); it != r.downstream.end())
      for (const auto& mod : r.modalities)
        if (auto e = it->second.find(mod.name); e != it->second.end())
          for (const auto& [arm, pts] : e->second.arms)
            for (const auto& p : pts) out.push_back({"downstream", model.name, model.kind, mod.name, e->second.metric, arm, p.fraction, p.metric});
  for (const auto& model : r.models)
    if (auto it = r.adherence.find(model.name); it != r.adherence.end())
      for (const auto& mod : r.modalities)
        if (auto e = it->second.find(mod.name); e != it->second.end())
          for (const auto& [name, m] : e->second.metrics())
            out.push_back({"adherence", model.name, model.kind, mod.name, name, "", kNaN, m});
  // per-class figures: the class in the arm column (metrics.csv has no column of its own for it)
  for (const auto& model : r.models)
    if (auto it = r.per_class.find(model.name); it != r.per_class.end())
      for (const auto& mod : r.modalities)
        if (auto e = it->second.find(mod.name); e != it->second.end())
          for (const auto& c : e->second.classes)
            for (const auto& met : e->second.metric_names())
              if (auto x = c.metrics.find(met); x != c.metrics.end())
                out.push_back({"per_class", model.name, model.kind, mod.name, met, c.name, kNaN, x->second});
  for (const auto& model : r.models)
    if (auto it = r.compute.find(model.name); it != r.compute.end()) {
      const auto& e = it->second;
      const std::pair<const char*, std::optional<double>> fields[] = {{"params", e.params}, {"training_flops", e.training_flops},
                                                                      {"wall_time_s", e.wall_time_s}, {"steps", e.steps},
                                                                      {"images_per_s", e.images_per_s}};
      for (const auto& [name, v] : fields) out.push_back({"compute", model.name, model.kind, "", name, "", kNaN, Estimate::point(v ? *v : kNaN), false});
    }
  return out;
}

}  // namespace

Document build_document(const Results& r, const ReportResult& files) {
  Document d;
  d.title = "MedSynBench report: " + r.suite_name;
  d.suite_name = r.suite_name;
  d.suite_hash = r.suite_hash;
  d.meta = {{"Suite hash", code(r.suite_hash)},
            {"Tool", "medsynbench " + pv(r, "tool_version") + " (commit " + pv(r, "git_commit") + ", " + pv(r, "build_type") + ")"},
            {"Device / host", pv(r, "device") + " / " + pv(r, "host")},
            {"Run", pv(r, "started") + " to " + pv(r, "finished")}};
  // The fidelity feature space: its id and, for an extractor with weights, the weights' hash
  // (and how the run trained it, for builtin:contrastive:suite).
  if (r.provenance.is_object() && r.provenance.contains("extractor") && r.provenance["extractor"].is_object()) {
    const auto& ex = r.provenance["extractor"];
    Text v = code(ex.value("id", std::string()));
    if (ex.contains("weights_sha256") && ex["weights_sha256"].is_string())
      v = v + ", weights sha256 " + code(ex["weights_sha256"].get<std::string>());
    if (ex.contains("trained_by_suite") && ex["trained_by_suite"].is_object()) {
      const auto& t = ex["trained_by_suite"];
      auto num = [&](const char* k) { return t.contains(k) ? t[k].dump() : std::string("?"); };
      v = v + ("; trained by this suite on " + num("images") + " real training images, " + num("epochs") + " epochs (") +
          code(t.value("unit", std::string())) + ")";
    }
    if (!ex.value("id", std::string()).empty()) d.meta.push_back({"Feature space", v});
  }
  d.sections.push_back(models_section(r));
  if (auto q = quality_section(r, files, d); !q.blocks.empty()) d.sections.push_back(std::move(q));
  if (!r.intensity.empty()) d.sections.push_back(intensity_section(r, files));
  if (!r.samples.empty()) {
    Section s{"samples", "Samples", {}};
    add_figures(s, files, "samples");
    d.sections.push_back(std::move(s));
  }
  if (!r.memorization.empty()) d.sections.push_back(memorization_section(r, files));
  if (!r.downstream.empty()) d.sections.push_back(downstream_section(r, files));
  if (!r.adherence.empty()) d.sections.push_back(adherence_section(r));
  if (!r.per_class.empty())
    if (auto pc = per_class_section(r); !pc.blocks.empty()) d.sections.push_back(std::move(pc));
  const auto cc = compute_comparison(r);
  if (!cc.empty()) d.sections.push_back(compute_section(r, files, cc));
  if (!files.reader_study.is_null()) d.sections.push_back(reader_study_section(files.reader_study, files));
  std::vector<std::string> notes = r.notes;
  notes.insert(notes.end(), cc.notes.begin(), cc.notes.end());
  notes.insert(notes.end(), files.notes.begin(), files.notes.end());
  if (!notes.empty()) {
    List l{{}, "notes"};
    for (const auto& n : notes) l.items.push_back(n);
    d.sections.push_back({"notes", "Notes", {std::move(l)}});
  }
  d.records = records(r);
  if (!files.reader_study.is_null()) {
    auto more = reader_study_records(files.reader_study);
    d.records.insert(d.records.end(), more.begin(), more.end());
  }
  return d;
}

}  // namespace medsyn::reports
