#include "medsyn/reports/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <set>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/image_io.h"
#include "medsyn/reports/reader_study.h"
#include "medsyn/reports/figures.h"
#include "medsyn/reports/report_model.h"

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
  for (const char* m : {"fid", "fd", "fid_population", "fd_population", "kid", "cmmd", "precision", "recall", "ms_ssim", "vendi", "clip_score"})
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

const Estimate* reference_for(const Results& r, const std::string& modality, const std::string& metric) {
  auto it = r.reference.find(modality);
  if (it == r.reference.end()) return nullptr;
  if (auto m = it->second.find(metric); m != it->second.end()) return &m->second;
  if (auto m = it->second.find(metric + "_real_floor"); m != it->second.end()) return &m->second;
  if (metric == "fid_population" || metric == "fd_population")  // the floor's bias-corrected value
    if (auto m = it->second.find(metric.substr(0, metric.size() - 11) + "_real_floor_population"); m != it->second.end())
      return &m->second;
  return nullptr;
}

std::set<std::string> best_models(const Results& r, const std::string& modality, const std::string& metric) {
  std::set<std::string> best;
  const MetricInfo info = r.metric_info(metric);
  if (info.best_near_reference) {
    // Closest to the real data's own value; distances equal up to rounding (1e-12 relative) tie.
    const Estimate* ref = reference_for(r, modality, metric);
    if (!ref || !ref->has_value()) return best;
    double best_d = kNaN;
    for (const auto* m : models_for(r, modality))
      if (const Estimate* v = r.find(m->name, modality, metric); v && v->has_value()) {
        const double d = std::fabs(v->value - ref->value);
        if (!std::isfinite(best_d) || d < best_d) best_d = d;
      }
    const double tol = 1e-12 * std::max(1.0, std::fabs(ref->value));
    for (const auto* m : models_for(r, modality))
      if (const Estimate* v = r.find(m->name, modality, metric); v && v->has_value() && std::fabs(v->value - ref->value) <= best_d + tol)
        best.insert(m->name);
    return best;
  }
  const Better dir = info.better;
  if (dir == Better::none) return best;
  double best_v = kNaN;
  for (const auto* m : models_for(r, modality)) {
    const Estimate* v = r.find(m->name, modality, metric);
    if (!v || !v->has_value()) continue;
    const bool better = !std::isfinite(best_v) || (dir == Better::lower ? v->value < best_v : v->value > best_v);
    if (better) best_v = v->value, best.clear();
    if (v->value == best_v) best.insert(m->name);
  }
  return best;
}

// ---------------------------------------------------------------- the four text files

// One document, four renderers (report_model.h).
std::string metrics_csv(const Results& r) { return render_csv(build_document(r, {})); }
std::string latex_tables(const Results& r) { return render_latex(build_document(r, {})); }
std::string markdown_report(const Results& r, const ReportResult& files) { return render_markdown(build_document(r, files)); }
std::string html_report(const Results& r, const ReportResult& files, const fs::path& out_dir) {
  return render_html(build_document(r, files), out_dir);
}

// ---------------------------------------------------------------- write_report

namespace {

bool is_png(const std::vector<std::uint8_t>& b) {
  static const std::uint8_t sig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  return b.size() >= 8 && std::equal(sig, sig + 8, b.begin());
}

// A report folder may be replaced whole only when it holds nothing but a report's files.
void require_report_folder(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(dir, ec))) return;
  if (!fs::is_directory(fs::symlink_status(dir, ec)))
    throw InputError(at_file(dir.string(), "exists and is not a folder; choose a new folder for the report"));
  static const std::set<std::string> report_files = {"index.html", "report.md", "tables.tex", "metrics.csv", "figures"};
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (!report_files.count(e.path().filename().string()))
      throw InputError(at_file(dir.string(), "holds '" + e.path().filename().string() +
                                                 "', which is not part of a report; the report replaces its folder "
                                                 "whole, so choose an empty or new folder"));
}

}  // namespace

