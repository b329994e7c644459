// The suite runner: stages -> content-addressed work units -> results.json -> report/.
// runner.h states the unit layout and the caching/resume rules; docs/suites.md is the user guide.
#include "medsyn/suites/runner.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <iomanip>
#include <limits>
#include <memory>
#include <numeric>
#include <set>
#include <sstream>

#include "medsyn/core/demo_corpus.h"
#include "medsyn/core/error.h"
#include "medsyn/core/folder_import.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/core/medical_io.h"
#include "medsyn/core/medmnist_import.h"
#include "medsyn/core/progress.h"
#include "medsyn/core/provenance.h"
#include "medsyn/downstream/experiment.h"
#include "medsyn/engine/engine.h"
#include "medsyn/engine/generator.h"
#include "medsyn/memorization/audit.h"
#include "medsyn/memorization/contrastive.h"
#include "medsyn/metrics/diversity.h"
#include "medsyn/metrics/extractor.h"
#include "medsyn/metrics/feature_extract.h"
#include "medsyn/metrics/fidelity.h"
#include "medsyn/reports/report.h"
#include "medsyn/reports/results.h"
#include "medsyn/torch/runtime.h"

namespace fs = std::filesystem;

namespace medsyn::suites {

using ojson = nlohmann::ordered_json;

namespace {

// Bump when the layout or meaning of any unit's output changes: every key changes with it.
constexpr const char* kUnitFormat = "medsynbench-suite-unit/1";

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string safe(const std::string& s) { return reports::safe_name(s); }

std::uint64_t stream_of(const std::string& name) {
  return std::stoull(sha256_hex(name).substr(0, 15), nullptr, 16);
}

// Hard link when possible (same file system), else a copy.
void link_or_copy(const fs::path& from, const fs::path& to) {
  ensure_dir(to.parent_path());
  std::error_code ec;
  fs::remove(to, ec);
  fs::create_hard_link(from, to, ec);
  if (ec) fs::copy_file(from, to, fs::copy_options::overwrite_existing);
}

// sha256 of every regular file below `dir` (sorted relative paths): the content of an import source.
std::string folder_content_hash(const fs::path& dir) {
  std::vector<std::string> rels;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) rels.push_back(fs::relative(e.path(), dir).generic_string());
  std::sort(rels.begin(), rels.end());
  Sha256 h;
  for (const auto& r : rels) h.update(r).update(sha256_file(dir / r));
  return h.hex_digest();
}

// ------------------------------------------------------------------------------------------------
// Units

struct Unit {
  fs::path dir;
  std::string key;
  ojson meta;  // the summary the unit's work returned (done.json "summary")
};

class UnitStore {
 public:
  UnitStore(fs::path run_dir, bool resume, std::set<std::string> only, std::map<std::string, StageStats>& stats)
      : root_(run_dir / "units"), resume_(resume), only_(std::move(only)), stats_(stats) {
    if (const char* k = std::getenv(kKillHookEnv); k && *k) {
      const std::string v = k;
      const auto c = v.rfind(':');
      if (c == std::string::npos) throw InputError(std::string(kKillHookEnv) + "='" + v + "': expected STAGE:K");
      kill_stage_ = v.substr(0, c);
      kill_at_ = std::stoi(v.substr(c + 1));
    }
  }

  bool allowed(const std::string& stage) const { return only_.empty() || only_.count(stage) > 0; }

  // Returns the complete unit, computing it with `work(partial_dir)` when it is missing.
  Unit run(const std::string& stage, const std::string& name, const ojson& inputs,
           const std::function<ojson(const fs::path&)>& work, bool resumable = false) {
    ojson keyed = {{"format", kUnitFormat}, {"tool_version", build_info().version}, {"stage", stage},
                   {"name", name}, {"inputs", inputs}};
    const std::string key = sha256_hex(keyed.dump());
    const fs::path dir = root_ / stage / (safe(name) + "-" + key.substr(0, 16));
    auto& st = stats_[stage];
    ++st.units;
    if (fs::exists(dir / "done.json")) {
      ++st.cached;
      const json done = read_json_file(dir / "done.json");
      return {dir, key, ojson::parse(done.at("summary").dump())};
    }
    if (!allowed(stage))
      throw InputError("stage '" + stage + "': unit '" + name + "' has not run yet in " + root_.parent_path().string() +
                       "; include '" + stage + "' in --only (or run without --only)");
    const fs::path partial = fs::path(dir.string() + ".partial");
    if (fs::exists(partial) && !(resume_ && resumable)) {
      log_warn("discarding the incomplete unit " + partial.string());
      fs::remove_all(partial);
    } else if (fs::exists(partial)) {
      log_warn("resuming the incomplete unit " + partial.string());
    }
    ensure_dir(partial);
    log_info(stage + ": " + name);
    const auto t0 = Clock::now();
    ojson meta = work(partial);
    ++st.computed;
    st.seconds += since(t0);
    if (stage == kill_stage_ && ++kill_count_ == kill_at_) {
      log_warn(std::string(kKillHookEnv) + ": killing this process inside unit " + partial.string());
      ::kill(::getpid(), SIGKILL);
    }
    ojson done = {{"key", key}, {"stage", stage}, {"name", name}, {"inputs", inputs}, {"summary", meta},
                  {"finished", utc_now_iso8601()}};
    write_json_file(partial / "done.json", done);
    if (fs::exists(dir)) fs::remove_all(dir);  // a complete unit never lacks done.json; be safe
    fs::rename(partial, dir);
    return {dir, key, meta};
  }

 private:
  fs::path root_;
  bool resume_;
  std::set<std::string> only_;
  std::map<std::string, StageStats>& stats_;
  std::string kill_stage_;
  int kill_at_ = -1, kill_count_ = 0;
};

// ------------------------------------------------------------------------------------------------
// Run state

struct RealData {
  fs::path real_dir, holdout_dir;  // real/: splits train, val, test; holdout/: split holdout
  std::string real_hash, holdout_hash;
  std::map<std::string, long> counts;  // role -> images
  bool labelled = false;               // every train/val/test record has an integer label, >= 2 classes
  // Training prompts with their counts and label (prompt order: sorted).
  std::map<std::string, long> prompt_counts;
  std::map<std::string, std::pair<std::optional<long>, std::string>> prompt_labels;
};

struct PromptPlan {
  std::vector<std::pair<std::string, int>> prompts;  // prompt, images
  int total() const {
    int t = 0;
    for (const auto& p : prompts) t += p.second;
    return t;
  }
};

struct Generated {
  Unit unit;
  std::string manifest_hash;
  long n = 0;
  double seconds = 0;
};

struct Ctx {
  const Suite& suite;
  RunOptions opt;
  std::string device;
  UnitStore& store;
  fs::path run_dir;
  std::vector<std::string> notes;
  std::map<std::string, fs::path> source_root;       // dataset -> folder with manifest.jsonl
  std::map<std::string, std::string> source_hash;    // dataset -> content hash
  std::map<std::string, RealData> real;              // modality -> data
  std::map<std::string, Unit> trained;               // model -> train unit
  std::map<std::string, Generated> generated;        // "model/modality"
  std::map<std::string, Unit> real_features;         // modality
  std::map<std::string, Unit> syn_features;          // "model/modality"
  std::map<std::string, Unit> fidelity, diversity, memorization, downstream;  // "model/modality"
  std::map<std::string, Unit> real_diversity;        // modality
  std::map<std::string, Unit> compute;               // model
  std::string extractor_id, extractor_pre;
  ojson seeds = ojson::object();

