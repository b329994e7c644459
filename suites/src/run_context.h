#pragma once
// The state of one run (internal to the suites library): the suite, options, device, unit store
// and what each stage's planning found (unit folders, content hashes). Stages plan their units
// through it; a unit's computation reads only its UnitDescription plus the context's suite,
// device and run folder (compute_unit), so it could run in another process.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "medsyn/core/progress.h"
#include "medsyn/metrics/extractor.h"
#include "medsyn/suites/runner.h"
#include "medsyn/suites/suite.h"
#include "medsyn/suites/unit_store.h"

namespace medsyn::suites {

using ojson = nlohmann::ordered_json;

struct RealData {
  std::filesystem::path real_dir, holdout_dir;  // real/: splits train, val, test; holdout/: split holdout
  std::string real_hash, holdout_hash;
  std::map<std::string, long> counts;  // role -> images
  bool labelled = false;               // every train/val/test record has an integer label, >= 2 classes
  // Training prompts with their counts and label (prompt order: sorted).
  std::map<std::string, long> prompt_counts;
  std::map<std::string, std::pair<std::optional<long>, std::string>> prompt_labels;
};

struct Generated {
  Unit unit;
  std::string manifest_hash;
  long n = 0;
  double seconds = 0;
};

struct RunContext {
  RunContext(const Suite& s, RunOptions o, std::string dev, std::filesystem::path dir)
      : suite(s), opt(std::move(o)), device(std::move(dev)), run_dir(std::move(dir)) {}

  const Suite& suite;
  RunOptions opt;
  std::string device;
  std::filesystem::path run_dir;
  UnitStore* store = nullptr;  // planning only; compute_unit needs none
  std::vector<std::string> notes;
  std::map<std::string, std::filesystem::path> source_root;  // dataset -> folder with manifest.jsonl
  std::map<std::string, std::string> source_hash;            // dataset -> content hash
  std::map<std::string, RealData> real;                      // modality -> data
  std::map<std::string, Unit> trained;                       // model -> train unit
  std::map<std::string, Generated> generated;                // "model/modality"
  std::map<std::string, Unit> real_features;                 // modality
  std::map<std::string, Unit> syn_features;                  // "model/modality"
  std::map<std::string, Unit> fidelity, diversity, memorization, downstream;  // "model/modality"
  std::map<std::string, Unit> adherence;                     // "model/modality"
  std::map<std::string, Unit> alignment;                     // "model/modality": CLIP score
  std::map<std::string, Unit> real_diversity;                // modality
  std::map<std::string, Unit> compute;                       // model
  std::map<std::string, Generated> replay_generated;         // "model/modality": prompt-replay images
  std::map<std::string, ojson> replay_inputs;                // "model/modality": their generate unit's inputs
  std::map<std::string, Unit> replay;                        // "model/modality": prompt-replay audit
  std::string extractor_id, extractor_pre;
  std::string extractor_weights;              // its weights' SHA-256 ("" = parameter-free)
  ojson extractor_training;                   // the suite-trained extractor's unit (null otherwise)
  ojson seeds = ojson::object();

  // The seed of a named stream, derived from the suite seed (recorded in provenance.seeds).
  std::uint64_t seed_for(const std::string& what);
  // min(n, limit) when a limit is set.
  long cap(long n) const { return opt.limit ? std::min<long>(n, *opt.limit) : n; }
  // A path as written into a unit's `locations`: relative to the run folder when inside it (unit
  // folders), else absolute (external datasets, checkpoints).
  std::string location(const std::filesystem::path& p) const;
  // A `locations` entry back to a path (relative ones resolve against the run folder).
  std::filesystem::path resolve(const ojson& location) const;
  // Runs (or finds) a unit through the store.
  Unit run(const UnitDescription& d) { return store->run(d); }
  // One extractor instance per spec for the whole run (loading weights is costly).
  FeatureExtractor& extractor(const std::string& spec);

 private:
  std::map<std::string, std::unique_ptr<FeatureExtractor>> extractors_;
};

std::string mm(const std::string& model, const std::string& modality);
// Hard link when possible (same file system), else a copy.
void link_or_copy(const std::filesystem::path& from, const std::filesystem::path& to);
double seconds_since(std::chrono::steady_clock::time_point t0);

// Visits the image sets a per-set stage works on, in a fixed order, with one progress counter:
// each modality's real set (when `with_real`), then each generated (model, modality) set.
template <class RealFn, class SynFn>
void for_each_image_set(RunContext& c, const char* stage, bool with_real, RealFn&& real, SynFn&& syn);

// ---- stages (one file each): plan = find or compute the stage's units; compute = one unit.
void plan_data(RunContext& c);
void plan_train(RunContext& c);
void plan_generate(RunContext& c);
void plan_features(RunContext& c);
void plan_fidelity(RunContext& c);
void plan_diversity(RunContext& c);
void plan_memorization(RunContext& c);
void plan_downstream(RunContext& c);
void plan_adherence(RunContext& c);
void plan_alignment(RunContext& c);
void plan_compute(RunContext& c);
ojson compute_data(const UnitDescription& d, RunContext& c, const std::filesystem::path& work);
ojson compute_train(const UnitDescription& d, RunContext& c, const std::filesystem::path& work);
ojson compute_generate(const UnitDescription& d, RunContext& c, const std::filesystem::path& work);
ojson compute_features(const UnitDescription& d, RunContext& c, const std::filesystem::path& work);
ojson compute_fidelity(const UnitDescription& d, RunContext& c, const std::filesystem::path& work);
ojson compute_diversity(const UnitDescription& d, RunContext& c, const std::filesystem::path& work);
ojson compute_memorization(const UnitDescription& d, RunContext& c, const std::filesystem::path& work);
ojson compute_downstream(const UnitDescription& d, RunContext& c, const std::filesystem::path& work);
ojson compute_adherence(const UnitDescription& d, RunContext& c, const std::filesystem::path& work);
ojson compute_alignment(const UnitDescription& d, RunContext& c, const std::filesystem::path& work);
ojson compute_compute(const UnitDescription& d, RunContext& c, const std::filesystem::path& work);

// The one stage list (stages.cpp): name, what it does, the evaluation that enables it ("" =
// always runs), its planning and its unit computation ("report" has neither: run_suite builds
// results.json and report/ itself).
struct Stage {
  const char* name;
  const char* what;
  const char* evaluation;
  void (*plan)(RunContext&);
  ojson (*compute)(const UnitDescription&, RunContext&, const std::filesystem::path&);
};
const std::vector<Stage>& stage_table();

// Computes one unit from its description into `work` (the seam of a single-unit executor).
ojson compute_unit(const UnitDescription& d, RunContext& c, const std::filesystem::path& work);

// results.json from the planned units (results.cpp).
ojson build_results(RunContext& c, const std::string& started);

template <class RealFn, class SynFn>
void for_each_image_set(RunContext& c, const char* stage, bool with_real, RealFn&& real, SynFn&& syn) {
  Progress prog(stage, static_cast<std::int64_t>(c.generated.size() + (with_real ? c.suite.modalities.size() : 0)), "sets");
  if (with_real)
    for (const auto& m : c.suite.modalities) {
      real(m.name);
      prog.advance();
    }
  for (const auto& model : c.suite.models)
    for (const auto& mod : model.modalities) {
      syn(model.name, mod, c.generated.at(mm(model.name, mod)));
      prog.advance();
    }
}

}  // namespace medsyn::suites
