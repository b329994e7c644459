#include "medsyn/memorization/audit.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <map>
#include <mutex>
#include <numeric>
#include <sstream>
#include <unordered_map>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/core/progress.h"
#include "medsyn/core/provenance.h"
#include "medsyn/memorization/contrastive.h"
#include "medsyn/memorization/gallery.h"
#include "medsyn/memorization/plots.h"
#include "medsyn/memorization/shards.h"
#include "medsyn/metrics/authpct.h"
#include "medsyn/metrics/ct.h"
#include "medsyn/metrics/extractor.h"
#include "medsyn/metrics/feature_extract.h"
#include "medsyn/metrics/ssim.h"
#include "medsyn/stats/random.h"
#include "medsyn/torch/runtime.h"

namespace fs = std::filesystem;

namespace medsyn::memorization {

namespace {

// The Embedder: a FeatureExtractor whose rows are L2-normalised (zero rows stay zero).
class L2Embedder final : public FeatureExtractor {
 public:
  explicit L2Embedder(std::unique_ptr<FeatureExtractor> inner) : inner_(std::move(inner)) {}
  std::string id() const override { return "l2(" + inner_->id() + ")"; }
  std::string weights_hash() const override { return inner_->weights_hash(); }
  int dim() const override { return inner_->dim(); }
  InputSpec input_spec() const override { return inner_->input_spec(); }
  std::vector<float> extract(const std::vector<Image>& batch) override {
    std::vector<float> rows = inner_->extract(batch);
    const int d = dim();
    l2_normalize_rows(rows.data(), static_cast<std::int64_t>(rows.size() / static_cast<std::size_t>(d)), d);
    return rows;
  }
  const FeatureExtractor& inner() const { return *inner_; }

 private:
  std::unique_ptr<FeatureExtractor> inner_;
};

std::string safe_name(const std::string& s) {
  std::string o = s.empty() ? std::string("unknown") : s;
  for (char& c : o)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) c = '_';
  return o;
}

std::string pixel_hash(const Image& im) {
  Sha256 h;
  h.update(std::to_string(im.channels) + "x" + std::to_string(im.height) + "x" + std::to_string(im.width));
  h.update(im.data.data(), im.data.size() * sizeof(float));
  return h.hex_digest();
}

std::vector<std::string> pixel_hashes(const Dataset& ds, const std::vector<Record>& recs, const std::string& label) {
  std::vector<std::string> out(recs.size()), errors(recs.size());
  Progress prog(label, static_cast<std::int64_t>(recs.size()), "images");
#pragma omp parallel for schedule(dynamic, 32)
  for (long i = 0; i < static_cast<long>(recs.size()); ++i) {
    try {
      out[i] = pixel_hash(read_image(ds.image_path(recs[i])));
    } catch (const std::exception& e) {
      errors[i] = e.what();
    }
  }
  prog.finish();
  for (const auto& e : errors)
    if (!e.empty()) throw InputError(e);
  return out;
}

Image gray(const Image& im) { return im.channels == 1 ? im : to_channels(im, 1); }

double pair_ssim(const Image& a, const Image& b, const std::string& na, const std::string& nb) {
  Image x = gray(a), y = gray(b);
  const int h = std::min(x.height, y.height), w = std::min(x.width, y.width);
  auto fit = [&](Image& im) {
    if (im.height != h || im.width != w) {
      im = resize(im, h, w, ResizeFilter::bicubic, true);
      for (float& v : im.data) v = std::clamp(v, 0.f, 1.f);
    }
  };
  fit(x);
  fit(y);
  metrics::SsimOptions o;
  const int side = std::min(h, w);
  if (side < o.win_size) o.win_size = side % 2 ? side : side - 1;
  if (o.win_size < 1) return std::numeric_limits<double>::quiet_NaN();
  return metrics::ssim(x, y, o, na, nb);
}

std::string fmt(double v, int prec) {
  if (!std::isfinite(v)) return "nan";
  std::ostringstream os;
  os << std::setprecision(prec) << v;
  return os.str();
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) o += c == '"' ? std::string("\"\"") : std::string(1, c);
  return o + "\"";
}

std::vector<double> to_double(const std::vector<float>& sims, int k) {
  std::vector<double> out;
  for (std::size_t i = 0; i < sims.size(); i += static_cast<std::size_t>(k)) out.push_back(sims[i]);
  return out;
}