  std::uint64_t seed_for(const std::string& what) {
    // 31 bits: every consumer (engine configs, JSON readers) takes it as a non-negative int.
    const std::uint64_t s = engine::mix_seed(suite.seed, stream_of(what)) >> 33;
    seeds[what] = s;
    return s;
  }
  long cap(long n) const { return opt.limit ? std::min<long>(n, *opt.limit) : n; }
};

std::string mm(const std::string& model, const std::string& modality) { return model + "/" + modality; }

// ------------------------------------------------------------------------------------------------
// data

void stage_data(Ctx& c) {
  const auto& suite = c.suite;
  Progress prog("stage data", static_cast<std::int64_t>(suite.datasets.size() + suite.modalities.size()), "units");
  bool need_demo = false;
  for (const auto& d : suite.datasets) need_demo |= d.kind == "demo";
  fs::path demo_root;
  std::string demo_hash;
  if (need_demo) {
    const Unit u = c.store.run("data", "demo-corpus", {{"kind", "demo"}, {"with_medmnist", false}}, [&](const fs::path& w) {
      DemoOptions o;
      o.out = w;
      o.with_medmnist = false;
      const auto r = build_demo_corpus(o);
      return ojson{{"images", r.images}, {"packages", r.packages}};
    });
    demo_root = u.dir;
    demo_hash = manifest_hash(u.dir);
  }
  for (const auto& d : suite.datasets) {
    if (d.kind == "folder") {
      c.source_root[d.name] = d.path;
      c.source_hash[d.name] = manifest_hash(d.path);
    } else if (d.kind == "demo") {
      c.source_root[d.name] = demo_root;
      c.source_hash[d.name] = demo_hash;
    } else if (d.kind == "medmnist") {
      const std::string h = sha256_file(d.path);
      const Unit u = c.store.run("data", "import-" + d.name, {{"kind", "medmnist"}, {"file", d.path.filename().string()}, {"sha256", h}},
                                 [&](const fs::path& w) {
                                   const auto r = import_medmnist(d.path, w);
                                   return ojson{{"name", r.name}, {"images", r.images}};
                                 });
      c.source_root[d.name] = u.dir;
      c.source_hash[d.name] = h;
    } else {  // import
      const std::string h = folder_content_hash(d.path);
      const ojson in = {{"kind", "import"}, {"content", h}, {"format", d.format}, {"modality", d.modality.empty() ? d.name : d.modality},
                        {"specialty", d.specialty}, {"label_from", d.label_from}};
      const Unit u = c.store.run("data", "import-" + d.name, in, [&](const fs::path& w) {
        FolderImportOptions o;
        o.modality = d.modality.empty() ? d.name : d.modality;
        o.specialty = d.specialty;
        o.labels_from_subfolders = d.label_from == "folder";
        o.overwrite = true;
        const auto r = import_folder(d.path, w, o);
        return ojson{{"files", r.files}, {"images", r.images}};
      });
      c.source_root[d.name] = u.dir;
      c.source_hash[d.name] = h;
    }
    prog.advance();
  }

  for (const auto& m : suite.modalities) {
    const DatasetSpec& d = suite.dataset(m.dataset);
    const fs::path root = c.source_root.at(d.name);
    std::string wanted = m.manifest_modality;
    if (wanted.empty() && d.kind == "demo") wanted = d.demo;
    if (wanted.empty()) {
      const auto mods = load_dataset(root).modalities();
      wanted = mods.size() == 1 ? mods[0] : m.name;
    }
    long limit = d.limit ? *d.limit : -1;
    if (c.opt.limit) limit = limit < 0 ? *c.opt.limit : std::min(limit, *c.opt.limit);
    const std::uint64_t seed = c.seed_for("data:" + m.name);
    const bool transform = m.has_window;
    const ojson in = {{"source", c.source_hash.at(d.name)}, {"modality", wanted}, {"as", m.name}, {"specialty", m.specialty},
                      {"splits", {d.split_train, d.split_val, d.split_test, d.split_holdout}}, {"limit", limit},
                      {"data_range", {m.range_lo, m.range_hi}},
                      {"window", m.has_window ? ojson{m.window_center, m.window_width} : ojson(nullptr)}, {"seed", seed}};
    const Unit u = c.store.run("data", "real-" + m.name, in, [&](const fs::path& w) {
      const Dataset ds = load_dataset(root);
      std::vector<Record> recs = ds.select(wanted);
      if (recs.empty())
        throw InputError(at_file(c.suite.file.string(), "$.modalities." + m.name + ": dataset '" + d.name + "' (" + root.string() +
                                                            ") has no images of modality '" + wanted + "'"));
      auto rank = [&](const std::string& role, const Record& r) { return sha256_hex(std::to_string(seed) + ":" + role + ":" + r.path); };
      std::map<std::string, std::vector<Record>> roles;
      const bool no_splits = std::all_of(recs.begin(), recs.end(), [](const Record& r) { return r.split.empty(); });
      if (no_splits) {
        // Records without splits: a seeded hash order, 60% train / 20% holdout+val / 20% test.
        std::vector<std::pair<std::string, std::size_t>> order;
        for (std::size_t i = 0; i < recs.size(); ++i) order.push_back({rank("split", recs[i]), i});
        std::sort(order.begin(), order.end());
        const std::size_t n = recs.size();
        if (n < 3) throw InputError("modality '" + m.name + "': " + std::to_string(n) + " image(s) without splits; need at least 3");
        const std::size_t n_test = std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(0.2 * n)));
        const std::size_t n_hold = std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(0.2 * n)));
        std::vector<int> role_of(n);
        for (std::size_t k = 0; k < n; ++k) role_of[order[k].second] = k < n_test ? 2 : (k < n_test + n_hold ? 1 : 0);
        for (std::size_t i = 0; i < n; ++i) {
          if (role_of[i] == 0) roles["train"].push_back(recs[i]);
          if (role_of[i] == 1) { roles["val"].push_back(recs[i]); roles["holdout"].push_back(recs[i]); }
          if (role_of[i] == 2) roles["test"].push_back(recs[i]);
        }
      } else {
        for (const auto& r : recs) {
          if (r.split == d.split_train) roles["train"].push_back(r);
          if (r.split == d.split_val) roles["val"].push_back(r);
          if (r.split == d.split_test) roles["test"].push_back(r);
          if (r.split == d.split_holdout) roles["holdout"].push_back(r);
        }
      }
      for (const char* role : {"train", "holdout", "test"})
        if (roles[role].empty())
          throw InputError(at_file(c.suite.file.string(), "$.datasets." + d.name + ".splits: no images of modality '" + wanted +
                                                              "' in the " + role + " split"));
      ojson counts = ojson::object();
      for (auto& [role, list] : roles) {
        if (limit > 0 && static_cast<long>(list.size()) > limit) {  // the `limit` lowest hash ranks, in manifest order
          std::vector<std::pair<std::string, std::size_t>> order;
          for (std::size_t i = 0; i < list.size(); ++i) order.push_back({rank(role, list[i]), i});
          std::sort(order.begin(), order.end());
          std::vector<std::size_t> keep;
          for (long k = 0; k < limit; ++k) keep.push_back(order[k].second);
          std::sort(keep.begin(), keep.end());
          std::vector<Record> sel;
          for (auto i : keep) sel.push_back(list[i]);
          list = std::move(sel);
        }
        counts[role] = list.size();
      }
      const Window win{m.window_center, m.window_width, "", "user"};
      auto write_set = [&](const fs::path& out, const std::vector<std::string>& which) {
        std::vector<Record> outs;
        for (const auto& role : which) {
          const std::string split = role;
          std::size_t k = 0;
          for (const auto& r : roles[role]) {
            Record o = r;
            const fs::path src = ds.image_path(r);
            std::ostringstream name;
            name << "images/" << role << "/" << std::setw(6) << std::setfill('0') << k++ << "_" << src.stem().string()
                 << (transform ? ".png" : src.extension().string());
            o.path = name.str();
            if (transform) {
              Image img = read_image(src);
              for (auto& v : img.data) v = apply_window(m.range_lo + v * (m.range_hi - m.range_lo), win);
              write_png(out / o.path, img, 16);
              o.sha256 = sha256_file(out / o.path);
            } else {
              link_or_copy(src, out / o.path);
            }
            o.modality = m.name;
            o.specialty = m.specialty;
            o.split = split;
            outs.push_back(o);
          }
        }
        write_manifest(out, outs);
      };
      write_set(w / "real", {"train", "val", "test"});
      write_set(w / "holdout", {"holdout"});
      return ojson{{"modality", wanted}, {"counts", counts}, {"splits_assigned", no_splits}, {"windowed", transform}};
    });
    RealData rd;
    rd.real_dir = u.dir / "real";
    rd.holdout_dir = u.dir / "holdout";
    rd.real_hash = manifest_hash(rd.real_dir);
    rd.holdout_hash = manifest_hash(rd.holdout_dir);
    for (auto it = u.meta["counts"].begin(); it != u.meta["counts"].end(); ++it) rd.counts[it.key()] = it.value().get<long>();
    const Dataset ds = load_dataset(rd.real_dir);
    std::set<long> classes;
    bool all_labelled = true;
    for (const auto& r : ds.records) {
      if (!r.label) all_labelled = false;
      else classes.insert(*r.label);
      if (r.split == "train") {
        const std::string p = r.prompt.empty() ? m.name : r.prompt;
        ++rd.prompt_counts[p];
        if (!rd.prompt_labels.count(p)) rd.prompt_labels[p] = {r.label, r.label_name};
      }
    }
    rd.labelled = all_labelled && classes.size() >= 2;
    c.real[m.name] = rd;
    prog.advance();
  }
}

