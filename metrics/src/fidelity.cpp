#include "medsyn/metrics/fidelity.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "medsyn/core/error.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/core/progress.h"
#include "medsyn/core/provenance.h"
#include "medsyn/metrics/fid.h"
#include "medsyn/metrics/kid.h"
#include "medsyn/metrics/prdc.h"
#include "medsyn/metrics/stats.h"
#include "medsyn/stats/intervals.h"
#include "medsyn/stats/random.h"

namespace fs = std::filesystem;

namespace medsyn::metrics {

namespace {

constexpr std::uint64_t kFloorSeedMix = 0x9E3779B97F4A7C15ULL;

Matrix32 gather_rows(const Matrix32& m, const std::vector<std::int64_t>& idx, std::size_t begin, std::size_t end) {
  Matrix32 out;
  out.rows = static_cast<std::int64_t>(end - begin);
  out.cols = m.cols;
  out.data.resize(static_cast<std::size_t>(out.rows) * static_cast<std::size_t>(m.cols));
  const std::size_t d = static_cast<std::size_t>(m.cols);
  for (std::size_t i = begin; i < end; ++i)
    std::copy(m.data.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(idx[i]) * d),
              m.data.begin() + static_cast<std::ptrdiff_t>((static_cast<std::size_t>(idx[i]) + 1) * d),
              out.data.begin() + static_cast<std::ptrdiff_t>((i - begin) * d));
  return out;
}
Matrix32 gather_rows(const Matrix32& m, const std::vector<std::int64_t>& idx) {
  return gather_rows(m, idx, 0, idx.size());
}

FidResult fid_of(const Matrix32& a, const Matrix32& b, const std::string& name_a, const std::string& name_b) {
  return frechet_distance(compute_stats(a, name_a), compute_stats(b, name_b));
}

void set_interval(Estimate& m, std::vector<double> replicates, const FidelityOptions& opt) {
  if (replicates.empty()) return;
  stats::finish_percentile_interval(std::move(replicates), opt.ci_level, m);
}

}  // namespace

