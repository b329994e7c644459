#include "medsyn/metrics/feature_extract.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <thread>

#include "medsyn/core/cache.h"
#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/core/progress.h"
#include "medsyn/core/provenance.h"

namespace fs = std::filesystem;

namespace medsyn {

namespace {

int worker_count(const ExtractOptions& opt, std::size_t jobs) {
  int n = opt.threads > 0 ? opt.threads : static_cast<int>(std::min(8u, std::max(1u, std::thread::hardware_concurrency())));
  return static_cast<int>(std::max<std::size_t>(1, std::min<std::size_t>(static_cast<std::size_t>(n), jobs)));
}

// Runs fn(i) for i in [0, n) on `workers` threads (static interleaved split: deterministic output,
// since each i writes only its own slot). Rethrows the exception of the lowest failing index.
template <class Fn>
void parallel_for(std::size_t n, int workers, Fn fn) {
  if (workers <= 1 || n <= 1) {
    for (std::size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::vector<std::exception_ptr> errors(n);
  std::vector<std::thread> pool;
  for (int w = 0; w < workers; ++w)
    pool.emplace_back([&, w] {
      for (std::size_t i = static_cast<std::size_t>(w); i < n; i += static_cast<std::size_t>(workers)) {
        try {
          fn(i);
        } catch (...) {
          errors[i] = std::current_exception();
        }
      }
    });
  for (auto& t : pool) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace

std::vector<std::string> hash_images(const Dataset& ds, const std::vector<Record>& records) {
  std::vector<std::string> out(records.size());
  ExtractOptions opt;
  parallel_for(records.size(), worker_count(opt, records.size()), [&](std::size_t i) {
    const fs::path p = ds.image_path(records[i]);
    if (!fs::exists(p)) throw InputError(at_file(p.string(), "image listed in the manifest does not exist"));
    const std::string h = sha256_file(p);
    if (!records[i].sha256.empty() && records[i].sha256 != h)
      throw InputError(at_file(p.string(), "content sha256 " + h + " differs from the manifest's sha256 field " +
                                               records[i].sha256 + " (the file changed after the manifest was written)"));
    out[i] = h;
  });
  return out;
}

std::string feature_cache_key(const FeatureExtractor& ex, const std::vector<std::string>& image_hashes) {
  Sha256 h;
  h.update(std::string("medsynbench-features-v1"));
  h.update(ex.id());
  h.update(ex.weights_hash());
  h.update(ex.input_spec().describe());
  h.update(std::to_string(ex.dim()));
  h.update(std::to_string(image_hashes.size()));
  for (const auto& s : image_hashes) h.update(s);
  return h.hex_digest();
}

void stream_features(const Dataset& ds, const std::vector<Record>& records, FeatureExtractor& ex,
                     const ExtractOptions& opt, const FeatureSink& sink) {
  if (opt.batch < 1) throw InputError("--batch must be at least 1, got " + std::to_string(opt.batch));
  const InputSpec spec = ex.input_spec();
  const int d = ex.dim();
  const std::size_t n = records.size();
  Progress progress(opt.progress_label, static_cast<std::int64_t>(n), "images");
  std::vector<Image> batch;
  for (std::size_t first = 0; first < n; first += static_cast<std::size_t>(opt.batch)) {
    const std::size_t m = std::min<std::size_t>(static_cast<std::size_t>(opt.batch), n - first);
    batch.assign(m, Image());
    parallel_for(m, worker_count(opt, m), [&](std::size_t i) {
      const fs::path p = ds.image_path(records[first + i]);
      batch[i] = preprocess(read_image(p), spec);
    });
    const std::vector<float> rows = ex.extract(batch);
    if (rows.size() != m * static_cast<std::size_t>(d))
      throw Error("extractor " + ex.id() + " returned " + std::to_string(rows.size()) + " values for " +
                  std::to_string(m) + " images of dimension " + std::to_string(d));
    sink(first, rows.data(), m, d);
    progress.advance(static_cast<std::int64_t>(m));
  }
  progress.finish();
}

FeatureResult extract_features(const Dataset& ds, const std::vector<Record>& records, FeatureExtractor& ex,
                               const ExtractOptions& opt) {
  if (records.empty())
    throw InputError(at_file((ds.root / "manifest.jsonl").string(), "no images selected (check --modality/--split)"));
  const auto t0 = std::chrono::steady_clock::now();
  FeatureResult r;
  r.paths.reserve(records.size());
  for (const auto& rec : records) r.paths.push_back(rec.path);
  r.sha256 = hash_images(ds, records);
  r.cache_key = feature_cache_key(ex, r.sha256);
  const std::int64_t n = static_cast<std::int64_t>(records.size());
  const int d = ex.dim();

  std::unique_ptr<ContentCache> cache;
  if (opt.use_cache) {
    cache = std::make_unique<ContentCache>(opt.cache_dir.empty() ? default_cache_dir() : opt.cache_dir);
    if (cache->contains("features", r.cache_key, ".npy")) {
      r.cache_file = cache->entry_path("features", r.cache_key, ".npy");
      try {
        Matrix32 m = read_feature_matrix(r.cache_file);
        if (m.rows == n && m.cols == d) {
          r.features = std::move(m);
          r.cache_hit = true;
          r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          log_info("features: cache hit for " + std::to_string(n) + " images x " + std::to_string(d) + " (" +
                   ex.id() + "): " + r.cache_file.string());
          return r;
        }
        log_warn("features: cache entry " + r.cache_file.string() + " has shape " + std::to_string(m.rows) + " x " +
                 std::to_string(m.cols) + ", expected " + std::to_string(n) + " x " + std::to_string(d) +
                 "; recomputing");
      } catch (const Error& e) {
        log_warn(std::string("features: unreadable cache entry, recomputing: ") + e.what());
      }
    }
  }

  r.features.rows = n;
  r.features.cols = d;
  r.features.data.assign(static_cast<std::size_t>(n) * static_cast<std::size_t>(d), 0.f);
  stream_features(ds, records, ex, opt, [&](std::size_t first, const float* rows, std::size_t m, int dim) {
    std::copy(rows, rows + m * static_cast<std::size_t>(dim),
              r.features.data.begin() + static_cast<std::ptrdiff_t>(first * static_cast<std::size_t>(d)));
  });
  if (cache) {
    r.cache_file = cache->entry_path("features", r.cache_key, ".npy");
    json meta = {{"extractor_id", ex.id()},       {"weights_sha256", ex.weights_hash()},
                 {"preprocessing", ex.input_spec().describe()}, {"rows", n},
                 {"dim", d},                       {"dataset", fs::absolute(ds.root).string()},
                 {"created", utc_now_iso8601()}};
    write_feature_matrix(r.cache_file, r.features);
    write_json_file(cache->entry_path("features", r.cache_key, ".json"), meta);
    log_info("features: stored in cache " + r.cache_file.string());
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

metrics::GaussianStats extract_stats(const Dataset& ds, const std::vector<Record>& records, FeatureExtractor& ex,
                                     const ExtractOptions& opt, bool* from_cache) {
  if (records.empty())
    throw InputError(at_file((ds.root / "manifest.jsonl").string(), "no images selected (check --modality/--split)"));
  if (from_cache) *from_cache = false;
  const std::string what = "features of " + ds.root.string() + " (" + ex.id() + ")";
  if (opt.use_cache) {
    const ContentCache cache(opt.cache_dir.empty() ? default_cache_dir() : opt.cache_dir);
    const std::string key = feature_cache_key(ex, hash_images(ds, records));
    if (cache.contains("features", key, ".npy")) {
      const fs::path p = cache.entry_path("features", key, ".npy");
      try {
        const Matrix32 m = read_feature_matrix(p);
        if (m.rows == static_cast<std::int64_t>(records.size()) && m.cols == ex.dim()) {
          log_info("features: cache hit, statistics from " + p.string());
          if (from_cache) *from_cache = true;
          return metrics::compute_stats(m, what);
        }
      } catch (const Error& e) {
        log_warn(std::string("features: unreadable cache entry, recomputing: ") + e.what());
      }
    }
  } else {
    hash_images(ds, records);  // still verify manifest sha256 fields
  }
  metrics::StatsAccumulator acc(ex.dim());
  stream_features(ds, records, ex, opt, [&](std::size_t, const float* rows, std::size_t m, int) {
    acc.add(rows, static_cast<std::int64_t>(m));
  });
  return acc.finish(what);
}

json feature_sidecar(const FeatureResult& r, const FeatureExtractor& ex, const std::string& spec,
                     const std::string& device, const Dataset& ds, const std::string& modality,
                     const std::string& split) {
  const fs::path manifest = ds.root / "manifest.jsonl";
  const std::string mhash = fs::exists(manifest) ? manifest_hash(ds.root) : std::string();
  json j;
  j["schema"] = "medsynbench.features/1";
  j["rows"] = r.features.rows;
  j["dim"] = r.features.cols;
  j["dtype"] = "float32";
  j["extractor"] = {{"spec", spec}, {"id", ex.id()}, {"weights_sha256", ex.weights_hash()}, {"dim", ex.dim()}};
  j["preprocessing"] = input_spec_to_json(ex.input_spec());
  j["source"] = {{"dataset", fs::absolute(ds.root).lexically_normal().string()},
                 {"manifest_sha256", mhash},
                 {"modality", modality},
                 {"split", split}};
  j["cache"] = {{"key", r.cache_key}, {"hit", r.cache_hit}, {"file", r.cache_file.string()}};
  j["paths"] = r.paths;          // row i -> image path (relative to source.dataset)
  j["image_sha256"] = r.sha256;  // row i -> sha256 of that image file
  j["provenance"] = provenance_json({{"device", device},
                                     {"inputs", {{"manifest_sha256", mhash}, {"weights_sha256", ex.weights_hash()}}}});
  return j;
}

fs::path sidecar_path(const fs::path& features_npy) { return fs::path(features_npy.string() + ".json"); }

void write_features(const fs::path& out_npy, const FeatureResult& r, const json& sidecar) {
  if (out_npy.has_parent_path()) ensure_dir(out_npy.parent_path());
  write_feature_matrix(out_npy, r.features);
  write_json_file(sidecar_path(out_npy), sidecar);
}

}  // namespace medsyn
