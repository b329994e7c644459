// Stage generate: n_generate images per (model, modality), prompts from the manifest (the label
// mix of the training split) or the suite's list.
#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "medsyn/core/error.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/engine/engine.h"
#include "medsyn/engine/generator.h"
#include "medsyn/stats/random.h"
#include "../run_context.h"

namespace fs = std::filesystem;

namespace medsyn::suites {

namespace {

// Prompts with their image counts: n split by the training prompts' counts (or evenly over the
// suite's list) by largest remainder (floor shares, then one more to the largest remainders;
// ties: earlier first).
std::vector<std::pair<std::string, int>> plan_prompts(const RunContext& c, const ModalitySpec& m) {
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
  std::vector<std::pair<std::string, int>> plan;
  for (std::size_t i = 0; i < weights.size(); ++i)
    if (counts[i] > 0) plan.push_back({weights[i].first, counts[i]});
  return plan;
}

// The label of a prompt: from the training records with that (normalised) prompt.
std::pair<std::optional<long>, std::string> prompt_label(const RealData& rd, const std::string& prompt) {
  const std::string key = engine::normalise_prompt(prompt);
  for (const auto& [p, l] : rd.prompt_labels)
    if (engine::normalise_prompt(p) == key) return l;
  return {std::nullopt, ""};
}

template <class T>
ojson opt_json(const std::optional<T>& v) {
  return v ? ojson(*v) : ojson(nullptr);
}

// The first n records of the folder with this modality (or the suite's manifest modality).
std::vector<Record> copy_folder(const UnitDescription& d, RunContext& c, const fs::path& w, int n) {
  const std::string mod = d.inputs["modality"], alt = d.inputs["manifest_modality"], model = d.inputs["model_name"];
  const fs::path folder = c.resolve(d.locations.at("model"));
  const Dataset ds = load_dataset(folder);
  std::vector<Record> out;
  for (const auto& r : ds.records) {
    if (static_cast<int>(out.size()) >= n) break;
    if (r.modality != mod && (alt.empty() || r.modality != alt)) continue;
    Record o = r;
    std::ostringstream name;
    name << "images/" << std::setw(6) << std::setfill('0') << out.size() << ds.image_path(r).extension().string();
    o.path = name.str();
    link_or_copy(ds.image_path(r), w / o.path);
    out.push_back(o);
  }
  if (out.size() < 2)
    throw InputError(at_file(c.suite.file.string(), "$.models." + model + ".source.path: " + folder.string() + " has " +
                                                        std::to_string(out.size()) + " image(s) of modality '" + mod +
                                                        "' (need at least 2)"));
  return out;
}

// Prompt replay (memorization.replay): `prompts` training records of each modality, sampled with
// a seed of their own, each record's prompt generated `images_per_prompt` times (one part per
// record, so every image knows its record). A folder of images cannot be asked for a prompt.
void plan_replay_generation(RunContext& c, const ModelSpec& m, const ojson& spec, const ojson& ident, const ojson& where,
                            const ReplaySpec& rs) {
  if (m.source == "folder") {
    c.notes.push_back("prompt replay skipped for " + m.name + ": a folder of images cannot generate for a given prompt");
    return;
  }
  for (const auto& mod : m.modalities) {
    const ModalitySpec& ms = c.suite.modality(mod);
    const RealData& rd = c.real.at(mod);
    const Dataset ds = load_dataset(rd.real_dir);
    const auto train = ds.select(mod, "train");
    if (train.empty()) continue;
    stats::Rng rng(c.seed_for("replay-sample:" + mod));  // per modality: every model replays the same records
    auto rows = stats::sample_without_replacement(rng, static_cast<std::int64_t>(train.size()),
                                                  std::min<std::int64_t>(rs.prompts, static_cast<std::int64_t>(train.size())));
    std::sort(rows.begin(), rows.end());
    ojson pl = ojson::array(), sources = ojson::array();
    for (const auto r : rows) {
      const Record& rec = train[static_cast<std::size_t>(r)];
      const std::string p = rec.prompt.empty() ? mod : rec.prompt;
      pl.push_back({p, rs.images_per_prompt, rec.label ? ojson(*rec.label) : ojson(nullptr), rec.label_name});
      sources.push_back(rec.path);
    }
    const bool engine_model = m.source == "train" || m.source == "native";
    const ojson in = {{"model", ident}, {"model_name", m.name}, {"modality", mod}, {"manifest_modality", ms.manifest_modality},
                      {"specialty", ms.specialty}, {"prompts", pl}, {"n", static_cast<long>(pl.size()) * rs.images_per_prompt},
                      {"seed", c.seed_for("replay:" + m.name + ":" + mod)}, {"device", engine_model ? c.device : std::string("")},
                      {"replay_sources", sources}};
    const Unit u = c.run(make_unit("generate", "replay-" + m.name + "-" + mod, spec, in, {{"model", where}}));
    Generated g;
    g.unit = u;
    if (!u.pending) g.manifest_hash = manifest_hash(u.dir);
    g.n = u.meta.value("images", 0L);
    c.replay_generated[mm(m.name, mod)] = g;
    c.replay_inputs[mm(m.name, mod)] = in;
  }
}

// Shard units of a generate unit (execution.shard_size; docs/cluster.md "Sharding large units"):
// each prompt's images cut into chunks of at most shard_size, one unit per chunk. Chunk 0 of
// prompt i samples with the seed the whole set gives prompt i (derive_seed(seed, i)), chunk j > 0
// with derive_seed(that seed, kShardStream + j): deterministic, distinct noise for every image.
// Returns the set's unit over the shards (a later Slurm wave: it reads pending units).
Unit plan_generate_shards(RunContext& c, const std::string& name, const ojson& spec, const ojson& in, const ojson& where) {
  constexpr std::uint64_t kShardStream = 0x5348415244000000ULL;  // "SHARD"
  const std::int64_t size = c.suite.shard_size;
  const std::uint64_t seed = in["seed"];
  struct Chunk {
    ojson prompt;
    std::uint64_t seed;
  };
  std::vector<Chunk> chunks;
  for (std::size_t i = 0; i < in["prompts"].size(); ++i) {
    const ojson& p = in["prompts"][i];
    const std::int64_t k = p[1];
    const std::uint64_t pseed = stats::derive_seed(seed, i);
    for (std::int64_t j = 0; j * size < k; ++j) {
      ojson part = p;
      part[1] = std::min(size, k - j * size);
      chunks.push_back({part, j == 0 ? pseed : stats::derive_seed(pseed, kShardStream + static_cast<std::uint64_t>(j))});
    }
  }
  auto tag = [](std::size_t v) {
    std::ostringstream o;
    o << std::setw(3) << std::setfill('0') << v;
    return o.str();
  };
  ojson keys = ojson::array(), dirs = ojson::array();
  for (std::size_t t = 0; t < chunks.size(); ++t) {
    ojson sin = in;
    sin["prompts"] = ojson::array({chunks[t].prompt});
    sin["prompt_seeds"] = ojson::array({chunks[t].seed});
    sin["n"] = chunks[t].prompt[1];
    sin["shard"] = {t, chunks.size()};
    const Unit s = c.run(make_unit("generate", name + ".shard-" + tag(t) + "-of-" + tag(chunks.size()), spec, sin, {{"model", where}}));
    keys.push_back(s.key);
    dirs.push_back(c.location(s.dir));
  }
  ojson min = in;
  min["shards"] = keys;
  return c.run(make_unit("generate", name, spec, min, {{"model", where}, {"shards", dirs}}));
}

// The set's unit from its shard units (execution.shard_size): every shard's images linked in
// shard order under shards/sNNN/, one manifest.jsonl; seconds = the shards' generation time.
ojson merge_generate_shards(const UnitDescription& d, RunContext& c, const fs::path& w) {
  std::vector<Record> out;
  double seconds = 0;
  int t = 0;
  for (const auto& loc : d.locations.at("shards")) {
    const fs::path dir = c.resolve(loc);
    const Dataset ds = load_dataset(dir);
    std::ostringstream prefix;
    prefix << "shards/s" << std::setw(3) << std::setfill('0') << t++ << "/";
    for (const auto& r : ds.records) {
      Record o = r;
      o.path = prefix.str() + r.path;
      link_or_copy(ds.image_path(r), w / o.path);
      out.push_back(o);
    }
    seconds += read_json_file(dir / "done.json")["summary"].value("seconds", 0.0);
  }
  if (static_cast<long>(out.size()) != d.inputs["n"].get<long>())
    throw InputError(d.id() + ": the shards hold " + std::to_string(out.size()) + " images, planned " + d.inputs["n"].dump());
  write_manifest(w, out);
  return ojson{{"images", out.size()}, {"seconds", seconds}, {"images_per_s", seconds > 0 ? out.size() / seconds : 0.0},
               {"shards", d.locations.at("shards").size()}};
}

}  // namespace

ojson compute_generate(const UnitDescription& d, RunContext& c, const fs::path& w) {
  if (d.inputs.contains("shards")) return merge_generate_shards(d, c, w);
  const auto t0 = std::chrono::steady_clock::now();
  const ojson& sp = d.spec;
  const std::string source = sp["source"], mod = d.inputs["modality"], specialty = d.inputs["specialty"];
  const std::uint64_t seed = d.inputs["seed"];
  const ojson& prompts = d.inputs["prompts"];  // [[prompt, n, label|null, label_name]]
  auto label_of = [](const ojson& p) { return p[2].is_null() ? std::optional<long>() : std::optional<long>(p[2].get<long>()); };
  std::vector<Record> out;
  if (source == "folder") {
    out = copy_folder(d, c, w, d.inputs["n"].get<int>());
  } else {
    std::unique_ptr<engine::Generator> gen;
    if (source == "train" || source == "native") {
      engine::GenerateOptions base;
      base.device = c.device;
      if (!sp["sampler"].is_null()) base.sampler = sp["sampler"].get<std::string>();
      if (!sp["guidance"].is_null()) base.guidance = sp["guidance"].get<double>();
      if (!sp["steps"].is_null()) base.steps = sp["steps"].get<int>();
      if (!sp["batch"].is_null()) base.batch = sp["batch"].get<int>();
      gen = engine::make_native_generator(c.resolve(d.locations.at("model")), base);
    } else {
      engine::PromptTable table;
      for (const auto& p : prompts) {
        engine::PromptInfo info;
        info.prompt = p[0];
        info.modality = mod;
        info.specialty = specialty;
        info.label = label_of(p);
        info.label_name = p[3];
        info.count = p[1];
        table.add(info);
      }
      std::string cmd = sp["command"];
      const double timeout_s = sp["timeout_s"];
      if (timeout_s > 0) cmd = "timeout --kill-after=10 " + std::to_string(static_cast<long long>(std::ceil(timeout_s))) + " " + cmd;
      gen = engine::make_command_generator(cmd, table);
    }
    for (std::size_t i = 0; i < prompts.size(); ++i) {
      const std::string prompt = prompts[i][0];
      const int n = prompts[i][1];
      std::ostringstream part;
      part << "parts/p" << std::setw(3) << std::setfill('0') << i;
      // A shard unit carries its prompts' seeds (plan_generate_shards); the whole set derives them.
      const std::uint64_t pseed = d.inputs.contains("prompt_seeds") ? d.inputs["prompt_seeds"][i].get<std::uint64_t>()
                                                                    : stats::derive_seed(seed, i);
      const Dataset ds = gen->generate({prompt}, n, pseed, w / part.str());
      for (std::size_t k = 0; k < ds.records.size() && static_cast<int>(k) < n; ++k) {
        Record o = ds.records[k];
        o.path = part.str() + "/" + o.path;
        if (o.prompt.empty()) o.prompt = prompt;
        if (!o.label && label_of(prompts[i])) {
          o.label = label_of(prompts[i]);
          o.label_name = prompts[i][3];
        }
        out.push_back(o);
      }
    }
  }
  for (auto& r : out) {
    r.modality = mod;
    r.specialty = specialty;
    r.split = "";
  }
  write_manifest(w, out);
  const double secs = seconds_since(t0);
  return ojson{{"images", out.size()}, {"seconds", secs}, {"images_per_s", secs > 0 ? out.size() / secs : 0.0}};
}

void plan_generate(RunContext& c) {
  int total = 0;
  for (const auto& m : c.suite.models) total += static_cast<int>(m.modalities.size());
  Progress prog("stage generate", total, "sets");
  for (const auto& m : c.suite.models) {
    // The model's identity (what determines its images besides prompts and seed) and options.
    ojson ident, where = nullptr;
    const bool engine_model = m.source == "train" || m.source == "native";
    if (m.source == "train") {
      ident = {{"train_unit", c.trained.at(m.name).key}};
      where = c.location(c.trained.at(m.name).dir);
    } else if (m.source == "native") {
      const fs::path latest = m.path / "latest.json";
      if (!fs::exists(latest))
        throw InputError(at_file(c.suite.file.string(), "$.models." + m.name + ".source.checkpoint: " + m.path.string() +
                                                            " has no latest.json (not a finished engine run)"));
      ident = {{"checkpoint", fs::absolute(m.path).lexically_normal().string()}, {"latest", sha256_file(latest)}};
      where = c.location(m.path);
    } else if (m.source == "folder") {
      ident = {{"folder", manifest_hash(m.path)}};
      where = c.location(m.path);
    }
    const ojson spec = {{"source", m.source},
                        {"sampler", engine_model ? opt_json(m.sampler) : ojson(nullptr)},
                        {"steps", m.source == "train" ? opt_json(m.sample_steps) : m.source == "native" ? opt_json(m.steps) : ojson(nullptr)},
                        {"guidance", engine_model ? opt_json(m.guidance) : ojson(nullptr)},
                        {"batch", m.source == "native" ? opt_json(m.batch) : ojson(nullptr)},
                        {"command", m.source == "command" ? ojson(m.command) : ojson(nullptr)},
                        {"timeout_s", m.source == "command" ? ojson(m.timeout_s) : ojson(nullptr)}};
    for (const auto& mod : m.modalities) {
      const ModalitySpec& ms = c.suite.modality(mod);
      const RealData& rd = c.real.at(mod);
      ojson pl = ojson::array();
      int n = 0;
      for (const auto& [p, k] : plan_prompts(c, ms)) {
        const auto lab = prompt_label(rd, p);
        pl.push_back({p, k, opt_json(lab.first), lab.second});
        n += k;
      }
      const ojson in = {{"model", ident}, {"model_name", m.name}, {"modality", mod}, {"manifest_modality", ms.manifest_modality},
                        {"specialty", ms.specialty}, {"prompts", pl}, {"n", n}, {"seed", c.seed_for("generate:" + m.name + ":" + mod)},
                        {"device", engine_model ? c.device : std::string("")}};
      const Unit u = c.suite.shard_size > 0 && n > c.suite.shard_size && m.source != "folder"
                         ? plan_generate_shards(c, m.name + "-" + mod, spec, in, where)
                         : c.run(make_unit("generate", m.name + "-" + mod, spec, in, {{"model", where}}));
      Generated g;
      g.unit = u;
      if (!u.pending) g.manifest_hash = manifest_hash(u.dir);  // pending: later stages are planned after it ran
      g.n = u.meta.value("images", 0L);
      g.seconds = u.meta.value("seconds", 0.0);
      c.generated[mm(m.name, mod)] = g;
      prog.advance();
    }
    if (const auto& mem = c.suite.evaluations.memorization; mem && mem->replay) plan_replay_generation(c, m, spec, ident, where, *mem->replay);
  }
}

}  // namespace medsyn::suites