// ------------------------------------------------------------------------------------------------
// train

void stage_train(Ctx& c) {
  std::vector<const ModelSpec*> todo;
  for (const auto& m : c.suite.models)
    if (m.source == "train") todo.push_back(&m);
  if (todo.empty()) return;
  Progress prog("stage train", static_cast<std::int64_t>(todo.size()), "models");
  for (const ModelSpec* m : todo) {
    ojson data = ojson::array();
    std::vector<fs::path> dirs;
    for (const auto& mod : m->modalities) {
      data.push_back({{"modality", mod}, {"manifest", c.real.at(mod).real_hash}});
      dirs.push_back(c.real.at(mod).real_dir);
    }
    const std::uint64_t seed = m->seed ? *m->seed : c.seed_for("train:" + m->name);
    const ojson in = {{"config", m->path.empty() ? std::string("default") : sha256_file(m->path)},
                      {"steps", m->steps ? ojson(*m->steps) : ojson(nullptr)},
                      {"batch", m->batch ? ojson(*m->batch) : ojson(nullptr)},
                      {"seed", seed}, {"data", data}, {"device", c.device}};
    c.trained[m->name] = c.store.run(
        "train", m->name, in,
        [&](const fs::path& w) {
          engine::TrainOptions o;
          o.data = dirs;
          o.out = w;
          o.steps = m->steps;
          // A checkpoint left in the partial unit (kept only with --resume) continues with the stored
          // configuration (same config, batch and seed: they are part of this unit's key).
          o.resume = true;
          if (!fs::exists(w / "latest.json")) {
            if (!m->path.empty()) o.config_path = m->path;
            o.batch = m->batch;
            o.seed = seed;
          }
          o.device = c.device;
          const auto r = engine::train(o);
          return ojson{{"steps", r.steps}, {"resumed_from", r.resumed_from}, {"final_loss", r.final_loss},
                       {"seconds", r.seconds}, {"weights_sha256", r.weights_sha256}};
        },
        /*resumable=*/true);
    prog.advance();
  }
}

// ------------------------------------------------------------------------------------------------
// generate

PromptPlan plan_prompts(const Ctx& c, const ModalitySpec& m) {
  const RealData& rd = c.real.at(m.name);
  const int n = static_cast<int>(c.cap(m.n_generate));
  std::vector<std::pair<std::string, double>> weights;
  if (m.prompts_from_manifest) {
    for (const auto& [p, k] : rd.prompt_counts) weights.push_back({p, static_cast<double>(k)});
  } else {
    for (const auto& p : m.prompts) weights.push_back({p, 1.0});
  }
  double total = 0;
  for (const auto& w : weights) total += w.second;
  // Largest remainder: floor shares, then one more to the largest remainders (ties: earlier first).
  PromptPlan plan;
  std::vector<std::pair<double, std::size_t>> rema;
  int given = 0;
  std::vector<int> counts(weights.size());
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const double share = n * weights[i].second / total;
    counts[i] = static_cast<int>(std::floor(share));
    given += counts[i];
    rema.push_back({-(share - counts[i]), i});
  }
  std::stable_sort(rema.begin(), rema.end());
  for (std::size_t k = 0; given < n && k < rema.size(); ++k, ++given) ++counts[rema[k].second];
  for (std::size_t i = 0; i < weights.size(); ++i)
    if (counts[i] > 0) plan.prompts.push_back({weights[i].first, counts[i]});
  return plan;
}

// The label of a prompt: from the training records with that (normalised) prompt.
std::pair<std::optional<long>, std::string> prompt_label(const RealData& rd, const std::string& prompt) {
  const std::string key = engine::normalise_prompt(prompt);
  for (const auto& [p, l] : rd.prompt_labels)
    if (engine::normalise_prompt(p) == key) return l;
  return {std::nullopt, ""};
}

void stage_generate(Ctx& c) {
  int total = 0;
  for (const auto& m : c.suite.models) total += static_cast<int>(m.modalities.size());
  Progress prog("stage generate", total, "sets");
  for (const auto& m : c.suite.models) {
    // The model's identity: what determines its images besides prompts and seed.
    ojson ident;
    if (m.source == "train") {
      ident = {{"train_unit", c.trained.at(m.name).key}, {"sampler", m.sampler ? ojson(*m.sampler) : ojson(nullptr)},
               {"steps", m.sample_steps ? ojson(*m.sample_steps) : ojson(nullptr)},
               {"guidance", m.guidance ? ojson(*m.guidance) : ojson(nullptr)}};
    } else if (m.source == "native") {
      const fs::path latest = m.path / "latest.json";
      if (!fs::exists(latest))
        throw InputError(at_file(c.suite.file.string(), "$.models." + m.name + ".source.checkpoint: " + m.path.string() +
                                                            " has no latest.json (not a finished engine run)"));
      ident = {{"checkpoint", fs::absolute(m.path).lexically_normal().string()}, {"latest", sha256_file(latest)},
               {"sampler", m.sampler ? ojson(*m.sampler) : ojson(nullptr)}, {"steps", m.steps ? ojson(*m.steps) : ojson(nullptr)},
               {"guidance", m.guidance ? ojson(*m.guidance) : ojson(nullptr)}, {"batch", m.batch ? ojson(*m.batch) : ojson(nullptr)}};
    } else if (m.source == "folder") {
      ident = {{"folder", manifest_hash(m.path)}};
    } else {
      ident = {{"command", m.command}, {"timeout_s", m.timeout_s}};
    }
    for (const auto& mod : m.modalities) {
      const ModalitySpec& ms = c.suite.modality(mod);
      const RealData& rd = c.real.at(mod);
      const PromptPlan plan = plan_prompts(c, ms);
      const std::uint64_t seed = c.seed_for("generate:" + m.name + ":" + mod);
      ojson pl = ojson::array();
      for (const auto& [p, k] : plan.prompts) pl.push_back({p, k});
      const ojson in = {{"model", ident}, {"modality", mod}, {"prompts", pl}, {"n", plan.total()}, {"seed", seed},
                        {"device", m.source == "train" || m.source == "native" ? c.device : std::string("")}};
      const Unit u = c.store.run("generate", m.name + "-" + mod, in, [&](const fs::path& w) {
        const auto t0 = Clock::now();
        std::vector<Record> out;
        if (m.source == "folder") {
          const Dataset ds = load_dataset(m.path);
          const std::string alt = ms.manifest_modality;
          for (const auto& r : ds.records) {
            if (static_cast<int>(out.size()) >= plan.total()) break;
            if (r.modality != mod && (alt.empty() || r.modality != alt)) continue;
            Record o = r;
            std::ostringstream name;
            name << "images/" << std::setw(6) << std::setfill('0') << out.size() << ds.image_path(r).extension().string();
            o.path = name.str();
            link_or_copy(ds.image_path(r), w / o.path);
            out.push_back(o);
          }
          if (out.size() < 2)
            throw InputError(at_file(c.suite.file.string(), "$.models." + m.name + ".source.path: " + m.path.string() + " has " +
                                                                std::to_string(out.size()) + " image(s) of modality '" + mod +
                                                                "' (need at least 2)"));
        } else {
          std::unique_ptr<engine::Generator> gen;
          if (m.source == "train" || m.source == "native") {
            engine::GenerateOptions base;
            base.device = c.device;
            base.sampler = m.sampler;
            base.guidance = m.guidance;
            base.steps = m.source == "train" ? m.sample_steps : m.steps;
            if (m.source == "native") base.batch = m.batch;
            gen = engine::make_native_generator(m.source == "train" ? c.trained.at(m.name).dir : m.path, base);
          } else {
            engine::PromptTable table;
            for (const auto& [p, k] : plan.prompts) {
              engine::PromptInfo info;
              info.prompt = p;
              info.modality = mod;
              info.specialty = ms.specialty;
              const auto lab = prompt_label(rd, p);
              info.label = lab.first;
              info.label_name = lab.second;
              info.count = k;
              table.add(info);
            }
            std::string cmd = m.command;
            if (m.timeout_s > 0)
              cmd = "timeout --kill-after=10 " + std::to_string(static_cast<long long>(std::ceil(m.timeout_s))) + " " + cmd;
            gen = engine::make_command_generator(cmd, table);
          }
          for (std::size_t i = 0; i < plan.prompts.size(); ++i) {
            std::ostringstream part;
            part << "parts/p" << std::setw(3) << std::setfill('0') << i;
            const Dataset ds = gen->generate({plan.prompts[i].first}, plan.prompts[i].second, engine::mix_seed(seed, i), w / part.str());
            const auto lab = prompt_label(rd, plan.prompts[i].first);
            for (std::size_t k = 0; k < ds.records.size() && static_cast<int>(k) < plan.prompts[i].second; ++k) {
              Record o = ds.records[k];
              o.path = part.str() + "/" + o.path;
              if (o.prompt.empty()) o.prompt = plan.prompts[i].first;
              if (!o.label && lab.first) {
                o.label = lab.first;
                o.label_name = lab.second;
              }
              out.push_back(o);
            }
          }
        }
        for (auto& r : out) {
          r.modality = mod;
          r.specialty = ms.specialty;
          r.split = "";
        }
        write_manifest(w, out);
        const double secs = since(t0);
        return ojson{{"images", out.size()}, {"seconds", secs}, {"images_per_s", secs > 0 ? out.size() / secs : 0.0}};
      });
      Generated g;
      g.unit = u;
      g.manifest_hash = manifest_hash(u.dir);
      g.n = u.meta.value("images", 0L);
      g.seconds = u.meta.value("seconds", 0.0);
      c.generated[mm(m.name, mod)] = g;
      prog.advance();
    }
  }
}

