// `medsynbench features extract`, `medsynbench metrics fidelity` and `medsynbench metrics clip-score`.
// The work lives in the metrics library (feature_extract.h, fidelity.h); this file parses options.
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include "commands.h"
#include "medsyn/core/error.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/core/provenance.h"
#include "medsyn/metrics/clip_score.h"
#include "medsyn/metrics/extractor.h"
#include "medsyn/metrics/feature_extract.h"
#include "medsyn/metrics/fidelity.h"
#include "medsyn/core/feature_space.h"
#include "medsyn/metrics/stats.h"
#include "medsyn/core/torch_bridge.h"

namespace fs = std::filesystem;

namespace medsyn::cli {

namespace {

using metrics::FidelityOptions;
using metrics::FidelityReport;

// Preprocessing overrides shared by every command that takes --extractor. Each flag sets the
// query option of the same name on the spec (docs/features.md, "Preprocessing options").
struct PreprocessFlags {
  std::string size, filter, antialias, range, channels, clamp, mean, std, crop, uint8;
  void add(CLI::App* cmd) {
    cmd->add_option("--size", size, "Network input size N or HxW (spec option size=)");
    cmd->add_option("--filter", filter, "Resize filter: nearest|bilinear|bicubic|area|lanczos (filter=)");
    cmd->add_option("--antialias", antialias, "1|0: PIL-style low-pass when downsampling (antialias=)");
    cmd->add_option("--range", range, "LO,HI value range the network sees, e.g. 0,255 (range=)");
    cmd->add_option("--channels", channels, "1|3 input channels; gray->3 replicates (channels=)");
    cmd->add_option("--clamp", clamp, "1|0: clamp to [0,1] after resizing (clamp=)");
    cmd->add_option("--mean", mean, "Per-channel mean subtracted after the range, M or M,M,M (mean=)");
    cmd->add_option("--std", std, "Per-channel std divided after the mean, S or S,S,S (std=)");
    cmd->add_option("--crop", crop, "center|none: crop the centred square before resizing (crop=)");
    cmd->add_option("--uint8", uint8, "1|0: resize 8-bit values as Pillow does for L/RGB images (uint8=)");
  }
  std::string apply(const std::string& spec) const {
    const std::map<std::string, std::string> o = {{"size", size},   {"filter", filter}, {"antialias", antialias},
                                                  {"range", range}, {"channels", channels}, {"clamp", clamp},
                                                  {"mean", mean},   {"std", std},           {"crop", crop},
                                                  {"uint8", uint8}};
    bool any = false;
    for (const auto& [k, v] : o) any = any || !v.empty();
    return any ? with_spec_options(spec, o) : spec;
  }
};

struct ExtractArgs {
  std::string dataset, spec, out, stats_out, modality, split, device = "cpu", cache_dir;
  int batch = 64;
  bool no_cache = false, json = false;
  PreprocessFlags pre;
};

void run_extract(const ExtractArgs& a) {
  const std::string device = validate_device(a.device);
  const std::string spec = a.pre.apply(a.spec);
  if (a.batch < 1) throw InputError("--batch must be at least 1, got " + std::to_string(a.batch));
  const Dataset ds = load_dataset(a.dataset);
  const auto records = ds.select(a.modality, a.split);
  if (records.empty())
    throw InputError(at_file((ds.root / "manifest.jsonl").string(),
                             "no images with modality '" + a.modality + "' and split '" + a.split + "'"));
  if (a.out.empty() && a.stats_out.empty()) throw InputError("give --out F.npy and/or --stats-out S.npz");
  auto ex = make_extractor(spec, device);
  ExtractOptions opt;
  opt.batch = a.batch;
  opt.use_cache = !a.no_cache;
  opt.cache_dir = a.cache_dir;
  opt.progress_label = "features " + (a.modality.empty() ? std::string("all") : a.modality);
  if (a.out.empty()) {  // statistics only: the N x D matrix is never held
    bool hit = false;
    const auto st = extract_stats(ds, records, *ex, opt, &hit);
    metrics::write_stats_npz(a.stats_out, st);
    if (a.json)
      print_json({{"stats", a.stats_out}, {"n", st.n}, {"dim", st.dim}, {"extractor_id", ex->id()}, {"cache_hit", hit}});
    else
      std::cout << "wrote " << a.stats_out << " (mu, sigma float64; n " << st.n << ", dim " << st.dim << ")\n";
    return;
  }
  const FeatureResult r = extract_features(ds, records, *ex, opt);
  const json sidecar = feature_sidecar(r, *ex, spec, device, ds, a.modality, a.split);
  write_features(a.out, r, sidecar);
  if (!a.stats_out.empty()) metrics::write_stats_npz(a.stats_out, metrics::compute_stats(r.features, a.out));
  if (a.json) {
    print_json({{"features", a.out},
                {"sidecar", sidecar_path(a.out).string()},
                {"rows", r.features.rows},
                {"dim", r.features.cols},
                {"extractor_id", ex->id()},
                {"cache_hit", r.cache_hit},
                {"seconds", r.seconds}});
  } else {
    std::cout << "wrote " << a.out << " (" << r.features.rows << " x " << r.features.cols << " float32) and "
              << sidecar_path(a.out).string() << "\n"
              << "extractor " << ex->id() << "\npreprocessing " << ex->input_spec().describe() << "\n"
              << (r.cache_hit ? "read from cache " : "cached as ") << r.cache_file.string() << "\n";
  }
}

struct FidelityArgs {
  std::string real, synthetic, spec, device = "cpu", real_split, synthetic_split, cache_dir, modality;
  int bootstrap = 100, batch = 64, k = 5, kid_subsets = 100, kid_subset_size = 1000;
  double ci = 0.95;
  unsigned long long seed = 0;
  bool json = false, no_cache = false;
  PreprocessFlags pre;
};


void run_fidelity(const FidelityArgs& a) {
  // The library reports these without flag names; the CLI names its flags.
  if (a.bootstrap < 0) throw InputError("--bootstrap must be >= 0, got " + std::to_string(a.bootstrap));
  if (!(a.ci > 0 && a.ci < 1)) throw InputError("--ci must be in (0, 1), got " + std::to_string(a.ci));
  FidelityOptions o;
  o.device = validate_device(a.device);
  o.extractor_spec = a.pre.apply(a.spec);
  o.bootstrap = a.bootstrap;
  o.ci_level = a.ci;
  o.seed = a.seed;
  o.k = a.k;
  o.kid_subsets = a.kid_subsets;
  o.kid_subset_size = a.kid_subset_size;
  o.real_split = a.real_split;
  o.synthetic_split = a.synthetic_split;
  o.modality = a.modality;
  o.extract.batch = a.batch;
  o.extract.use_cache = !a.no_cache;
  o.extract.cache_dir = a.cache_dir;
  const FidelityReport rep = evaluate_fidelity(a.real, a.synthetic, o);
  if (a.json) {
    print_json(fidelity_to_json(rep));
    return;
  }
  std::cout << "extractor " << rep.extractor_id << "  (" << rep.preprocessing << ")\n";
  std::cout << "bootstrap " << o.bootstrap << " resamples, " << static_cast<int>(o.ci_level * 100)
            << "% percentile CI, seed " << o.seed << "\n\n";
  for (const auto& m : rep.modalities) {
    std::cout << m.modality << "  (real " << m.n_real << ", synthetic " << m.n_synthetic << ", dim " << m.dim
              << ")\n";
    // FID in an Inception space, FD (Fréchet distance in the extractor's space) in any other.
    const std::string fd = is_inception_feature_space(rep.extractor_id) ? "FID" : "FD ";
    std::cout << "  " << fd << "        " << format_estimate(m.fid, 4) << "\n";
    std::cout << "  " << fd << " (population, bias-corrected) " << format_estimate(m.fid_population, 4) << "\n";
    std::cout << "  " << fd << " floor  " << format_estimate(m.fid_real_floor, 4) << "  (real half vs real half, " << m.floor_n_a
              << " + " << m.floor_n_b << "; bias-corrected " << format_estimate(m.fid_real_floor_population, 4)
              << ")\n";
    std::cout << "  KID        " << format_estimate(m.kid, 6) << "  (std over subsets " << m.kid_std << ")\n";
    std::cout << "  CMMD       " << format_estimate(m.cmmd, 4) << "  (floor, real half vs real half "
              << format_estimate(m.cmmd_real_floor, 4) << ")\n";
    std::cout << "  precision  " << format_estimate(m.precision, 4) << "\n";
    std::cout << "  recall     " << format_estimate(m.recall, 4) << "\n";
    std::cout << "  density    " << format_estimate(m.density, 4) << "\n";
    std::cout << "  coverage   " << format_estimate(m.coverage, 4) << "\n";
    std::cout << "  Vendi      " << format_estimate(m.vendi, 3) << "  (real " << format_estimate(m.vendi_real, 3)
              << ")\n";
    for (const auto& w : m.warnings) std::cout << "  warning: " << w << "\n";
  }
  for (const auto& s : rep.skipped) std::cout << "skipped: " << s << "\n";
}

// ---- metrics clip-score ----
struct ClipScoreArgs {
  std::string images, spec, embeddings, prompts, modality, split, device = "cpu", cache_dir;
  int bootstrap = 1000, batch = 64;
  double ci = 0.95;
  std::uint64_t seed = 0;
  bool no_cache = false, json = false;
  PreprocessFlags pre;
};

void run_clip_score(const ClipScoreArgs& a) {
  if (a.bootstrap < 0) throw InputError("--bootstrap must be >= 0, got " + std::to_string(a.bootstrap));
  if (!(a.ci > 0 && a.ci < 1)) throw InputError("--ci must be in (0, 1), got " + std::to_string(a.ci));
  // The prompt file first: its errors cost no image decoding.
  const metrics::PromptEmbeddings pe = metrics::read_prompt_embeddings(a.embeddings, a.prompts);
  const std::string device = validate_device(a.device);
  const std::string spec = a.pre.apply(a.spec);
  auto ex = make_extractor(spec, device);
  const Dataset ds = load_dataset(a.images);
  const std::vector<Record> recs = ds.select(a.modality, a.split);
  if (recs.empty())
    throw InputError(a.images + ": no images" + (a.modality.empty() ? "" : " of modality '" + a.modality + "'") +
                     (a.split.empty() ? "" : " in split '" + a.split + "'"));
  // Prompts are checked before extraction (a missing one fails fast).
  for (const auto& r : recs) {
    if (r.prompt.empty()) throw InputError(a.images + ": " + r.path + ": the image has no prompt (manifest field 'prompt')");
    if (!pe.index.count(r.prompt))
      throw InputError(pe.file.string() + ": no embedding for the prompt '" + r.prompt + "' of image " + r.path);
  }
  ExtractOptions eo;
  eo.batch = a.batch;
  eo.use_cache = !a.no_cache;
  eo.cache_dir = a.cache_dir;
  const FeatureResult fr = extract_features(ds, recs, *ex, eo);
  metrics::ClipScoreInput in;
  in.features = fr.features;
  for (const auto& r : recs) {
    in.prompts.push_back(r.prompt);
    in.modalities.push_back(r.modality);
    in.labels.push_back(!r.label_name.empty() ? r.label_name : r.label ? std::to_string(*r.label) : std::string());
    in.names.push_back((ds.root / r.path).string());
  }
  metrics::ClipScoreOptions o;
  o.bootstrap = a.bootstrap;
  o.ci_level = a.ci;
  o.seed = a.seed;
  const auto groups = metrics::clip_scores(in, pe, o);
  if (a.json) {
    json j;
    j["schema"] = "medsynbench.clip-score/1";
    j["images"] = {{"dataset", a.images}, {"manifest_sha256", manifest_hash(ds.root)}, {"modality", a.modality},
                   {"split", a.split}, {"n", recs.size()}};
    j["extractor"] = {{"spec", spec}, {"id", ex->id()}, {"weights_sha256", ex->weights_hash()},
                      {"preprocessing", ex->input_spec().describe()}, {"dim", ex->dim()}};
    j["prompt_embeddings"] = {{"file", pe.file.string()}, {"sha256", sha256_file(pe.file)},
                              {"prompts_file", pe.prompts_file.string()}, {"prompts", pe.prompts.size()},
                              {"dim", pe.dim}};
    j["options"] = {{"bootstrap", a.bootstrap}, {"ci_level", a.ci}, {"seed", a.seed}};
    json mods = json::object();
    for (const auto& g : groups) {
      if (g.label.empty()) {
        mods[g.modality] = metrics::clip_score_group_to_json(g);
        mods[g.modality]["classes"] = json::object();
      } else {
        mods[g.modality]["classes"][g.label] = metrics::clip_score_group_to_json(g);
      }
    }
    j["modalities"] = mods;
    j["provenance"] = provenance_json({{"device", device},
                                       {"seeds", {{"bootstrap", a.seed}}},
                                       {"inputs",
                                        {{"manifest_sha256", manifest_hash(ds.root)},
                                         {"prompt_embeddings_sha256", sha256_file(pe.file)},
                                         {"weights_sha256", ex->weights_hash()}}}});
    print_json(j);
    return;
  }
  std::cout << "extractor " << ex->id() << "  (" << ex->input_spec().describe() << ")\n";
  std::cout << "prompt embeddings " << pe.file.string() << "  (" << pe.prompts.size() << " prompts, dim " << pe.dim
            << ")\n";
  std::cout << "CLIP score = mean of 100 x max(cos, 0); w=2.5: CLIP-S of Hessel et al. 2021\n\n";
  for (const auto& g : groups)
    std::cout << (g.label.empty() ? g.modality : "  " + g.modality + " / " + g.label) << "  n " << g.n << "  score "
              << format_estimate(g.clip_score, 2) << "  w=2.5 " << format_estimate(g.clip_score_w25, 4)
              << "  mean cos " << g.mean_cosine << "\n";
}

}  // namespace

void register_features_commands(CLI::App& root) {
  // ---- features extract ----
  auto* features = group(root, "features", "Feature extraction and feature files");
  auto ea = std::make_shared<ExtractArgs>();
  auto* ex = features->add_subcommand("extract", "Extract N x D float32 features (.npy + .npy.json sidecar)");
  ex->add_option("dataset", ea->dataset, "Dataset folder (with manifest.jsonl)")->required();
  ex->add_option("--extractor", ea->spec,
                 "torchscript:PATH[?opts] | torchscript-preset:{clean-fid-inception,cmmd-clip,dgm-dinov2}:PATH | builtin:pixels[:SIZE]")
      ->required();
  ex->add_option("--out", ea->out, "Output features file F.npy (sidecar F.npy.json)");
  ex->add_option("--stats-out", ea->stats_out,
                 "Also (or, without --out, only) write FID statistics S.npz (mu, sigma float64, n); "
                 "without --out the features are streamed into the statistics and never held");
  ex->add_option("--modality", ea->modality, "Only images of this modality");
  ex->add_option("--split", ea->split, "Only images of this split (train/val/test)");
  ex->add_option("--batch", ea->batch, "Images per forward pass")->capture_default_str();
  add_device_option(ex, ea->device);
  ex->add_flag("--no-cache", ea->no_cache, "Neither read nor write the feature cache");
  ex->add_option("--cache-dir", ea->cache_dir, "Cache root (default $MEDSYN_CACHE_DIR or ~/.cache/medsynbench)");
  ex->add_flag("--json", ea->json, "Print a JSON summary");
  ea->pre.add(ex);
  ex->callback([ea] { run_extract(*ea); });

  // ---- metrics fidelity ----
  auto* metrics = group(root, "metrics", "Fidelity and diversity metrics");
  auto fa = std::make_shared<FidelityArgs>();
  auto* fi = metrics->add_subcommand(
      "fidelity", "Per modality FID, KID, precision/recall, density/coverage with bootstrap CIs and the real-vs-real FID floor");
  fi->add_option("--real", fa->real, "Real dataset folder")->required();
  fi->add_option("--synthetic", fa->synthetic, "Synthetic dataset folder")->required();
  fi->add_option("--extractor", fa->spec, "Extractor spec (see `features extract --help`)")->required();
  fi->add_option("--bootstrap", fa->bootstrap, "Bootstrap resamples for the CIs (0 = no CIs)")->capture_default_str();
  fi->add_option("--ci", fa->ci, "CI level")->capture_default_str();
  fi->add_option("--seed", fa->seed, "Seed for bootstrap, KID subsets and the real split")->capture_default_str();
  fi->add_option("--k", fa->k, "k of the k-NN balls for PRDC")->capture_default_str();
  fi->add_option("--kid-subsets", fa->kid_subsets, "KID subsets")->capture_default_str();
  fi->add_option("--kid-subset-size", fa->kid_subset_size, "KID subset size")->capture_default_str();
  fi->add_option("--modality", fa->modality, "Only this modality");
  fi->add_option("--real-split", fa->real_split, "Only real images of this split");
  fi->add_option("--synthetic-split", fa->synthetic_split, "Only synthetic images of this split");
  fi->add_option("--batch", fa->batch, "Images per forward pass")->capture_default_str();
  add_device_option(fi, fa->device);
  fi->add_flag("--no-cache", fa->no_cache, "Neither read nor write the feature cache");
  fi->add_option("--cache-dir", fa->cache_dir, "Cache root (default $MEDSYN_CACHE_DIR or ~/.cache/medsynbench)");
  fi->add_flag("--json", fa->json, "Print JSON");
  fa->pre.add(fi);
  fi->callback([fa] { run_fidelity(*fa); });

  // ---- metrics clip-score ----
  auto ca = std::make_shared<ClipScoreArgs>();
  auto* cs = metrics->add_subcommand(
      "clip-score",
      "CLIP-style prompt alignment from your own towers: mean 100 x max(cos(image, prompt), 0) per modality and "
      "class, with the w=2.5 CLIP-S variant and bootstrap CIs (docs/metrics.md)");
  cs->add_option("--images", ca->images, "Generated images: dataset folder or manifest.jsonl (prompt, modality, label)")
      ->required();
  cs->add_option("--extractor", ca->spec,
                 "Image tower: torchscript:PATH?... or torchscript-preset:cmmd-clip:PATH (see `features extract --help`)")
      ->required();
  cs->add_option("--prompt-embeddings", ca->embeddings,
                 "Text tower output: E.json {prompt: [numbers]} or E.npy (N x d) with a prompt list")
      ->required();
  cs->add_option("--prompts", ca->prompts,
                 "Prompt list for a .npy: one per line (or a .json array); default E.npy.prompts.txt");
  cs->add_option("--modality", ca->modality, "Only this modality");
  cs->add_option("--split", ca->split, "Only images of this split");
  cs->add_option("--bootstrap", ca->bootstrap, "Bootstrap resamples for the CIs (0 = no CIs)")->capture_default_str();
  cs->add_option("--ci", ca->ci, "CI level")->capture_default_str();
  cs->add_option("--seed", ca->seed, "Bootstrap seed")->capture_default_str();
  cs->add_option("--batch", ca->batch, "Images per forward pass")->capture_default_str();
  add_device_option(cs, ca->device);
  cs->add_flag("--no-cache", ca->no_cache, "Neither read nor write the feature cache");
  cs->add_option("--cache-dir", ca->cache_dir, "Cache root (default $MEDSYN_CACHE_DIR or ~/.cache/medsynbench)");
  cs->add_flag("--json", ca->json, "Print JSON");
  ca->pre.add(cs);
  cs->callback([ca] { run_clip_score(*ca); });
}

}  // namespace medsyn::cli
