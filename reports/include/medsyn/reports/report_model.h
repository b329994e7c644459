#pragma once
// The report as one document. build_document() walks the results once and writes every section
// (title, paragraphs, tables with value/interval cells, figures, notes) into the plain structs
// below; one small renderer per format turns the document into a file:
//   render_markdown -> report.md      render_html -> index.html (figures inlined as data: URIs)
//   render_latex    -> tables.tex     (the tables marked `latex`, booktabs)
//   render_csv      -> metrics.csv    (the document's `records`: every number of the results)
// A new section is written once, in report_model.cpp; renderers know formats, not sections.
//
// Text that comes from results.json (labels, provenance, notes, ...) is stored raw; each renderer
// escapes every plain span for its format (Markdown, HTML, LaTeX, CSV). Symbols (arrows, x, sum)
// are spans of their own so each format draws them natively.
#include <filesystem>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "medsyn/core/estimate.h"
#include "medsyn/reports/report.h"
#include "medsyn/reports/results.h"

namespace medsyn::reports {

enum class Sym { down, up, near, times, sum };

struct Span {
  enum class Kind { plain, code, sub, symbol } kind = Kind::plain;
  std::string text;  // plain, code, sub (subscript)
  Sym sym = Sym::down;
};

// Inline rich text: a list of spans. Built with +, e.g. Text("k / ") + sym(Sym::sum) + "(1/r" + sub("i") + ")".
struct Text {
  std::vector<Span> spans;
  Text() = default;
  Text(std::string s);  // one plain span (implicit: most text is plain)
  Text(const char* s);
  bool empty() const;
};
Text operator+(Text a, const Text& b);
Text code(std::string s);
Text sub(std::string s);
Text sym(Sym s);

// One table cell: text, or a value with its interval.
struct Cell {
  Text text;  // text cells; value cells: the formatted value, "-", the null reason, or empty (interval only)
  bool is_value = false;
  std::string interval;  // "[lo, hi]" with the value's decimals; "" = no interval
  double level = Estimate::kNaN;  // the interval's level (with an interval)
  bool mark_level = false;        // the table mixes levels: print this interval's level next to it
  bool best = false;              // bold
  bool null_reason = false;       // `text` is why the value is null (Estimate::note), not a number
};
Cell text_cell(Text t);
// Value cell from an estimate: "-" when absent, the note when null with a note (never best).
Cell value_cell(const Estimate* e, int digits, bool best = false);

struct Row {
  enum class Style { normal, reference, ratio } style = Style::normal;
  Text label;       // first column
  std::string tag;  // "generalist" | "specialist" | "": shown as " (tag)" (LaTeX: " (G)" / " (S)")
  std::vector<Cell> cells;
};

struct RowGroup {
  Text title;  // e.g. the modality; Markdown/HTML: a level-3 heading per group, LaTeX: first column
  std::vector<Row> rows;
};

struct Table {
  std::string id;             // LaTeX label "tab:<id>"
  std::vector<Text> header;   // every column, the first (row labels) included
  Text group_header;          // LaTeX: header of the group column ("Modality"), when groups have titles
  std::vector<RowGroup> groups;
  bool latex = false;         // also in tables.tex
  std::string align;          // LaTeX column spec, one letter per column (group column included)
  Text caption;               // LaTeX caption (Markdown/HTML show the section's paragraphs instead)
};

struct Paragraph {
  Text text;
};
struct Heading {  // a level-3 heading inside a section
  Text text;
};
struct List {
  std::vector<Text> items;
  std::string style;  // HTML class ("notes")
};
struct FigureBlock {
  FigureFile figure;  // file relative to the output folder, title, caption
};
using Block = std::variant<Paragraph, Heading, Table, List, FigureBlock>;

struct Section {
  std::string id;  // "models", "quality", "samples", "memorization", "downstream", "compute", "notes"
  Text title;
  std::vector<Block> blocks;
};

struct MetaItem {
  Text label, value;
};

// One number of the results (metrics.csv row).
struct Record {
  std::string section, model, kind, modality, metric, arm;
  double fraction = Estimate::kNaN;
  Estimate estimate;
  bool with_n = true;  // compute fields have no sample size
};

struct Document {
  Text title;
  std::string suite_name, suite_hash;
  std::vector<MetaItem> meta;  // suite hash, tool, device / host, run
  // "Best" rule per quality-table metric, e.g. {"FID", "lower is better"} (tables.tex preamble).
  std::vector<std::pair<std::string, std::string>> best_rules;
  std::vector<Section> sections;
  std::vector<Record> records;
};

// `files`: the figures and notes write_report produced (figures are placed in their sections).
Document build_document(const Results& r, const ReportResult& files);

std::string render_markdown(const Document& d);
std::string render_html(const Document& d, const std::filesystem::path& out_dir);  // reads figures/*.png
std::string render_latex(const Document& d);
std::string render_csv(const Document& d);

// ---- interval levels (shared by the document and the figures)

// "95%" for 0.95, "97.5%" for 0.975.
std::string level_percent(double level);
// Levels and methods of a set of intervals; estimates without an interval are ignored.
struct IntervalLevels {
  std::set<double> levels;
  std::set<std::string> methods;
  void add(const Estimate& e);
  void add(double level, const std::string& method, bool has_interval);
  bool mixed() const { return levels.size() > 1; }
  // "95% CI" ("95% CIs" with plural); mixed: "CI" / "CIs" with the levels, e.g. "CIs (90%, 95%)";
  // no interval at all: "" .
  std::string label(bool plural = false) const;
  // "percentile bootstrap", "percentile bootstrap; t over seeds", "" when none is stated.
  std::string method_list() const;
};

}  // namespace medsyn::reports