// ------------------------------------------------------------------------------------------------
// features + fidelity

std::string fidelity_role(const Ctx& c) {
  const std::string r = c.suite.evaluation("fidelity").value("real_split", "train");
  if (r != "train" && r != "val" && r != "test")
    throw InputError(at_file(c.suite.file.string(), "$.evaluations.fidelity.real_split: expected train, val or test, got '" + r + "'"));
  return r;
}

// Visits the image sets a per-set stage works on, in a fixed order, with one progress counter:
// each modality's real set (when `with_real`), then each generated (model, modality) set.
template <class RealFn, class SynFn>
void for_each_image_set(Ctx& c, const char* stage, bool with_real, RealFn&& real, SynFn&& syn) {
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

void stage_features(Ctx& c) {
  const auto& ev = c.suite.evaluation("fidelity");
  const std::string spec = ev.value("extractor", "builtin:pixels:28");
  memorization::register_extractors();
  std::unique_ptr<FeatureExtractor> ex;
  auto extractor = [&]() -> FeatureExtractor& {
    if (!ex) ex = make_extractor(spec, c.device);
    return *ex;
  };
  c.extractor_id = extractor().id();
  c.extractor_pre = extractor().input_spec().describe();
  const std::string role = fidelity_role(c);
  const ojson exin = {{"spec", spec}, {"id", c.extractor_id}, {"preprocessing", c.extractor_pre}, {"device", c.device}};
  auto extract_unit = [&](const std::string& name, const fs::path& dir, const std::string& hash, const std::string& modality,
                          const std::string& split) {
    return c.store.run("features", name, {{"extractor", exin}, {"dataset", hash}, {"modality", modality}, {"split", split}},
                       [&](const fs::path& w) {
                         const Dataset ds = load_dataset(dir);
                         const auto recs = ds.select(modality, split);
                         ExtractOptions eo;
                         eo.use_cache = false;  // the unit is the cache
                         eo.progress_label = "features " + name;
                         const auto r = extract_features(ds, recs, extractor(), eo);
                         write_features(w / "features.npy", r, feature_sidecar(r, extractor(), spec, c.device, ds, modality, split));
                         return ojson{{"rows", r.features.rows}, {"dim", r.features.cols}, {"seconds", r.seconds}};
                       });
  };
  for_each_image_set(
      c, "stage features", /*with_real=*/true,
      [&](const std::string& m) {
        c.real_features[m] = extract_unit("real-" + m, c.real.at(m).real_dir, c.real.at(m).real_hash, m, role);
      },
      [&](const std::string& model, const std::string& mod, const auto& g) {
        c.syn_features[mm(model, mod)] = extract_unit(model + "-" + mod, g.unit.dir, g.manifest_hash, mod, "");
      });
}

void stage_fidelity(Ctx& c) {
  const auto& ev = c.suite.evaluation("fidelity");
  Progress prog("stage fidelity", static_cast<std::int64_t>(c.syn_features.size()), "sets");
  for (const auto& model : c.suite.models)
    for (const auto& mod : model.modalities) {
      const Unit& rf = c.real_features.at(mod);
      const Unit& sf = c.syn_features.at(mm(model.name, mod));
      metrics::FidelityOptions o;
      o.device = c.device;
      o.bootstrap = ev.value("bootstrap", 100);
      o.ci_level = ev.value("ci_level", 0.95);
      o.k = ev.value("k", 5);
      o.kid_subsets = ev.value("kid_subsets", 100);
      const long n_min = std::min(rf.meta.value("rows", 0L), sf.meta.value("rows", 0L));
      o.kid_subset_size = std::max<long>(2, std::min<long>(ev.value("kid_subset_size", 1000L), n_min));
      o.seed = c.seed_for("fidelity:" + mod);  // per modality: the real floor is the same for every model
      const ojson in = {{"real", rf.key}, {"synthetic", sf.key}, {"bootstrap", o.bootstrap}, {"ci_level", o.ci_level}, {"k", o.k},
                        {"kid_subsets", o.kid_subsets}, {"kid_subset_size", o.kid_subset_size}, {"seed", o.seed}};
      c.fidelity[mm(model.name, mod)] = c.store.run("fidelity", model.name + "-" + mod, in, [&](const fs::path& w) {
        const Matrix32 real = read_feature_matrix(rf.dir / "features.npy");
        const Matrix32 syn = read_feature_matrix(sf.dir / "features.npy");
        try {
          const auto r = metrics::fidelity_from_features(mod, real, syn, o);
          write_json_file(w / "fidelity.json", metrics::modality_fidelity_to_json(r, o));
          return ojson{{"ok", true}};
        } catch (const InputError& e) {  // too few images for a metric: recorded, never a number
          return ojson{{"ok", false}, {"reason", e.what()}};
        }
      });
      prog.advance();
    }
}

// ------------------------------------------------------------------------------------------------
// diversity

void stage_diversity(Ctx& c) {
  const auto& ev = c.suite.evaluation("diversity");
  const bool reference = ev.value("reference", true);
  auto run_one = [&](const std::string& name, const fs::path& dir, const std::string& hash, const std::string& modality,
                     const std::string& split) {
    metrics::DiversityOptions o;
    o.ms_ssim.ssim.win_size = ev.value("win_size", 7);
    if (ev.contains("pairs") && ev["pairs"].is_number_integer()) o.pairs = ev["pairs"].get<std::int64_t>();
    else if (!ev.contains("pairs")) o.pairs = 1000;
    o.bootstrap.replicates = ev.value("bootstrap", 200);
    o.seed = c.seed_for("diversity:" + name);
    o.bootstrap.seed = o.seed + 1;
    const int scales_opt = ev.value("scales", 0);
    const ojson in = {{"dataset", hash}, {"modality", modality}, {"split", split}, {"pairs", o.pairs},
                      {"scales", scales_opt}, {"win_size", o.ms_ssim.ssim.win_size}, {"bootstrap", o.bootstrap.replicates},
                      {"seed", o.seed}};
    return c.store.run("diversity", name, in, [&](const fs::path& w) {
      const Dataset ds = load_dataset(dir);
      const auto recs = ds.select(modality, split);
      std::vector<std::string> names;
      for (const auto& r : recs) names.push_back(ds.image_path(r).string());
      int min_side = 1 << 30;
      for (const auto& r : recs) {
        const Image img = read_image(ds.image_path(r));
        min_side = std::min({min_side, img.height, img.width});
      }
      int scales = scales_opt;
      if (scales <= 0) {  // default: as many scales as the image size allows, up to 5
        scales = 5;
        while (scales > 1 && metrics::ms_ssim_min_side(o.ms_ssim.ssim.win_size, scales) > min_side) --scales;
      }
      o.ms_ssim.scales = scales;
      try {
        const auto r = metrics::diversity_of_images(
            static_cast<std::int64_t>(recs.size()), [&](std::int64_t i) { return read_image(ds.image_path(recs[i])); }, names, o);
        ojson j = ojson::parse(metrics::diversity_to_json(r).dump());
        j["scales"] = scales;
        j["win_size"] = o.ms_ssim.ssim.win_size;
        write_json_file(w / "diversity.json", j);
        return ojson{{"ok", true}};
      } catch (const InputError& e) {
        return ojson{{"ok", false}, {"reason", e.what()}};
      }
    });
  };
  for_each_image_set(
      c, "stage diversity", /*with_real=*/reference,
      [&](const std::string& m) {
        c.real_diversity[m] = run_one("real-" + m, c.real.at(m).real_dir, c.real.at(m).real_hash, m, "train");
      },
      [&](const std::string& model, const std::string& mod, const auto& g) {
        c.diversity[mm(model, mod)] = run_one(model + "-" + mod, g.unit.dir, g.manifest_hash, mod, "");
      });
}

// ------------------------------------------------------------------------------------------------
// memorization

void stage_memorization(Ctx& c) {
  const auto& ev = c.suite.evaluation("memorization");
  memorization::register_extractors();
  Progress prog("stage memorization", static_cast<std::int64_t>(c.generated.size()), "sets");
  for (const auto& model : c.suite.models)
    for (const auto& mod : model.modalities) {
      const RealData& rd = c.real.at(mod);
      const auto& g = c.generated.at(mm(model.name, mod));
      memorization::AuditOptions o;
      o.train = rd.real_dir;
      o.train_split = "train";
      o.holdout = rd.holdout_dir;
      o.synthetic = g.unit.dir;
      o.embedder = ev.value("embedder", "builtin:pixels:28");
      o.k = ev.value("k", 5);
      const std::string idx = ev.value("index", "flat");
      o.index = idx == "ivf" ? memorization::IndexKind::ivf : idx == "hnsw" ? memorization::IndexKind::hnsw : memorization::IndexKind::flat;
      o.threshold_quantile = ev.value("threshold_quantile", 0.99);
      if (ev.contains("thresholds")) o.thresholds = ev["thresholds"].get<std::vector<double>>();
      o.top_pairs = ev.value("top_pairs", 16);
      o.redact_real = ev.value("redact_real", false);
      o.train_zooms = ev.value("train_zooms", o.train_zooms);
      o.device = c.device;
      o.cache_dir = c.run_dir / "cache";
      o.seed = c.seed_for("memorization:" + model.name + ":" + mod);
      const ojson in = {{"train", rd.real_hash}, {"holdout", rd.holdout_hash}, {"synthetic", g.manifest_hash}, {"embedder", o.embedder},
                        {"k", o.k}, {"index", idx}, {"threshold_quantile", o.threshold_quantile}, {"thresholds", o.thresholds},
                        {"top_pairs", o.top_pairs}, {"redact_real", o.redact_real}, {"train_zooms", o.train_zooms},
                        {"seed", o.seed}, {"device", c.device}};
      c.memorization[mm(model.name, mod)] = c.store.run("memorization", model.name + "-" + mod, in, [&](const fs::path& w) {
        o.out_dir = w;
        try {
          const auto r = memorization::run_audit(o);
          for (const auto& a : r.modalities)
            if (a.modality == mod) {
              std::size_t flagged = 0;
              for (const auto& s : a.synthetic) flagged += s.flagged ? 1 : 0;
              return ojson{{"ok", true},
                           {"n_synthetic", a.n_synthetic},
                           {"n_train", a.n_train},
                           {"n_holdout", a.n_holdout},
                           {"flagged", flagged},
                           {"tau", a.calibration.tau},
                           {"threshold_quantile", a.calibration.threshold_quantile},
                           {"exact_copies", a.synthetic_exact_copies},
                           {"embedder", r.embedder_spec},
                           {"histogram_png", a.histogram_png.empty() ? "" : a.histogram_png.filename().string()},
                           {"pairs_png", a.pairs_png.empty() ? "" : a.pairs_png.filename().string()}};
            }
          std::string why = "modality not audited";
          for (const auto& s : r.skipped) why += "; " + s;
          return ojson{{"ok", false}, {"reason", why}};
        } catch (const InputError& e) {
          return ojson{{"ok", false}, {"reason", e.what()}};
        }
      });
      prog.advance();
    }
}

// ------------------------------------------------------------------------------------------------
// downstream

std::vector<std::string> downstream_modalities(const Ctx& c) {
  const auto& ev = c.suite.evaluation("downstream");
  std::vector<std::string> mods;
  if (ev.contains("modalities")) {
    for (const auto& m : ev["modalities"]) mods.push_back(m.get<std::string>());
  } else {
    for (const auto& m : c.suite.modalities)
      if (c.real.at(m.name).labelled) mods.push_back(m.name);
  }
  return mods;
}

ojson interval_json(const downstream::Interval& iv) {
  const bool ci = std::isfinite(iv.ci_low) && std::isfinite(iv.ci_high);
  return ojson{{"value", std::isfinite(iv.mean) ? ojson(iv.mean) : ojson(nullptr)},
               {"ci_low", ci ? ojson(iv.ci_low) : ojson(nullptr)},
               {"ci_high", ci ? ojson(iv.ci_high) : ojson(nullptr)},
               {"n", iv.n}};
}

void stage_downstream(Ctx& c) {
  const auto& ev = c.suite.evaluation("downstream");
  const auto mods = downstream_modalities(c);
  std::vector<std::pair<std::string, std::string>> todo;
  for (const auto& model : c.suite.models)
    for (const auto& mod : model.modalities)
      if (std::find(mods.begin(), mods.end(), mod) != mods.end()) todo.push_back({model.name, mod});
  Progress prog("stage downstream", static_cast<std::int64_t>(todo.size()), "experiments");
  for (const auto& [model, mod] : todo) {
    const RealData& rd = c.real.at(mod);
    const auto& g = c.generated.at(mm(model, mod));
    downstream::DownstreamOptions o;
    o.real_dir = rd.real_dir;
    o.synthetic_dir = g.unit.dir;
    o.modality = mod;
    o.label_field = ev.value("label_field", "label");
    if (ev.contains("fractions")) o.fractions = ev["fractions"].get<std::vector<double>>();
    if (ev.contains("arms")) o.arms = ev["arms"].get<std::vector<std::string>>();
    o.synthetic_ratio = ev.value("synthetic_ratio", 1.0);
    o.seeds = ev.value("seeds", 5);
    o.seed_base = c.seed_for("downstream:" + mod);  // per modality: every model's `real` arm is the same
    o.adjust = ev.value("adjust", "holm");
    o.test = ev.value("test", "t");
    if (ev.contains("epochs")) o.classifier.epochs = ev["epochs"].get<int>();
    o.classifier.checkpoints = std::min(o.classifier.checkpoints, o.classifier.epochs);
    o.classifier.device = c.device;
    o.command_line = c.opt.command_line;
    const ojson in = {{"real", rd.real_hash}, {"synthetic", g.manifest_hash}, {"label_field", o.label_field}, {"fractions", o.fractions},
                      {"arms", o.arms}, {"synthetic_ratio", o.synthetic_ratio}, {"seeds", o.seeds}, {"seed", o.seed_base},
                      {"adjust", o.adjust}, {"test", o.test}, {"epochs", o.classifier.epochs}, {"device", c.device}};
    c.downstream[mm(model, mod)] = c.store.run("downstream", model + "-" + mod, in, [&](const fs::path& w) {
      o.out_dir = w;
      try {
        downstream::validate(o);
        const auto r = downstream::run_downstream(o);
        ojson arms = ojson::object();
        for (const auto& arm : o.arms) {
          ojson pts = ojson::array();
          for (const auto& s : r.arms) {
            if (s.arm != arm || !s.feasible || s.auroc.n == 0) continue;
            ojson p = {{"fraction", s.fraction}};
            const ojson iv = interval_json(s.auroc);
            for (auto it = iv.begin(); it != iv.end(); ++it) p[it.key()] = it.value();
            p["n_real"] = s.n_real;
            p["n_syn"] = s.n_syn;
            pts.push_back(p);
          }
          if (!pts.empty()) arms[arm] = pts;
        }
        ojson cmps = ojson::array();
        for (const auto& x : r.comparisons) {
          auto num = [](double v) { return std::isfinite(v) ? ojson(v) : ojson(nullptr); };
          const bool ci = std::isfinite(x.ci_low) && std::isfinite(x.ci_high);
          cmps.push_back({{"fraction", x.fraction}, {"a", x.a}, {"b", x.b}, {"mean_diff", num(x.mean_diff)},
                          {"ci_low", ci ? num(x.ci_low) : ojson(nullptr)}, {"ci_high", ci ? num(x.ci_high) : ojson(nullptr)},
                          {"p_adjusted", num(x.p_adjusted)}, {"verdict", x.verdict}});
        }
        return ojson{{"ok", true}, {"metric", "auroc"}, {"arms", arms}, {"comparisons", cmps}, {"notes", r.notes},
                     {"seconds", r.seconds}};
      } catch (const InputError& e) {
        return ojson{{"ok", false}, {"reason", e.what()}};
      }
    });
    prog.advance();
  }
}

// ------------------------------------------------------------------------------------------------
// compute

void stage_compute(Ctx& c) {
  const auto& ev = c.suite.evaluation("compute");
  Progress prog("stage compute", static_cast<std::int64_t>(c.suite.models.size()), "models");
  for (const auto& m : c.suite.models) {
    if (m.source == "train" || m.source == "native") {
      const fs::path run = m.source == "train" ? c.trained.at(m.name).dir : m.path;
      const ojson in = {{"run", m.source == "train" ? c.trained.at(m.name).key : sha256_file(m.path / "latest.json")},
                        {"measure", ev.value("measure", true)}, {"measure_steps", ev.value("measure_steps", 3)}, {"device", c.device}};
      c.compute[m.name] = c.store.run("compute", m.name, in, [&](const fs::path& w) {
        engine::CostOptions o;
        o.checkpoint = run;
        o.measure = ev.value("measure", true);
        o.measure_steps = ev.value("measure_steps", 3);
        o.device = c.device;
        const json cost = engine::engine_cost(o);
        write_json_file(w / "cost.json", cost);
        return ojson{{"ok", true}};
      });
    }
    prog.advance();
  }
}

// ------------------------------------------------------------------------------------------------
// results.json

ojson num_or_null(const json& j, const std::string& ptr) {
  const json::json_pointer p(ptr);
  if (!j.contains(p) || !j.at(p).is_number()) return nullptr;
  return ojson(j.at(p).get<double>());
}

ojson metric_from(const json& est, long long n, const std::string& method) {
  ojson m = {{"value", est.contains("value") ? ojson::parse(est["value"].dump()) : ojson(nullptr)},
             {"ci_low", est.contains("ci_low") ? ojson::parse(est["ci_low"].dump()) : ojson(nullptr)},
             {"ci_high", est.contains("ci_high") ? ojson::parse(est["ci_high"].dump()) : ojson(nullptr)},
             {"n", n}};
  if (m["ci_low"].is_null() != m["ci_high"].is_null()) m["ci_low"] = m["ci_high"] = nullptr;
  if (est.contains("ci_level") && est["ci_level"].is_number()) m["ci_level"] = est["ci_level"];
  if (!m["ci_low"].is_null()) m["ci_method"] = method;
  if (est.contains("se") && est["se"].is_number()) m["se"] = est["se"];
  if (est.contains("replicates") && est["replicates"].is_number()) m["replicates"] = est["replicates"];
  return m;
}

// Wilson score interval for k successes out of n.
std::pair<double, double> wilson(double k, double n, double level) {
  if (n <= 0) return {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::quiet_NaN()};
  // two-sided normal quantile via the inverse error function approximation (exact enough for CIs)
  const double a = 1.0 - level;
  // Acklam-free: bisection on erfc.
  double lo = 0, hi = 10;
  for (int i = 0; i < 100; ++i) {
    const double mid = 0.5 * (lo + hi);
    (std::erfc(mid / std::sqrt(2.0)) > a ? lo : hi) = mid;
  }
  const double z = 0.5 * (lo + hi);
  const double p = k / n, z2 = z * z;
  const double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const double half = z * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n);
  return {k <= 0 ? 0.0 : std::max(0.0, centre - half), k >= n ? 1.0 : std::min(1.0, centre + half)};
}

