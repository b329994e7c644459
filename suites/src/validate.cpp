#include "medsyn/suites/validate.h"

#include <cstdlib>
#include <set>

#include "medsyn/core/error.h"
#include "medsyn/core/feature_space.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/json.h"
#include "medsyn/metrics/extractor.h"
#include "medsyn/metrics/fidelity.h"
#include "medsyn/metrics/sample_size.h"
#include "medsyn/reports/json_schema.h"
#include "medsyn/suites/specs.h"
#include "medsyn/suites/suite.h"

namespace fs = std::filesystem;

namespace medsyn::suites {

using reports::json_path_index;
using reports::json_path_key;

fs::path shared_data_dir() {
  if (const char* d = std::getenv("MEDSYN_SHARED_DATA_DIR"); d && *d) return d;
  return MEDSYN_DEFAULT_SHARED_DATA_DIR;
}

fs::path resolve_suite_path(const std::string& value, const fs::path& suite_dir) {
  std::string v = value;
  const std::string token = "${MEDSYN_DATA}";
  for (auto pos = v.find(token); pos != std::string::npos; pos = v.find(token))
    v.replace(pos, token.size(), shared_data_dir().string());
  fs::path p(v);
  return p.is_absolute() ? p : suite_dir / p;
}

namespace {

using ojson = nlohmann::ordered_json;

// The weights file an extractor spec names (torchscript:PATH, builtin:contrastive:PATH,
// torchscript-preset:NAME:PATH, without ?options); "" for kinds without one (builtin:pixels).
std::string extractor_weights_file(const std::string& spec) {
  std::string preset;  // torchscript-preset:NAME:
  if (spec.rfind("torchscript-preset:", 0) == 0 && spec.find(':', 19) != std::string::npos)
    preset = spec.substr(0, spec.find(':', 19) + 1);
  for (const std::string& prefix : {std::string("torchscript:"), std::string("builtin:contrastive:"), preset})
    if (!prefix.empty() && spec.rfind(prefix, 0) == 0) {
      const std::string file = spec.substr(prefix.size());
      return file.substr(0, file.find('?'));
    }
  return "";
}

struct Checker {
  const fs::path& dir;
  std::vector<SuiteProblem>& out;

  void problem(const std::string& path, const std::string& msg) { out.push_back({path, msg}); }

  void must_exist(const ojson& value, const std::string& path, bool folder) {
    if (!value.is_string()) return;  // the schema reports the type
    const fs::path p = resolve_suite_path(value.get<std::string>(), dir);
    std::error_code ec;
    if (!fs::exists(p, ec)) problem(path, "file or folder does not exist: " + p.string());
    else if (folder && !fs::is_directory(p, ec)) problem(path, "expected a folder: " + p.string());
  }

