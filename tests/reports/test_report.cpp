// `medsynbench report`: files, numbers, bold best values, CSV, HTML self-containment, determinism,
// missing images.
#include <catch2/catch.hpp>

#include <filesystem>
#include <sstream>

#include "medsyn/core/image_io.h"
#include "medsyn/reports/figures.h"
#include "medsyn/reports/report.h"
#include "reports_test_util.h"
#include "test_support.h"

using namespace medsyn;
using namespace medsyn::reports;
namespace fs = std::filesystem;

namespace {
std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool q = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (q) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') cur += '"', ++i;
      else if (c == '"') q = false;
      else cur += c;
    } else if (c == '"') q = true;
    else if (c == ',') out.push_back(cur), cur.clear();
    else cur += c;
  }
  out.push_back(cur);
  return out;
}
}  // namespace

TEST_CASE("report writes every file with the expected numbers", "[reports][report]") {
  test::TempDir tmp;
  const auto results = test::make_run_dir(tmp / "run");
  const auto out = tmp / "report";
  const auto res = test::run_cli("report " + test::shell_quote(results.string()) + " --out " + test::shell_quote(out.string()));
  INFO(res.out << res.err);
  REQUIRE(res.exit_code == 0);
  for (const char* f : {"report.md", "tables.tex", "metrics.csv", "index.html", "figures/fid.png", "figures/compute_vs_quality.png",
                        "figures/samples_chest_xray_generalist.png", "figures/samples_retina_fundus_spec_retina.png",
                        "figures/memorization_generalist_chest_xray_histogram.png", "figures/memorization_spec_breast_breast_ultrasound_pairs.png",
                        "figures/downstream_generalist_breast_ultrasound.png", "figures/downstream_spec_breast_breast_ultrasound.png"})
    CHECK(fs::exists(out / f));
  // Figures are real PNGs of a sensible size.
  const Image fid = read_image(out / "figures/fid.png");
  CHECK(fid.width >= 760);
  CHECK(fid.height == 500);
  const Image grid = read_image(out / "figures/samples_chest_xray_generalist.png");
  CHECK(grid.width == 10 * 2 + 8 * 96 + 7 * 4);  // 8 columns of 96 px

  // tables.tex: booktabs, CIs, best in bold per direction.
  const std::string tex = test::slurp(out / "tables.tex");
  CHECK(tex.find("\\toprule") != std::string::npos);
  CHECK(tex.find("\\bottomrule") != std::string::npos);
  CHECK(tex.find("FID $\\downarrow$") != std::string::npos);
  CHECK(tex.find("Precision $\\uparrow$") != std::string::npos);
  CHECK(tex.find("\\textbf{21.05} {\\scriptsize [19.64, 22.71]}") != std::string::npos);  // chest: specialist FID lower
  CHECK(tex.find("24.31 {\\scriptsize [22.87, 26.02]}") != std::string::npos);            // generalist not bold
  CHECK(tex.find("\\textbf{24.31}") == std::string::npos);
  CHECK(tex.find("\\textbf{38.42}") != std::string::npos);   // breast: generalist FID lower
  CHECK(tex.find("\\textbf{0.712}") != std::string::npos);   // chest precision: higher is better -> generalist
  CHECK(tex.find("\\textbf{0.0149}") != std::string::npos);  // chest KID, 4 decimals
  // Retina MS-SSIM: best = closest to the real data's 0.218 (specialist 0.221), not the lowest (0.214).
  CHECK(tex.find("\\textbf{0.221}") != std::string::npos);
  CHECK(tex.find("\\textbf{0.214}") == std::string::npos);
  CHECK(tex.find("spec\\_chest") == std::string::npos);      // labels are used, and escaped when needed
  CHECK(tex.find("\\textit{real data (reference)} & 6.84") != std::string::npos);
  // Compute table: generalist, the sum of specialists and their ratio.
  CHECK(tex.find("specialists (sum of 3) & 259M & 690P & 26.10 h & 450000 & 39.0") != std::string::npos);
  CHECK(tex.find("Generalist & 86.4M & 310P & 11.60 h & 200000 & 38.5 & 24.31 & 38.42 & 31.76") != std::string::npos);
  CHECK(tex.find("0.33$\\times$ & 0.45$\\times$ & 0.44$\\times$ & 0.44$\\times$ & 0.99$\\times$ & 1.15$\\times$ & 0.92$\\times$ & 1.06$\\times$") !=
        std::string::npos);

  // metrics.csv parses: 11 fields on every line, numbers round-trip.
  std::istringstream csv(test::slurp(out / "metrics.csv"));
  std::string line;
  std::getline(csv, line);
  CHECK(line == "section,model,kind,modality,metric,arm,fraction,value,ci_low,ci_high,n");
  int rows = 0;
  bool found_fid = false, found_down = false, found_mem = false;
  while (std::getline(csv, line)) {
    const auto f = split_csv_line(line);
    REQUIRE(f.size() == 11);
    ++rows;
    if (f[0] == "results" && f[1] == "spec_breast" && f[4] == "fid") found_fid = f[7] == "41.87" && f[8] == "38.32" && f[10] == "500";
    if (f[0] == "downstream" && f[5] == "real+syn" && f[6] == "0.01" && f[1] == "generalist") found_down = std::stod(f[7]) == Approx(0.683);
    if (f[0] == "memorization" && f[1] == "spec_breast") found_mem = f[7] == "0.012";
  }
  CHECK(found_fid);
  CHECK(found_down);
  CHECK(found_mem);
  CHECK(rows == 30 + 6 + 6 + 29 + 20);  // results, reference, memorization, downstream points, compute fields

  // report.md and index.html: tables and every figure; HTML self-contained.
  const std::string md = test::slurp(out / "report.md");
  CHECK(md.find("| Specialist chest (specialist) | **21.05** [19.64, 22.71] |") != std::string::npos);
  CHECK(md.find("![FID per modality, generalist vs specialists](figures/fid.png)") != std::string::npos);
  const std::string html = test::slurp(out / "index.html");
  CHECK(test::count_of(html, "src=\"data:image/png;base64,") == static_cast<int>(1 + 6 + 12 + 2 + 1));
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("http://") == std::string::npos);
  CHECK(html.find("src=\"http") == std::string::npos);
  CHECK(html.find("<td class=\"best\">21.05<span class=\"ci\">[19.64, 22.71]</span></td>") != std::string::npos);
}