std::string rel(const Ctx& c, const fs::path& p) { return fs::relative(p, c.run_dir).generic_string(); }

ojson build_results(Ctx& c, const std::string& started) {
  const auto& suite = c.suite;
  ojson r;
  r["schema_version"] = 1;
  r["suite"] = {{"name", suite.name}, {"hash", suite.hash}, {"path", suite.file.string()}};
  if (!suite.description.empty()) r["suite"]["description"] = suite.description;

  ojson inputs = ojson::object();
  for (const auto& d : suite.datasets) inputs["dataset:" + d.name] = c.source_hash.count(d.name) ? c.source_hash.at(d.name) : "";
  for (const auto& [m, rd] : c.real) {
    inputs["real:" + m] = rd.real_hash;
    inputs["holdout:" + m] = rd.holdout_hash;
  }
  json extra = {{"device", c.device}, {"suite_hash", suite.hash}, {"suite_file", suite.file.string()},
                {"command_line", c.opt.command_line}, {"limit", c.opt.limit ? json(*c.opt.limit) : json(nullptr)},
                {"inputs", json::parse(inputs.dump())}, {"seeds", json::parse(ojson{{"suite", suite.seed}}.dump())}};
  for (auto it = c.seeds.begin(); it != c.seeds.end(); ++it) extra["seeds"][it.key()] = it.value().get<std::uint64_t>();
  if (!c.extractor_id.empty()) extra["extractor"] = {{"id", c.extractor_id}, {"preprocessing", c.extractor_pre}};
  ojson prov = ojson::parse(provenance_json(extra).dump());
  prov["libraries"] = prov.contains("library_versions") ? prov["library_versions"] : ojson::object();
  prov["started"] = started;
  prov["finished"] = utc_now_iso8601();
  r["provenance"] = prov;

  ojson mods = ojson::object();
  for (const auto& m : suite.modalities) {
    const auto& rd = c.real.at(m.name);
    mods[m.name] = {{"specialty", m.specialty}, {"label", m.label}, {"dataset", m.dataset},
                    {"n_real", rd.counts.count(fidelity_role(c)) ? rd.counts.at(fidelity_role(c)) : 0},
                    {"n_train", rd.counts.count("train") ? rd.counts.at("train") : 0}};
  }
  r["modalities"] = mods;
  ojson models = ojson::object();
  for (const auto& m : suite.models) {
    ojson mj = {{"kind", m.kind}, {"label", m.label}, {"modalities", m.modalities}, {"source", m.source}};
    if (m.source == "train") {
      mj["checkpoint"] = rel(c, c.trained.at(m.name).dir);
      mj["weights_sha256"] = c.trained.at(m.name).meta.value("weights_sha256", "");
    } else if (m.source == "native") {
      mj["checkpoint"] = m.path.string();
    } else if (m.source == "folder") {
      mj["folder"] = m.path.string();
    } else {
      mj["command"] = m.command;
    }
    models[m.name] = mj;
  }
  r["models"] = models;

  ojson results = ojson::object(), reference = ojson::object(), samples = ojson::object();
  const int per_grid = suite.report.value("samples_per_grid", 16);
  for (const auto& m : suite.models) {
    results[m.name] = ojson::object();
    for (const auto& mod : m.modalities) {
      ojson mets = ojson::object();
      const std::string k = mm(m.name, mod);
      if (c.fidelity.count(k)) {
        const Unit& u = c.fidelity.at(k);
        if (u.meta.value("ok", false)) {
          const json f = read_json_file(u.dir / "fidelity.json");
          const long long ns = f.value("n_synthetic", 0LL), nr = f.value("n_real", 0LL);
          for (const char* name : {"fid", "kid", "precision", "recall", "density", "coverage"}) {
            ojson mt = metric_from(f[name], ns, "percentile bootstrap");
            mt["n_real"] = nr;
            mets[name] = mt;
          }
          if (!reference.contains(mod)) reference[mod] = ojson::object();
          if (!reference[mod].contains("fid_real_floor")) reference[mod]["fid_real_floor"] = metric_from(f["fid_real_floor"], nr, "percentile bootstrap");
          for (const auto& wmsg : f.value("warnings", std::vector<std::string>{}))
            c.notes.push_back("fidelity " + m.name + "/" + mod + ": " + wmsg);
        } else {
          c.notes.push_back("fidelity of " + m.name + " on " + mod + " not computed: " + u.meta.value("reason", ""));
        }
      }
      if (c.diversity.count(k)) {
        const Unit& u = c.diversity.at(k);
        if (u.meta.value("ok", false)) {
          const json d = read_json_file(u.dir / "diversity.json");
          mets["ms_ssim"] = metric_from({{"value", d["msssim_mean"]}, {"ci_low", d["ci_low"]}, {"ci_high", d["ci_high"]},
                                         {"ci_level", d["ci_level"]}, {"replicates", d["bootstrap_replicates"]}},
                                        d.value("n_images", 0LL), "percentile bootstrap over images");
          mets["ms_ssim"]["n_pairs"] = d.value("n_pairs", 0LL);
        } else {
          c.notes.push_back("diversity of " + m.name + " on " + mod + " not computed: " + u.meta.value("reason", ""));
        }
      }
      results[m.name][mod] = mets;
      if (c.generated.count(k)) {
        const Dataset ds = load_dataset(c.generated.at(k).unit.dir);
        ojson list = ojson::array();
        for (std::size_t i = 0; i < ds.records.size() && static_cast<int>(i) < per_grid; ++i)
          list.push_back(rel(c, ds.image_path(ds.records[i])));
        if (!samples.contains(m.name)) samples[m.name] = ojson::object();
        samples[m.name][mod] = list;
      }
    }
  }
  for (const auto& [mod, u] : c.real_diversity) {
    if (!u.meta.value("ok", false)) {
      c.notes.push_back("diversity of the real " + mod + " images not computed: " + u.meta.value("reason", ""));
      continue;
    }
    const json d = read_json_file(u.dir / "diversity.json");
    if (!reference.contains(mod)) reference[mod] = ojson::object();
    reference[mod]["ms_ssim"] = metric_from({{"value", d["msssim_mean"]}, {"ci_low", d["ci_low"]}, {"ci_high", d["ci_high"]},
                                             {"ci_level", d["ci_level"]}, {"replicates", d["bootstrap_replicates"]}},
                                            d.value("n_images", 0LL), "percentile bootstrap over images");
  }
  r["results"] = results;
  if (!reference.empty()) r["reference"] = reference;
  if (!samples.empty()) r["samples"] = samples;

  if (!c.memorization.empty()) {
    ojson mem = ojson::object();
    const double level = 0.95;
    for (const auto& m : suite.models)
      for (const auto& mod : m.modalities) {
        const std::string k = mm(m.name, mod);
        if (!c.memorization.count(k)) continue;
        const Unit& u = c.memorization.at(k);
        if (!u.meta.value("ok", false)) {
          c.notes.push_back("memorization of " + m.name + " on " + mod + " not computed: " + u.meta.value("reason", ""));
          continue;
        }
        const double n = u.meta.value("n_synthetic", 0.0), fl = u.meta.value("flagged", 0.0);
        const auto [lo, hi] = wilson(fl, n, level);
        ojson e = {{"fraction_memorized", {{"value", n > 0 ? ojson(fl / n) : ojson(nullptr)}, {"ci_low", std::isfinite(lo) ? ojson(lo) : ojson(nullptr)},
                                           {"ci_high", std::isfinite(hi) ? ojson(hi) : ojson(nullptr)}, {"n", static_cast<long long>(n)},
                                           {"ci_level", level}, {"ci_method", "wilson"}}},
                   {"n_synthetic", u.meta["n_synthetic"]}, {"n_train", u.meta["n_train"]}, {"n_holdout", u.meta["n_holdout"]},
                   {"tau", u.meta["tau"]}, {"threshold_quantile", u.meta["threshold_quantile"]},
                   {"exact_copies", u.meta["exact_copies"]}, {"embedder", u.meta["embedder"]}};
        if (e["fraction_memorized"]["ci_low"].is_null() || e["fraction_memorized"]["ci_high"].is_null())
          e["fraction_memorized"]["ci_low"] = e["fraction_memorized"]["ci_high"] = nullptr;
        for (const char* f : {"histogram_png", "pairs_png"})
          if (!u.meta.value(f, std::string()).empty() && fs::exists(u.dir / u.meta.value(f, std::string())))
            e[f] = rel(c, u.dir / u.meta.value(f, std::string()));
        if (fs::exists(u.dir / "summary.json")) e["summary_json"] = rel(c, u.dir / "summary.json");
        if (!mem.contains(m.name)) mem[m.name] = ojson::object();
        mem[m.name][mod] = e;
      }
    r["memorization"] = mem;
  }

  if (!c.downstream.empty()) {
    ojson down = ojson::object();
    for (const auto& m : suite.models)
      for (const auto& mod : m.modalities) {
        const std::string k = mm(m.name, mod);
        if (!c.downstream.count(k)) continue;
        const Unit& u = c.downstream.at(k);
        if (!u.meta.value("ok", false) || u.meta["arms"].empty()) {
          c.notes.push_back("downstream of " + m.name + " on " + mod + " not computed: " + u.meta.value("reason", "no feasible arm"));
          continue;
        }
        ojson e = {{"metric", "auroc"}, {"arms", u.meta["arms"]}, {"comparisons", u.meta["comparisons"]}};
        if (fs::exists(u.dir / "results.json")) e["results_json"] = rel(c, u.dir / "results.json");
        for (const auto& n : u.meta.value("notes", std::vector<std::string>{})) c.notes.push_back("downstream " + k + ": " + n);
        if (!down.contains(m.name)) down[m.name] = ojson::object();
        down[m.name][mod] = e;
      }
    if (!down.empty()) r["downstream"] = down;
  }

  if (c.suite.has_evaluation("compute")) {
    ojson cm = ojson::object();
    ojson cnotes = ojson::array();
    for (const auto& m : suite.models) {
      ojson e = {{"params", nullptr}, {"training_flops", nullptr}, {"wall_time_s", nullptr}, {"steps", nullptr}, {"images_per_s", nullptr}};
      double imgs = 0, secs = 0;
      for (const auto& mod : m.modalities)
        if (c.generated.count(mm(m.name, mod))) {
          imgs += c.generated.at(mm(m.name, mod)).n;
          secs += c.generated.at(mm(m.name, mod)).seconds;
        }
      if (secs > 0 && m.source != "folder") e["images_per_s"] = imgs / secs;  // a folder generates nothing
      if (c.compute.count(m.name)) {
        const Unit& u = c.compute.at(m.name);
        const json cost = read_json_file(u.dir / "cost.json");
        if (cost.contains("/params/total"_json_pointer)) e["params"] = static_cast<long long>(std::llround(cost["params"]["total"].get<double>()));
        e["training_flops"] = num_or_null(cost, "/training/total_flops");
        e["sampling_flops_per_image"] = num_or_null(cost, "/sampling/flops_per_image");
        if (m.source == "train") {
          const auto& t = c.trained.at(m.name).meta;
          e["steps"] = t.value("steps", 0);
        } else if (cost.contains("/training/steps"_json_pointer)) {
          e["steps"] = cost["training"]["steps"];
        }
        e["wall_time_s"] = num_or_null(cost, "/measured/train_wall_s");
        if (e["wall_time_s"].is_null() && m.source == "train") e["wall_time_s"] = c.trained.at(m.name).meta.value("seconds", 0.0);
        e["device"] = c.device;
        e["cost_json"] = rel(c, u.dir / "cost.json");
      } else {
        cnotes.push_back(m.name + " (" + m.source + "): no training cost is known for this source");
      }
      cm[m.name] = e;
    }
    r["compute"] = {{"device", c.device}, {"models", cm}};
    if (!cnotes.empty()) r["compute"]["notes"] = cnotes;
  }
  return r;
}

