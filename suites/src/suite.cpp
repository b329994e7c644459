#include "medsyn/suites/suite.h"

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/json.h"
#include "medsyn/suites/validate.h"

namespace fs = std::filesystem;

namespace medsyn::suites {

using ojson = nlohmann::ordered_json;

bool Suite::has_evaluation(const std::string& n) const {
  if (n.empty()) return true;
  if (n == "fidelity") return evaluations.fidelity.has_value();
  if (n == "diversity") return evaluations.diversity.has_value();
  if (n == "memorization") return evaluations.memorization.has_value();
  if (n == "downstream") return evaluations.downstream.has_value();
  if (n == "adherence") return evaluations.adherence.has_value();
  if (n == "alignment") return evaluations.alignment.has_value();
  if (n == "compute") return evaluations.compute.has_value();
  throw Error("unknown evaluation '" + n + "'");
}

const DatasetSpec& Suite::dataset(const std::string& n) const {
  for (const auto& d : datasets)
    if (d.name == n) return d;
  throw InputError(at_file(file.string(), "unknown dataset '" + n + "'"));
}
const ModalitySpec& Suite::modality(const std::string& n) const {
  for (const auto& m : modalities)
    if (m.name == n) return m;
  throw InputError(at_file(file.string(), "unknown modality '" + n + "'"));
}
const ModelSpec& Suite::model(const std::string& n) const {
  for (const auto& m : models)
    if (m.name == n) return m;
  throw InputError(at_file(file.string(), "unknown model '" + n + "'"));
}

Suite load_suite(const fs::path& file) {
  // Strict: a duplicate key or an out-of-range number is an error naming the file (core/json.h).
  const std::string text = read_file_text(file);
  const ojson j = parse_ordered_json_strict(text, file.string());
  Suite s;
  s.file = file;
  s.dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
  const auto problems = validate_suite(j, s.dir);
  if (!problems.empty()) {
    std::string msg = file.string() + ": " + std::to_string(problems.size()) + " problem(s):";
    for (const auto& p : problems) msg += "\n  " + p.path + ": " + p.message;
    throw InputError(msg);
  }
  s.json = j;
  s.hash = "sha256:" + sha256_hex(text);
  s.name = j["name"].get<std::string>();
  s.description = j.value("description", "");
  s.seed = j.value("seed", std::uint64_t{0});
  s.device = j.value("device", "cpu");
  if (j.contains("evaluations"))
    s.evaluations = evaluation_specs_from_json(nlohmann::json::parse(j["evaluations"].dump()), at_file(file.string(), "$.evaluations"));
  if (j.contains("report")) s.report = j["report"];
  if (j.contains("execution")) s.shard_size = j["execution"].value("shard_size", std::int64_t{0});
  auto path_of = [&](const ojson& v) { return resolve_suite_path(v.get<std::string>(), s.dir); };

  for (auto it = j["datasets"].begin(); it != j["datasets"].end(); ++it) {
    DatasetSpec d;
    d.name = it.key();
    const ojson& src = it.value()["source"];
    if (src.contains("medmnist")) {
      d.kind = "medmnist";
      d.path = path_of(src["medmnist"]);
    } else if (src.contains("folder")) {
      d.kind = "folder";
      d.path = path_of(src["folder"]);
    } else if (src.contains("import")) {
      d.kind = "import";
      d.path = path_of(src["import"]);
      d.format = src.value("format", "images");
      d.modality = src.value("modality", "");
      d.specialty = src.value("specialty", "");
      d.label_from = src.value("label_from", "folder");
    } else {
      d.kind = "demo";
      d.demo = src["demo"].get<std::string>();
    }
    const ojson& sp = it.value()["splits"];
    d.split_train = sp["train"].get<std::string>();
    d.split_holdout = sp["holdout"].get<std::string>();
    d.split_test = sp["test"].get<std::string>();
    d.split_val = sp.value("val", d.split_holdout);
    if (it.value().contains("limit")) d.limit = it.value()["limit"].get<long>();
    s.datasets.push_back(d);
  }
  for (auto it = j["modalities"].begin(); it != j["modalities"].end(); ++it) {
    const ojson& m = it.value();
    ModalitySpec ms;
    ms.name = it.key();
    ms.dataset = m["dataset"].get<std::string>();
    ms.manifest_modality = m.value("modality", "");
    ms.label = m.value("label", ms.name);
    ms.specialty = m["specialty"].get<std::string>();
    if (m["prompts"].is_array()) {
      ms.prompts_from_manifest = false;
      for (const auto& p : m["prompts"]) ms.prompts.push_back(p.get<std::string>());
    }
    ms.n_generate = m.value("n_generate", 100);
    if (m.contains("data_range")) {
      ms.range_lo = m["data_range"][0].get<double>();
      ms.range_hi = m["data_range"][1].get<double>();
      if (!(ms.range_hi > ms.range_lo))
        throw InputError(at_file(file.string(), "$.modalities." + ms.name + ".data_range: max must be greater than min"));
    }
    if (m.contains("window")) {
      ms.has_window = true;
      ms.window_center = m["window"]["center"].get<double>();
      ms.window_width = m["window"]["width"].get<double>();
    }
    s.modalities.push_back(ms);
  }
  for (auto it = j["models"].begin(); it != j["models"].end(); ++it) {
    const ojson& m = it.value();
    ModelSpec ms;
    ms.name = it.key();
    ms.kind = m["kind"].get<std::string>();
    ms.label = m.value("label", ms.name);
    for (const auto& x : m["modalities"]) ms.modalities.push_back(x.get<std::string>());
    const ojson& src = m["source"];
    ms.source = src["type"].get<std::string>();
    if (ms.source == "native") ms.path = path_of(src["checkpoint"]);
    if (ms.source == "train" && src.contains("config")) ms.path = path_of(src["config"]);
    if (ms.source == "folder") ms.path = path_of(src["path"]);
    if (ms.source == "command") {
      ms.command = src["command"].get<std::string>();
      ms.timeout_s = src.value("timeout_s", 0.0);
    }
    if (src.contains("steps")) ms.steps = src["steps"].get<int>();
    if (src.contains("batch")) ms.batch = src["batch"].get<int>();
    if (src.contains("sample_steps")) ms.sample_steps = src["sample_steps"].get<int>();
    if (src.contains("seed")) ms.seed = src["seed"].get<std::uint64_t>();
    if (src.contains("sampler")) ms.sampler = src["sampler"].get<std::string>();
    if (src.contains("guidance")) ms.guidance = src["guidance"].get<double>();
    s.models.push_back(ms);
  }
  return s;
}

}  // namespace medsyn::suites
