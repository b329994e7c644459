// Stage features: extractor features of each modality's real role (fidelity.real_split) and of
// every synthetic set; the input of the fidelity stage.
//
// Sharding (suite `execution.shard_size`, docs/cluster.md "Sharding large units"): a set with
// more images than shard_size is extracted by shard units of its own ("<set>.shard-III-of-NNN":
// rows [begin, end) of the set's records in manifest order), each writing its features.npy and
// the float64 sufficient statistics of its rows (sufficient_stats.npz: n, mean, centred scatter
// m2). The set's unit ("<set>", inputs = the shard keys) then concatenates the shard matrices in
// row order into features.npy (the same rows as one unsharded extraction) and merges the shard
// statistics exactly with Chan et al.'s pairwise update into fid_stats.npz (mu, sigma, n), which
// the fidelity stage uses for the FID point estimate. Sets of at most shard_size images keep
// their unsharded unit and key.
//
// The suite-trained extractor (fidelity.extractor "builtin:contrastive:suite", specs.h): one more
// unit of this stage, "embedder", trains the contrastive embedder (memorization/contrastive.h) on
// every modality's real training split, in suite order, with fidelity.extractor_training and the
// seed "extractor_training" derived from the suite seed. Its key holds the real sets' content
// hashes, the training options, the seed and the device; every features unit takes that key and
// the weights' SHA-256 as inputs and reads the file through its `locations`, so new training
// images or options change every downstream key, and run-unit can compute a features unit alone.
#include <algorithm>

#include "medsyn/core/error.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/core/npy.h"
#include "medsyn/memorization/contrastive.h"
#include "medsyn/metrics/feature_extract.h"
#include "medsyn/metrics/stats.h"
#include "medsyn/suites/specs.h"
#include "../run_context.h"

namespace fs = std::filesystem;

