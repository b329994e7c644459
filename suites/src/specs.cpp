// Typed evaluation specs: parsing (errors name the JSON path), JSON form, library options.
#include "medsyn/suites/specs.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "medsyn/core/error.h"

namespace medsyn::suites {

using nlohmann::json;

namespace {

// Reads the fields of one spec object; every error names where.field.
class Reader {
 public:
  Reader(const json& j, std::string where) : j_(j), where_(std::move(where)) {
    if (!j_.is_object()) fail("", "expected an object");
  }

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw InputError(where_ + (key.empty() ? "" : "." + key) + ": " + what);
  }
  bool has(const std::string& key) const { return j_.contains(key); }
  const json& at(const std::string& key) const { return j_.at(key); }

  void integer(const std::string& key, long long& out, long long min) const {
    if (!has(key)) return;
    if (!at(key).is_number_integer()) fail(key, "expected an integer");
    const long long v = at(key).get<long long>();
    if (v < min) fail(key, "must be at least " + std::to_string(min) + ", got " + std::to_string(v));
    out = v;
  }
  void integer(const std::string& key, int& out, int min) const {
    long long v = out;
    integer(key, v, min);
    out = static_cast<int>(v);
  }
  void number(const std::string& key, double& out, double lo, double hi, bool lo_open, bool hi_open) const {
    if (!has(key)) return;
    if (!at(key).is_number()) fail(key, "expected a number");
    const double v = at(key).get<double>();
    if (!std::isfinite(v) || (lo_open ? v <= lo : v < lo) || (hi_open ? v >= hi : v > hi))
      fail(key, "out of range, got " + at(key).dump());
    out = v;
  }
  void boolean(const std::string& key, bool& out) const {
    if (!has(key)) return;
    if (!at(key).is_boolean()) fail(key, "expected true or false");
    out = at(key).get<bool>();
  }
  void string(const std::string& key, std::string& out, const std::vector<std::string>& allowed = {}) const {
    if (!has(key)) return;
    if (!at(key).is_string()) fail(key, "expected a string");
    const std::string v = at(key).get<std::string>();
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      fail(key, "expected one of " + list + ", got '" + v + "'");
    }
    out = v;
  }
  void strings(const std::string& key, std::vector<std::string>& out, const std::vector<std::string>& allowed = {}) const {
    if (!has(key)) return;
    if (!at(key).is_array()) fail(key, "expected an array of strings");
    std::vector<std::string> v;
    for (std::size_t i = 0; i < at(key).size(); ++i) {
      const json& e = at(key)[i];
      const std::string k = key + "[" + std::to_string(i) + "]";
      if (!e.is_string()) fail(k, "expected a string");
      if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), e.get<std::string>()) == allowed.end())
        fail(k, "unknown value '" + e.get<std::string>() + "'");
      v.push_back(e.get<std::string>());
    }
    out = std::move(v);
  }
  void numbers(const std::string& key, std::vector<double>& out) const {
    if (!has(key)) return;
    if (!at(key).is_array()) fail(key, "expected an array of numbers");
    std::vector<double> v;
    for (std::size_t i = 0; i < at(key).size(); ++i) {
      if (!at(key)[i].is_number()) fail(key + "[" + std::to_string(i) + "]", "expected a number");
      v.push_back(at(key)[i].get<double>());
    }
    out = std::move(v);
  }
  // Unknown keys are errors (the schema says the same; unit.json specs are read with this too).
  void only(const std::set<std::string>& known) const {
    for (auto it = j_.begin(); it != j_.end(); ++it)
      if (!known.count(it.key())) fail(it.key(), "unknown key");
  }

 private:
  const json& j_;
  std::string where_;
};

}  // namespace

bool is_suite_extractor(const std::string& spec) {
  return spec.substr(0, spec.find('?')) == kSuiteExtractorSpec;
}