json summary_json(const SimilaritySummary& s) {
  return {{"count", s.count}, {"mean", finite_or_null(s.mean)}, {"p50", finite_or_null(s.p50)},
          {"p75", finite_or_null(s.p75)}, {"p90", finite_or_null(s.p90)}, {"p95", finite_or_null(s.p95)},
          {"p99", finite_or_null(s.p99)}, {"min", finite_or_null(s.min)}, {"max", finite_or_null(s.max)}};
}

}  // namespace

void validate_audit_options(const AuditOptions& o) {
  if (o.train.empty()) throw InputError("--train is required");
  if (o.holdout.empty()) throw InputError("--holdout is required");
  if (o.synthetic.empty()) throw InputError("--synthetic is required");
  if (o.embedder.empty()) throw InputError("--embedder is required");
  if (o.k < 1 || o.k > 1024) throw InputError("--k must be in [1, 1024], got " + std::to_string(o.k));
  if (!(o.threshold_quantile > 0.0 && o.threshold_quantile < 1.0))
    throw InputError("--threshold-quantile must be in (0, 1), got " + fmt(o.threshold_quantile, 6));
  for (double t : o.thresholds)
    if (!std::isfinite(t) || t < -1.0 || t > 1.0)
      throw InputError("--thresholds: " + fmt(t, 6) + " is not a cosine similarity in [-1, 1]");
  if (o.top_pairs < 0) throw InputError("--top-pairs must be >= 0, got " + std::to_string(o.top_pairs));
  if (o.batch < 1) throw InputError("--batch must be at least 1, got " + std::to_string(o.batch));
  for (const auto& [flag, p] : {std::pair{"--train", o.train}, std::pair{"--holdout", o.holdout},
                                std::pair{"--synthetic", o.synthetic}})
    if (!fs::exists(p)) throw InputError(std::string(flag) + " '" + p.string() + "': no such dataset folder or manifest");
  validate_device(o.device);
  parse_zoom_list(o.train_zooms, "--train-zooms");
}

