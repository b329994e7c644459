// The runner's building blocks without data: the data stage's role assignment, the typed
// evaluation specs (defaults = the libraries' option structs, errors name the JSON path), unit
// keys (every spec field is in the key) and unit.json round trips.
#include <catch2/catch.hpp>

#include <algorithm>
#include <optional>
#include <set>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/json.h"
#include "medsyn/suites/classes.h"
#include "medsyn/suites/data_split.h"
#include "medsyn/suites/runner.h"
#include "medsyn/suites/specs.h"
#include "medsyn/suites/suite.h"
#include "medsyn/suites/unit_store.h"
#include "test_support.h"

using namespace medsyn;
using namespace medsyn::suites;

namespace {

std::vector<Record> records(int n, const std::string& split) {
  std::vector<Record> out;
  for (int i = 0; i < n; ++i) {
    Record r;
    r.path = "images/" + std::to_string(i) + ".png";
    r.split = split;
    out.push_back(r);
  }
  return out;
}

std::vector<std::string> paths(const std::vector<Record>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs) out.push_back(r.path);
  return out;
}

// Another valid value of a spec field (in the suite file's form).
json changed(const std::string& key, const json& v) {
  if (key == "replay") return json{{"prompts", 3}, {"images_per_prompt", 2}};  // memorization.replay: absent (null) by default
  if (v.is_null()) return json::array({"some_modality"});
  if (v.is_boolean()) return !v.get<bool>();
  if (v.is_number_integer()) return v.get<long long>() + 2;  // keeps win_size odd
  if (v.is_number()) return v.get<double>() < 1 ? v.get<double>() / 2 : v.get<double>() + 1;
  if (v.is_array()) return json::array({v[0]});
  const std::string s = v.get<std::string>();
  if (key == "pairs") return 3;
  if (s == "flat") return "hnsw";
  if (s == "train") return "val";
  if (s == "holm") return "bh";
  if (s == "t") return "wilcoxon";
  if (s == "simclr") return "copy";
  return s + "x";
}

template <class Spec, class Parse>
void check_every_field_keyed(const std::string& evaluation, Parse parse) {
  const json base = to_json(Spec{});
  const auto key_of = [&](const Spec& s) {
    return make_unit(evaluation, "m-x", unit_spec_json(s, evaluation), {{"dataset", "h"}}).key;
  };
  const std::string k0 = key_of(parse(json::object(), "$"));
  const auto& planning = planning_fields(evaluation);
  for (auto it = base.begin(); it != base.end(); ++it) {
    INFO(evaluation << "." << it.key());
    json j = base;
    j[it.key()] = changed(it.key(), it.value());
    const Spec s = parse(j, "$");
    CHECK(to_json(s)[it.key()] == j[it.key()]);  // parsed and written back
    const bool is_planning = std::find(planning.begin(), planning.end(), it.key()) != planning.end();
    CHECK((key_of(s) != k0) == !is_planning);
  }
}

}  // namespace

TEST_CASE("data split: manifest splits go to their roles, a limit keeps the lowest seeded ranks", "[suites][units]") {
  std::vector<Record> recs = records(10, "train");
  for (auto& r : records(4, "val")) recs.push_back(r);
  for (auto& r : records(3, "test")) recs.push_back(r);
  for (std::size_t i = 10; i < recs.size(); ++i) recs[i].path = "x" + std::to_string(i);
  const SplitNames names{"train", "val", "test", "val"};
  const auto a = assign_roles(recs, names, -1, 7, "m");
  CHECK(!a.splits_assigned);
  CHECK(a.roles.at("train").size() == 10);
  CHECK(paths(a.roles.at("val")) == paths(a.roles.at("holdout")));  // val and holdout share a split
  CHECK(a.roles.at("test").size() == 3);

  const auto b = assign_roles(recs, names, 4, 7, "m");
  CHECK(b.roles.at("train").size() == 4);
  CHECK(b.roles.at("val").size() == 4);
  CHECK(b.roles.at("test").size() == 3);
  const auto kept = paths(b.roles.at("train"));
  CHECK(std::is_sorted(kept.begin(), kept.end(), [&](const std::string& x, const std::string& y) {
    return std::stoi(x.substr(7)) < std::stoi(y.substr(7));  // manifest order
  }));
  CHECK(paths(assign_roles(recs, names, 4, 7, "m").roles.at("train")) == kept);  // deterministic
  bool differs = false;  // another seed, another subset
  for (std::uint64_t seed = 8; seed < 12 && !differs; ++seed) differs = paths(assign_roles(recs, names, 4, seed, "m").roles.at("train")) != kept;
  CHECK(differs);
  const SplitNames no_val{"train", "nothing", "test", "val"};
  CHECK(assign_roles(recs, no_val, -1, 7, "m").roles.count("val") == 0);
}

