#include "medsyn/reports/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/image_io.h"
#include "medsyn/reports/figures.h"
#include "plot.h"

namespace medsyn::reports {

namespace fs = std::filesystem;

std::string format_value(double v, int digits) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  std::string s = buf;
  if (s == "-0" || s.rfind("-0.", 0) == 0) {  // "-0.000" -> "0.000"
    bool zero = true;
    for (char ch : s.substr(1)) zero = zero && (ch == '0' || ch == '.');
    if (zero) s = s.substr(1);
  }
  return s;
}

std::string safe_name(const std::string& s) {
  std::string out;
  for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-') ? c : '_';
  return out.empty() ? "_" : out;
}

std::vector<std::string> table_metrics(const Results& r) {
  std::vector<std::string> out;
  const auto present = r.metric_names();
  for (const char* m : {"fid", "kid", "precision", "recall", "ms_ssim"})
    if (std::find(present.begin(), present.end(), m) != present.end()) out.push_back(m);
  return out;
}

std::vector<const ModelInfo*> models_for(const Results& r, const std::string& modality) {
  std::vector<const ModelInfo*> out;
  for (const auto* g : r.generalists())
    if (g->covers(modality)) out.push_back(g);
  for (const auto* s : r.specialists())
    if (s->covers(modality)) out.push_back(s);
  return out;
}

std::set<std::string> best_models(const Results& r, const std::string& modality, const std::string& metric) {
  std::set<std::string> best;
  const Better dir = r.metric_info(metric).better;
  if (dir == Better::none) return best;
  double best_v = kNaN;
  for (const auto* m : models_for(r, modality)) {
    const Metric* v = r.find(m->name, modality, metric);
    if (!v || !v->has_value()) continue;
    const bool better = !std::isfinite(best_v) || (dir == Better::lower ? v->value < best_v : v->value > best_v);
    if (better) best_v = v->value, best.clear();
    if (v->value == best_v) best.insert(m->name);
  }
  return best;
}

// ---------------------------------------------------------------- compute comparison

