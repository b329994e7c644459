// The "Reader study" section of the report (reader_study.h): loads reader_study.json, draws the
// accuracy figure, builds the tables and the metrics.csv records.
#include "medsyn/reports/reader_study.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "medsyn/core/error.h"
#include "medsyn/core/estimate.h"
#include "medsyn/reports/results.h"
#include "plot.h"

namespace medsyn::reports {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;
using plot::Figure;

namespace {

// The groups in display order: overall first, then each modality.
std::vector<std::pair<std::string, const ojson*>> groups_of(const ojson& a) {
  std::vector<std::pair<std::string, const ojson*>> g;
  g.emplace_back("overall", &a["overall"]);
  for (const auto& [m, v] : a["by_modality"].items()) g.emplace_back(m, &v);
  return g;
}

// The estimate at `path` (keys) below `j`, or nullopt when a key is absent.
std::optional<Estimate> est(const ojson& j, const std::vector<std::string>& path) {
  const ojson* p = &j;
  for (const auto& k : path) {
    if (!p->is_object() || !p->contains(k) || (*p)[k].is_null()) return std::nullopt;
    p = &(*p)[k];
  }
  return estimate_from_json(nlohmann::json::parse(p->dump()));
}

std::string fmt_p(const ojson& v) {
  if (!v.is_number()) return "-";
  char buf[32];
  const double p = v.get<double>();
  std::snprintf(buf, sizeof buf, p < 1e-4 ? "%.2g" : "%.4f", p);
  return buf;
}
std::string fmt_num(const ojson& v, int digits) { return v.is_number() ? format_value(v.get<double>(), digits) : "-"; }

Cell est_cell(const ojson& j, const std::vector<std::string>& path, int digits = 3) {
  const auto e = est(j, path);
  return value_cell(e ? &*e : nullptr, digits);
}

}  // namespace

ojson load_reader_study(const fs::path& file) {
  const ojson a = read_ordered_json_file(file);
  const std::string f = file.string();
  if (!a.is_object() || a.value("format", "") != "medsynbench-reader-study-results/1")
    throw InputError(at_file(f, "not a reader study analysis (format must be medsynbench-reader-study-results/1; made by `reader-study analyze`)"));
  for (const char* k : {"study", "overall", "by_modality", "readers", "level"})
    if (!a.contains(k)) throw InputError(at_file(f, std::string("$.") + k + ": missing"));
  if (!a["overall"].is_object() || !a["by_modality"].is_object() || !a["readers"].is_array())
    throw InputError(at_file(f, "$.overall, $.by_modality and $.readers must be objects / an array"));
  // Every estimate must read as one (estimate_from_json names the path).
  for (const auto& [name, g] : groups_of(a)) {
    const std::string base = name == "overall" ? "$.overall" : "$.by_modality." + name;
    for (const char* q : {"real_or_synthetic", "realism", "prompt_match"})
      if (g->contains(q) && !(*g)[q].is_object()) throw InputError(at_file(f, base + "." + q + ": must be an object"));
    try {
      (void)est(*g, {"real_or_synthetic", "accuracy"});
      (void)est(*g, {"realism", "difference"});
      (void)est(*g, {"prompt_match", "synthetic"});
    } catch (const InputError& e) {
      throw InputError(at_file(f, base + ": " + e.what()));
    }
  }
  return a;
}

std::optional<Image> draw_reader_study(const ojson& a) {
  struct Bar {
    std::string label;
    Estimate e;
  };
  std::vector<Bar> bars;
  for (const auto& [name, g] : groups_of(a))
    if (auto e = est(*g, {"real_or_synthetic", "accuracy"}); e && e->has_value()) bars.push_back({name, *e});
  if (bars.empty()) return std::nullopt;
  IntervalLevels levels;
  for (const auto& b : bars) levels.add(b.e);
  const std::string ci = levels.levels.empty() ? std::string("CI") : levels.label();
  std::vector<plot::LegendEntry> legend = {{"accuracy", plot::palette(0)},
                                           {"chance (0.5)", plot::kBlack, plot::LegendEntry::dashed},
                                           {ci, plot::kAxis, plot::LegendEntry::errorbar}};
  const int right = plot::legend_width(legend) + 30;
  const int width = std::max(520, 150 * static_cast<int>(bars.size()) + 100) + right;
  Figure fig(width, 440);
  fig.set_margins(85, 70, right, 80);
  fig.title("Readers telling synthetic from real", ci + " error bars; 0.5 = chance (images indistinguishable)");
  plot::Axis x;
  x.lo = 0, x.hi = static_cast<double>(bars.size());
  x.label = "Modality";
  for (std::size_t i = 0; i < bars.size(); ++i) {
    x.ticks.push_back(i + 0.5);
    x.tick_labels.push_back(bars[i].label);
  }
  plot::Axis y = plot::linear_axis(0, 1, "Accuracy");
  fig.axes(x, y, false);
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const double x0 = i + 0.2, x1 = i + 0.8;
    const auto& e = bars[i].e;
    fig.bar(x0, x1, 0, e.value, i == 0 ? plot::palette(1) : plot::palette(0));
    if (e.has_ci()) fig.error_bar((x0 + x1) / 2, e.ci_low, e.ci_high, plot::kAxis, 6, 2);
    const double top = e.has_ci() ? std::max(e.ci_high, e.value) : e.value;
    fig.text_px(format_value(e.value, 3), static_cast<int>(std::lround(fig.px((x0 + x1) / 2))),
                static_cast<int>(std::lround(fig.py(top))) - 8, 0.42, plot::kText, 1);
  }
  const int yy = static_cast<int>(std::lround(fig.py(0.5)));
  fig.dashed_px({static_cast<int>(fig.px(0)), yy}, {static_cast<int>(fig.px(x.hi)), yy}, plot::kBlack, 2);
  fig.legend(legend, 2);
  return fig.image();
}