TEST_CASE("data split: records without splits get a seeded 60/20/20 split", "[suites][units]") {
  const auto recs = records(20, "");
  const auto a = assign_roles(recs, SplitNames{"train", "val", "test", "val"}, -1, 3, "modality 'm'");
  CHECK(a.splits_assigned);
  CHECK(a.roles.at("train").size() == 12);
  CHECK(a.roles.at("test").size() == 4);
  CHECK(a.roles.at("val").size() == 4);
  CHECK(paths(a.roles.at("holdout")) == paths(a.roles.at("val")));
  std::set<std::string> all;
  for (const char* role : {"train", "val", "test"})
    for (const auto& p : paths(a.roles.at(role))) all.insert(p);
  CHECK(all.size() == 20);  // a partition
  CHECK(assign_roles(records(3, ""), SplitNames{}, -1, 0, "m").roles.at("train").size() == 1);
  try {
    assign_roles(records(2, ""), SplitNames{}, -1, 0, "modality 'm'");
    FAIL("no error");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find("modality 'm': 2 image(s) without splits") != std::string::npos);
  }
}

TEST_CASE("specs: defaults are the libraries' option defaults", "[suites][units][specs]") {
  const metrics::FidelityOptions fl;
  const auto f = to_options(FidelitySpec{});
  CHECK(f.bootstrap == fl.bootstrap);
  CHECK(f.ci_level == fl.ci_level);
  CHECK(f.k == fl.k);
  CHECK(f.kid_subsets == fl.kid_subsets);
  CHECK(f.kid_subset_size == fl.kid_subset_size);

  const metrics::DiversityOptions dl;
  const auto d = to_options(DiversitySpec{});
  CHECK(d.pairs == dl.pairs);
  CHECK(d.ms_ssim.ssim.win_size == dl.ms_ssim.ssim.win_size);
  CHECK(d.ms_ssim.scales == dl.ms_ssim.scales);  // automatic scales never exceed it
  CHECK(d.bootstrap.replicates == dl.bootstrap.replicates);
  CHECK(d.bootstrap.level == dl.bootstrap.level);

  const memorization::AuditOptions ml;
  const auto m = to_options(MemorizationSpec{});
  CHECK(m.k == ml.k);
  CHECK(m.index == ml.index);
  CHECK(m.threshold_quantile == ml.threshold_quantile);
  CHECK(m.thresholds == ml.thresholds);
  CHECK(m.top_pairs == ml.top_pairs);
  CHECK(m.redact_real == ml.redact_real);
  CHECK(m.train_zooms == ml.train_zooms);

  const downstream::DownstreamOptions wl;
  const auto w = to_options(DownstreamSpec{});
  CHECK(w.fractions == wl.fractions);
  CHECK(w.arms == wl.arms);
  CHECK(w.seeds == wl.seeds);
  CHECK(w.synthetic_ratio == wl.synthetic_ratio);
  CHECK(w.label_field == wl.label_field);
  CHECK(w.adjust == wl.adjust);
  CHECK(w.test == wl.test);
  CHECK(w.classifier.epochs == wl.classifier.epochs);

  const downstream::AdherenceOptions al;
  const auto a = to_options(AdherenceSpec{});
  CHECK(a.seeds == al.seeds);
  CHECK(a.label_field == al.label_field);
  CHECK(a.reverse == al.reverse);
  CHECK(a.ci_level == al.ci_level);
  CHECK(a.classifier.epochs == al.classifier.epochs);
  CHECK(a.classifier.checkpoints == al.classifier.checkpoints);

  const engine::CostOptions cl;
  const auto c = to_options(ComputeSpec{});
  CHECK(c.measure == cl.measure);
  CHECK(c.measure_steps == cl.measure_steps);

  // `{}` in a suite file is the default spec.
  CHECK(to_json(fidelity_spec_from_json(json::object(), "$")) == to_json(FidelitySpec{}));
  CHECK(to_json(diversity_spec_from_json(json::object(), "$")) == to_json(DiversitySpec{}));
  CHECK(to_json(memorization_spec_from_json(json::object(), "$")) == to_json(MemorizationSpec{}));
  CHECK(to_json(downstream_spec_from_json(json::object(), "$")) == to_json(DownstreamSpec{}));
  CHECK(to_json(compute_spec_from_json(json::object(), "$")) == to_json(ComputeSpec{}));
  CHECK(to_json(adherence_spec_from_json(json::object(), "$")) == to_json(AdherenceSpec{}));
}

