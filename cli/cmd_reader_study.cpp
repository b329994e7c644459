// `medsynbench reader-study make|analyze`: blinded real-vs-synthetic reader studies
// (docs/reader-study.md). Thin over medsyn_readerstudy (readerstudy/); torch-free.
#include <filesystem>
#include <iostream>
#include <memory>

#include "commands.h"
#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/json.h"
#include "medsyn/core/provenance.h"
#include "medsyn/readerstudy/analysis.h"
#include "medsyn/readerstudy/study.h"

namespace medsyn::cli {

namespace fs = std::filesystem;
namespace rs = medsyn::readerstudy;

void register_reader_study_commands(CLI::App& root) {
  auto* g = group(root, "reader-study", "Blinded real-vs-synthetic reader studies: an offline web page for clinicians and the analysis of their ratings");

  // ---- reader-study make
  {
    struct Args {
      std::string run, real, out;
      std::vector<std::string> synthetic;
      rs::MakeOptions o;
      bool json = false;
    };
    auto a = std::make_shared<Args>();
    auto* c = g->add_subcommand("make", "Sample real and synthetic images per modality and write study.html, key.json and study.json");
    c->add_option("--run", a->run, "A suite run folder: real images of the test split (units/data/real-*) and every model's generated images (units/generate)");
    c->add_option("--real", a->real, "A dataset folder (manifest.jsonl) of real images");
    c->add_option("--synthetic", a->synthetic, "Dataset folder(s) of synthetic images (model = the manifest's \"model\" field, else the folder's name)");
    c->add_option("--per-modality", a->o.per_modality, "Rated images per modality (real + synthetic)")->capture_default_str();
    c->add_option("--real-fraction", a->o.real_fraction, "Share of real images among them")->capture_default_str();
    c->add_option("--readers", a->o.readers, "Reader ids, comma-separated (each gets its own seeded order); default reader-1..reader-4")->delimiter(',');
    c->add_option("--questions", a->o.questions, "Questions, comma-separated: realism, real_or_synthetic, prompt_match")->delimiter(',')
        ->capture_default_str();
    c->add_option("--seed", a->o.seed, "Seed of the sampling, the ids and the readers' orders")->capture_default_str();
    c->add_option("--modalities", a->o.modalities, "Only these modalities (comma-separated); default every modality with real and synthetic images")->delimiter(',');
    c->add_flag("--balance-classes", a->o.balance_classes, "Within each modality and source, draw equally from every label");
    c->add_option("--calibration", a->o.calibration, "Labelled examples per modality shown before the rated set (half real, not rated)")->capture_default_str();
    c->add_option("--title", a->o.title, "Title shown on the page")->capture_default_str();
    c->add_option("--out", a->out, "Study folder (new or empty)")->required();
    c->add_flag("--json", a->json, "Print the result as JSON");
    c->callback([a] {
      if (a->run.empty() == (a->real.empty() && a->synthetic.empty()))
        throw InputError("reader-study make: give either --run RUN_DIR or --real DIR --synthetic DIR");
      if (a->run.empty() && (a->real.empty() || a->synthetic.empty()))
        throw InputError("reader-study make: --real and --synthetic go together");
      if (a->o.per_modality < 2) throw InputError("--per-modality must be >= 2");
      if (!(a->o.real_fraction > 0 && a->o.real_fraction < 1)) throw InputError("--real-fraction must be between 0 and 1 (exclusive)");
      if (a->o.calibration < 0) throw InputError("--calibration must be >= 0");
      rs::Sources src;
      json described;
      if (!a->run.empty()) {
        src.run_dir = a->run;
        described = {{"run", fs::absolute(a->run).lexically_normal().string()}};
      } else {
        src.real_dir = a->real;
        for (const auto& s : a->synthetic) src.synthetic_dirs.push_back(s);
        described = {{"real", fs::absolute(a->real).lexically_normal().string()}, {"synthetic", json::array()}};
        for (const auto& s : a->synthetic) described["synthetic"].push_back(fs::absolute(s).lexically_normal().string());
      }
      const auto cands = rs::collect_candidates(src);
      const auto res = rs::make_study(cands, a->o, a->out, described);
      if (a->json) {
        json j = {{"command", "reader-study make"}, {"study", res.study_hash}, {"out", a->out},
                  {"n_images", res.n_images}, {"n_calibration", res.n_calibration}, {"files", json::array()}};
        for (const auto& f : res.files) j["files"].push_back(f.string());
        print_json(j);
      } else {
        std::cout << "reader study " << res.study_hash << ": " << res.n_images << " images to rate";
        if (res.n_calibration) std::cout << " (+" << res.n_calibration << " calibration examples)";
        std::cout << " in " << a->out << "\n  study.html  send to the readers (it contains real patient images)\n"
                  << "  key.json    the unblinding key: keep it apart, never send it\n  study.json  design, seed and hashes\n";
      }
    });
  }

  // ---- reader-study analyze
  {
    struct Args {
      std::string study, out;
      std::vector<std::string> ratings;
      rs::AnalysisOptions o;
      bool json = false;
    };
    auto a = std::make_shared<Args>();
    auto* c = g->add_subcommand("analyze", "Check the readers' ratings against the study and compute accuracy, realism, prompt match and agreement");
    c->add_option("study", a->study, "STUDY_DIR (made by reader-study make, with key.json)")->required();
    c->add_option("--ratings", a->ratings, "Ratings files: the page's ratings-<reader>.json exports and/or CSV (reader,image_id,real_or_synthetic,realism,prompt_match)")
        ->required()->expected(1, -1);
    c->add_option("--out", a->out, "Output folder: reader_study.json (put it at RUN_DIR/reader-study for `report` to include it)")->required();
    c->add_option("--level", a->o.level, "Confidence level of the intervals")->capture_default_str();
    c->add_option("--bootstrap", a->o.bootstrap, "Bootstrap replicates (realism difference, Fleiss' kappa, Krippendorff's alpha)")->capture_default_str();
    c->add_option("--seed", a->o.seed, "Seed of the bootstraps")->capture_default_str();
    c->add_flag("--json", a->json, "Print the analysis as JSON");
    c->callback([a] {
      if (!(a->o.level > 0 && a->o.level < 1)) throw InputError("--level must be between 0 and 1 (exclusive)");
      if (a->o.bootstrap < 1) throw InputError("--bootstrap must be >= 1");
      const auto study = rs::load_study(a->study);
      std::vector<fs::path> files(a->ratings.begin(), a->ratings.end());
      const auto ratings = rs::read_ratings(study, files);
      auto analysis = rs::analyze_study(study, ratings, a->o);
      json inputs = json::object();
      for (const auto& f : files) inputs[f.string()] = sha256_file(f);
      analysis["provenance"] = provenance_json({{"command", "reader-study analyze"},
                                                {"seeds", {{"bootstrap", a->o.seed}}},
                                                {"study", study.hash},
                                                {"study_dir", fs::absolute(a->study).lexically_normal().string()},
                                                {"inputs", inputs}});
      ensure_dir(a->out);
      const fs::path out = fs::path(a->out) / "reader_study.json";
      write_json_file(out, analysis);
      if (a->json) print_json(analysis);
      else std::cout << rs::summary_text(analysis) << "written: " << out.string() << "\n";
    });
  }
}

}  // namespace medsyn::cli
