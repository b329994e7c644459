#pragma once
// `medsynbench report`: turns one results.json into paper tables and figures.
//
// Files written to the output folder (all atomically; same input -> byte-identical files, no
// timestamps other than the run's own provenance):
//   report.md                 summary, quality tables, memorization, downstream, adherence, compute, notes
//   tables.tex                booktabs tables (quality per modality with CIs, best in bold; compute)
//   metrics.csv               every number of the file, one row each (see metrics_csv)
//   index.html                self-contained: inline CSS, every figure as a data:image/png;base64
//                             URI, no scripts, no external resources
//   figures/fid.png           FID per modality with CI error bars, generalist vs specialists
//   figures/samples_<modality>_<model>.png   sample grids (from results.json "samples")
//   figures/memorization_<model>_<modality>_{histogram,pairs}.png  copies of the audit's figures
//   figures/downstream_<model>_<modality>.png  metric vs fraction of real data per arm, with CIs
//   figures/compute_vs_quality.png           training FLOPs (or params) vs FID per model
// Names outside [A-Za-z0-9._-] are replaced by '_' in file names.
//
// "Best" (bold) per modality and metric: among the models that cover the modality and have a value,
// the lowest for lower-is-better metrics (FID, KID, ...), the highest for higher-is-better ones
// (precision, recall, ...); ties are all bold; metrics with no direction are never bold.
// Diversity (MS-SSIM: mean pairwise MS-SSIM of a model's samples) is not "lower is better": the
// target is the real data's own MS-SSIM (the modality's reference row), so best = closest to it
// (MetricInfo::best_near_reference; distances equal up to rounding tie; no bold without a
// reference). A value that is null with a note (Estimate::note, e.g. "n too small") shows the note
// and is never bold. Every interval is printed with the level stated in its metric object.
//
// Missing images (samples, memorization figures): by default a note in the report and on stderr;
// with `strict` an InputError naming the file and the JSON path that refers to it.
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "medsyn/core/image.h"
#include "medsyn/reports/results.h"

namespace medsyn::reports {

struct ReportOptions {
  std::filesystem::path out_dir;
  bool strict = false;        // missing/unreadable images are errors instead of notes
  int samples_per_grid = 16;  // at most this many samples per (modality, model) grid
  int grid_columns = 8;
  int panel = 96;             // pixels per sample in grids
  // A reader study's reader_study.json (reader-study analyze) for the "Reader study" section;
  // "" = RUN_DIR/reader-study/reader_study.json when that exists (reader_study.h).
  std::filesystem::path reader_study;
  bool redact_real = false;   // no real pixels: sample grids omit their real row (with a note)
};

struct FigureFile {
  std::string section;   // "quality", "intensity", "samples", "memorization", "downstream", "compute"
  std::string file;      // relative to the output folder, e.g. "figures/fid.png"
  std::string title;
  std::string caption;
};

struct ReportResult {
  std::vector<std::filesystem::path> files;  // everything written
  std::vector<FigureFile> figures;
  std::vector<std::string> notes;            // missing images, skipped figures, ...
  nlohmann::ordered_json reader_study;       // the reader study included (null = none)
};

ReportResult write_report(const Results& r, const ReportOptions& options);

// ---- building blocks (also used by tests) ----

// The table's quality metrics: fid, fid_population, kid, precision, recall, ms_ssim, vendi (those present).
std::vector<std::string> table_metrics(const Results& r);
// Models covering `modality`, generalists first, in display order.
std::vector<const ModelInfo*> models_for(const Results& r, const std::string& modality);
// The real-data figure shown in the reference row for (modality, metric): reference[metric], else
// reference[metric + "_real_floor"] (FID's real-vs-real floor; fid_population: the floor's
// bias-corrected fid_real_floor_population); nullptr when absent.
const Estimate* reference_for(const Results& r, const std::string& modality, const std::string& metric);
// Names of the best model(s) for (modality, metric) per the rule above.
std::set<std::string> best_models(const Results& r, const std::string& modality, const std::string& metric);

// Generalist vs the coordinated suite of specialists.
struct ComputeRow {
  std::string label;
  std::string role;  // "generalist" | "specialists" | "ratio"
  std::optional<double> params, training_flops, wall_time_s, steps, images_per_s;
  std::vector<std::optional<double>> quality;  // per ComputeComparison::modalities
};
struct ComputeComparison {
  std::string quality_metric;             // "fid" (or the first metric present)
  std::vector<std::string> modalities;
  std::vector<ComputeRow> rows;           // generalists, specialists (sum), ratio per generalist
  std::vector<std::string> notes;
  bool empty() const { return rows.empty(); }
};
// Sum over every specialist: params, training FLOPs, wall time and steps add up; images/s of the
// suite is the harmonic combination k / sum(1 / r_i) (each specialist makes the same number of
// images, one after another). A sum with an unknown term is unknown. Quality of the specialists row
// per modality: the best specialist covering it. Ratio = generalist / specialists, per column.
ComputeComparison compute_comparison(const Results& r);

// The four text files: build_document (report_model.h) rendered by render_csv / render_latex /
// render_markdown / render_html.
std::string metrics_csv(const Results& r);
std::string latex_tables(const Results& r);
std::string markdown_report(const Results& r, const ReportResult& files);
std::string html_report(const Results& r, const ReportResult& files, const std::filesystem::path& out_dir);

// Number formatting used in every table: fixed `digits` decimals; "-" for NaN.
std::string format_value(double v, int digits);
// File-name-safe version of a name ([A-Za-z0-9._-], others -> '_').
std::string safe_name(const std::string& s);

}  // namespace medsyn::reports