// Generalist vs the sum of specialists, in words (the report renders the table and figure).
void add_compute_notes(ojson& r) {
  if (!r.contains("compute")) return;
  const auto res = reports::results_from_json(r, "results.json");
  const auto cmp = reports::compute_comparison(res);
  ojson notes = r["compute"].value("notes", ojson::array());
  for (const auto& row : cmp.rows) {
    if (row.role != "ratio") continue;
    std::ostringstream os;
    os << row.label << " (ratio):";
    const char* sep = " ";
    auto put = [&](const char* what, const std::optional<double>& v) {
      if (v) os << sep << what << " " << reports::format_value(*v, 3);
      if (v) sep = ", ";
    };
    put("params", row.params);
    put("training FLOPs", row.training_flops);
    put("wall time", row.wall_time_s);
    put("steps", row.steps);
    put("images/s", row.images_per_s);
    for (std::size_t i = 0; i < cmp.modalities.size() && i < row.quality.size(); ++i)
      if (row.quality[i]) os << "; " << cmp.quality_metric << "(" << cmp.modalities[i] << ") " << reports::format_value(*row.quality[i], 3);
    os << " (quality ratio = generalist / the modality's specialist)";
    notes.push_back(os.str());
  }
  for (const auto& n : cmp.notes) notes.push_back(n);
  if (!notes.empty()) r["compute"]["notes"] = notes;
}

}  // namespace