Section reader_study_section(const ojson& a, const ReportResult& files) {
  Section s{"reader_study", "Reader study", {}};
  const bool rs = a["overall"].contains("real_or_synthetic"), re = a["overall"].contains("realism"),
             pm = a["overall"].contains("prompt_match");
  long long answers = 0;
  std::size_t partial = 0;
  for (const auto& r : a["readers"]) {
    answers += r.value("answered", 0LL);
    partial += r.value("partial", false) ? 1 : 0;
  }
  IntervalLevels levels;
  for (const auto& [name, g] : groups_of(a))
    for (const std::vector<std::string>& path : std::vector<std::vector<std::string>>{{"real_or_synthetic", "accuracy"}, {"realism", "difference"}, {"prompt_match", "synthetic"}})
      if (auto e = est(*g, path)) levels.add(*e);
  s.blocks.push_back(Paragraph{Text(std::to_string(a["readers"].size()) + " reader(s) rated " +
                                    std::to_string(a["overall"].value("n_images", 0LL)) + " blinded images (" +
                                    std::to_string(a["overall"].value("n_real", 0LL)) + " real, " +
                                    std::to_string(a["overall"].value("n_synthetic", 0LL)) + " synthetic) in study ") +
                               code(a["study"].get<std::string>().substr(0, 19)) +
                               Text("; " + std::to_string(answers) + " answers" +
                                    (partial ? ", " + std::to_string(partial) + " reader(s) partial" : std::string()) + ". " +
                                    (levels.levels.empty() ? std::string() : "Intervals: " + levels.label(true) + " (" + levels.method_list() + "). ") +
                                    "Accuracy near 0.5 means the readers could not tell synthetic from real; "
                                    "sensitivity = synthetic judged synthetic, specificity = real judged real.")});
  Table t;
  t.id = "reader_study";
  t.header = {"Modality"};
  if (rs) {
    for (const char* h : {"Accuracy", "p (vs 0.5)", "Sensitivity", "Specificity", "Synthetic judged real"}) t.header.push_back(h);
  }
  if (re) for (const char* h : {"Realism median (real / syn)", "Realism syn - real"}) t.header.push_back(h);
  if (pm) t.header.push_back("Prompt match (syn)");
  t.header.push_back("Agreement");
  RowGroup grp;
  for (const auto& [name, gp] : groups_of(a)) {
    const ojson& g = *gp;
    Row row;
    row.label = name;
    if (rs) {
      row.cells.push_back(est_cell(g, {"real_or_synthetic", "accuracy"}));
      row.cells.push_back(text_cell(fmt_p(g["real_or_synthetic"]["binomial_p"])));
      row.cells.push_back(est_cell(g, {"real_or_synthetic", "sensitivity"}));
      row.cells.push_back(est_cell(g, {"real_or_synthetic", "specificity"}));
      row.cells.push_back(est_cell(g, {"real_or_synthetic", "synthetic_judged_real"}));
    }
    if (re) {
      row.cells.push_back(text_cell(fmt_num(g["realism"]["median_real"], 1) + " / " + fmt_num(g["realism"]["median_synthetic"], 1)));
      row.cells.push_back(est_cell(g, {"realism", "difference"}, 2));
    }
    if (pm) row.cells.push_back(est_cell(g, {"prompt_match", "synthetic"}));
    std::string agr;
    const ojson& ag = g.value("agreement", ojson::object());
    for (const auto& [q, v] : ag.items()) {
      const auto k = v.contains("kappa") ? est(v, {"kappa"}) : est(v, {"alpha"});
      if (!k || !k->has_value()) continue;
      const std::string what = v.contains("alpha") ? "alpha" : (v.value("method", "") == "cohen" ? "Cohen kappa" : "Fleiss kappa");
      if (!agr.empty()) agr += "; ";
      agr += q + ": " + what + " " + format_value(k->value, 2) +
             (k->has_ci() ? " [" + format_value(k->ci_low, 2) + ", " + format_value(k->ci_high, 2) + "]" : "");
    }
    row.cells.push_back(text_cell(agr.empty() ? "-" : agr));
    grp.rows.push_back(std::move(row));
  }
  t.groups.push_back(std::move(grp));
  s.blocks.push_back(std::move(t));
  for (const auto& f : files.figures)
    if (f.section == "reader_study") s.blocks.push_back(FigureBlock{f});
  // Per reader (overall).
  Table pr;
  pr.id = "reader_study_readers";
  pr.header = {"Reader", "Answered"};
  if (rs) for (const char* h : {"Accuracy", "Sensitivity", "Specificity"}) pr.header.push_back(h);
  if (re) pr.header.push_back("Mean realism (real / syn)");
  if (pm) pr.header.push_back("Prompt match (syn)");
  pr.header.push_back("Median s / image");
  RowGroup rg;
  for (const auto& r : a["overall"]["per_reader"]) {
    Row row;
    row.label = r.value("reader", "?");
    row.cells.push_back(text_cell(std::to_string(r.value("answered", 0LL))));
    if (rs) for (const char* k : {"accuracy", "sensitivity", "specificity"}) row.cells.push_back(est_cell(r, {k}));
    if (re) row.cells.push_back(text_cell(fmt_num(r["mean_realism_real"], 2) + " / " + fmt_num(r["mean_realism_synthetic"], 2)));
    if (pm) row.cells.push_back(est_cell(r, {"prompt_match_synthetic"}));
    row.cells.push_back(text_cell(fmt_num(r["median_seconds"], 1)));
    rg.rows.push_back(std::move(row));
  }
  pr.groups.push_back(std::move(rg));
  s.blocks.push_back(Heading{"Per reader"});
  s.blocks.push_back(std::move(pr));
  return s;
}

std::vector<Record> reader_study_records(const ojson& a) {
  std::vector<Record> out;
  for (const auto& [name, g] : groups_of(a)) {
    const std::pair<const char*, std::vector<std::string>> items[] = {
        {"reader_accuracy", {"real_or_synthetic", "accuracy"}},
        {"reader_sensitivity", {"real_or_synthetic", "sensitivity"}},
        {"reader_specificity", {"real_or_synthetic", "specificity"}},
        {"synthetic_judged_real", {"real_or_synthetic", "synthetic_judged_real"}},
        {"realism_difference", {"realism", "difference"}},
        {"prompt_match_synthetic", {"prompt_match", "synthetic"}}};
    for (const auto& [metric, path] : items)
      if (auto e = est(*g, path)) out.push_back({"reader_study", "readers", "", name, metric, "", Estimate::kNaN, *e});
  }
  return out;
}

}  // namespace medsyn::reports