ComputeComparison compute_comparison(const Results& r) {
  ComputeComparison c;
  if (r.compute.empty()) return c;
  const auto names = r.metric_names();
  c.quality_metric = std::find(names.begin(), names.end(), "fid") != names.end() ? "fid" : (names.empty() ? "" : names[0]);
  for (const auto& mod : r.modalities)
    if (!models_for(r, mod.name).empty()) c.modalities.push_back(mod.name);
  auto quality = [&](const std::string& model, const std::string& mod) -> std::optional<double> {
    const Metric* m = c.quality_metric.empty() ? nullptr : r.find(model, mod, c.quality_metric);
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

namespace {

// ---------------------------------------------------------------- small formatting helpers

std::string num_text(double v) { return std::isfinite(v) ? nlohmann::json(v).dump() : std::string(); }

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string ci_text(const Metric& m, int digits) {
  if (!m.has_ci()) return "";
  return "[" + format_value(m.ci_low, digits) + ", " + format_value(m.ci_high, digits) + "]";
}

std::string tex_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '_': out += "\\_"; break;
      case '%': out += "\\%"; break;
      case '&': out += "\\&"; break;
      case '#': out += "\\#"; break;
      case '$': out += "\\$"; break;
      case '{': out += "\\{"; break;
      case '}': out += "\\}"; break;
      case '~': out += "\\textasciitilde{}"; break;
      case '^': out += "\\textasciicircum{}"; break;
      case '\\': out += "\\textbackslash{}"; break;
      default: out += c;
    }
  }
  return out;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string md_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|' || c == '*' || c == '_' || c == '`' || c == '[' || c == ']' || c == '<' || c == '>') out += '\\';
    out += c;
  }
  return out;
}

std::string arrow(Better b, const char* down, const char* up) {
  return b == Better::lower ? down : b == Better::higher ? up : "";
}

std::string duration_text(double s) {
  char buf[64];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%.2f h", s / 3600);
  else if (s >= 60) std::snprintf(buf, sizeof buf, "%.1f min", s / 60);
  else std::snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

std::string base64(const std::vector<std::uint8_t>& b) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((b.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < b.size(); i += 3) {
    const unsigned v = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
    out += t[(v >> 18) & 63], out += t[(v >> 12) & 63], out += t[(v >> 6) & 63], out += t[v & 63];
  }
  if (i + 1 == b.size()) {
    const unsigned v = b[i] << 16;
    out += t[(v >> 18) & 63], out += t[(v >> 12) & 63], out += "==";
  } else if (i + 2 == b.size()) {
    const unsigned v = (b[i] << 16) | (b[i + 1] << 8);
    out += t[(v >> 18) & 63], out += t[(v >> 12) & 63], out += t[(v >> 6) & 63], out += '=';
  }
  return out;
}

// One quality table (per modality): rows of models plus an optional real-data reference row.
struct Cell {
  std::string value, ci;
  bool bold = false;
};
struct QualityRow {
  std::string label, kind;  // kind: "generalist" | "specialist" | "reference"
  std::vector<Cell> cells;
};
struct QualityTable {
  const ModalityInfo* modality;
  std::vector<QualityRow> rows;
};

const Metric* reference_for(const Results& r, const std::string& modality, const std::string& metric) {
  auto it = r.reference.find(modality);
  if (it == r.reference.end()) return nullptr;
  if (auto m = it->second.find(metric); m != it->second.end()) return &m->second;
  if (auto m = it->second.find(metric + "_real_floor"); m != it->second.end()) return &m->second;
  return nullptr;
}

std::vector<QualityTable> quality_tables(const Results& r, const std::vector<std::string>& metrics) {
  std::vector<QualityTable> out;
  for (const auto& mod : r.modalities) {
    QualityTable t{&mod, {}};
    std::vector<std::set<std::string>> best;
    for (const auto& m : metrics) best.push_back(best_models(r, mod.name, m));
    for (const auto* model : models_for(r, mod.name)) {
      QualityRow row{model->label, model->kind, {}};
      bool any = false;
      for (std::size_t i = 0; i < metrics.size(); ++i) {
        const Metric* v = r.find(model->name, mod.name, metrics[i]);
        const int d = r.metric_info(metrics[i]).digits;
        if (v && v->has_value()) any = true;
        row.cells.push_back(v ? Cell{format_value(v->value, d), ci_text(*v, d), best[i].count(model->name) > 0} : Cell{"-", "", false});
      }
      if (any) t.rows.push_back(row);
    }
    QualityRow ref{"real data (reference)", "reference", {}};
    bool any_ref = false;
    for (const auto& m : metrics) {
      const Metric* v = reference_for(r, mod.name, m);
      const int d = r.metric_info(m).digits;
      if (v && v->has_value()) any_ref = true;
      ref.cells.push_back(v ? Cell{format_value(v->value, d), ci_text(*v, d), false} : Cell{"-", "", false});
    }
    if (any_ref && !t.rows.empty()) t.rows.push_back(ref);
    if (!t.rows.empty()) out.push_back(std::move(t));
  }
  return out;
}

std::string ratio_text(double v, const char* times) {
  char buf[64];
  std::snprintf(buf, sizeof buf, v >= 100 || v < 0.01 ? "%.3g" : "%.2f", v);
  return std::string(buf) + times;
}

// Compute table cells (text) for one row; `times` is the multiplication sign of the format.
std::vector<std::string> compute_cells(const ComputeComparison& c, const ComputeRow& row, const Results& r, const char* times) {
  std::vector<std::string> cells;
  auto fmt = [&](const std::optional<double>& v, int kind) -> std::string {
    if (!v) return "-";
    if (row.role == "ratio") return ratio_text(*v, times);
    switch (kind) {
      case 0: return plot::format_si(*v);
      case 1: return duration_text(*v);
      case 2: { char b[32]; std::snprintf(b, sizeof b, "%.0f", *v); return b; }
      default: { char b[32]; std::snprintf(b, sizeof b, "%.1f", *v); return b; }
    }
  };
  cells.push_back(fmt(row.params, 0));
  cells.push_back(fmt(row.training_flops, 0));
  cells.push_back(fmt(row.wall_time_s, 1));
  cells.push_back(fmt(row.steps, 2));
  cells.push_back(fmt(row.images_per_s, 3));
  const int d = r.metric_info(c.quality_metric).digits;
  for (const auto& q : row.quality) cells.push_back(!q ? "-" : row.role == "ratio" ? ratio_text(*q, times) : format_value(*q, d));
  return cells;
}

}  // namespace


// ---------------------------------------------------------------- CSV

std::string metrics_csv(const Results& r) {
  std::ostringstream os;
  os << "section,model,kind,modality,metric,arm,fraction,value,ci_low,ci_high,n\n";
  auto row = [&](const std::string& section, const std::string& model, const std::string& kind, const std::string& mod,
                 const std::string& metric, const std::string& arm, double fraction, const Metric& m, bool with_n) {
    os << csv_field(section) << ',' << csv_field(model) << ',' << csv_field(kind) << ',' << csv_field(mod) << ','
       << csv_field(metric) << ',' << csv_field(arm) << ',' << num_text(fraction) << ',' << num_text(m.value) << ','
       << num_text(m.ci_low) << ',' << num_text(m.ci_high) << ',' << (with_n ? std::to_string(m.n) : "") << '\n';
  };
  const auto metrics = r.metric_names();
  for (const auto& model : r.models)
    for (const auto& mod : r.modalities)
      for (const auto& met : metrics)
        if (const Metric* m = r.find(model.name, mod.name, met)) row("results", model.name, model.kind, mod.name, met, "", kNaN, *m, true);
  for (const auto& mod : r.modalities)
    if (auto it = r.reference.find(mod.name); it != r.reference.end())
      for (const auto& [met, m] : it->second) row("reference", "real", "reference", mod.name, met, "", kNaN, m, true);
  for (const auto& model : r.models)
    if (auto it = r.memorization.find(model.name); it != r.memorization.end())
      for (const auto& mod : r.modalities)
        if (auto e = it->second.find(mod.name); e != it->second.end())
          row("memorization", model.name, model.kind, mod.name, "fraction_memorized", "", kNaN, e->second.fraction_memorized, true);
  for (const auto& model : r.models)
    if (auto it = r.downstream.find(model.name); it != r.downstream.end())
      for (const auto& mod : r.modalities)
        if (auto e = it->second.find(mod.name); e != it->second.end())
          for (const auto& [arm, pts] : e->second.arms)
            for (const auto& p : pts) row("downstream", model.name, model.kind, mod.name, e->second.metric, arm, p.fraction, p.metric, true);
  for (const auto& model : r.models)
    if (auto it = r.compute.find(model.name); it != r.compute.end()) {
      const auto& e = it->second;
      const std::pair<const char*, std::optional<double>> fields[] = {{"params", e.params}, {"training_flops", e.training_flops},
                                                                      {"wall_time_s", e.wall_time_s}, {"steps", e.steps},
                                                                      {"images_per_s", e.images_per_s}};
      for (const auto& [name, v] : fields) {
        Metric m;
        m.value = v ? *v : kNaN;
        row("compute", model.name, model.kind, "", name, "", kNaN, m, false);
      }
    }
  return os.str();
}

// ---------------------------------------------------------------- LaTeX

std::string latex_tables(const Results& r) {
  std::ostringstream os;
  const auto metrics = table_metrics(r);
  os << "% Generated by medsynbench report from the results of suite '" << r.suite_name << "' (" << r.suite_hash << ").\n"
     << "% Requires \\usepackage{booktabs}. Best value per modality and metric in bold";
  for (std::size_t i = 0; i < metrics.size(); ++i) {
    const auto info = r.metric_info(metrics[i]);
    os << (i ? "; " : " (") << info.label << ": " << to_string(info.better) << " is better";
  }
  os << (metrics.empty() ? "" : ")") << ".\n";
  const auto tables = quality_tables(r, metrics);
  if (!tables.empty()) {
    os << "\\begin{table}[t]\n\\centering\n\\small\n"
       << "\\caption{Quality per modality, generalist vs specialists (suite \\texttt{" << tex_escape(r.suite_name)
       << "}). Point estimates with 95\\% bootstrap confidence intervals; best per modality in bold.}\n"
       << "\\label{tab:quality}\n\\begin{tabular}{ll" << std::string(metrics.size(), 'c') << "}\n\\toprule\n"
       << "Modality & Model";
    for (const auto& m : metrics) {
      const auto info = r.metric_info(m);
      os << " & " << tex_escape(info.label) << arrow(info.better, " $\\downarrow$", " $\\uparrow$");
    }
    os << " \\\\\n";
    for (std::size_t t = 0; t < tables.size(); ++t) {
      os << "\\midrule\n";
      for (std::size_t i = 0; i < tables[t].rows.size(); ++i) {
        const auto& row = tables[t].rows[i];
        os << (i == 0 ? tex_escape(tables[t].modality->label) : std::string()) << " & "
           << (row.kind == "reference" ? "\\textit{" + tex_escape(row.label) + "}"
                                       : tex_escape(row.label) + (row.kind == "generalist" ? " (G)" : " (S)"));
        for (const auto& c : row.cells) {
          os << " & " << (c.bold ? "\\textbf{" + c.value + "}" : c.value);
          if (!c.ci.empty()) os << " {\\scriptsize " << c.ci << "}";
        }
        os << " \\\\\n";
      }
    }
    os << "\\bottomrule\n\\end{tabular}\n\\end{table}\n";
  }
  const auto cc = compute_comparison(r);
  if (!cc.empty()) {
    const auto qinfo = r.metric_info(cc.quality_metric);
    os << "\n\\begin{table}[t]\n\\centering\n\\small\n"
       << "\\caption{Compute: the generalist vs the sum of the specialists, with " << tex_escape(qinfo.label)
       << " per modality (specialists: the specialist of that modality). Ratio = generalist / specialists.}\n"
       << "\\label{tab:compute}\n\\begin{tabular}{lrrrrr" << std::string(cc.modalities.size(), 'c') << "}\n\\toprule\n"
       << "Model & Params & Train FLOPs & Wall time & Steps & Images/s";
    for (const auto& m : cc.modalities) {
      const ModalityInfo* mi = r.modality(m);
      os << " & " << tex_escape(qinfo.label) << " " << tex_escape(mi ? mi->label : m);
    }
    os << " \\\\\n\\midrule\n";
    for (const auto& row : cc.rows) {
      if (row.role == "ratio") os << "\\midrule\n";
      os << (row.role == "ratio" ? "\\textit{" + tex_escape(row.label) + "}" : tex_escape(row.label));
      for (const auto& cell : compute_cells(cc, row, r, "$\\times$")) os << " & " << cell;
      os << " \\\\\n";
    }
    os << "\\bottomrule\n\\end{tabular}\n\\end{table}\n";
  }
  return os.str();
}

// ---------------------------------------------------------------- Markdown

std::string markdown_report(const Results& r, const ReportResult& files) {
  std::ostringstream os;
  const auto& p = r.provenance;
  auto pv = [&](const char* k) { return p.contains(k) && p[k].is_string() ? p[k].get<std::string>() : std::string("-"); };
  os << "# MedSynBench report: " << md_escape(r.suite_name) << "\n\n"
     << "- Suite hash: `" << r.suite_hash << "`\n"
     << "- Tool: medsynbench " << pv("tool_version") << " (commit " << pv("git_commit") << ", " << pv("build_type") << ")\n"
     << "- Device: " << pv("device") << "; host: " << pv("host") << "\n"
     << "- Run: " << pv("started") << " to " << pv("finished") << "\n\n";

  os << "## Models\n\n| Model | Kind | Modalities |\n|---|---|---|\n";
  for (const auto& m : r.models) {
    std::string mods;
    for (const auto& x : m.modalities) mods += (mods.empty() ? "" : ", ") + md_escape(x);
    os << "| " << md_escape(m.label) << " | " << m.kind << " | " << mods << " |\n";
  }

  const auto metrics = table_metrics(r);
  const auto tables = quality_tables(r, metrics);
  if (!tables.empty()) {
    os << "\n## Quality per modality\n\nPoint estimates with 95% CIs in brackets; best per modality in bold (";
    for (std::size_t i = 0; i < metrics.size(); ++i) {
      const auto info = r.metric_info(metrics[i]);
      os << (i ? ", " : "") << info.label << " " << arrow(info.better, "↓", "↑");
    }
    os << ").\n";
    for (const auto& t : tables) {
      os << "\n### " << md_escape(t.modality->label) << "\n\n| Model |";
      for (const auto& m : metrics) os << " " << r.metric_info(m).label << " " << arrow(r.metric_info(m).better, "↓", "↑") << " |";
      os << "\n|---|" << [&] { std::string s; for (std::size_t i = 0; i < metrics.size(); ++i) s += "---|"; return s; }() << "\n";
      for (const auto& row : t.rows) {
        os << "| " << (row.kind == "reference" ? "*" + md_escape(row.label) + "*" : md_escape(row.label) + " (" + row.kind + ")") << " |";
        for (const auto& c : row.cells) os << " " << (c.bold ? "**" + c.value + "**" : c.value) << (c.ci.empty() ? "" : " " + c.ci) << " |";
        os << "\n";
      }
    }
  }
  auto figs = [&](const std::string& section) {
    for (const auto& f : files.figures)
      if (f.section == section) os << "\n![" << md_escape(f.title) << "](" << f.file << ")\n" << (f.caption.empty() ? "" : "\n" + f.caption + "\n");
  };
  figs("quality");
  if (!r.samples.empty()) {
    os << "\n## Samples\n";
    figs("samples");
  }
  if (!r.memorization.empty()) {
    os << "\n## Memorization\n\n| Model | Modality | Fraction memorized | 95% CI | Exact copies | Synthetic | tau |\n|---|---|---|---|---|---|---|\n";
    for (const auto& m : r.models)
      if (auto it = r.memorization.find(m.name); it != r.memorization.end())
        for (const auto& mod : r.modalities)
          if (auto e = it->second.find(mod.name); e != it->second.end()) {
            const auto& x = e->second;
            os << "| " << md_escape(m.label) << " | " << md_escape(mod.label) << " | " << format_value(x.fraction_memorized.value, 4)
               << " | " << (x.fraction_memorized.has_ci() ? ci_text(x.fraction_memorized, 4) : "-") << " | "
               << (x.exact_copies >= 0 ? std::to_string(x.exact_copies) : "-") << " | "
               << (x.n_synthetic >= 0 ? std::to_string(x.n_synthetic) : "-") << " | " << format_value(x.tau, 4) << " |\n";
          }
    figs("memorization");
  }
  if (!r.downstream.empty()) {
    os << "\n## Downstream (data-limited classifiers)\n";
    for (const auto& m : r.models)
      if (auto it = r.downstream.find(m.name); it != r.downstream.end())
        for (const auto& mod : r.modalities)
          if (auto e = it->second.find(mod.name); e != it->second.end()) {
            const auto& d = e->second;
            const auto info = r.metric_info(d.metric);
            std::vector<double> fr;
            for (const auto& [arm, pts] : d.arms)
              for (const auto& pt : pts)
                if (std::find(fr.begin(), fr.end(), pt.fraction) == fr.end()) fr.push_back(pt.fraction);
            std::sort(fr.begin(), fr.end());
            os << "\n### " << md_escape(m.label) << ", " << md_escape(mod.label) << " (" << info.label << ", mean over seeds, 95% CI)\n\n| Arm |";
            for (double f : fr) os << " f = " << num_text(f) << " |";
            os << "\n|---|";
            for (std::size_t i = 0; i < fr.size(); ++i) os << "---|";
            os << "\n";
            for (const auto& [arm, pts] : d.arms) {
              os << "| " << md_escape(arm) << " |";
              for (double f : fr) {
                auto pt = std::find_if(pts.begin(), pts.end(), [&](const DownstreamPoint& q) { return q.fraction == f; });
                os << " " << (pt == pts.end() ? "-" : format_value(pt->metric.value, info.digits) +
                                                          (pt->metric.has_ci() ? " " + ci_text(pt->metric, info.digits) : ""))
                   << " |";
              }
              os << "\n";
            }
            if (!d.comparisons.empty()) {
              os << "\n| Fraction | Comparison | Difference | 95% CI | adjusted p | Verdict |\n|---|---|---|---|---|---|\n";
              for (const auto& c : d.comparisons)
                os << "| " << num_text(c.fraction) << " | " << md_escape(c.a) << " vs " << md_escape(c.b) << " | "
                   << format_value(c.mean_diff, 4) << " | [" << format_value(c.ci_low, 4) << ", " << format_value(c.ci_high, 4)
                   << "] | " << format_value(c.p_adjusted, 4) << " | " << md_escape(c.verdict) << " |\n";
            }
          }
    figs("downstream");
  }
  const auto cc = compute_comparison(r);
  if (!cc.empty()) {
    const auto qinfo = r.metric_info(cc.quality_metric);
    os << "\n## Compute: generalist vs specialists\n\nRatio = generalist / sum of specialists (images/s of the "
          "specialists: k / sum(1/r_i)); " << qinfo.label << " of the specialists row: the specialist of that modality.\n\n"
       << "| Model | Params | Train FLOPs | Wall time | Steps | Images/s |";
    for (const auto& m : cc.modalities) os << " " << qinfo.label << " " << md_escape(r.modality(m) ? r.modality(m)->label : m) << " |";
    os << "\n|---|---|---|---|---|---|";
    for (std::size_t i = 0; i < cc.modalities.size(); ++i) os << "---|";
    os << "\n";
    for (const auto& row : cc.rows) {
      os << "| " << (row.role == "ratio" ? "*" + md_escape(row.label) + "*" : md_escape(row.label)) << " |";
      for (const auto& cell : compute_cells(cc, row, r, "×")) os << " " << cell << " |";
      os << "\n";
    }
    figs("compute");
  }
  std::vector<std::string> notes = r.notes;
  notes.insert(notes.end(), cc.notes.begin(), cc.notes.end());
  notes.insert(notes.end(), files.notes.begin(), files.notes.end());
  if (!notes.empty()) {
    os << "\n## Notes\n\n";
    for (const auto& n : notes) os << "- " << md_escape(n) << "\n";
  }
  return os.str();
}

// ---------------------------------------------------------------- HTML

std::string html_report(const Results& r, const ReportResult& files, const fs::path& out_dir) {
  std::ostringstream os;
  const auto& p = r.provenance;
  auto pv = [&](const char* k) { return p.contains(k) && p[k].is_string() ? p[k].get<std::string>() : std::string("-"); };
  os << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
     << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
     << "<title>MedSynBench report: " << html_escape(r.suite_name) << "</title>\n<style>\n"
     << "body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:0 auto;max-width:1180px;padding:24px;color:#222;line-height:1.45}\n"
     << "h1{font-size:1.7em;margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.8em}\n"
     << "table{border-collapse:collapse;margin:.8em 0;font-size:.92em}th,td{padding:4px 10px;text-align:right;border-bottom:1px solid #e4e4e4}\n"
     << "th:first-child,td:first-child{text-align:left}thead th{border-bottom:2px solid #444}tbody tr:last-child td{border-bottom:2px solid #444}\n"
     << "td.best{font-weight:700}span.ci{color:#666;font-size:.85em;margin-left:.3em}tr.ref td{font-style:italic;color:#555}\n"
     << "tr.ratio td{font-style:italic;border-top:1px solid #999}figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}\n"
     << "figcaption{color:#555;font-size:.9em}.meta td{text-align:left}.notes li{color:#7a4b00}code{background:#f4f4f4;padding:1px 4px}\n"
     << "</style>\n</head>\n<body>\n"
     << "<h1>MedSynBench report: " << html_escape(r.suite_name) << "</h1>\n"
     << "<table class=\"meta\"><tbody>\n"
     << "<tr><td>Suite hash</td><td><code>" << html_escape(r.suite_hash) << "</code></td></tr>\n"
     << "<tr><td>Tool</td><td>medsynbench " << html_escape(pv("tool_version")) << " (commit " << html_escape(pv("git_commit")) << ", "
     << html_escape(pv("build_type")) << ")</td></tr>\n"
     << "<tr><td>Device / host</td><td>" << html_escape(pv("device")) << " / " << html_escape(pv("host")) << "</td></tr>\n"
     << "<tr><td>Run</td><td>" << html_escape(pv("started")) << " to " << html_escape(pv("finished")) << "</td></tr>\n"
     << "</tbody></table>\n";

  os << "<h2>Models</h2>\n<table><thead><tr><th>Model</th><th>Kind</th><th>Modalities</th></tr></thead><tbody>\n";
  for (const auto& m : r.models) {
    std::string mods;
    for (const auto& x : m.modalities) mods += (mods.empty() ? "" : ", ") + x;
    os << "<tr><td>" << html_escape(m.label) << "</td><td>" << m.kind << "</td><td>" << html_escape(mods) << "</td></tr>\n";
  }
  os << "</tbody></table>\n";

  auto figs = [&](const std::string& section) {
    for (const auto& f : files.figures) {
      if (f.section != section) continue;
      const auto bytes = read_file_bytes(out_dir / f.file);
      os << "<figure><img alt=\"" << html_escape(f.title) << "\" src=\"data:image/png;base64," << base64(bytes) << "\">"
         << "<figcaption>" << html_escape(f.title) << (f.caption.empty() ? "" : ". " + html_escape(f.caption)) << "</figcaption></figure>\n";
    }
  };

  const auto metrics = table_metrics(r);
  const auto tables = quality_tables(r, metrics);
  if (!tables.empty()) {
    os << "<h2>Quality per modality</h2>\n<p>Point estimates with 95% confidence intervals; best per modality in bold.</p>\n";
    for (const auto& t : tables) {
      os << "<h3>" << html_escape(t.modality->label) << "</h3>\n<table><thead><tr><th>Model</th>";
      for (const auto& m : metrics) {
        const auto info = r.metric_info(m);
        os << "<th>" << html_escape(info.label) << " " << arrow(info.better, "&darr;", "&uarr;") << "</th>";
      }
      os << "</tr></thead><tbody>\n";
      for (const auto& row : t.rows) {
        os << "<tr" << (row.kind == "reference" ? " class=\"ref\"" : "") << "><td>" << html_escape(row.label)
           << (row.kind == "reference" ? "" : " (" + row.kind + ")") << "</td>";
        for (const auto& c : row.cells)
          os << "<td" << (c.bold ? " class=\"best\"" : "") << ">" << c.value << (c.ci.empty() ? "" : "<span class=\"ci\">" + c.ci + "</span>") << "</td>";
        os << "</tr>\n";
      }
      os << "</tbody></table>\n";
    }
  }
  figs("quality");
  if (!r.samples.empty()) {
    os << "<h2>Samples</h2>\n";
    figs("samples");
  }
  if (!r.memorization.empty()) {
    os << "<h2>Memorization</h2>\n<table><thead><tr><th>Model</th><th>Modality</th><th>Fraction memorized</th><th>Exact copies</th>"
          "<th>Synthetic</th><th>tau</th></tr></thead><tbody>\n";
    for (const auto& m : r.models)
      if (auto it = r.memorization.find(m.name); it != r.memorization.end())
        for (const auto& mod : r.modalities)
          if (auto e = it->second.find(mod.name); e != it->second.end()) {
            const auto& x = e->second;
            os << "<tr><td>" << html_escape(m.label) << "</td><td>" << html_escape(mod.label) << "</td><td>"
               << format_value(x.fraction_memorized.value, 4)
               << (x.fraction_memorized.has_ci() ? "<span class=\"ci\">" + ci_text(x.fraction_memorized, 4) + "</span>" : "") << "</td><td>"
               << (x.exact_copies >= 0 ? std::to_string(x.exact_copies) : "-") << "</td><td>"
               << (x.n_synthetic >= 0 ? std::to_string(x.n_synthetic) : "-") << "</td><td>" << format_value(x.tau, 4) << "</td></tr>\n";
          }
    os << "</tbody></table>\n";
    figs("memorization");
  }
  if (!r.downstream.empty()) {
    os << "<h2>Downstream (data-limited classifiers)</h2>\n";
    for (const auto& m : r.models)
      if (auto it = r.downstream.find(m.name); it != r.downstream.end())
        for (const auto& mod : r.modalities)
          if (auto e = it->second.find(mod.name); e != it->second.end()) {
            const auto& d = e->second;
            const auto info = r.metric_info(d.metric);
            std::vector<double> fr;
            for (const auto& [arm, pts] : d.arms)
              for (const auto& pt : pts)
                if (std::find(fr.begin(), fr.end(), pt.fraction) == fr.end()) fr.push_back(pt.fraction);
            std::sort(fr.begin(), fr.end());
            os << "<h3>" << html_escape(m.label) << ", " << html_escape(mod.label) << " (" << html_escape(info.label)
               << ")</h3>\n<table><thead><tr><th>Arm</th>";
            for (double f : fr) os << "<th>f = " << num_text(f) << "</th>";
            os << "</tr></thead><tbody>\n";
            for (const auto& [arm, pts] : d.arms) {
              os << "<tr><td>" << html_escape(arm) << "</td>";
              for (double f : fr) {
                auto pt = std::find_if(pts.begin(), pts.end(), [&](const DownstreamPoint& q) { return q.fraction == f; });
                os << "<td>" << (pt == pts.end() ? "-" : format_value(pt->metric.value, info.digits) +
                                                           (pt->metric.has_ci() ? "<span class=\"ci\">" + ci_text(pt->metric, info.digits) + "</span>" : ""))
                   << "</td>";
              }
              os << "</tr>\n";
            }
            os << "</tbody></table>\n";
          }
    figs("downstream");
  }
  const auto cc = compute_comparison(r);
  if (!cc.empty()) {
    const auto qinfo = r.metric_info(cc.quality_metric);
    os << "<h2>Compute: generalist vs specialists</h2>\n<p>Ratio = generalist / sum of specialists; images/s of the specialists = "
          "k / &sum;(1/r<sub>i</sub>); " << html_escape(qinfo.label) << " of the specialists row: the specialist of that modality.</p>\n"
       << "<table><thead><tr><th>Model</th><th>Params</th><th>Train FLOPs</th><th>Wall time</th><th>Steps</th><th>Images/s</th>";
    for (const auto& m : cc.modalities) os << "<th>" << html_escape(qinfo.label + " " + (r.modality(m) ? r.modality(m)->label : m)) << "</th>";
    os << "</tr></thead><tbody>\n";
    for (const auto& row : cc.rows) {
      os << "<tr" << (row.role == "ratio" ? " class=\"ratio\"" : "") << "><td>" << html_escape(row.label) << "</td>";
      for (const auto& cell : compute_cells(cc, row, r, "&times;")) os << "<td>" << cell << "</td>";
      os << "</tr>\n";
    }
    os << "</tbody></table>\n";
    figs("compute");
  }
  std::vector<std::string> notes = r.notes;
  notes.insert(notes.end(), cc.notes.begin(), cc.notes.end());
  notes.insert(notes.end(), files.notes.begin(), files.notes.end());
  if (!notes.empty()) {
    os << "<h2>Notes</h2>\n<ul class=\"notes\">\n";
    for (const auto& n : notes) os << "<li>" << html_escape(n) << "</li>\n";
    os << "</ul>\n";
  }
  os << "</body>\n</html>\n";
  return os.str();
}

// ---------------------------------------------------------------- write_report

namespace {

bool is_png(const std::vector<std::uint8_t>& b) {
  static const std::uint8_t sig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  return b.size() >= 8 && std::equal(sig, sig + 8, b.begin());
}

}  // namespace

ReportResult write_report(const Results& r, const ReportOptions& o) {
  if (o.out_dir.empty()) throw InputError("report: --out is required");
  if (o.samples_per_grid < 1 || o.grid_columns < 1 || o.panel < 8)
    throw InputError("report: samples per grid and columns must be >= 1, panel >= 8 pixels");
  ReportResult res;
  const fs::path fig_dir = o.out_dir / "figures";
  ensure_dir(fig_dir);
  const std::string src = r.file.empty() ? std::string("results.json") : r.file.string();
  auto problem = [&](const std::string& json_path, const std::string& msg) {
    if (o.strict) throw InputError(at_file(src, json_path + ": " + msg));
    res.notes.push_back(json_path + ": " + msg);
    std::cerr << "warning: " << src << ": " << json_path << ": " << msg << "\n";
  };
  auto write_fig = [&](const Image& img, const std::string& section, const std::string& name, const std::string& title,
                       const std::string& caption) {
    const std::string rel = "figures/" + name;
    write_png(o.out_dir / rel, img);
    res.files.push_back(o.out_dir / rel);
    res.figures.push_back({section, rel, title, caption});
  };

  // Quality per modality.
  if (auto img = draw_metric_by_modality(r, "fid"))
    write_fig(*img, "quality", "fid.png", "FID per modality, generalist vs specialists",
              "Bars: point estimates; error bars: 95% CI; dashed: real-vs-real FID floor where recorded");
  else if (!r.results.empty())
    res.notes.push_back("no FID values in the results: figures/fid.png not drawn");

  // Sample grids.
  for (const auto& mod : r.modalities)
    for (const auto& model : r.models) {
      auto a = r.samples.find(model.name);
      if (a == r.samples.end()) continue;
      auto b = a->second.find(mod.name);
      if (b == a->second.end()) continue;
      std::vector<Image> imgs;
      const std::string base = json_path_key(json_path_key("$.samples", model.name), mod.name);
      for (std::size_t i = 0; i < b->second.size() && static_cast<int>(imgs.size()) < o.samples_per_grid; ++i) {
        const fs::path file = r.base_dir / b->second[i];
        const std::string jp = json_path_index(base, i);
        if (!fs::exists(file)) {
          problem(jp, "sample image " + file.string() + " does not exist");
          continue;
        }
        try {
          imgs.push_back(read_image(file));
        } catch (const InputError& e) {
          problem(jp, std::string("cannot read sample image: ") + e.what());
        }
      }
      if (imgs.empty()) {
        if (!b->second.empty()) res.notes.push_back(base + ": no readable sample images; grid not drawn");
        continue;
      }
      write_fig(draw_sample_grid(imgs, mod.label + " - " + model.label + " (" + model.kind + ")", o.grid_columns, o.panel),
                "samples", "samples_" + safe_name(mod.name) + "_" + safe_name(model.name) + ".png",
                "Samples: " + mod.label + ", " + model.label, std::to_string(imgs.size()) + " generated images");
    }

  // Memorization figures (written by the memorization stage; copied byte for byte).
  for (const auto& model : r.models) {
    auto a = r.memorization.find(model.name);
    if (a == r.memorization.end()) continue;
    for (const auto& mod : r.modalities) {
      auto e = a->second.find(mod.name);
      if (e == a->second.end()) continue;
      const std::string base = json_path_key(json_path_key("$.memorization", model.name), mod.name);
      const std::pair<std::string, std::string> items[] = {{"histogram_png", e->second.histogram_png}, {"pairs_png", e->second.pairs_png}};
      for (const auto& [field, rel] : items) {
        if (rel.empty()) continue;
        const fs::path file = r.base_dir / rel;
        const std::string jp = json_path_key(base, field);
        if (!fs::exists(file)) {
          problem(jp, "memorization figure " + file.string() + " does not exist");
          continue;
        }
        const auto bytes = read_file_bytes(file);
        if (!is_png(bytes)) {
          problem(jp, file.string() + " is not a PNG file");
          continue;
        }
        const bool hist = field == "histogram_png";
        const std::string name = "memorization_" + safe_name(model.name) + "_" + safe_name(mod.name) + (hist ? "_histogram.png" : "_pairs.png");
        atomic_write_bytes(o.out_dir / "figures" / name, bytes);
        res.files.push_back(o.out_dir / "figures" / name);
        res.figures.push_back({"memorization", "figures/" + name,
                               (hist ? "Nearest-neighbour similarity: " : "Closest pairs: ") + model.label + ", " + mod.label,
                               hist ? "synthetic->train vs holdout->train similarities; tau marks the calibrated threshold"
                                    : "synthetic image (left) and its nearest training image (right)"});
      }
    }
  }

  // Downstream curves.
  for (const auto& model : r.models) {
    auto a = r.downstream.find(model.name);
    if (a == r.downstream.end()) continue;
    for (const auto& mod : r.modalities) {
      auto e = a->second.find(mod.name);
      if (e == a->second.end()) continue;
      write_fig(draw_downstream(e->second, r.metric_info(e->second.metric), "Downstream: " + mod.label + " with " + model.label),
                "downstream", "downstream_" + safe_name(model.name) + "_" + safe_name(mod.name) + ".png",
                "Downstream " + r.metric_info(e->second.metric).label + ": " + model.label + ", " + mod.label,
                "mean over seeds with 95% CI per arm");
    }
  }

  // Compute vs quality.
  const auto cc = compute_comparison(r);
  if (auto img = draw_compute_vs_quality(r, cc))
    write_fig(*img, "compute", "compute_vs_quality.png", "Compute vs quality",
              "training cost vs per-modality quality: the generalist against each specialist and the specialists' summed cost");
  else if (!r.compute.empty())
    res.notes.push_back("compute vs quality figure not drawn: no model has both a cost and a quality value");

  auto text = [&](const std::string& name, const std::string& content) {
    atomic_write_text(o.out_dir / name, content);
    res.files.push_back(o.out_dir / name);
  };
  text("metrics.csv", metrics_csv(r));
  text("tables.tex", latex_tables(r));
  text("report.md", markdown_report(r, res));
  text("index.html", html_report(r, res, o.out_dir));
  return res;
}

}  // namespace medsyn::reports