TEST_CASE("adherence matches prompts as the engine normalises them", "[suites][units][adherence]") {
  for (const std::string p : {"breast ultrasound, malignant", "  Breast   Ultrasound,\tMALIGNANT \n", "", " ", "a\u00e9 B"})
    CHECK(downstream::normalise_adherence_prompt(p) == engine::normalise_prompt(p));
}

TEST_CASE("per-class split: real images by label, synthetic by the prompt's class, else their label, else none",
          "[suites][units][per_class]") {
  auto rec = [](std::string path, std::optional<long> label, std::string name, std::string prompt, std::string split = "train") {
    Record r;
    r.path = std::move(path);
    r.modality = "chest_xray";
    r.label = label;
    r.label_name = std::move(name);
    r.prompt = std::move(prompt);
    r.split = std::move(split);
    return r;
  };
  const std::vector<Record> real = {
      rec("a.png", 1, "pneumonia", "chest x-ray, pneumonia"), rec("b.png", 0, "normal", "chest x-ray, normal"),
      rec("c.png", 1, "", "Chest X-ray,  PNEUMONIA"),  // the same prompt spelled otherwise
      rec("d.png", 0, "normal", "chest x-ray"), rec("e.png", 1, "pneumonia", "chest x-ray"),  // a prompt of two classes
      rec("f.png", 2, "", "chest x-ray, covid", "test")};                                        // a class seen only in test
  const auto classes = real_classes(real);
  REQUIRE(classes.size() == 3);  // ascending labels; a name from label_name, else the number
  CHECK(classes[0].label == 0);
  CHECK(classes[0].name == "normal");
  CHECK(classes[1].name == "pneumonia");
  CHECK(classes[2].name == "2");
  const ClassSplit rs = split_real(classes, real);
  CHECK(rs.of == std::vector<int>{1, 0, 1, 0, 1, 2});
  CHECK(rs.rows(1) == std::vector<std::int64_t>{0, 2, 4});

  std::vector<Record> train;
  for (const auto& r : real)
    if (r.split == "train") train.push_back(r);
  const std::vector<Record> syn = {
      rec("s0.png", std::nullopt, "", "  chest X-RAY, pneumonia "),  // prompt names pneumonia (normalised)
      rec("s1.png", 1, "pneumonia", "chest x-ray, normal"),          // the prompt wins over the record's label
      rec("s2.png", 0, "normal", "chest x-ray"),                     // ambiguous prompt: the record's label
      rec("s3.png", std::nullopt, "", "chest x-ray"),                // ambiguous prompt, no label: no class
      rec("s4.png", 7, "", "a prompt nobody used"),                  // a label outside the real classes: no class
      rec("s5.png", std::nullopt, "", "chest x-ray, covid")};        // a test-only prompt names no class
  const ClassSplit ss = split_synthetic(classes, train, syn);
  CHECK(ss.of == std::vector<int>{1, 0, 0, -1, -1, -1});
  CHECK(ss.by_prompt == 2);
  CHECK(ss.by_label == 1);
  CHECK(ss.none == 3);
  CHECK(ss.rows(0) == std::vector<std::int64_t>{1, 2});
  CHECK(ss.rows(2).empty());

  // No breakdown without labels on every real image or with one class only.
  auto unlabelled = real;
  unlabelled[3].label.reset();
  CHECK(real_classes(unlabelled).empty());
  CHECK(real_classes({rec("a.png", 1, "", "x"), rec("b.png", 1, "", "y")}).empty());
}