ModalityFidelity fidelity_from_features(const std::string& modality, const Matrix32& real, const Matrix32& synthetic,
                                        const FidelityOptions& opt) {
  const std::string name_r = "real '" + modality + "'", name_s = "synthetic '" + modality + "'";
  if (real.cols != synthetic.cols)
    throw InputError("modality '" + modality + "': real features have dimension " + std::to_string(real.cols) +
                     ", synthetic " + std::to_string(synthetic.cols));
  for (const auto& [m, name] : {std::pair<const Matrix32*, std::string>{&real, name_r}, {&synthetic, name_s}})
    if (m->rows < 2 || m->rows <= opt.k)
      throw InputError(name + ": " + std::to_string(m->rows) + " images; FID/KID need at least 2 and PRDC with k=" +
                       std::to_string(opt.k) + " needs at least " + std::to_string(opt.k + 1) +
                       " (lower k or add images)");
  if (opt.bootstrap < 0) throw InputError("bootstrap replicates must be >= 0, got " + std::to_string(opt.bootstrap));
  if (!(opt.ci_level > 0 && opt.ci_level < 1))
    throw InputError("confidence level must be in (0, 1), got " + std::to_string(opt.ci_level));

  ModalityFidelity out;
  out.modality = modality;
  out.n_real = real.rows;
  out.n_synthetic = synthetic.rows;
  out.dim = static_cast<int>(real.cols);
  for (Estimate* e : {&out.fid, &out.kid, &out.precision, &out.recall, &out.density, &out.coverage}) {
    e->n = real.rows + synthetic.rows;
    e->ci_level = opt.ci_level;
  }
  out.fid_real_floor.n = real.rows;
  out.fid_real_floor.ci_level = opt.ci_level;

  // ---- point estimates on all rows ----
  const FidResult f = fid_of(real, synthetic, name_r, name_s);
  out.fid.value = f.fid;
  out.fid_diagnostics_json = fid_to_json(f).at("diagnostics").dump();
  for (const auto& w : f.diagnostics.warnings) out.warnings.push_back("FID: " + w);
  KidOptions kopt;
  kopt.subsets = opt.kid_subsets;
  kopt.subset_size = opt.kid_subset_size;
  kopt.seed = opt.seed;
  const KidResult kr = kid(real, synthetic, kopt, name_r, name_s);
  out.kid.value = kr.kid_mean;
  out.kid_std = kr.kid_std;
  out.kid_subsets = kr.subsets;
  out.kid_subset_size = kr.subset_size;
  for (const auto& w : kr.warnings) out.warnings.push_back("KID: " + w);
  const PrdcResult pr = prdc(real, synthetic, opt.k, name_r, name_s);
  out.precision.value = pr.precision;
  out.recall.value = pr.recall;
  out.density.value = pr.density;
  out.coverage.value = pr.coverage;

  // ---- real-vs-real floor ----
  Matrix32 half_a, half_b;
  if (real.rows >= 4) {
    stats::Rng rng(opt.seed ^ kFloorSeedMix);
    const auto perm = stats::sample_without_replacement(rng, real.rows, real.rows);
    const std::size_t h = static_cast<std::size_t>(real.rows / 2);
    half_a = gather_rows(real, perm, 0, h);
    half_b = gather_rows(real, perm, h, perm.size());
    out.floor_n_a = half_a.rows;
    out.floor_n_b = half_b.rows;
    const FidResult ff = fid_of(half_a, half_b, name_r + " half A", name_r + " half B");
    out.fid_real_floor.value = ff.fid;
    if (ff.diagnostics.regularized)
      out.warnings.push_back("FID floor: covariance regularised (eps " + std::to_string(ff.diagnostics.eps) +
                             "): " + ff.diagnostics.reason);
  } else {
    out.warnings.push_back("FID floor: needs at least 4 real images, have " + std::to_string(real.rows));
  }

  // ---- bootstrap ----
  if (opt.bootstrap > 0) {
    std::vector<double> v_fid, v_kid, v_p, v_r, v_d, v_c, v_floor;
    stats::Rng rng(opt.seed);
    stats::Rng rng_floor(opt.seed ^ kFloorSeedMix ^ 0x5851F42D4C957F2DULL);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    Progress progress("bootstrap " + modality, opt.bootstrap, "replicates");
    for (int b = 0; b < opt.bootstrap; ++b) {
      const Matrix32 r = gather_rows(real, stats::resample_indices(rng, real.rows));
      const Matrix32 s = gather_rows(synthetic, stats::resample_indices(rng, synthetic.rows));
      try {
        v_fid.push_back(fid_of(r, s, name_r, name_s).fid);
      } catch (const InputError&) {
        v_fid.push_back(nan);
      }
      try {
        KidOptions ko = kopt;
        if (!kr.full_sets) ko.subset_size = kr.subset_size;  // the size already reduced (and warned about) once
        ko.seed = opt.seed + 1 + static_cast<std::uint64_t>(b);
        v_kid.push_back(kid(r, s, ko, name_r, name_s).kid_mean);
      } catch (const InputError&) {
        v_kid.push_back(nan);
      }
      try {
        const PrdcResult p = prdc(r, s, opt.k, name_r, name_s);
        v_p.push_back(p.precision);
        v_r.push_back(p.recall);
        v_d.push_back(p.density);
        v_c.push_back(p.coverage);
      } catch (const InputError&) {
        for (auto* v : {&v_p, &v_r, &v_d, &v_c}) v->push_back(nan);
      }
      if (half_a.rows >= 2 && half_b.rows >= 2) {
        const Matrix32 fa = gather_rows(half_a, stats::resample_indices(rng_floor, half_a.rows));
        const Matrix32 fb = gather_rows(half_b, stats::resample_indices(rng_floor, half_b.rows));
        try {
          v_floor.push_back(fid_of(fa, fb, name_r + " half A", name_r + " half B").fid);
        } catch (const InputError&) {
          v_floor.push_back(nan);
        }
      }
      progress.advance();
    }
    progress.finish();
    set_interval(out.fid, std::move(v_fid), opt);
    set_interval(out.kid, std::move(v_kid), opt);
    set_interval(out.precision, std::move(v_p), opt);
    set_interval(out.recall, std::move(v_r), opt);
    set_interval(out.density, std::move(v_d), opt);
    set_interval(out.coverage, std::move(v_c), opt);
    set_interval(out.fid_real_floor, std::move(v_floor), opt);
  }
  return out;
}