ExtractorTrainingSpec extractor_training_spec_from_json(const json& j, const std::string& where) {
  const Reader r(j, where);
  r.only({"epochs", "size", "width", "dim", "pool", "batch", "temperature", "lr", "augment", "view_zooms",
          "flip_symmetric", "max_images"});
  ExtractorTrainingSpec s;
  r.integer("epochs", s.epochs, 1);
  r.integer("size", s.size, 8);
  if (s.size > 512) r.fail("size", "must be at most 512, got " + std::to_string(s.size));
  r.integer("width", s.width, 1);
  r.integer("dim", s.dim, 1);
  r.integer("pool", s.pool, 1);
  if (s.pool > 8) r.fail("pool", "must be at most 8, got " + std::to_string(s.pool));
  r.integer("batch", s.batch, 2);
  r.number("temperature", s.temperature, 0, HUGE_VAL, true, false);
  r.number("lr", s.lr, 0, HUGE_VAL, true, false);
  r.string("augment", s.augment, {"copy", "simclr"});
  r.string("view_zooms", s.view_zooms);  // its syntax is checked by the training (as train_zooms is by the audit)
  r.boolean("flip_symmetric", s.flip_symmetric);
  long long mi = s.max_images;
  r.integer("max_images", mi, 0);
  s.max_images = mi;
  return s;
}

json to_json(const ExtractorTrainingSpec& s) {
  return {{"epochs", s.epochs},   {"size", s.size},
          {"width", s.width},     {"dim", s.dim},
          {"pool", s.pool},       {"batch", s.batch},
          {"temperature", s.temperature}, {"lr", s.lr},
          {"augment", s.augment}, {"view_zooms", s.view_zooms},
          {"flip_symmetric", s.flip_symmetric}, {"max_images", s.max_images}};
}

memorization::ContrastiveTrainOptions to_options(const ExtractorTrainingSpec& s) {
  memorization::ContrastiveTrainOptions o;
  o.epochs = s.epochs;
  o.size = s.size;
  o.width = s.width;
  o.dim = s.dim;
  o.pool = s.pool;
  o.batch = s.batch;
  o.temperature = s.temperature;
  o.lr = s.lr;
  o.augment = s.augment;
  o.view_zooms = s.view_zooms;
  o.flip_symmetric = s.flip_symmetric;
  o.max_images = static_cast<std::size_t>(s.max_images);
  return o;
}

FidelitySpec fidelity_spec_from_json(const json& j, const std::string& where) {
  const Reader r(j, where);
  r.only({"extractor", "extractor_training", "bootstrap", "ci_level", "k", "kid_subsets", "kid_subset_size", "real_split"});
  FidelitySpec s;
  r.string("extractor", s.extractor);
  if (s.extractor.empty()) r.fail("extractor", "must not be empty");
  if (is_suite_extractor(s.extractor)) {
    s.extractor_training = r.has("extractor_training")
                               ? extractor_training_spec_from_json(r.at("extractor_training"), where + ".extractor_training")
                               : ExtractorTrainingSpec{};
  } else if (r.has("extractor_training")) {
    r.fail("extractor_training", std::string("only with \"extractor\": \"") + kSuiteExtractorSpec +
                                     "\" (the extractor the run trains itself), not with '" + s.extractor + "'");
  }
  r.integer("bootstrap", s.bootstrap, 0);
  r.number("ci_level", s.ci_level, 0, 1, true, true);
  r.integer("k", s.k, 1);
  r.integer("kid_subsets", s.kid_subsets, 1);
  long long kss = s.kid_subset_size;
  r.integer("kid_subset_size", kss, 2);
  s.kid_subset_size = kss;
  r.string("real_split", s.real_split, {"train", "val", "test"});
  return s;
}

DiversitySpec diversity_spec_from_json(const json& j, const std::string& where) {
  const Reader r(j, where);
  r.only({"pairs", "scales", "win_size", "bootstrap", "reference"});
  DiversitySpec s;
  if (r.has("pairs")) {
    if (r.at("pairs").is_string()) {
      if (r.at("pairs").get<std::string>() != "all") r.fail("pairs", "expected \"all\" or a positive integer");
      s.pairs = 0;
    } else {
      long long p = 0;
      r.integer("pairs", p, 1);
      s.pairs = p;
    }
  }
  r.integer("scales", s.scales, 0);
  r.integer("win_size", s.win_size, 3);
  if (s.win_size % 2 == 0) r.fail("win_size", "must be odd, got " + std::to_string(s.win_size));
  r.integer("bootstrap", s.bootstrap, 0);
  r.boolean("reference", s.reference);
  return s;
}