const std::vector<std::string>& stage_names() {
  static const std::vector<std::string> s = {"data", "train", "generate", "features", "fidelity", "diversity",
                                             "memorization", "downstream", "compute", "report"};
  return s;
}

std::vector<std::string> parse_stage_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    const auto& all = stage_names();
    if (std::find(all.begin(), all.end(), item) == all.end()) {
      std::string list;
      for (const auto& s : all) list += (list.empty() ? "" : ", ") + s;
      throw InputError("--only: unknown stage '" + item + "' (stages: " + list + ")");
    }
    out.push_back(item);
  }
  if (out.empty()) throw InputError("--only: give at least one stage");
  return out;
}

RunSummary run_suite(const RunOptions& options) {
  const auto t_start = Clock::now();
  const std::string started = utc_now_iso8601();
  const Suite suite = load_suite(options.suite_file);
  if (options.out.empty()) throw InputError("--out: a run folder is required");
  if (options.limit && *options.limit < 2) throw InputError("--limit: must be at least 2, got " + std::to_string(*options.limit));
  if (options.resume && !fs::exists(options.out / "run.json"))
    throw InputError("--resume: " + options.out.string() + " holds no run (run.json missing); start it without --resume");
  const std::string device = validate_device(options.device.empty() ? suite.device : options.device);
  init_torch_runtime(0);  // MEDSYN_THREADS or all cores
  ensure_dir(options.out);
  const fs::path run_json = options.out / "run.json";
  if (fs::exists(run_json)) {
    const json prev = read_json_file(run_json);
    if (prev.value("suite_name", "") != suite.name && !options.resume)
      throw InputError("--out " + options.out.string() + ": holds a run of suite '" + prev.value("suite_name", "") +
                       "'; choose another folder (or pass --resume to reuse its units)");
  }
  write_json_file(run_json, json{{"suite_name", suite.name}, {"suite_hash", suite.hash}, {"suite_file", fs::absolute(suite.file).string()},
                                 {"limit", options.limit ? json(*options.limit) : json(nullptr)}, {"device", device},
                                 {"started", started}});

  RunSummary summary;
  std::set<std::string> only(options.only.begin(), options.only.end());
  UnitStore store(options.out, options.resume, only, summary.stages);
  RunOptions opt = options;
  Ctx c{suite, opt, device, store, options.out};
  log_info("suite '" + suite.name + "' -> " + options.out.string() + " (device " + device +
           (options.limit ? ", limit " + std::to_string(*options.limit) : std::string()) + ")");

  // Every stage runs its planning (keys, cache lookups); only allowed stages compute.
  // With --only, stages after the last listed one are not even planned.
  std::size_t last = stage_names().size() - 1;
  if (!only.empty()) {
    last = 0;
    for (std::size_t i = 0; i < stage_names().size(); ++i)
      if (only.count(stage_names()[i])) last = i;
  }
  auto stage = [&](const std::string& name, const std::function<void()>& fn) {
    const auto idx = static_cast<std::size_t>(
        std::find(stage_names().begin(), stage_names().end(), name) - stage_names().begin());
    if (idx > last) return;
    const auto t0 = Clock::now();
    fn();
    const auto& st = summary.stages[name];
    if (st.units > 0)
      log_info("stage " + name + ": " + std::to_string(st.units) + " unit(s), " + std::to_string(st.computed) + " computed, " +
               std::to_string(st.cached) + " cached (" + reports::format_value(since(t0), 1) + " s)");
  };
  stage("data", [&] { stage_data(c); });
  stage("train", [&] { stage_train(c); });
  stage("generate", [&] { stage_generate(c); });
  if (suite.has_evaluation("fidelity")) {
    stage("features", [&] { stage_features(c); });
    stage("fidelity", [&] { stage_fidelity(c); });
  }
  if (suite.has_evaluation("diversity")) stage("diversity", [&] { stage_diversity(c); });
  if (suite.has_evaluation("memorization")) stage("memorization", [&] { stage_memorization(c); });
  if (suite.has_evaluation("downstream")) stage("downstream", [&] { stage_downstream(c); });
  if (suite.has_evaluation("compute")) stage("compute", [&] { stage_compute(c); });

  if (store.allowed("report")) {
    ojson r = build_results(c, started);
    add_compute_notes(r);
    if (!c.notes.empty()) r["notes"] = c.notes;
    const auto errors = reports::validate_results(r);
    if (!errors.empty()) throw Error(reports::format_errors("results.json (runner output)", errors));
    summary.results_json = options.out / "results.json";
    write_json_file(summary.results_json, r);
    reports::ReportOptions ro;
    ro.out_dir = options.out / "report";
    ro.samples_per_grid = suite.report.value("samples_per_grid", ro.samples_per_grid);
    ro.grid_columns = suite.report.value("grid_columns", ro.grid_columns);
    ro.panel = suite.report.value("panel", ro.panel);
    const auto rep = reports::write_report(reports::load_results(summary.results_json), ro);
    summary.report_dir = ro.out_dir;
    for (const auto& n : rep.notes) summary.notes.push_back("report: " + n);
    ++summary.stages["report"].units;
    ++summary.stages["report"].computed;
  }
  summary.notes.insert(summary.notes.begin(), c.notes.begin(), c.notes.end());
  summary.seconds = since(t_start);
  return summary;
}

}  // namespace medsyn::suites