ReportResult write_report(const Results& r, const ReportOptions& options) {
  if (options.out_dir.empty()) throw InputError("report: --out is required");
  if (options.samples_per_grid < 1 || options.grid_columns < 1 || options.panel < 8)
    throw InputError("report: samples per grid and columns must be >= 1, panel >= 8 pixels");
  // All-or-nothing: everything is written into "<out>.partial" and renamed to <out> at the end,
  // so a failure (a full disk, a bad image in strict mode) leaves the previous report, or none,
  // never figures without index.html.
  require_report_folder(options.out_dir);
  StagedDir staged(options.out_dir);
  ReportOptions o = options;
  o.out_dir = staged.path();
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

  // Quality per modality: FID, or FD where the run's feature space is not Inception
  // (core/feature_space.h); the caption then names the space.
  const auto present = r.metric_names();
  const bool fd_only = std::find(present.begin(), present.end(), "fid") == present.end() &&
                       std::find(present.begin(), present.end(), "fd") != present.end();
  const std::string fq = fd_only ? "fd" : "fid", fq_label = fd_only ? "FD" : "FID";
  std::string space_note;
  if (fd_only) {
    std::string id = "a non-Inception feature space";
    if (r.provenance.is_object() && r.provenance.contains("extractor") && r.provenance["extractor"].is_object() &&
        r.provenance["extractor"].value("id", std::string()) != "")
      id = r.provenance["extractor"]["id"].get<std::string>();
    space_note = "; FD = Fréchet distance in the features of " + id + " (not Inception: not comparable with published FIDs)";
  }
  if (auto img = draw_metric_by_modality(r, fq)) {
    IntervalLevels levels;  // of the bars drawn (models covering each modality)
    for (const auto& mod : r.modalities)
      for (const auto* m : models_for(r, mod.name))
        if (const Estimate* v = r.find(m->name, mod.name, fq); v && v->has_value()) levels.add(*v);
    write_fig(*img, "quality", fq + ".png", fq_label + " per modality, generalist vs specialists",
              "Bars: point estimates; error bars: " + (levels.levels.empty() ? std::string("none (no intervals)") : levels.label()) +
                  "; dashed: real-vs-real " + fq_label + " floor where recorded" + space_note);
  }
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
      // Real images of the same modality and class under the generated ones (drift in brightness,
      // colour and texture is visible at a glance), unless real pixels are redacted.
      std::vector<Image> real;
      std::string real_note;
      if (o.redact_real) {
        real_note = "Real images omitted (--redact-real)";
      } else if (auto ra = r.samples_real.find(model.name); ra != r.samples_real.end()) {
        if (auto rb = ra->second.find(mod.name); rb != ra->second.end()) {
          const std::string rbase = json_path_key(json_path_key("$.samples_real", model.name), mod.name);
          for (std::size_t i = 0; i < rb->second.size() && real.size() < imgs.size(); ++i) {
            const fs::path file = r.base_dir / rb->second[i];
            if (!fs::exists(file)) {
              problem(json_path_index(rbase, i), "real sample image " + file.string() + " does not exist");
              continue;
            }
            try {
              real.push_back(read_image(file));
            } catch (const InputError& e) {
              problem(json_path_index(rbase, i), std::string("cannot read real sample image: ") + e.what());
            }
          }
        }
      }
      // (Results without samples_real, e.g. from older runs, keep the grid and caption they had.)
      write_fig(draw_sample_grid_with_real(imgs, real, mod.label + " - " + model.label + " (" + model.kind + ")", o.grid_columns,
                                           o.panel, real_note),
                "samples", "samples_" + safe_name(mod.name) + "_" + safe_name(model.name) + ".png",
                "Samples: " + mod.label + ", " + model.label,
                std::to_string(imgs.size()) + " generated images" +
                    (!real.empty() ? "; below them " + std::to_string(real.size()) + " real images of the same modality and class"
                     : real_note.empty() ? std::string() : "; " + real_note));
    }

  // Intensity / colour histograms (generated vs real, per channel).
  for (const auto& mod : r.modalities)
    for (const auto& model : r.models) {
      auto a = r.intensity.find(model.name);
      if (a == r.intensity.end()) continue;
      auto e = a->second.find(mod.name);
      if (e == a->second.end()) continue;
      write_fig(draw_intensity_histograms(e->second, "Intensity: " + mod.label + " - " + model.label),
                "intensity", "intensity_" + safe_name(mod.name) + "_" + safe_name(model.name) + ".png",
                "Intensity histograms: " + mod.label + ", " + model.label,
                "pixel-value histograms per channel, generated (line) vs real (grey); " + std::to_string(e->second.n_generated) +
                    " generated and " + std::to_string(e->second.n_real) + " real images");
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
      IntervalLevels levels;
      for (const auto& [arm, pts] : e->second.arms)
        for (const auto& p : pts) levels.add(p.metric);
      write_fig(draw_downstream(e->second, r.metric_info(e->second.metric), "Downstream: " + mod.label + " with " + model.label),
                "downstream", "downstream_" + safe_name(model.name) + "_" + safe_name(mod.name) + ".png",
                "Downstream " + r.metric_info(e->second.metric).label + ": " + model.label + ", " + mod.label,
                "mean over seeds" + (levels.levels.empty() ? std::string() : " with " + levels.label() + " per arm"));
    }
  }

  // Compute vs quality.
  const auto cc = compute_comparison(r);
  if (auto img = draw_compute_vs_quality(r, cc))
    write_fig(*img, "compute", "compute_vs_quality.png", "Compute vs quality",
              "training cost vs per-modality quality: the generalist against each specialist and the specialists' summed cost");
  else if (!r.compute.empty())
    res.notes.push_back("compute vs quality figure not drawn: no model has both a cost and a quality value");

  // Reader study (reader-study analyze), when named or found next to results.json.
  {
    fs::path rs = options.reader_study;
    if (rs.empty() && !r.base_dir.empty() && fs::exists(r.base_dir / kReaderStudyDefault)) rs = r.base_dir / kReaderStudyDefault;
    if (!rs.empty()) {
      res.reader_study = load_reader_study(rs);
      if (auto img = draw_reader_study(res.reader_study))
        write_fig(*img, "reader_study", "reader_study.png", "Readers telling synthetic from real",
                  "accuracy of the readers' real-or-synthetic answers per modality with intervals; dashed: chance (0.5)");
    }
  }

  auto text = [&](const std::string& name, const std::string& content) {
    atomic_write_text(o.out_dir / name, content);
    res.files.push_back(o.out_dir / name);
  };
  const Document doc = build_document(r, res);
  text("metrics.csv", render_csv(doc));
  text("tables.tex", render_latex(doc));
  text("report.md", render_markdown(doc));
  text("index.html", render_html(doc, o.out_dir));
  staged.commit();
  const fs::path final_dir = fs::absolute(options.out_dir).lexically_normal();
  for (auto& f : res.files) f = final_dir / f.lexically_relative(staged.path());
  return res;
}

}  // namespace medsyn::reports