MemorizationSpec memorization_spec_from_json(const json& j, const std::string& where) {
  const Reader r(j, where);
  r.only({"embedder", "k", "index", "threshold_quantile", "thresholds", "top_pairs", "redact_real", "train_zooms", "replay"});
  MemorizationSpec s;
  r.string("embedder", s.embedder);
  if (s.embedder.empty()) r.fail("embedder", "must not be empty");
  r.integer("k", s.k, 1);
  r.string("index", s.index, {"flat", "ivf", "hnsw"});
  r.number("threshold_quantile", s.threshold_quantile, 0, 1, true, true);
  r.numbers("thresholds", s.thresholds);
  r.integer("top_pairs", s.top_pairs, 0);
  r.boolean("redact_real", s.redact_real);
  r.string("train_zooms", s.train_zooms);
  if (r.has("replay") && !r.at("replay").is_null()) {
    const Reader rr(r.at("replay"), where + ".replay");
    rr.only({"prompts", "images_per_prompt"});
    ReplaySpec rs;
    rr.integer("prompts", rs.prompts, 1);
    rr.integer("images_per_prompt", rs.images_per_prompt, 1);
    s.replay = rs;
  }
  return s;
}

DownstreamSpec downstream_spec_from_json(const json& j, const std::string& where) {
  const Reader r(j, where);
  r.only({"modalities", "fractions", "arms", "seeds", "synthetic_ratio", "label_field", "adjust", "test", "epochs"});
  DownstreamSpec s;
  if (r.has("modalities") && !r.at("modalities").is_null()) {
    std::vector<std::string> mods;
    r.strings("modalities", mods);
    s.modalities = mods;
  }
  r.numbers("fractions", s.fractions);
  if (s.fractions.empty()) r.fail("fractions", "give at least one fraction");
  for (std::size_t i = 0; i < s.fractions.size(); ++i)
    if (!(s.fractions[i] > 0 && s.fractions[i] <= 1))
      r.fail("fractions[" + std::to_string(i) + "]", "must be in (0, 1], got " + json(s.fractions[i]).dump());
  r.strings("arms", s.arms, {"real", "real+syn", "syn", "2xreal"});
  if (s.arms.empty()) r.fail("arms", "give at least one arm");
  r.integer("seeds", s.seeds, 1);
  r.number("synthetic_ratio", s.synthetic_ratio, 0, HUGE_VAL, true, false);
  r.string("label_field", s.label_field);
  r.string("adjust", s.adjust, {"holm", "bh"});
  r.string("test", s.test, {"t", "wilcoxon"});
  r.integer("epochs", s.epochs, 1);
  return s;
}

AdherenceSpec adherence_spec_from_json(const json& j, const std::string& where) {
  const Reader r(j, where);
  r.only({"modalities", "seeds", "epochs", "label_field", "reverse", "ci_level"});
  AdherenceSpec s;
  if (r.has("modalities") && !r.at("modalities").is_null()) {
    std::vector<std::string> mods;
    r.strings("modalities", mods);
    s.modalities = mods;
  }
  r.integer("seeds", s.seeds, 1);
  r.integer("epochs", s.epochs, 1);
  r.string("label_field", s.label_field);
  if (s.label_field.empty()) r.fail("label_field", "must not be empty");
  r.boolean("reverse", s.reverse);
  r.number("ci_level", s.ci_level, 0, 1, true, true);
  return s;
}