FidelityReport evaluate_fidelity(const fs::path& real_dir, const fs::path& synthetic_dir, const FidelityOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  if (opt.extractor_spec.empty()) throw InputError("--extractor is required");
  const Dataset real = load_dataset(real_dir);
  const Dataset synth = load_dataset(synthetic_dir);
  FidelityReport rep;
  rep.options = opt;
  rep.extractor_spec = opt.extractor_spec;
  rep.real_dir = fs::absolute(real.root).lexically_normal().string();
  rep.synthetic_dir = fs::absolute(synth.root).lexically_normal().string();
  rep.real_manifest_sha256 = manifest_hash(real.root);
  rep.synthetic_manifest_sha256 = manifest_hash(synth.root);

  const auto real_mods = real.modalities();
  const auto synth_mods = synth.modalities();
  auto contains = [](const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  std::vector<std::string> mods;
  if (!opt.modality.empty()) {
    if (!contains(real_mods, opt.modality))
      throw InputError(at_file((real.root / "manifest.jsonl").string(), "no images of modality '" + opt.modality + "'"));
    if (!contains(synth_mods, opt.modality))
      throw InputError(at_file((synth.root / "manifest.jsonl").string(), "no images of modality '" + opt.modality + "'"));
    mods.push_back(opt.modality);
  } else {
    for (const auto& m : synth_mods) {
      if (contains(real_mods, m)) mods.push_back(m);
      else rep.skipped.push_back("modality '" + m + "': only in the synthetic set");
    }
    for (const auto& m : real_mods)
      if (!contains(synth_mods, m)) rep.skipped.push_back("modality '" + m + "': only in the real set");
  }
  if (mods.empty())
    throw InputError("no modality in common between " + rep.real_dir + " and " + rep.synthetic_dir);

  auto ex = make_extractor(opt.extractor_spec, opt.device);
  rep.extractor_id = ex->id();
  rep.weights_sha256 = ex->weights_hash();
  rep.preprocessing = ex->input_spec().describe();
  for (const auto& m : mods) {
    const auto rr = real.select(m, opt.real_split);
    const auto sr = synth.select(m, opt.synthetic_split);
    if (rr.empty())
      throw InputError(at_file((real.root / "manifest.jsonl").string(),
                               "no images of modality '" + m + "' in split '" + opt.real_split + "'"));
    if (sr.empty())
      throw InputError(at_file((synth.root / "manifest.jsonl").string(),
                               "no images of modality '" + m + "' in split '" + opt.synthetic_split + "'"));
    ExtractOptions eo = opt.extract;
    eo.progress_label = "features real " + m;
    const FeatureResult fr = extract_features(real, rr, *ex, eo);
    eo.progress_label = "features synthetic " + m;
    const FeatureResult fs_ = extract_features(synth, sr, *ex, eo);
    ModalityFidelity mf = fidelity_from_features(m, fr.features, fs_.features, opt);
    mf.real_cache_key = fr.cache_key;
    mf.synthetic_cache_key = fs_.cache_key;
    mf.real_cache_hit = fr.cache_hit;
    mf.synthetic_cache_hit = fs_.cache_hit;
    rep.modalities.push_back(std::move(mf));
  }
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

nlohmann::json metric_estimate_to_json(const Estimate& m) {
  json j = json::parse(medsyn::to_json(m).dump());
  j["ci_level"] = m.ci_level;
  j["se"] = m.has_ci() ? finite_or_null(m.se) : json(nullptr);
  j["replicates"] = m.replicates;
  j["failed"] = m.failed;
  return j;
}

nlohmann::json modality_fidelity_to_json(const ModalityFidelity& m, const FidelityOptions& opt) {
  json j;
  j["n_real"] = m.n_real;
  j["n_synthetic"] = m.n_synthetic;
  j["dim"] = m.dim;
  j["fid"] = metric_estimate_to_json(m.fid);
  j["fid"]["diagnostics"] = json::parse(m.fid_diagnostics_json);
  j["fid_real_floor"] = metric_estimate_to_json(m.fid_real_floor);
  j["fid_real_floor"]["n_a"] = m.floor_n_a;
  j["fid_real_floor"]["n_b"] = m.floor_n_b;
  j["kid"] = metric_estimate_to_json(m.kid);
  j["kid"]["std"] = finite_or_null(m.kid_std);
  j["kid"]["subsets"] = m.kid_subsets;
  j["kid"]["subset_size"] = m.kid_subset_size;
  for (const auto& [name, est] : {std::pair<const char*, const Estimate*>{"precision", &m.precision},
                                  {"recall", &m.recall},
                                  {"density", &m.density},
                                  {"coverage", &m.coverage}}) {
    j[name] = metric_estimate_to_json(*est);
    j[name]["k"] = opt.k;
  }
  j["features"] = {{"real", {{"cache_key", m.real_cache_key}, {"cache_hit", m.real_cache_hit}}},
                   {"synthetic", {{"cache_key", m.synthetic_cache_key}, {"cache_hit", m.synthetic_cache_hit}}}};
  j["warnings"] = m.warnings;
  return j;
}

nlohmann::json fidelity_to_json(const FidelityReport& r) {
  const auto& o = r.options;
  json j;
  j["schema"] = "medsynbench.fidelity/1";
  j["extractor"] = {{"spec", r.extractor_spec},
                    {"id", r.extractor_id},
                    {"weights_sha256", r.weights_sha256},
                    {"preprocessing", r.preprocessing}};
  j["real"] = {{"dataset", r.real_dir}, {"manifest_sha256", r.real_manifest_sha256}, {"split", o.real_split}};
  j["synthetic"] = {{"dataset", r.synthetic_dir},
                    {"manifest_sha256", r.synthetic_manifest_sha256},
                    {"split", o.synthetic_split}};
  j["options"] = {{"bootstrap", o.bootstrap},     {"ci_level", o.ci_level},
                  {"seed", o.seed},               {"k", o.k},
                  {"kid_subsets", o.kid_subsets}, {"kid_subset_size", o.kid_subset_size},
                  {"device", o.device},           {"batch", o.extract.batch}};
  json mods = json::object();
  for (const auto& m : r.modalities) mods[m.modality] = modality_fidelity_to_json(m, o);
  j["modalities"] = std::move(mods);
  j["skipped"] = r.skipped;
  j["seconds"] = r.seconds;
  j["provenance"] = provenance_json({{"device", o.device},
                                     {"seeds", {{"bootstrap", o.seed}}},
                                     {"inputs",
                                      {{"real_manifest_sha256", r.real_manifest_sha256},
                                       {"synthetic_manifest_sha256", r.synthetic_manifest_sha256},
                                       {"weights_sha256", r.weights_sha256}}}});
  return j;
}

}  // namespace medsyn::metrics