  void must_reference(const ojson& value, const ojson& table, const std::string& path, const std::string& what) {
    if (!value.is_string()) return;
    if (!table.is_object() || !table.contains(value.get<std::string>()))
      problem(path, "unknown " + what + " '" + value.get<std::string>() + "'");
  }
};

}  // namespace

std::vector<SuiteProblem> validate_suite(const ojson& suite, const fs::path& suite_dir) {
  std::vector<SuiteProblem> out;
  for (const auto& e : reports::validate_json_schema(suite, suite_schema())) out.push_back({e.path, e.message});
  if (!suite.is_object()) return out;
  Checker c{suite_dir, out};
  const ojson empty = ojson::object();
  const ojson& datasets = suite.contains("datasets") ? suite["datasets"] : empty;
  const ojson& modalities = suite.contains("modalities") ? suite["modalities"] : empty;
  const ojson& models = suite.contains("models") ? suite["models"] : empty;

  // Seeds: unsigned 64-bit integers. A larger literal (18446744073709551616) parses as a float and
  // would silently become another seed.
  auto check_seed = [&](const ojson& obj, const std::string& path) {
    if (obj.is_object() && obj.contains("seed") && !obj["seed"].is_number_unsigned())
      c.problem(json_path_key(path, "seed"), "must be an integer between 0 and 18446744073709551615, got " +
                                                 obj["seed"].dump());
  };
  check_seed(suite, "$");
  if (datasets.is_object())
    for (auto it = datasets.begin(); it != datasets.end(); ++it) {
      const std::string p = json_path_key(json_path_key("$", "datasets"), it.key());
      if (!it.value().is_object() || !it.value().contains("source") || !it.value()["source"].is_object()) continue;
      const ojson& src = it.value()["source"];
      const std::string sp = json_path_key(p, "source");
      check_seed(src, sp);
      // MedMNIST files and the demo corpus have exactly the splits train, val and test.
      if ((src.contains("medmnist") || src.contains("demo")) && it.value().contains("splits") &&
          it.value()["splits"].is_object())
        for (auto sit = it.value()["splits"].begin(); sit != it.value()["splits"].end(); ++sit)
          if (sit.value().is_string() && sit.value() != "train" && sit.value() != "val" && sit.value() != "test")
            c.problem(json_path_key(json_path_key(p, "splits"), sit.key()),
                      "unknown split '" + sit.value().get<std::string>() + "' (this source has train, val and test)");
      if (src.contains("folder")) c.must_exist(src["folder"], json_path_key(sp, "folder"), true);
      if (src.contains("medmnist")) c.must_exist(src["medmnist"], json_path_key(sp, "medmnist"), false);
      if (src.contains("import")) c.must_exist(src["import"], json_path_key(sp, "import"), true);
    }
  if (modalities.is_object())
    for (auto it = modalities.begin(); it != modalities.end(); ++it)
      if (it.value().is_object() && it.value().contains("dataset"))
        c.must_reference(it.value()["dataset"], datasets,
                         json_path_key(json_path_key(json_path_key("$", "modalities"), it.key()), "dataset"), "dataset");
  if (models.is_object())
    for (auto it = models.begin(); it != models.end(); ++it) {
      const ojson& m = it.value();
      const std::string p = json_path_key(json_path_key("$", "models"), it.key());
      if (!m.is_object()) continue;
      if (m.contains("modalities") && m["modalities"].is_array()) {
        for (std::size_t i = 0; i < m["modalities"].size(); ++i)
          c.must_reference(m["modalities"][i], modalities, json_path_index(json_path_key(p, "modalities"), i), "modality");
      }
      if (m.contains("source") && m["source"].is_object()) {
        const ojson& s = m["source"];
        const std::string sp = json_path_key(p, "source");
        const std::string type = s.value("type", "");
        if (type == "native" && s.contains("checkpoint")) c.must_exist(s["checkpoint"], json_path_key(sp, "checkpoint"), true);
        if (type == "folder" && s.contains("path")) c.must_exist(s["path"], json_path_key(sp, "path"), true);
        if (type == "train" && s.contains("config")) c.must_exist(s["config"], json_path_key(sp, "config"), false);
      }
    }
  if (suite.contains("evaluations") && suite["evaluations"].is_object()) {
    const ojson& ev = suite["evaluations"];
    const std::string ep = json_path_key("$", "evaluations");
    for (const char* key : {"fidelity", "memorization"}) {
      if (!ev.contains(key) || !ev[key].is_object()) continue;
      for (const char* spec_key : {"extractor", "embedder"}) {
        if (!ev[key].contains(spec_key) || !ev[key][spec_key].is_string()) continue;
        const std::string spec = ev[key][spec_key].get<std::string>();
        const std::string spec_path = json_path_key(json_path_key(ep, key), spec_key);
        // Known kinds only; builtin:pixels is built here (cheap) so its options are checked too.
        // TorchScript files are checked for existence below, not loaded.
        if (is_suite_extractor(spec)) {
          // Trained by the run (features stage): no file to check, only where it may appear and
          // builtin:contrastive's options.
          if (std::string(key) != "fidelity") {
            c.problem(spec_path, std::string(kSuiteExtractorSpec) +
                                     " is the fidelity extractor the run trains itself (evaluations.fidelity.extractor); "
                                     "the memorization embedder needs a trained file: builtin:contrastive:PATH "
                                     "(`memorization train-embedder`) or builtin:pixels[:SIZE]");
            continue;
          }
          try {
            for (const auto& [k, v] : split_spec_options(spec).options) {
              const bool ok = (k == "layer" && (v == "projection" || v == "backbone")) ||
                              (k == "views" && (v == "trained" || v == "single")) || k == "zooms";
              if (!ok)
                c.problem(spec_path, "'" + spec + "': unknown option '" + k + "=" + v +
                                         "' (builtin:contrastive takes layer=projection|backbone, views=trained|single "
                                         "and zooms=Z,Z,...)");
            }
          } catch (const InputError& e) {
            c.problem(spec_path, e.what());
          }
          continue;
        }
        if (spec.rfind("builtin:pixels", 0) == 0) {
          try {
            (void)make_extractor(spec, "cpu");
          } catch (const InputError& e) {
            c.problem(spec_path, e.what());
          }
        } else if (spec.rfind("torchscript:", 0) != 0 && spec.rfind("torchscript-preset:", 0) != 0 &&
                   spec.rfind("builtin:contrastive:", 0) != 0) {
          c.problem(spec_path, "unknown " + std::string(spec_key) + " '" + spec +
                                   "' (known: builtin:pixels[:SIZE], torchscript:PATH, "
                                   "torchscript-preset:clean-fid-inception:PATH, builtin:contrastive:PATH" +
                                   (std::string(key) == "fidelity" ? ", builtin:contrastive:suite" : "") + ")");
        }
        if (const std::string file = extractor_weights_file(spec); !file.empty()) c.must_exist(file, spec_path, false);
      }
    }
    if (ev.contains("alignment") && ev["alignment"].is_object()) {  // files of the user's CLIP-style model
      const ojson& al = ev["alignment"];
      const std::string ap = json_path_key(ep, "alignment");
      for (const char* key : {"prompt_embeddings", "prompts"})
        if (al.contains(key) && al[key].is_string() && !al[key].get<std::string>().empty())
          c.must_exist(al[key], json_path_key(ap, key), false);
      if (al.contains("image_tower") && al["image_tower"].is_string())
        if (const std::string file = extractor_weights_file(al["image_tower"].get<std::string>()); !file.empty())
          c.must_exist(file, json_path_key(ap, "image_tower"), false);
      if (al.contains("modalities") && al["modalities"].is_array())
        for (std::size_t i = 0; i < al["modalities"].size(); ++i)
          c.must_reference(al["modalities"][i], modalities, json_path_index(json_path_key(ap, "modalities"), i), "modality");
    }
    if (ev.contains("fidelity") && ev["fidelity"].is_object() && ev["fidelity"].contains("extractor_training")) {
      const ojson& f = ev["fidelity"];
      const std::string spec = f.contains("extractor") && f["extractor"].is_string() ? f["extractor"].get<std::string>()
                                                                                       : std::string(kDefaultPixelsSpec);
      if (!is_suite_extractor(spec))
        c.problem(json_path_key(json_path_key(ep, "fidelity"), "extractor_training"),
                  std::string("only with \"extractor\": \"") + kSuiteExtractorSpec +
                      "\" (the extractor the run trains itself), not with '" + spec + "'");
    }
    for (const char* key : {"downstream", "adherence"})
      if (ev.contains(key) && ev[key].is_object() && ev[key].contains("modalities") && ev[key]["modalities"].is_array())
        for (std::size_t i = 0; i < ev[key]["modalities"].size(); ++i)
          c.must_reference(ev[key]["modalities"][i], modalities,
                           json_path_index(json_path_key(json_path_key(ep, key), "modalities"), i), "modality");
  }
  if (suite.contains("gates") && suite["gates"].is_array())
    for (std::size_t i = 0; i < suite["gates"].size(); ++i) {
      const ojson& g = suite["gates"][i];
      if (!g.is_object()) continue;
      const std::string gp = json_path_index(json_path_key("$", "gates"), i);
      if (g.contains("model")) c.must_reference(g["model"], models, json_path_key(gp, "model"), "model");
      if (g.contains("modality")) c.must_reference(g["modality"], modalities, json_path_key(gp, "modality"), "modality");
    }
  return out;
}

std::vector<SuiteProblem> validate_suite_file(const fs::path& file) {
  // Strict: duplicate keys and out-of-range numbers are errors naming the file (core/json.h).
  const ojson suite = parse_ordered_json_strict(read_file_text(file), file.string());
  return validate_suite(suite, file.has_parent_path() ? file.parent_path() : fs::path("."));
}

std::vector<SuiteProblem> sample_size_warnings(const ojson& suite) {
  std::vector<SuiteProblem> out;
  if (!suite.contains("modalities") || !suite["modalities"].is_object()) return out;
  const ojson* fidelity = nullptr;
  if (suite.contains("evaluations") && suite["evaluations"].is_object() && suite["evaluations"].contains("fidelity") &&
      suite["evaluations"]["fidelity"].is_object())
    fidelity = &suite["evaluations"]["fidelity"];
  // The feature dimension is known without loading a network only for builtin:pixels.
  int dim = 0;
  const std::string spec = fidelity ? fidelity->value("extractor", std::string(kDefaultPixelsSpec)) : "";
  if (fidelity && spec.rfind("builtin:pixels", 0) == 0) {
    try {
      dim = make_extractor(spec, "cpu")->dim();
    } catch (const InputError&) {
      dim = 0;  // a bad spec is reported by validate_suite
    }
  } else if (fidelity && is_suite_extractor(spec)) {  // the trained embedder's output size
    try {
      const auto t = fidelity->contains("extractor_training")
                         ? extractor_training_spec_from_json(nlohmann::json::parse((*fidelity)["extractor_training"].dump()), "")
                         : ExtractorTrainingSpec{};
      const auto opts = split_spec_options(spec).options;
      const auto layer = opts.find("layer");
      dim = layer != opts.end() && layer->second == "backbone" ? 4 * t.width * t.pool * t.pool : t.dim;
    } catch (const InputError&) {
      dim = 0;
    }
  }
  const int k = fidelity ? fidelity->value("k", metrics::FidelityOptions{}.k) : 0;
  for (const auto& [name, m] : suite["modalities"].items()) {
    if (!m.is_object()) continue;
    if (m.contains("n_generate") && !m["n_generate"].is_number_integer()) continue;  // a schema error
    const std::int64_t n = m.contains("n_generate") ? m["n_generate"].get<std::int64_t>() : ModalitySpec{}.n_generate;
    const std::string path = json_path_key(json_path_key(json_path_key("$", "modalities"), name), "n_generate");
    std::vector<std::string> why;
    if (fidelity) {
      if (dim > 0) {
        if (const auto w = metrics::fid_size_problem(n, n, dim, "synthetic set", "synthetic set"); !w.empty())
          why.push_back("FID will be null (" + w + ", extractor " + spec + ")");
      }
      if (const auto w = metrics::prdc_size_problem(n, n, k); !w.empty()) why.push_back("PRDC will be null (" + w + ")");
    }
    if (const auto w = metrics::diversity_size_problem(n); !w.empty()) why.push_back("diversity will be null (" + w + ")");
    for (const auto& w : why) out.push_back({path, w});
  }
  return out;
}

std::vector<SuiteProblem> sample_size_warnings_file(const fs::path& file) {
  return sample_size_warnings(parse_ordered_json_strict(read_file_text(file), file.string()));
}

std::vector<SuiteProblem> frechet_gate_warnings(const ojson& suite) {
  std::vector<SuiteProblem> out;
  if (!suite.contains("gates") || !suite["gates"].is_array()) return out;
  const ojson* ev = suite.contains("evaluations") && suite["evaluations"].is_object() ? &suite["evaluations"] : nullptr;
  if (!ev || !ev->contains("fidelity") || !(*ev)["fidelity"].is_object()) return out;
  const ojson& fid = (*ev)["fidelity"];
  const std::string spec =
      fid.contains("extractor") && fid["extractor"].is_string() ? fid["extractor"].get<std::string>() : std::string(kDefaultPixelsSpec);
  for (std::size_t i = 0; i < suite["gates"].size(); ++i) {
    const ojson& g = suite["gates"][i];
    if (!g.is_object() || !g.contains("metric") || !g["metric"].is_string()) continue;
    const std::string metric = g["metric"].get<std::string>();
    const std::string other = other_frechet_spelling(metric);
    if (other.empty()) continue;
    // The name this suite's results.json uses for the metric the gate means.
    const std::string used = frechet_metric_name(is_fid_metric_name(metric) ? metric : other, spec);
    if (used == metric) continue;
    out.push_back({json_path_key(json_path_index(json_path_key("$", "gates"), i), "metric"),
                   "'" + metric + "' is not reported by this suite: its fidelity extractor " + spec + " reports the Fréchet distance as '" +
                       used + "' (FID only in Inception features; docs/metrics.md \"FID or FD\"); the gate would find no '" + metric +
                       "'"});
  }
  return out;
}

std::vector<SuiteProblem> suite_warnings_file(const fs::path& file) {
  const ojson suite = parse_ordered_json_strict(read_file_text(file), file.string());
  auto out = sample_size_warnings(suite);
  for (auto& w : frechet_gate_warnings(suite)) out.push_back(std::move(w));
  return out;
}

}  // namespace medsyn::suites