TEST_CASE("report output is byte-identical for the same input", "[reports][report]") {
  test::TempDir tmp;
  const auto results = test::make_run_dir(tmp / "run");
  const auto r = load_results(results);
  ReportOptions a, b;
  a.out_dir = tmp / "a";
  b.out_dir = tmp / "b";
  const auto ra = write_report(r, a);
  write_report(r, b);
  REQUIRE(ra.files.size() == 4 + 1 + 6 + 12 + 2 + 1);
  for (const auto& f : ra.files) {
    const auto rel = fs::relative(f, a.out_dir);
    INFO(rel.string());
    CHECK(test::slurp(a.out_dir / rel) == test::slurp(b.out_dir / rel));
  }
}

TEST_CASE("missing images are notes by default and errors with --strict", "[reports][report]") {
  test::TempDir tmp;
  const auto results = test::make_run_dir(tmp / "run");
  fs::remove(tmp / "run" / "samples/generalist/chest_xray/000000.png");
  fs::remove(tmp / "run" / "memorization/spec_chest/pairs_chest_xray.png");
  const auto res = test::run_cli("report " + test::shell_quote(results.string()) + " --out " + test::shell_quote((tmp / "out").string()));
  INFO(res.out << res.err);
  REQUIRE(res.exit_code == 0);
  const std::string md = test::slurp(tmp / "out" / "report.md");
  CHECK(md.find("$.samples.generalist.chest\\_xray\\[0\\]: sample image") != std::string::npos);
  CHECK(md.find("$.memorization.spec\\_chest.chest\\_xray.pairs\\_png: memorization figure") != std::string::npos);
  CHECK(fs::exists(tmp / "out" / "figures/samples_chest_xray_generalist.png"));  // 11 of 12 remain

  const auto strict = test::run_cli("report " + test::shell_quote(results.string()) + " --strict --out " +
                                    test::shell_quote((tmp / "out2").string()));
  CHECK(strict.exit_code == 2);
  CHECK(strict.err.find("results.json: $.samples.generalist.chest_xray[0]: sample image") != std::string::npos);
  CHECK(strict.err.find("000000.png does not exist") != std::string::npos);
}

TEST_CASE("a failed report leaves the previous one whole and never half a report", "[reports][report][hostile]") {
  test::TempDir tmp;
  const auto results = test::make_run_dir(tmp / "run");
  const std::string rj = test::shell_quote(results.string());
  // A first, complete report.
  REQUIRE(test::run_cli("report " + rj + " --out " + test::shell_quote((tmp / "out").string())).exit_code == 0);
  const std::string before = test::slurp(tmp / "out" / "index.html");
  // A strict run that fails half way (a missing sample image) keeps it and leaves no partial folder.
  fs::remove(tmp / "run" / "samples/generalist/chest_xray/000000.png");
  const auto failed = test::run_cli("report " + rj + " --strict --out " + test::shell_quote((tmp / "out").string()));
  CHECK(failed.exit_code == 2);
  CHECK(test::slurp(tmp / "out" / "index.html") == before);
  CHECK_FALSE(fs::exists(tmp / "out.partial"));
  // Into a new folder: nothing at all.
  CHECK(test::run_cli("report " + rj + " --strict --out " + test::shell_quote((tmp / "new").string())).exit_code == 2);
  CHECK_FALSE(fs::exists(tmp / "new"));
  // A folder holding other files is never replaced.
  const auto other = test::run_cli("report " + rj + " --out " + test::shell_quote((tmp / "run").string()));
  CHECK(other.exit_code == 2);
  CHECK(other.err.find("not part of a report") != std::string::npos);
  CHECK(fs::exists(results));
}

