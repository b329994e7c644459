// `medsynbench memorization` (the audit) and `medsynbench memorization train-embedder`.
// Registration and option parsing only; the work lives in the memorization library.
#include <cmath>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "torch_command.h"
#include "medsyn/core/error.h"
#include "medsyn/core/parse.h"
#include "medsyn/core/json.h"
#include "medsyn/memorization/audit.h"
#include "medsyn/memorization/contrastive.h"
#include "medsyn/memorization/planted.h"
#include "medsyn/torch/runtime.h"

namespace medsyn::cli {

namespace {

using namespace medsyn::memorization;

struct AuditArgs {
  AuditOptions o;
  std::string index = "flat", thresholds = "0.5,0.95", cache_dir;
  bool json = false, no_cache = false;
};

std::vector<double> parse_numbers(const std::string& s, const std::string& flag, const std::string& example) {
  std::vector<double> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const auto v = parse_full_double(item);
    if (!v) throw InputError(flag + " '" + s + "': '" + item + "' is not a number (expected e.g. " + example + ")");
    out.push_back(*v);
  }
  return out;
}

std::string pct(double v) {
  std::ostringstream os;
  if (!std::isfinite(v)) return "n/a";
  os << std::fixed << std::setprecision(2) << 100.0 * v << "%";
  return os.str();
}
std::string num(double v, int p = 5) {
  std::ostringstream os;
  if (!std::isfinite(v)) return "n/a";
  os << std::fixed << std::setprecision(p) << v;
  return os.str();
}

void run_audit_cmd(AuditArgs& a) {
  a.o.index = index_kind_from_string(a.index);
  a.o.thresholds = a.thresholds.empty() ? std::vector<double>{} : parse_numbers(a.thresholds, "--thresholds", "0.5,0.95");
  a.o.use_cache = !a.no_cache;
  a.o.cache_dir = a.cache_dir;
  if (a.o.out_dir.empty()) throw InputError("--out is required");
  validate_audit_options(a.o);
  const AuditResult r = run_audit(a.o);
  if (a.json) {
    print_json(audit_to_json(r));
    return;
  }
  std::cout << "embedder " << r.embedder_id << " (dim " << r.dim << ", " << r.preprocessing << ")\n";
  for (const auto& m : r.modalities) {
    const auto& c = m.calibration;
    std::cout << "\n" << m.modality << "  (train " << m.n_train << ", holdout " << m.n_holdout << ", synthetic "
              << m.n_synthetic << ")\n";
    std::cout << "  gallery       " << m.gallery_rows << " rows (" << m.gallery_views << " views per training image"
              << (m.gallery_views > 1 ? ": zooms 1," + a.o.train_zooms : std::string()) << ")\n";
    std::cout << "  index         " << m.index_description << (m.index_cache_hit ? " [cached]" : "");
    if (m.recall_queries) std::cout << "  recall@" << a.o.k << " " << num(m.recall_at_k, 4) << " on " << m.recall_queries << " queries";
    std::cout << "\n";
    std::cout << "  tau           " << num(c.tau, 6) << "  (holdout quantile " << c.threshold_quantile << ")\n";
    std::cout << "                mean     p50      p75      p90      p95      p99\n";
    for (const auto& [name, s] : {std::pair{"  syn->train  ", c.synthetic}, std::pair{"  hold->train ", c.holdout}})
      std::cout << name << "  " << num(s.mean) << "  " << num(s.p50) << "  " << num(s.p75) << "  " << num(s.p90) << "  "
                << num(s.p95) << "  " << num(s.p99) << "\n";
    std::cout << "  above tau     synthetic " << pct(c.synthetic_above_tau) << ", holdout " << pct(c.holdout_above_tau) << "\n";
    for (std::size_t i = 0; i < c.fixed_thresholds.size(); ++i)
      std::cout << "  above " << c.fixed_thresholds[i] << "    synthetic " << pct(c.synthetic_above_fixed[i]) << ", holdout "
                << pct(c.holdout_above_fixed[i]) << "\n";
    std::cout << "  DCR ratio     " << num(c.dcr_ratio, 4) << "  (median DCR synthetic " << num(c.median_dcr_synthetic, 6)
              << " / holdout " << num(c.median_dcr_holdout, 6) << ")\n";
    std::cout << "  Mann-Whitney  U " << num(c.mw_u, 1) << ", one-sided p " << std::setprecision(4) << c.mw_p
              << " (synthetic closer than holdout, " << c.mw_method << ")\n";
    std::cout << "  train exact duplicates  " << m.train_duplicates.size() << " groups (" << m.train_duplicate_images
              << " extra images); synthetic pixel-identical to train: " << m.synthetic_exact_copies << "\n";
    for (const auto& w : m.warnings) std::cout << "  warning: " << w << "\n";
  }
  for (const auto& s : r.skipped) std::cout << "skipped: " << s << "\n";
  std::cout << "\nwrote " << r.neighbors_csv.string() << ", " << r.summary_json.string() << " and figures in "
            << a.o.out_dir.string() << "\n";
}

struct TrainArgs {
  std::string data, out;
  ContrastiveTrainOptions o;
  bool json = false, no_flip = false;
};

void run_train(const TrainArgs& a) {
  ContrastiveTrainOptions o = a.o;
  o.device = validate_device(o.device);
  if (o.view_zooms == "none") o.view_zooms.clear();
  o.flip_symmetric = !a.no_flip;
  const auto rep = train_contrastive_embedder(a.data, a.out, o);
  if (a.json) {
    print_json(train_report_to_json(rep));
    return;
  }
  std::cout << "wrote " << rep.out.string() << " (sha256 " << rep.weights_sha256 << ")\n"
            << "trained on " << rep.images << " images, " << rep.epochs << " epochs, final NT-Xent loss "
            << num(rep.epoch_loss.empty() ? NAN : rep.epoch_loss.back(), 4) << ", " << num(rep.seconds, 1) << " s\n"
            << "use it as --embedder " << rep.extractor_spec << "\n";
}

struct PlantArgs {
  std::string data, out;
  PlantedOptions o;
  bool json = false;
};

void run_plant(const PlantArgs& a) {
  const PlantedSet ps = build_planted_set(a.data, a.out, a.o);
  json copies = json::object();
  for (const auto& [k, n] : ps.copies) copies[k] = n;
  if (a.json) {
    print_json({{"train", ps.train.string()}, {"holdout", ps.holdout.string()}, {"synthetic", ps.synthetic.string()},
                {"n_train", ps.n_train}, {"n_holdout", ps.n_holdout}, {"n_new", ps.n_new}, {"copies", copies}});
    return;
  }
  std::cout << "wrote " << ps.train.string() << " (" << ps.n_train << " images)\n"
            << "      " << ps.holdout.string() << " (" << ps.n_holdout << " images)\n"
            << "      " << ps.synthetic.string() << " (" << ps.n_new << " new real images + planted copies:";
  for (const auto& [k, n] : ps.copies) std::cout << " " << k << " " << n;
  std::cout << ")\n";
}

}  // namespace