AlignmentSpec alignment_spec_from_json(const json& j, const std::string& where) {
  const Reader r(j, where);
  r.only({"modalities", "image_tower", "prompt_embeddings", "prompts", "bootstrap", "ci_level"});
  AlignmentSpec s;
  if (r.has("modalities") && !r.at("modalities").is_null()) {
    std::vector<std::string> mods;
    r.strings("modalities", mods);
    s.modalities = mods;
  }
  if (!r.has("image_tower")) r.fail("image_tower", "is required (an extractor spec: the image tower of the user's CLIP-style model)");
  r.string("image_tower", s.image_tower);
  if (s.image_tower.empty()) r.fail("image_tower", "must not be empty");
  if (!r.has("prompt_embeddings"))
    r.fail("prompt_embeddings", "is required (E.json or E.npy: the prompts embedded by the user's text tower)");
  r.string("prompt_embeddings", s.prompt_embeddings);
  if (s.prompt_embeddings.empty()) r.fail("prompt_embeddings", "must not be empty");
  r.string("prompts", s.prompts);
  r.integer("bootstrap", s.bootstrap, 0);
  r.number("ci_level", s.ci_level, 0, 1, true, true);
  return s;
}

ComputeSpec compute_spec_from_json(const json& j, const std::string& where) {
  const Reader r(j, where);
  r.only({"measure", "measure_steps"});
  ComputeSpec s;
  r.boolean("measure", s.measure);
  r.integer("measure_steps", s.measure_steps, 1);
  return s;
}

EvaluationSpecs evaluation_specs_from_json(const json& j, const std::string& where) {
  const Reader r(j, where);
  r.only({"fidelity", "diversity", "memorization", "downstream", "adherence", "alignment", "compute"});
  EvaluationSpecs e;
  if (r.has("fidelity")) e.fidelity = fidelity_spec_from_json(j["fidelity"], where + ".fidelity");
  if (r.has("diversity")) e.diversity = diversity_spec_from_json(j["diversity"], where + ".diversity");
  if (r.has("memorization")) e.memorization = memorization_spec_from_json(j["memorization"], where + ".memorization");
  if (r.has("downstream")) e.downstream = downstream_spec_from_json(j["downstream"], where + ".downstream");
  if (r.has("adherence")) e.adherence = adherence_spec_from_json(j["adherence"], where + ".adherence");
  if (r.has("alignment")) e.alignment = alignment_spec_from_json(j["alignment"], where + ".alignment");
  if (r.has("compute")) e.compute = compute_spec_from_json(j["compute"], where + ".compute");
  return e;
}

json to_json(const FidelitySpec& s) {
  json j = {{"extractor", s.extractor}, {"bootstrap", s.bootstrap}, {"ci_level", s.ci_level}, {"k", s.k},
            {"kid_subsets", s.kid_subsets}, {"kid_subset_size", s.kid_subset_size}, {"real_split", s.real_split}};
  // Only for the suite-trained extractor, so the keys of every other suite's units stay as they were.
  if (s.extractor_training) j["extractor_training"] = to_json(*s.extractor_training);
  return j;
}

json to_json(const DiversitySpec& s) {
  json j = {{"scales", s.scales}, {"win_size", s.win_size}, {"bootstrap", s.bootstrap}, {"reference", s.reference}};
  j["pairs"] = s.pairs == 0 ? json("all") : json(s.pairs);
  return j;
}

json to_json(const MemorizationSpec& s) {
  return {{"embedder", s.embedder}, {"k", s.k}, {"index", s.index}, {"threshold_quantile", s.threshold_quantile},
          {"thresholds", s.thresholds}, {"top_pairs", s.top_pairs}, {"redact_real", s.redact_real},
          {"train_zooms", s.train_zooms},
          {"replay", s.replay ? json{{"prompts", s.replay->prompts}, {"images_per_prompt", s.replay->images_per_prompt}} : json(nullptr)}};
}

json to_json(const DownstreamSpec& s) {
  return {{"modalities", s.modalities ? json(*s.modalities) : json(nullptr)},
          {"fractions", s.fractions},
          {"arms", s.arms},
          {"seeds", s.seeds},
          {"synthetic_ratio", s.synthetic_ratio},
          {"label_field", s.label_field},
          {"adjust", s.adjust},
          {"test", s.test},
          {"epochs", s.epochs}};
}