TEST_CASE("report rejects bad input with exit 2", "[reports][report]") {
  test::TempDir tmp;
  auto res = test::run_cli("report " + test::shell_quote((tmp / "missing.json").string()) + " --out " + test::shell_quote((tmp / "o").string()));
  CHECK(res.exit_code == 2);
  CHECK(res.err.find("missing.json") != std::string::npos);
  const auto results = test::make_run_dir(tmp / "run", [](nlohmann::ordered_json& j) { j["results"]["generalist"]["chest_xray"]["fid"].erase("n"); }, true);
  res = test::run_cli("report " + test::shell_quote(results.string()) + " --out " + test::shell_quote((tmp / "o").string()));
  CHECK(res.exit_code == 2);
  CHECK(res.err.find("$.results.generalist.chest_xray.fid.n: required key is missing") != std::string::npos);
}

TEST_CASE("a results file with only quality metrics still reports", "[reports][report]") {
  test::TempDir tmp;
  const auto results = test::make_run_dir(tmp / "run", [](nlohmann::ordered_json& j) {
    for (const char* k : {"samples", "memorization", "downstream", "compute", "reference", "modalities", "notes"}) j.erase(k);
  });
  ReportOptions o;
  o.out_dir = tmp / "out";
  const auto res = write_report(load_results(results), o);
  CHECK(res.figures.size() == 1);  // fid.png only
  const std::string md = test::slurp(tmp / "out" / "report.md");
  CHECK(md.find("## Compute") == std::string::npos);
  CHECK(md.find("### chest_xray") == std::string::npos);  // escaped label
  CHECK(md.find("### chest\\_xray") != std::string::npos);
}

TEST_CASE("sample grids show real images of the same modality and class; intensity table and histograms (issue 19)",
          "[reports][report][intensity]") {
  test::TempDir tmp;
  auto metric = [](double v) { return nlohmann::ordered_json{{"value", v}, {"ci_low", v - 0.01}, {"ci_high", v + 0.01}, {"n", 12},
                                                             {"ci_level", 0.95}, {"ci_method", "percentile bootstrap over images"}}; };
  const auto results = test::make_run_dir(tmp / "run", [&](nlohmann::ordered_json& j) {
    j["samples_real"] = j["samples"];  // the same files stand in for real images (they exist)
    nlohmann::ordered_json row = {{"channel", "all"}, {"real_mean", metric(0.57)}, {"generated_mean", metric(0.62)},
                                  {"mean_diff", metric(0.05)}, {"real_std", metric(0.17)}, {"generated_std", metric(0.2)},
                                  {"wasserstein", 0.061}, {"real_hist", {0.25, 0.25, 0.5, 0.0}}, {"generated_hist", {0.0, 0.5, 0.25, 0.25}}};
    j["intensity"]["generalist"]["chest_xray"] = {
        {"modality", "chest_xray"}, {"channels", 1}, {"n_real", 40}, {"n_generated", 12}, {"bins", 4}, {"rows", {row}},
        {"background", {{"corner", 3}, {"has_background", true}, {"real", metric(0.03)}, {"generated", metric(0.2)}}}};
  });
  const auto r = load_results(results);
  REQUIRE(r.intensity.at("generalist").at("chest_xray").rows.size() == 1);
  CHECK(r.intensity.at("generalist").at("chest_xray").rows[0].wasserstein == Approx(0.061));
  ReportOptions o;
  o.out_dir = tmp / "out";
  write_report(r, o);
  const Image grid = read_image(tmp / "out" / "figures/samples_chest_xray_generalist.png");
  const Image plain = draw_sample_grid(std::vector<Image>(r.samples.at("generalist").at("chest_xray").size(), Image(1, 28, 28, 0.5f)),
                                       "x", o.grid_columns, o.panel);
  CHECK(grid.height == 2 * plain.height + 6);  // generated block, separator, real block of the same size
  CHECK(fs::exists(tmp / "out" / "figures/intensity_chest_xray_generalist.png"));
  const std::string md = test::slurp(tmp / "out" / "report.md");
  CHECK(md.find("Intensity and colour") != std::string::npos);
  CHECK(md.find("0.061") != std::string::npos);
  CHECK(md.find("background (corners)") != std::string::npos);
  CHECK(md.find("real images of the same modality and class") != std::string::npos);

  o.out_dir = tmp / "redacted";
  o.redact_real = true;
  write_report(r, o);
  const Image red = read_image(tmp / "redacted" / "figures/samples_chest_xray_generalist.png");
  CHECK(red.height == plain.height + 6 + 36);  // a note line instead of the real block
  CHECK(test::slurp(tmp / "redacted" / "report.md").find("Real images omitted (--redact-real)") != std::string::npos);
  // the CLI flag
  const auto cli = test::run_cli("report " + test::shell_quote(results.string()) + " --out " +
                                 test::shell_quote((tmp / "cli").string()) + " --redact-real");
  CHECK(cli.exit_code == 0);
}