namespace medsyn::suites {

namespace {

// A shard's accumulator state as a file (float64; m2 as a full symmetric D x D matrix).
void write_state(const fs::path& file, const metrics::StatsAccumulator& acc) {
  const auto s = acc.state();
  const std::int64_t d = acc.dim();
  write_npz(file, {{"n", make_npy(std::vector<std::int64_t>{s.n}, {1})}, {"mean", make_npy(s.mean, {d})}, {"m2", make_npy(s.m2, {d, d})}});
}

metrics::StatsAccumulator read_state(const fs::path& file, int dim) {
  const auto a = read_npz(file);
  for (const char* k : {"n", "mean", "m2"})
    if (!a.count(k)) throw InputError(at_file(file.string(), std::string("no array '") + k + "'"));
  metrics::StatsAccumulator::State s;
  const auto n = a.at("n").as_i64();
  if (n.size() != 1) throw InputError(at_file(file.string(), "'n' must hold one integer"));
  s.n = n[0];
  s.mean = a.at("mean").as_f64();
  s.m2 = a.at("m2").as_f64();
  try {
    return metrics::StatsAccumulator::from_state(dim, s);
  } catch (const InputError& e) {
    throw InputError(at_file(file.string(), e.what()));
  }
}

// The set's unit from its shard units: rows concatenated in shard order, statistics merged.
ojson merge_shards(const UnitDescription& d, RunContext& c, const fs::path& w) {
  Matrix32 all;
  json sidecar;
  json paths = json::array(), hashes = json::array(), shards = json::array();
  std::unique_ptr<metrics::StatsAccumulator> acc;
  double seconds = 0;
  for (const auto& loc : d.locations.at("shards")) {
    const fs::path dir = c.resolve(loc);
    const Matrix32 m = read_feature_matrix(dir / "features.npy");
    if (all.cols && m.cols != all.cols)
      throw InputError(at_file((dir / "features.npy").string(), "dimension " + std::to_string(m.cols) + ", other shards " + std::to_string(all.cols)));
    all.cols = m.cols;
    all.rows += m.rows;
    all.data.insert(all.data.end(), m.data.begin(), m.data.end());
    const json sc = read_json_file(dir / "features.npy.json");
    if (sidecar.is_null()) sidecar = sc;
    for (const auto& p : sc.at("paths")) paths.push_back(p);
    for (const auto& h : sc.at("image_sha256")) hashes.push_back(h);
    if (!acc) acc = std::make_unique<metrics::StatsAccumulator>(static_cast<int>(m.cols));
    const metrics::StatsAccumulator s = read_state(dir / "sufficient_stats.npz", static_cast<int>(m.cols));
    if (s.count() != m.rows) throw InputError(at_file((dir / "sufficient_stats.npz").string(), "n does not match features.npy's rows"));
    acc->merge(s);
    seconds += read_json_file(dir / "done.json")["summary"].value("seconds", 0.0);
    shards.push_back({{"unit", c.location(dir)}, {"rows", m.rows}});
  }
  if (all.rows != d.inputs["rows"].get<std::int64_t>())
    throw InputError(d.id() + ": the shards hold " + std::to_string(all.rows) + " rows, planned " + d.inputs["rows"].dump());
  write_feature_matrix(w / "features.npy", all);
  sidecar["rows"] = all.rows;
  sidecar["paths"] = paths;
  sidecar["image_sha256"] = hashes;
  sidecar["cache"] = {{"key", ""}, {"hit", false}, {"file", ""}};
  sidecar["shards"] = shards;
  write_json_file(w / "features.npy.json", sidecar);
  ojson meta = {{"rows", all.rows}, {"dim", all.cols}, {"seconds", seconds}, {"shards", shards.size()}};
  if (acc->count() >= 2) {
    metrics::write_stats_npz(w / "fid_stats.npz", acc->finish(d.name));
    meta["fid_stats"] = "fid_stats.npz";
  }
  return meta;
}

constexpr const char* kEmbedderKind = "suite-contrastive-embedder";
constexpr const char* kEmbedderFile = "embedder.pt";

// The embedder unit: trained on the real training splits named by its locations.
ojson compute_embedder(const UnitDescription& d, RunContext& c, const fs::path& w) {
  std::vector<memorization::ContrastiveTrainingSet> sets;
  for (auto it = d.locations.at("real").begin(); it != d.locations.at("real").end(); ++it)
    sets.push_back({c.resolve(it.value()), it.key(), "train"});
  auto o = to_options(extractor_training_spec_from_json(json::parse(d.spec.dump()), d.id() + " spec"));
  o.seed = d.inputs["seed"].get<std::uint64_t>();
  o.device = c.device;
  memorization::ContrastiveTrainReport r;
  try {
    r = memorization::train_contrastive_embedder(sets, w / kEmbedderFile, o);
  } catch (const InputError& e) {  // name the suite field the options came from
    throw InputError(at_file(c.suite.file.string(), std::string("$.evaluations.fidelity.extractor_training (") +
                                                        d.id() + "): " + e.what()));
  }
  json report = memorization::train_report_to_json(r);
  report["out"] = kEmbedderFile;  // not the .partial folder it was written in
  report["extractor"] = std::string("builtin:contrastive:") + kEmbedderFile;
  write_json_file(w / "training.json", report);
  return ojson{{"weights_sha256", r.weights_sha256},
               {"images", r.images},
               {"epochs", r.epochs},
               {"final_loss", r.epoch_loss.empty() ? ojson(nullptr) : ojson(r.epoch_loss.back())},
               {"seconds", r.seconds}};
}

// "builtin:contrastive:suite?OPTS" -> "builtin:contrastive:<file>?OPTS".
std::string resolved_suite_spec(const std::string& spec, const fs::path& file) {
  const auto q = spec.find('?');
  return "builtin:contrastive:" + file.string() + (q == std::string::npos ? "" : spec.substr(q));
}

Unit plan_suite_embedder(RunContext& c, const ExtractorTrainingSpec& t) {
  ojson real = ojson::object(), where = ojson::object();
  for (const auto& m : c.suite.modalities) {
    real[m.name] = c.real.at(m.name).real_hash;
    where[m.name] = c.location(c.real.at(m.name).real_dir);
  }
  const ojson in = {{"kind", kEmbedderKind}, {"real", real}, {"split", "train"},
                    {"seed", c.seed_for("extractor_training")}, {"device", c.device}};
  return c.run(make_unit("features", "embedder", ojson::parse(to_json(t).dump()), in, {{"real", where}}));
}

}  // namespace

ojson compute_features(const UnitDescription& d, RunContext& c, const fs::path& w) {
  if (d.inputs.value("kind", "") == kEmbedderKind) return compute_embedder(d, c, w);
  if (d.inputs.contains("shards")) return merge_shards(d, c, w);
  std::string spec = d.spec["extractor"];
  if (is_suite_extractor(spec)) spec = resolved_suite_spec(spec, c.resolve(d.locations.at("embedder")) / kEmbedderFile);
  const std::string modality = d.inputs["modality"], split = d.inputs["split"];
  FeatureExtractor& ex = c.extractor(spec);
  const Dataset ds = load_dataset(c.resolve(d.locations.at("dataset")));
  auto recs = ds.select(modality, split);
  const bool shard = d.inputs.contains("rows");
  if (shard) {  // rows [begin, end) of the set's records
    const std::int64_t b = d.inputs["rows"][0], e = d.inputs["rows"][1];
    if (b < 0 || e > static_cast<std::int64_t>(recs.size()) || b >= e)
      throw InputError(d.id() + ": rows [" + std::to_string(b) + ", " + std::to_string(e) + ") outside the set's " +
                       std::to_string(recs.size()) + " records");
    recs = std::vector<Record>(recs.begin() + b, recs.begin() + e);
  }
  ExtractOptions eo;
  eo.use_cache = false;  // the unit is the cache
  eo.progress_label = "features " + d.name;
  const auto r = extract_features(ds, recs, ex, eo);
  write_features(w / "features.npy", r, feature_sidecar(r, ex, spec, c.device, ds, modality, split));
  if (shard) {
    metrics::StatsAccumulator acc(static_cast<int>(r.features.cols));
    for (std::int64_t i = 0; i < r.features.rows; i += 1024)
      acc.add(r.features.data.data() + i * r.features.cols, std::min<std::int64_t>(1024, r.features.rows - i));
    write_state(w / "sufficient_stats.npz", acc);
  }
  return ojson{{"rows", r.features.rows}, {"dim", r.features.cols}, {"seconds", r.seconds}};
}

void plan_features(RunContext& c) {
  const FidelitySpec& fs_ = *c.suite.evaluations.fidelity;
  memorization::register_extractors();
  std::string resolved = fs_.extractor;
  ojson embedder_key, embedder_dir;  // the suite-trained extractor's unit (null otherwise)
  if (is_suite_extractor(fs_.extractor)) {
    const Unit planned = plan_suite_embedder(c, *fs_.extractor_training);
    const Unit& e = require_complete(planned, "features/embedder");
    resolved = resolved_suite_spec(fs_.extractor, e.dir / kEmbedderFile);
    embedder_key = e.key;
    embedder_dir = c.location(e.dir);
    c.extractor_training = {{"unit", embedder_dir},
                            {"key", e.key},
                            {"images", e.meta.value("images", 0)},
                            {"epochs", e.meta.value("epochs", 0)},
                            {"final_loss", e.meta.contains("final_loss") ? e.meta["final_loss"] : ojson(nullptr)},
                            {"seconds", e.meta.value("seconds", 0.0)},
                            {"seed", c.seeds["extractor_training"]},
                            {"options", ojson::parse(to_json(*fs_.extractor_training).dump())}};
  }
  FeatureExtractor& ex = c.extractor(resolved);
  c.extractor_id = ex.id();
  c.extractor_pre = ex.input_spec().describe();
  c.extractor_weights = ex.weights_hash();
  // The extractor's identity is an input: a spec naming a file (weights) changes with the file.
  ojson exin = {{"id", c.extractor_id}, {"preprocessing", c.extractor_pre}, {"device", c.device}};
  if (!embedder_key.is_null()) {  // only here, so the keys of other extractors stay as they were
    exin["embedder"] = embedder_key;
    exin["weights_sha256"] = c.extractor_weights;
  }
  const ojson spec = {{"extractor", fs_.extractor}};
  auto unit = [&](const std::string& name, const fs::path& dir, const std::string& hash, const std::string& modality,
                  const std::string& split) {
    const ojson in = {{"extractor", exin}, {"dataset", hash}, {"modality", modality}, {"split", split}};
    ojson where = {{"dataset", c.location(dir)}};
    if (!embedder_dir.is_null()) where["embedder"] = embedder_dir;
    const std::int64_t size = c.suite.shard_size;
    const std::int64_t rows = size > 0 ? static_cast<std::int64_t>(load_dataset(dir).select(modality, split).size()) : 0;
    if (size <= 0 || rows <= size) return c.run(make_unit("features", name, spec, in, where));
    // Shard units, then the set's unit over them (a later Slurm wave: it reads pending units).
    const std::int64_t count = (rows + size - 1) / size;
    ojson keys = ojson::array(), dirs = ojson::array();
    auto tag = [](std::int64_t v) {
      std::string s = std::to_string(v);
      return std::string(s.size() < 3 ? 3 - s.size() : 0, '0') + s;
    };
    for (std::int64_t i = 0; i < count; ++i) {
      ojson sin = in;
      sin["rows"] = {i * size, std::min(rows, (i + 1) * size)};
      sin["shard"] = {i, count};
      const Unit s = c.run(make_unit("features", name + ".shard-" + tag(i) + "-of-" + tag(count), spec, sin, where));
      keys.push_back(s.key);
      dirs.push_back(c.location(s.dir));
    }
    ojson min = in;
    min["shards"] = keys;
    min["rows"] = rows;
    ojson mwhere = where;
    mwhere["shards"] = dirs;
    return c.run(make_unit("features", name, spec, min, mwhere));
  };
  for_each_image_set(
      c, "stage features", /*with_real=*/true,
      [&](const std::string& m) {
        c.real_features[m] = unit("real-" + m, c.real.at(m).real_dir, c.real.at(m).real_hash, m, fs_.real_split);
      },
      [&](const std::string& model, const std::string& mod, const Generated& g) {
        if (c.suite.shard_size > 0 && g.unit.pending) {
          // Its size decides the shards: planned in a wave after it (whatever reads this waits).
          c.syn_features[mm(model, mod)] = g.unit;
          return;
        }
        c.syn_features[mm(model, mod)] = unit(model + "-" + mod, g.unit.dir, g.manifest_hash, mod, "");
      });
}

}  // namespace medsyn::suites