TEST_CASE("specs: a bad value is an InputError naming its JSON path", "[suites][units][specs]") {
  auto message = [](auto&& fn) {
    try {
      fn();
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(message([] { diversity_spec_from_json({{"win_size", 8}}, "s.json: $.evaluations.diversity"); })
            .find("s.json: $.evaluations.diversity.win_size: must be odd") != std::string::npos);
  CHECK(message([] { diversity_spec_from_json({{"pairs", "some"}}, "$.d"); }).find("$.d.pairs") != std::string::npos);
  CHECK(message([] { fidelity_spec_from_json({{"real_split", "holdout"}}, "$.f"); }).find("$.f.real_split: expected one of") !=
        std::string::npos);
  CHECK(message([] { downstream_spec_from_json({{"arms", {"real", "colour"}}}, "$.w"); }).find("$.w.arms[1]") != std::string::npos);
  CHECK(message([] { memorization_spec_from_json({{"colour", 1}}, "$.m"); }).find("$.m.colour: unknown key") != std::string::npos);
  CHECK(message([] { compute_spec_from_json({{"measure_steps", 0}}, "$.c"); }).find("$.c.measure_steps: must be at least 1") !=
        std::string::npos);
  CHECK(message([] { adherence_spec_from_json({{"seeds", 0}}, "$.a"); }).find("$.a.seeds: must be at least 1") != std::string::npos);
  CHECK(message([] { adherence_spec_from_json({{"ci_level", 1.5}}, "$.a"); }).find("$.a.ci_level: out of range") != std::string::npos);
  CHECK(message([] { adherence_spec_from_json({{"label_field", ""}}, "$.a"); }).find("$.a.label_field: must not be empty") !=
        std::string::npos);
  CHECK(message([] { adherence_spec_from_json({{"fractions", {0.5}}}, "$.a"); }).find("$.a.fractions: unknown key") !=
        std::string::npos);
  CHECK(message([] { alignment_spec_from_json({{"prompt_embeddings", "e.json"}}, "$.l"); }).find("$.l.image_tower: is required") !=
        std::string::npos);
  CHECK(message([] { alignment_spec_from_json({{"image_tower", "builtin:pixels:2"}}, "$.l"); })
            .find("$.l.prompt_embeddings: is required") != std::string::npos);
  CHECK(message([] { alignment_spec_from_json({{"image_tower", "t"}, {"prompt_embeddings", "e"}, {"bootstrap", -1}}, "$.l"); })
            .find("$.l.bootstrap") != std::string::npos);
}

TEST_CASE("unit keys: every spec field is in the key, planning fields are not", "[suites][units][specs]") {
  check_every_field_keyed<FidelitySpec>("fidelity", fidelity_spec_from_json);
  check_every_field_keyed<DiversitySpec>("diversity", diversity_spec_from_json);
  check_every_field_keyed<MemorizationSpec>("memorization", memorization_spec_from_json);
  check_every_field_keyed<DownstreamSpec>("downstream", downstream_spec_from_json);
  check_every_field_keyed<AdherenceSpec>("adherence", adherence_spec_from_json);
  check_every_field_keyed<ComputeSpec>("compute", compute_spec_from_json);
  // alignment's two required fields (no defaults) are filled in; both are planning fields (their
  // content enters the inputs as the tower's id and the file's sha256)
  check_every_field_keyed<AlignmentSpec>("alignment", [](json j, const std::string& where) {
    if (!j.contains("image_tower") || j["image_tower"] == "") j["image_tower"] = "builtin:pixels:2";
    if (!j.contains("prompt_embeddings") || j["prompt_embeddings"] == "") j["prompt_embeddings"] = "e.json";
    return alignment_spec_from_json(j, where);
  });
  // inputs and names are keyed too
  const auto a = make_unit("diversity", "m-x", {{"pairs", 3}}, {{"dataset", "h"}});
  CHECK(make_unit("diversity", "m-x", {{"pairs", 3}}, {{"dataset", "h2"}}).key != a.key);
  CHECK(make_unit("diversity", "m-y", {{"pairs", 3}}, {{"dataset", "h"}}).key != a.key);
  CHECK(make_unit("fidelity", "m-x", {{"pairs", 3}}, {{"dataset", "h"}}).key != a.key);
  // locations are not (a moved folder with the same content is the same unit); key order is canonical
  CHECK(make_unit("diversity", "m-x", {{"pairs", 3}}, {{"dataset", "h"}}, {{"dataset", "/elsewhere"}}).key == a.key);
  CHECK(make_unit("diversity", "m-x", {{"pairs", 3}}, {{"a", 1}, {"b", 2}}).key ==
        make_unit("diversity", "m-x", {{"pairs", 3}}, {{"b", 2}, {"a", 1}}).key);
}

TEST_CASE("specs: the suite-trained extractor (builtin:contrastive:suite) and its training options", "[suites][units][specs]") {
  // Defaults: the library's where it has the same option; the fidelity-space choices documented in specs.h.
  const memorization::ContrastiveTrainOptions lib;
  const auto o = to_options(ExtractorTrainingSpec{});
  CHECK(o.size == lib.size);
  CHECK(o.width == lib.width);
  CHECK(o.pool == lib.pool);
  CHECK(o.batch == lib.batch);
  CHECK(o.temperature == lib.temperature);
  CHECK(o.lr == lib.lr);
  CHECK(o.epochs == 20);
  CHECK(o.dim == 16);
  CHECK(o.augment == "simclr");
  CHECK(o.view_zooms.empty());
  CHECK_FALSE(o.flip_symmetric);
  CHECK(to_json(extractor_training_spec_from_json(json::object(), "$")) == to_json(ExtractorTrainingSpec{}));
  // Every training option is in the key of the embedder unit.
  check_every_field_keyed<ExtractorTrainingSpec>("features", extractor_training_spec_from_json);

  CHECK(is_suite_extractor("builtin:contrastive:suite"));
  CHECK(is_suite_extractor("builtin:contrastive:suite?layer=backbone"));
  CHECK_FALSE(is_suite_extractor("builtin:contrastive:suite.pt"));
  CHECK_FALSE(is_suite_extractor("builtin:pixels:8"));
  // The suite extractor gets default training options; given ones are parsed and in the fidelity spec.
  const auto f = fidelity_spec_from_json({{"extractor", "builtin:contrastive:suite"}}, "$.f");
  REQUIRE(f.extractor_training);
  CHECK(to_json(*f.extractor_training) == to_json(ExtractorTrainingSpec{}));
  const auto g = fidelity_spec_from_json({{"extractor", "builtin:contrastive:suite"}, {"extractor_training", {{"epochs", 2}}}}, "$.f");
  CHECK(g.extractor_training->epochs == 2);
  CHECK(to_json(g)["extractor_training"]["epochs"] == 2);
  CHECK(to_json(fidelity_spec_from_json(to_json(g), "$")) == to_json(g));  // round trip
  // Other extractors: no extractor_training in the spec (their unit keys are unchanged).
  CHECK_FALSE(to_json(FidelitySpec{}).contains("extractor_training"));
  auto message = [](const json& j) {
    try {
      fidelity_spec_from_json(j, "s.json: $.evaluations.fidelity");
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(message({{"extractor", "builtin:pixels:8"}, {"extractor_training", {{"epochs", 2}}}})
            .find("s.json: $.evaluations.fidelity.extractor_training: only with \"extractor\": \"builtin:contrastive:suite\"") !=
        std::string::npos);
  CHECK(message({{"extractor", "builtin:contrastive:suite"}, {"extractor_training", {{"epochs", 0}}}})
            .find("$.evaluations.fidelity.extractor_training.epochs: must be at least 1") != std::string::npos);
  CHECK(message({{"extractor", "builtin:contrastive:suite"}, {"extractor_training", {{"augment", "mixup"}}}})
            .find("$.evaluations.fidelity.extractor_training.augment: expected one of copy, simclr") != std::string::npos);
  CHECK(message({{"extractor", "builtin:contrastive:suite"}, {"extractor_training", {{"colour", 1}}}})
            .find("extractor_training.colour: unknown key") != std::string::npos);
}

TEST_CASE("unit.json round-trips and rejects a description that does not match its key", "[suites][units]") {
  const auto d = make_unit("fidelity", "gen-chest", to_json(FidelitySpec{}), {{"real", "k1"}, {"seed", 5}},
                           {{"real", "units/features/real-chest-0123"}}, true);
  CHECK(d.folder_name() == "gen-chest-" + d.key.substr(0, 16));
  CHECK(d.id() == "fidelity/" + d.folder_name());
  const json j = json::parse(to_json(d).dump());
  const auto back = unit_description_from_json(j, "unit.json");
  CHECK(to_json(back) == to_json(d));
  CHECK(back.key == d.key);
  CHECK(back.resumable);
  json edited = j;
  edited["spec"]["bootstrap"] = 7;
  CHECK_THROWS_AS(unit_description_from_json(edited, "unit.json"), InputError);
  json old = j;
  old["format"] = "medsynbench-suite-unit/1";
  CHECK_THROWS_AS(unit_description_from_json(old, "unit.json"), InputError);
}

TEST_CASE("the stage list: names in order, parse_stage_list names the unknown stage", "[suites][units]") {
  const auto& names = stage_names();
  REQUIRE(names.size() == 12);
  CHECK(names.front() == "data");
  CHECK(names.back() == "report");
  CHECK(stage_list(",") == "data,train,generate,features,fidelity,diversity,memorization,downstream,adherence,alignment,compute,report");
  CHECK(parse_stage_list("generate,,fidelity") == std::vector<std::string>{"generate", "fidelity"});
  try {
    parse_stage_list("fidelity,colour");
    FAIL("no error");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find("unknown stage 'colour'") != std::string::npos);
    CHECK(std::string(e.what()).find("--only") == std::string::npos);  // flags belong to the CLI
  }
}

TEST_CASE("load_suite: evaluation specs are parsed once, errors name file and JSON path", "[suites][units][specs]") {
  test::TempDir tmp;
  auto suite = [](const std::string& evaluations) {
    return R"({"schema_version": 1, "name": "s",
      "datasets": {"d": {"source": {"demo": "head_ct"}, "splits": {"train": "train", "holdout": "val", "test": "test"}}},
      "modalities": {"m": {"dataset": "d", "specialty": "radiology", "prompts": "from_manifest"}},
      "models": {"g": {"kind": "generalist", "modalities": ["m"], "source": {"type": "command", "command": "gen {out}"}}},
      "evaluations": )" + evaluations + "}";
  };
  atomic_write_text(tmp / "ok.json", suite(R"({"diversity": {"pairs": "all", "win_size": 7}, "compute": {}})"));
  const Suite s = load_suite(tmp / "ok.json");
  REQUIRE(s.evaluations.diversity);
  CHECK(s.evaluations.diversity->pairs == 0);
  CHECK(s.evaluations.diversity->win_size == 7);
  CHECK(s.evaluations.diversity->bootstrap == DiversitySpec{}.bootstrap);
  CHECK(s.has_evaluation("compute"));
  CHECK(!s.has_evaluation("fidelity"));
  atomic_write_text(tmp / "bad.json", suite(R"({"diversity": {"win_size": 8}})"));
  try {
    load_suite(tmp / "bad.json");
    FAIL("no error");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find("bad.json: $.evaluations.diversity.win_size: must be odd") != std::string::npos);
  }
}