json to_json(const AdherenceSpec& s) {
  return {{"modalities", s.modalities ? json(*s.modalities) : json(nullptr)},
          {"seeds", s.seeds},
          {"epochs", s.epochs},
          {"label_field", s.label_field},
          {"reverse", s.reverse},
          {"ci_level", s.ci_level}};
}

json to_json(const AlignmentSpec& s) {
  return {{"modalities", s.modalities ? json(*s.modalities) : json(nullptr)},
          {"image_tower", s.image_tower},
          {"prompt_embeddings", s.prompt_embeddings},
          {"prompts", s.prompts},
          {"bootstrap", s.bootstrap},
          {"ci_level", s.ci_level}};
}

json to_json(const ComputeSpec& s) { return {{"measure", s.measure}, {"measure_steps", s.measure_steps}}; }

const std::vector<std::string>& planning_fields(const std::string& evaluation) {
  static const std::vector<std::string> none, diversity = {"reference"}, downstream = {"modalities"}, memorization = {"replay"};
  // alignment: the files enter a unit's inputs as content hashes (and the tower as its id), not as paths
  static const std::vector<std::string> alignment = {"modalities", "image_tower", "prompt_embeddings", "prompts"};
  if (evaluation == "diversity") return diversity;
  if (evaluation == "alignment") return alignment;
  if (evaluation == "memorization") return memorization;
  if (evaluation == "downstream" || evaluation == "adherence") return downstream;  // both: {"modalities"}
  return none;
}

metrics::FidelityOptions to_options(const FidelitySpec& s) {
  metrics::FidelityOptions o;
  o.extractor_spec = s.extractor;
  o.bootstrap = s.bootstrap;
  o.ci_level = s.ci_level;
  o.k = s.k;
  o.kid_subsets = s.kid_subsets;
  o.kid_subset_size = s.kid_subset_size;
  return o;
}

metrics::DiversityOptions to_options(const DiversitySpec& s) {
  metrics::DiversityOptions o;
  o.pairs = s.pairs;
  if (s.scales > 0) o.ms_ssim.scales = s.scales;
  o.ms_ssim.ssim.win_size = s.win_size;
  o.bootstrap.replicates = s.bootstrap;
  return o;
}

memorization::AuditOptions to_options(const MemorizationSpec& s) {
  memorization::AuditOptions o;
  o.embedder = s.embedder;
  o.k = s.k;
  o.index = s.index == "ivf" ? memorization::IndexKind::ivf
            : s.index == "hnsw" ? memorization::IndexKind::hnsw
                                : memorization::IndexKind::flat;
  o.threshold_quantile = s.threshold_quantile;
  o.thresholds = s.thresholds;
  o.top_pairs = s.top_pairs;
  o.redact_real = s.redact_real;
  o.train_zooms = s.train_zooms;
  return o;
}

downstream::DownstreamOptions to_options(const DownstreamSpec& s) {
  downstream::DownstreamOptions o;
  o.label_field = s.label_field;
  o.fractions = s.fractions;
  o.arms = s.arms;
  o.synthetic_ratio = s.synthetic_ratio;
  o.seeds = s.seeds;
  o.adjust = s.adjust;
  o.test = s.test;
  o.classifier.epochs = s.epochs;
  // validations cannot outnumber epochs (classifier.h)
  o.classifier.checkpoints = std::min(o.classifier.checkpoints, o.classifier.epochs);
  return o;
}

downstream::AdherenceOptions to_options(const AdherenceSpec& s) {
  downstream::AdherenceOptions o;
  o.seeds = s.seeds;
  o.label_field = s.label_field;
  o.reverse = s.reverse;
  o.ci_level = s.ci_level;
  o.classifier.epochs = s.epochs;
  // validations cannot outnumber epochs (classifier.h)
  o.classifier.checkpoints = std::min(o.classifier.checkpoints, o.classifier.epochs);
  return o;
}

engine::CostOptions to_options(const ComputeSpec& s) {
  engine::CostOptions o;
  o.measure = s.measure;
  o.measure_steps = s.measure_steps;
  return o;
}

}  // namespace medsyn::suites