void register_memorization_commands(CLI::App& root) {
#ifndef MEDSYN_CLI_LITE  // without LibTorch, make_extractor answers builtin:contrastive: with NeedsTorch
  register_extractors();  // builtin:contrastive: for every command that takes an extractor spec
#endif

  auto a = std::make_shared<AuditArgs>();
  auto* mem = root.add_subcommand(
      "memorization",
      "Memorization audit: nearest training image of every synthetic image, calibrated against held-out real images");
  mem->require_subcommand(0, 1);
  mem->add_option("--train", a->o.train, "Training set the generator saw (dataset folder or .jsonl)");
  mem->add_option("--holdout", a->o.holdout, "Held-out real images, never seen in training (calibration)");
  mem->add_option("--synthetic", a->o.synthetic, "Synthetic images to audit");
  mem->add_option("--embedder", a->o.embedder,
                  "Embedder spec: builtin:contrastive:PATH | builtin:pixels[:SIZE] | torchscript:PATH?size=N ...");
  mem->add_option("--out", a->o.out_dir, "Output folder (neighbors.csv, summary.json, histogram_*.png, pairs_*.png)");
  mem->add_option("--k", a->o.k, "Neighbours per synthetic image")->capture_default_str();
  mem->add_option("--index", a->index, "flat (exact) | ivf | hnsw (approximate; recall@k is measured)")
      ->capture_default_str();
  mem->add_option("--threshold-quantile", a->o.threshold_quantile,
                  "tau = this quantile of holdout nearest similarities")
      ->capture_default_str();
  mem->add_option("--thresholds", a->thresholds, "Fixed similarity thresholds, comma-separated")->capture_default_str();
  mem->add_option("--top-pairs", a->o.top_pairs, "Pairs shown in pairs_<modality>.png")->capture_default_str();
  mem->add_option("--train-zooms", a->o.train_zooms,
                  "Centred zooms of every training image indexed besides the image (catches crops resized back): "
                  "comma-separated, isotropic (1.1) or per axis (1.2x1), or none")
      ->capture_default_str();
  mem->add_flag("--redact-real", a->o.redact_real, "Write no pixels of real images (pair grids show a hatched panel)");
  add_device_option(mem, a->o.device);
  mem->add_option("--train-split", a->o.train_split, "Only training-set images of this split");
  mem->add_option("--holdout-split", a->o.holdout_split, "Only holdout images of this split");
  mem->add_option("--synthetic-split", a->o.synthetic_split, "Only synthetic images of this split");
  mem->add_option("--batch", a->o.batch, "Images per embedding batch")->capture_default_str();
  mem->add_option("--recall-sample", a->o.recall_sample, "Queries used to measure recall@k of ivf/hnsw")
      ->capture_default_str();
  mem->add_option("--seed", a->o.seed, "Seed of the recall sample")->capture_default_str();
  mem->add_flag("--no-cache", a->no_cache, "Neither read nor write the embedding and index caches");
  mem->add_option("--cache-dir", a->cache_dir, "Cache root (default $MEDSYN_CACHE_DIR or ~/.cache/medsynbench)");
  mem->add_flag("--json", a->json, "Print summary.json to stdout");
  MEDSYN_TORCH_CALLBACK(mem, a, [mem, a] {
    if (!mem->get_subcommands().empty()) return;  // `memorization train-embedder` ran instead
    run_audit_cmd(*a);
  });

  auto t = std::make_shared<TrainArgs>();
  auto* tr = mem->add_subcommand("train-embedder",
                                 "Train the builtin:contrastive embedder (SimCLR, NT-Xent) on real training images");
  tr->add_option("--data", t->data, "Dataset folder (or .jsonl) with the real training images")->required();
  tr->add_option("--out", t->out, "Model file to write (use as --embedder builtin:contrastive:PATH)")->required();
  tr->add_option("--epochs", t->o.epochs, "Training epochs")->capture_default_str();
  tr->add_option("--seed", t->o.seed, "Seed (initialisation, augmentations, batch order)")->capture_default_str();
  tr->add_option("--size", t->o.size, "Input side in pixels (gray, bicubic resize)")->capture_default_str();
  tr->add_option("--batch", t->o.batch, "Images per step (two views each)")->capture_default_str();
  tr->add_option("--width", t->o.width, "Channels of the first conv layer")->capture_default_str();
  tr->add_option("--dim", t->o.dim, "Embedding dimension (projection output)")->capture_default_str();
  tr->add_option("--temperature", t->o.temperature, "NT-Xent temperature")->capture_default_str();
  tr->add_option("--lr", t->o.lr, "Adam peak learning rate (cosine decay to 0)")->capture_default_str();
  tr->add_option("--pool", t->o.pool, "Spatial grid kept before the projection head (1 = global pooling)")
      ->capture_default_str();
  tr->add_option("--augment", t->o.augment, "copy (flip, small zoom/shift, mild photometric) | simclr")
      ->capture_default_str();
  tr->add_option("--view-zooms", t->o.view_zooms,
                 "Centred zooms averaged into each embedding besides zoom 1: comma-separated, isotropic (1.1) "
                 "or per axis (1.2x1 = x 1.2, y 1), or none")
      ->capture_default_str();
  tr->add_flag("--no-flip-symmetric", t->no_flip, "Do not average each embedding with the mirrored image's");
  tr->add_option("--modality", t->o.modality, "Only images of this modality");
  tr->add_option("--split", t->o.split, "Only images of this split");
  tr->add_option("--max-images", t->o.max_images, "Use at most the first N images (0 = all)")->capture_default_str();
  add_device_option(tr, t->o.device);
  tr->add_flag("--json", t->json, "Print a JSON report");
  MEDSYN_TORCH_CALLBACK(tr, t, [t] { run_train(*t); });

  auto p = std::make_shared<PlantArgs>();
  auto* pl = mem->add_subcommand(
      "plant", "Build a planted-copy validation set (train / holdout / synthetic with copies of training images)");
  pl->add_option("--data", p->data, "Real dataset with train and test splits (e.g. an imported MedMNIST set)")->required();
  pl->add_option("--out", p->out, "Output folder (train.jsonl, holdout.jsonl, synthetic.jsonl, images/)")->required();
  pl->add_option("--sources", p->o.n_sources, "Training images copied (once per kind)")->capture_default_str();
  pl->add_option("--seed", p->o.seed, "Seed for every random choice")->capture_default_str();
  pl->add_option("--train-split", p->o.train_split, "Split used as the training set")->capture_default_str();
  pl->add_option("--test-split", p->o.test_split, "Split halved into holdout and new synthetic")->capture_default_str();
  pl->add_option("--modality", p->o.modality, "Only this modality");
  pl->add_option("--max-train", p->o.max_train, "Random subset of the training split (0 = all)")->capture_default_str();
  pl->add_option("--max-test", p->o.max_test, "Random subset of the test split (0 = all)")->capture_default_str();
  pl->add_flag("--json", p->json, "Print JSON");
  MEDSYN_TORCH_CALLBACK(pl, p, [p] { run_plant(*p); });
}

}  // namespace medsyn::cli