AuditResult run_audit(const AuditOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  validate_audit_options(opt);
  register_extractors();
  AuditResult res;
  res.options = opt;
  res.device = validate_device(opt.device);
  res.embedder_spec = opt.embedder;

  const Dataset train = load_dataset(opt.train), holdout = load_dataset(opt.holdout),
                synth = load_dataset(opt.synthetic);
  // sha256 of the manifest actually read (a .jsonl given directly, else DIR/manifest.jsonl).
  auto mhash = [](const fs::path& given, const Dataset& d) {
    return fs::is_regular_file(given) ? sha256_file(given) : manifest_hash(d.root);
  };
  res.train_manifest_sha256 = mhash(opt.train, train);
  res.holdout_manifest_sha256 = mhash(opt.holdout, holdout);
  res.synthetic_manifest_sha256 = mhash(opt.synthetic, synth);

  L2Embedder emb(make_extractor(opt.embedder, res.device));
  res.embedder_id = emb.id();
  res.embedder_hash = emb.weights_hash();
  res.preprocessing = emb.input_spec().describe();
  res.dim = emb.dim();

  ExtractOptions xo;
  xo.batch = opt.batch;
  xo.use_cache = opt.use_cache;
  xo.cache_dir = opt.cache_dir;

  if (!opt.out_dir.empty()) ensure_dir(opt.out_dir);
  std::ostringstream csv;
  csv << "modality,synthetic,synthetic_sha256,rank,train,train_sha256,similarity,distance,ssim,above_tau,train_view\n";
  const std::vector<Zoom> zooms = parse_zoom_list(opt.train_zooms, "--train-zooms");

  std::vector<std::string> mods = synth.modalities();
  std::vector<Record> all_syn = synth.select("", opt.synthetic_split);
  if (all_syn.empty())
    throw InputError(at_file((synth.root / "manifest.jsonl").string(),
                             "no synthetic images (split '" + opt.synthetic_split + "')"));
  for (const std::string& mod : mods) {
    const auto syn_recs = synth.select(mod, opt.synthetic_split);
    if (syn_recs.empty()) continue;
    const auto train_recs = train.select(mod, opt.train_split);
    const auto hold_recs = holdout.select(mod, opt.holdout_split);
    if (train_recs.empty()) {
      res.skipped.push_back(mod + ": no training images of this modality in " + opt.train.string());
      continue;
    }
    if (hold_recs.empty()) {
      res.skipped.push_back(mod + ": no holdout images of this modality in " + opt.holdout.string());
      continue;
    }
    ModalityAudit ma;
    ma.modality = mod;
    ma.n_train = train_recs.size();
    ma.n_holdout = hold_recs.size();
    ma.n_synthetic = syn_recs.size();
    log_info("memorization " + mod + ": " + std::to_string(ma.n_train) + " train, " + std::to_string(ma.n_holdout) +
             " holdout, " + std::to_string(ma.n_synthetic) + " synthetic; embedder " + emb.id());

    // The gallery: every training image, then each zoomed view of every training image.
    xo.progress_label = "embed train " + mod;
    const FeatureResult ftrain = extract_features(train, train_recs, emb, xo);
    const int d = static_cast<int>(ftrain.features.cols);
    const std::int64_t n_img = ftrain.features.rows;
    std::vector<float> gallery = ftrain.features.data;
    std::string gallery_key = ftrain.cache_key;
    for (const Zoom& z : zooms) {
      auto view = zoomed_extractor(emb, z);
      xo.progress_label = "embed train " + mod + " zoom " + zoom_label(z);
      const FeatureResult fv = extract_features(train, train_recs, *view, xo);
      gallery.insert(gallery.end(), fv.features.data.begin(), fv.features.data.end());
      gallery_key += "+" + fv.cache_key;
    }
    const int views = 1 + static_cast<int>(zooms.size());
    const std::int64_t n_rows = n_img * views;
    ma.gallery_views = views;
    ma.gallery_rows = static_cast<std::size_t>(n_rows);
    xo.progress_label = "embed holdout " + mod;
    const FeatureResult fhold = extract_features(holdout, hold_recs, emb, xo);
    xo.progress_label = "embed synthetic " + mod;
    const FeatureResult fsyn = extract_features(synth, syn_recs, emb, xo);

    // Sharded search (flat only): shards of whole images, each with all its views (shards.h).
    const std::vector<ShardRange> shards = opt.index == IndexKind::flat ? shard_ranges(n_img, opt.gallery_shard_size)
                                                                        : std::vector<ShardRange>{{0, n_img}};
    const bool sharded = shards.size() > 1;
    ma.gallery_shards = static_cast<int>(shards.size());
    CachedIndex ci;
    if (!sharded) {
      ci = build_or_load_index(gallery.data(), n_rows, d, opt.index, views == 1 ? gallery_key : sha256_hex(gallery_key),
                               opt.use_cache, opt.cache_dir);
      ma.index_description = ci.index.describe();
      ma.index_cache_hit = ci.cache_hit;
      ma.index_seconds = ci.build_seconds;
      ma.index_memory_bytes = ci.index.memory_bytes();
    } else {
      ma.index_description = "IndexFlatIP(exact) x " + std::to_string(shards.size()) + " shards of <= " +
                             std::to_string(opt.gallery_shard_size) + " images, top-k merged";
    }
    const int k = opt.k;
    // Image-level search: k * views gallery rows always hold the k best distinct images.
    auto search_images = [&](const KnnIndex& index, const float* q, std::int64_t nq, int kk, std::vector<int>* view) {
      const int rows = static_cast<int>(std::min<std::int64_t>(static_cast<std::int64_t>(kk) * views, n_rows));
      // Sharding asked for (gallery_shard_size > 0), flat: search_exact even when the gallery fits
      // one shard (FAISS's per-query kernel and a fixed tie rule: the same numbers at every shard
      // size). Not asked for: FAISS's own search, whose BLAS path is several times faster on large
      // query sets (bench_memorization: BM_FaissFlatIP vs BM_SearchExact) and whose results are
      // those of every earlier version.
      if (!sharded)
        return collapse_gallery(index.kind() == IndexKind::flat && opt.gallery_shard_size > 0 ? search_exact(index, q, nq, rows)
                                                                                               : index.search(q, nq, rows),
                                n_img, kk, view);
      std::vector<KnnResult> parts;
      const auto t_shards = std::chrono::steady_clock::now();
      for (const ShardRange& r : shards) {
        std::vector<float> g;  // the shard's own view-major gallery
        for (int v = 0; v < views; ++v)
          g.insert(g.end(), gallery.begin() + static_cast<std::ptrdiff_t>((v * n_img + r.begin) * d),
                   gallery.begin() + static_cast<std::ptrdiff_t>((v * n_img + r.end) * d));
        const KnnIndex shard = KnnIndex::build(g.data(), r.size() * views, d, IndexKind::flat);
        ma.index_memory_bytes = std::max(ma.index_memory_bytes, shard.memory_bytes());
        parts.push_back(to_gallery_rows(search_exact(shard, q, nq, rows), r, n_img));
      }
      ma.index_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t_shards).count();
      return collapse_gallery(merge_topk(parts, rows), n_img, kk, view);
    };
    std::vector<int> syn_view;
    const KnnResult ks = search_images(ci.index, fsyn.features.data.data(), fsyn.features.rows, k, &syn_view);
    const KnnResult kh = search_images(ci.index, fhold.features.data.data(), fhold.features.rows, 1, nullptr);
    if (static_cast<std::int64_t>(ma.n_train) < k)
      ma.warnings.push_back("only " + std::to_string(ma.n_train) + " training images: fewer than k = " +
                            std::to_string(k) + " neighbours per synthetic image");

    if (opt.index != IndexKind::flat) {
      // Recall@k (of distinct training images) of the approximate index against exact search on a
      // deterministic sample of synthetic and holdout queries.
      std::vector<float> sample;
      const std::int64_t ns = fsyn.features.rows, nh = fhold.features.rows, total = ns + nh;
      std::vector<std::int64_t> rows(static_cast<std::size_t>(total));
      std::iota(rows.begin(), rows.end(), 0);
      stats::Rng rng(opt.seed);
      stats::shuffle(rng, rows);
      rows.resize(std::min<std::size_t>(rows.size(), std::max<std::size_t>(1, opt.recall_sample)));
      for (auto r : rows) {
        const float* src = r < ns ? fsyn.features.data.data() + static_cast<std::size_t>(r) * d
                                  : fhold.features.data.data() + static_cast<std::size_t>(r - ns) * d;
        sample.insert(sample.end(), src, src + d);
      }
      const std::int64_t nq = static_cast<std::int64_t>(rows.size());
      const KnnIndex exact = KnnIndex::build(gallery.data(), n_rows, d, IndexKind::flat);
      ma.recall_at_k = recall_at_k(search_images(ci.index, sample.data(), nq, k, nullptr),
                                   search_images(exact, sample.data(), nq, k, nullptr));
      ma.recall_queries = static_cast<std::size_t>(nq);
    }

    if (ftrain.features.rows >= 2 && fsyn.features.rows >= 1) {
      const metrics::AuthPctResult ap = metrics::authpct(ftrain.features, fsyn.features, "train '" + mod + "'",
                                                         "synthetic '" + mod + "'");
      ma.authentic = ap.authentic;
      ma.authpct = ap.authpct;
    } else {
      ma.warnings.push_back("AuthPct not computed: it needs at least 2 training images");
    }
    try {
      metrics::CtOptions cto;
      cto.seed = opt.seed;
      const metrics::CtResult ct = metrics::c_t_score(ftrain.features, fhold.features, fsyn.features, cto);
      ma.c_t = ct.c_t;
      ma.c_t_note = ct.note;
    } catch (const InputError& e) {  // too few images for three cells: recorded, never a number
      ma.c_t_note = e.what();
    }

    ma.synthetic_nn = to_double(ks.sims, k);
    ma.holdout_nn = to_double(kh.sims, 1);
    for (const auto& r : hold_recs) ma.holdout_paths.push_back(r.path);
    ma.calibration = calibrate(ma.synthetic_nn, ma.holdout_nn, opt.threshold_quantile, opt.thresholds);
    const double tau = ma.calibration.tau;

    // Exact pixel duplicates inside the training set, and synthetic images identical to one.
    const auto th = pixel_hashes(train, train_recs, "pixel hashes train " + mod);
    const auto sh = pixel_hashes(synth, syn_recs, "pixel hashes synthetic " + mod);
    std::map<std::string, std::vector<std::size_t>> groups;
    for (std::size_t i = 0; i < th.size(); ++i) groups[th[i]].push_back(i);
    for (const auto& [h, idx] : groups)
      if (idx.size() > 1) {
        DuplicateGroup g;
        g.pixel_hash = h;
        for (auto i : idx) g.paths.push_back(train_recs[i].path);
        ma.train_duplicate_images += idx.size() - 1;
        ma.train_duplicates.push_back(std::move(g));
      }
    std::sort(ma.train_duplicates.begin(), ma.train_duplicates.end(),
              [](const DuplicateGroup& a, const DuplicateGroup& b) { return a.paths.front() < b.paths.front(); });

    // Per synthetic image: neighbours with SSIM (training images decoded once each).
    ma.synthetic.resize(syn_recs.size());
    std::vector<std::string> errors(syn_recs.size());
    {
      Progress prog("ssim " + mod, static_cast<std::int64_t>(syn_recs.size()), "images");
#pragma omp parallel for schedule(dynamic, 8)
      for (long i = 0; i < static_cast<long>(syn_recs.size()); ++i) {
        try {
          SyntheticMatch& sm = ma.synthetic[i];
          sm.path = syn_recs[i].path;
          sm.sha256 = fsyn.sha256[i];
          sm.exact_copy = groups.count(sh[i]) > 0;
          const Image simg = read_image(synth.image_path(syn_recs[i]));
          for (int r = 0; r < k; ++r) {
            const auto id = ks.id(i, r);
            if (id < 0) break;
            Neighbor nb;
            nb.train_row = id;
            nb.train_path = train_recs[id].path;
            nb.train_sha256 = ftrain.sha256[id];
            nb.similarity = ks.sim(i, r);
            const int v = syn_view[static_cast<std::size_t>(i) * k + r];
            nb.train_view = v == 0 ? std::string("1") : zoom_label(zooms[static_cast<std::size_t>(v - 1)]);
            nb.ssim = pair_ssim(simg, read_image(train.image_path(train_recs[id])), sm.path, nb.train_path);
            sm.neighbors.push_back(std::move(nb));
          }
          sm.flagged = !sm.neighbors.empty() && sm.neighbors.front().similarity > tau;
        } catch (const std::exception& e) {
          errors[i] = e.what();
        }
      }
    }
    for (const auto& e : errors)
      if (!e.empty()) throw InputError(e);
    for (const auto& sm : ma.synthetic) ma.synthetic_exact_copies += sm.exact_copy ? 1 : 0;
    for (std::size_t i = 0; i < syn_recs.size(); ++i) {
      json extra;
      try {
        extra = json::parse(syn_recs[i].extra_json.empty() ? std::string("{}") : syn_recs[i].extra_json);
      } catch (const std::exception&) {
        continue;
      }
      if (!extra.is_object() || !extra.contains("planted_kind") || !extra["planted_kind"].is_string()) continue;
      PlantedRate& pr = ma.planted[extra["planted_kind"].get<std::string>()];
      const auto& sm = ma.synthetic[i];
      ++pr.n;
      pr.flagged += sm.flagged ? 1 : 0;
      if (extra.contains("planted_source") && extra["planted_source"].is_string() && !sm.neighbors.empty() &&
          sm.neighbors.front().train_path == extra["planted_source"].get<std::string>())
        ++pr.nearest_is_source;
    }
    for (const auto& sm : ma.synthetic)
      for (std::size_t r = 0; r < sm.neighbors.size(); ++r) {
        const auto& nb = sm.neighbors[r];
        csv << csv_field(mod) << ',' << csv_field(sm.path) << ',' << sm.sha256 << ',' << (r + 1) << ','
            << csv_field(nb.train_path) << ',' << nb.train_sha256 << ',' << fmt(nb.similarity, 9) << ','
            << fmt(1.0 - nb.similarity, 9) << ',' << fmt(nb.ssim, 6) << ',' << (nb.similarity > tau ? 1 : 0) << ','
            << nb.train_view << '\n';
      }

    if (!opt.out_dir.empty()) {
      const std::string name = safe_name(mod);
      ma.histogram_png = opt.out_dir / ("histogram_" + name + ".png");
      write_png(ma.histogram_png,
                draw_similarity_histogram(ma.synthetic_nn, ma.holdout_nn, tau, opt.threshold_quantile, opt.thresholds,
                                          "memorization audit: " + mod + "  (" + emb.id() + ")"));
      std::vector<std::size_t> order(ma.synthetic.size());
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(),
                       [&](std::size_t a, std::size_t b) { return ma.synthetic_nn[a] > ma.synthetic_nn[b]; });
      order.resize(std::min<std::size_t>(order.size(), static_cast<std::size_t>(opt.top_pairs)));
      std::vector<PairPanel> panels;
      for (std::size_t j = 0; j < order.size(); ++j) {
        const auto& sm = ma.synthetic[order[j]];
        if (sm.neighbors.empty()) continue;
        PairPanel p;
        p.synthetic = read_image(synth.image_path(syn_recs[order[j]]));
        if (!opt.redact_real) p.train = read_image(train.image_path(train_recs[sm.neighbors[0].train_row]));
        p.caption = "#" + std::to_string(j + 1) + " cos " + fmt(sm.neighbors[0].similarity, 6) +
                    (sm.flagged ? " >tau" : "");
        p.caption2 = "ssim " + fmt(sm.neighbors[0].ssim, 4) +
                     (sm.neighbors[0].train_view == "1" ? "" : " zoom " + sm.neighbors[0].train_view);
        panels.push_back(std::move(p));
      }
      ma.pairs_png = opt.out_dir / ("pairs_" + name + ".png");
      write_png(ma.pairs_png, draw_pair_grid(panels, "top " + std::to_string(panels.size()) + " pairs: " + mod +
                                                         (opt.redact_real ? " (real images redacted)" : "")));
    }
    res.modalities.push_back(std::move(ma));
  }
  if (res.modalities.empty()) {
    std::string why;
    for (const auto& s : res.skipped) why += "; " + s;
    throw InputError("no modality could be audited (each needs synthetic, training and holdout images)" + why);
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!opt.out_dir.empty()) {
    res.neighbors_csv = opt.out_dir / "neighbors.csv";
    atomic_write_text(res.neighbors_csv, csv.str());
    res.summary_json = opt.out_dir / "summary.json";
    write_json_file(res.summary_json, audit_to_json(res));
  }
  return res;
}

nlohmann::json audit_to_json(const AuditResult& r) {
  const auto& o = r.options;
  json j;
  j["schema"] = "medsynbench.memorization/1";
  j["embedder"] = {{"spec", r.embedder_spec}, {"id", r.embedder_id}, {"weights_sha256", r.embedder_hash},
                   {"preprocessing", r.preprocessing}, {"dim", r.dim}, {"normalisation", "L2"}};
  j["definitions"] = {
      {"similarity", "cosine similarity of L2-normalised embeddings (inner product)"},
      {"distance", "cosine distance 1 - similarity (DCR: distance to the closest training image)"},
      {"tau", "quantile threshold_quantile of holdout -> train nearest similarities (linear interpolation)"},
      {"flagged", "nearest similarity strictly above the threshold"},
      {"dcr_ratio", "median synthetic DCR / median holdout DCR (< 1: synthetic closer than new real images)"},
      {"mann_whitney", "one-sided: synthetic DCRs smaller than holdout DCRs (scipy mannwhitneyu, alternative='less')"},
      {"ssim", "Gaussian SSIM (win 11, sigma 1.5) on luma at the smaller common size"},
      {"exact_duplicates", "identical decoded pixels (sha256 of shape + float values)"}};
  j["options"] = {{"k", o.k}, {"index", to_string(o.index)}, {"threshold_quantile", o.threshold_quantile},
                  {"thresholds", o.thresholds}, {"top_pairs", o.top_pairs}, {"redact_real", o.redact_real},
                  {"train_split", o.train_split}, {"holdout_split", o.holdout_split},
                  {"synthetic_split", o.synthetic_split}, {"train_zooms", o.train_zooms}};
  json mods = json::object();
  for (const auto& m : r.modalities) {
    const auto& c = m.calibration;
    json fixed = json::array();
    for (std::size_t i = 0; i < c.fixed_thresholds.size(); ++i)
      fixed.push_back({{"threshold", c.fixed_thresholds[i]},
                       {"synthetic_fraction_above", finite_or_null(c.synthetic_above_fixed[i])},
                       {"holdout_fraction_above", finite_or_null(c.holdout_above_fixed[i])}});
    json dups = json::array();
    for (const auto& g : m.train_duplicates) dups.push_back({{"pixel_sha256", g.pixel_hash}, {"paths", g.paths}});
    std::size_t flagged = 0;
    for (const auto& s : m.synthetic) flagged += s.flagged ? 1 : 0;
    json planted = json::object();
    for (const auto& [kind, pr] : m.planted)
      planted[kind] = {{"n", pr.n}, {"flagged", pr.flagged}, {"flag_rate", pr.rate()},
                       {"nearest_is_source", pr.nearest_is_source}};
    mods[m.modality] = {
        {"n_train", m.n_train},
        {"n_holdout", m.n_holdout},
        {"n_synthetic", m.n_synthetic},
        {"tau", finite_or_null(c.tau)},
        {"threshold_quantile", c.threshold_quantile},
        {"synthetic_to_train", summary_json(c.synthetic)},
        {"holdout_to_train", summary_json(c.holdout)},
        {"synthetic_fraction_above_tau", finite_or_null(c.synthetic_above_tau)},
        {"synthetic_flagged", flagged},
        {"holdout_fraction_above_tau", finite_or_null(c.holdout_above_tau)},
        {"fixed_thresholds", fixed},
        {"median_dcr_synthetic", finite_or_null(c.median_dcr_synthetic)},
        {"median_dcr_holdout", finite_or_null(c.median_dcr_holdout)},
        {"dcr_ratio", finite_or_null(c.dcr_ratio)},
        {"mann_whitney", {{"alternative", "synthetic closer (smaller DCR) than holdout"},
                          {"u", finite_or_null(c.mw_u)},
                          {"p", finite_or_null(c.mw_p)},
                          {"z", finite_or_null(c.mw_z)},
                          {"method", c.mw_method}}},
        {"train_exact_duplicates", {{"groups", m.train_duplicates.size()},
                                    {"extra_images", m.train_duplicate_images},
                                    {"list", dups}}},
        {"synthetic_exact_copies_of_train", m.synthetic_exact_copies},
        {"c_t", {{"c_t", finite_or_null(m.c_t)},
                 {"note", m.c_t_note},
                 {"method", "C_T data-copying test (Meehan et al. 2020) as dgm-eval computes it (metrics/ct.h); "
                            "held-out sample: the holdout; << 0 = copying"}}},
        {"authpct", m.authentic < 0 ? json(nullptr)
                                    : json{{"authpct", m.authpct},
                                           {"authentic", m.authentic},
                                           {"n_synthetic", m.n_synthetic},
                                           {"space", "the embedder's L2-normalised embeddings (training images' first view)"},
                                           {"method", "Alaa et al. 2022 as dgm-eval computes it (metrics/authpct.h)"}}},
        {"gallery", {{"views", m.gallery_views},
                     {"rows", m.gallery_rows},
                     {"zooms", o.train_zooms},
                     {"note", "each training image is indexed with its centred zooms; a neighbour's similarity is the best over its views"}}},
        {"index", {{"kind", to_string(o.index)},
                   {"description", m.index_description},
                   {"cache_hit", m.index_cache_hit},
                   {"seconds", m.index_seconds},
                   {"memory_bytes", m.index_memory_bytes},
                   {"recall_at_k", finite_or_null(m.recall_at_k)},
                   {"recall_k", o.k},
                   {"recall_queries", m.recall_queries},
                   {"recall_note", o.index == IndexKind::flat ? "exact search" : "measured against exact search on a sample of synthetic and holdout queries"}}},
        {"planted", planted},
        {"warnings", m.warnings},
        {"files", {{"histogram", m.histogram_png.filename().string()}, {"pairs", m.pairs_png.filename().string()}}}};
  }
  for (const auto& m : r.modalities)
    if (m.gallery_shards > 1) mods[m.modality]["index"]["shards"] = m.gallery_shards;  // sharded search only
  j["modalities"] = mods;
  j["skipped"] = r.skipped;
  j["seconds"] = r.seconds;
  j["provenance"] = provenance_json(
      {{"device", r.device},
       {"seeds", {{"recall_sample", o.seed}}},
       {"inputs", {{"train", fs::absolute(o.train).lexically_normal().string()},
                   {"train_manifest_sha256", r.train_manifest_sha256},
                   {"holdout", fs::absolute(o.holdout).lexically_normal().string()},
                   {"holdout_manifest_sha256", r.holdout_manifest_sha256},
                   {"synthetic", fs::absolute(o.synthetic).lexically_normal().string()},
                   {"synthetic_manifest_sha256", r.synthetic_manifest_sha256},
                   {"embedder_weights_sha256", r.embedder_hash}}}});
  return j;
}

}  // namespace medsyn::memorization
