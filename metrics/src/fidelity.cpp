#include "medsyn/metrics/fidelity.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "medsyn/core/error.h"
#include "medsyn/core/feature_space.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/core/progress.h"
#include "medsyn/core/provenance.h"
#include "medsyn/metrics/calibrated.h"
#include "medsyn/metrics/fid.h"
#include "medsyn/metrics/cmmd.h"
#include "medsyn/metrics/kid.h"
#include "medsyn/metrics/prdc.h"
#include "medsyn/metrics/stats.h"
#include "medsyn/metrics/vendi.h"
#include "medsyn/stats/intervals.h"
#include "medsyn/stats/random.h"

namespace fs = std::filesystem;

namespace medsyn::metrics {

namespace {

constexpr std::uint64_t kFloorSeedMix = 0x9E3779B97F4A7C15ULL;

Matrix32 gather_range(const Matrix32& m, const std::vector<std::int64_t>& idx, std::size_t begin, std::size_t end) {
  return gather_rows(m, std::vector<std::int64_t>(idx.begin() + static_cast<std::ptrdiff_t>(begin),
                                                  idx.begin() + static_cast<std::ptrdiff_t>(end)));
}

}  // namespace

namespace {

// A point estimate of the Vendi score; null below 2 rows.
Estimate vendi_estimate(const Matrix32& m, const std::string& estimand) {
  Estimate e = m.rows < 2 ? Estimate::null_because("n too small: the Vendi score needs at least 2 images", m.rows)
                          : Estimate::point(vendi_score(m).score, m.rows);
  e.estimand = estimand;
  return e;
}

// CMMD needs two rows per set for a resample to differ from its source; below that it is null.
Estimate cmmd_estimate(const Matrix32& a, const Matrix32& b, const IntervalOptions& io, const std::string& name_a,
                       const std::string& name_b, bool with_interval) {
  if (a.rows < 2 || b.rows < 2)
    return Estimate::null_because("n too small: CMMD needs at least 2 images per set", std::min(a.rows, b.rows));
  IntervalOptions o = io;
  if (!with_interval) o.bootstrap = 0;
  Estimate e = cmmd_report(a, b, CmmdOptions{}, o, name_a, name_b).estimate;
  if (!with_interval) e.estimand = "CMMD (biased MMD^2 estimator, Gaussian RBF kernel, sigma 10, x 1000) of two real halves";
  return e;
}

}  // namespace

ModalityFidelity fidelity_from_features(const std::string& modality, const Matrix32& real, const Matrix32& synthetic,
                                        const FidelityOptions& opt) {
  const std::string name_r = "real '" + modality + "'", name_s = "synthetic '" + modality + "'";
  if (real.cols != synthetic.cols)
    throw InputError("modality '" + modality + "': real features have dimension " + std::to_string(real.cols) +
                     ", synthetic " + std::to_string(synthetic.cols));
  IntervalOptions io;
  io.bootstrap = opt.bootstrap;
  io.ci_level = opt.ci_level;
  io.seed = opt.seed;
  validate(io);

  ModalityFidelity out;
  out.modality = modality;
  out.n_real = real.rows;
  out.n_synthetic = synthetic.rows;
  out.dim = static_cast<int>(real.cols);

  const FidEstimates f = fid_estimates(real, synthetic, io, name_r, name_s, {}, opt.real_stats.get(), opt.synthetic_stats.get());
  out.fid = f.plug_in;
  out.fid_population = f.population;
  if (f.plug_in.has_value()) {
    out.fid_diagnostics_json = fid_to_json(f.point).at("diagnostics").dump();
    for (const auto& w : f.point.diagnostics.warnings) out.warnings.push_back("FID: " + w);
  }
  KidOptions kopt;
  kopt.subsets = opt.kid_subsets;
  kopt.subset_size = opt.kid_subset_size;
  kopt.seed = opt.seed;
  KidResult kr;
  out.kid = kid_estimate(real, synthetic, kopt, io, name_r, name_s, &kr);
  out.kid_std = kr.kid_std;
  out.kid_subsets = kr.subsets;
  out.kid_subset_size = kr.subset_size;
  for (const auto& w : kr.warnings) out.warnings.push_back("KID: " + w);
  const PrdcEstimates p = prdc_estimates(real, synthetic, opt.k, io, name_r, name_s);
  out.precision = p.precision;
  out.recall = p.recall;
  out.density = p.density;
  out.coverage = p.coverage;
  out.vendi = vendi_estimate(synthetic, "Vendi score (q = 1, cosine kernel) of the synthetic features");
  out.vendi_real = vendi_estimate(real, "Vendi score (q = 1, cosine kernel) of the real features");
  out.cmmd = cmmd_estimate(real, synthetic, io, name_r, name_s, /*with_interval=*/true);

  // ---- real-vs-real floor: two disjoint halves of the real rows ----
  stats::Rng rng(opt.seed ^ kFloorSeedMix);
  const auto perm = stats::sample_without_replacement(rng, real.rows, real.rows);
  const std::size_t h = static_cast<std::size_t>(real.rows / 2);
  const Matrix32 half_a = gather_range(real, perm, 0, h), half_b = gather_range(real, perm, h, perm.size());
  out.floor_n_a = half_a.rows;
  out.floor_n_b = half_b.rows;
  IntervalOptions floor_io = io;
  floor_io.seed = opt.seed ^ kFloorSeedMix;
  const FidEstimates ff = fid_estimates(half_a, half_b, floor_io, name_r + " half A", name_r + " half B");
  out.fid_real_floor = ff.plug_in;
  out.fid_real_floor_population = ff.population;
  out.cmmd_real_floor = cmmd_estimate(half_a, half_b, floor_io, name_r + " half A", name_r + " half B",
                                      /*with_interval=*/false);
  if (ff.plug_in.has_value() && ff.point.diagnostics.regularized)
    out.warnings.push_back("FID floor: covariance regularised (eps " + std::to_string(ff.point.diagnostics.eps) +
                           "): " + ff.point.diagnostics.reason);
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

nlohmann::json modality_fidelity_to_json(const ModalityFidelity& m, const FidelityOptions& opt,
                                         const std::string& extractor_id) {
  // "fid..." in an Inception space (and with no id: the suite's unit files), "fd..." with the
  // space named on each object in any other (core/feature_space.h).
  auto name = [&](const char* fid_name) { return frechet_metric_name(fid_name, extractor_id); };
  auto frechet = [&](const char* fid_name, const Estimate& e) {
    json x = metric_estimate_to_json(e);
    if (!is_inception_feature_space(extractor_id)) x["feature_space"] = extractor_id;
    return x;
  };
  json j;
  j["n_real"] = m.n_real;
  j["n_synthetic"] = m.n_synthetic;
  j["dim"] = m.dim;
  j[name("fid")] = frechet("fid", m.fid);
  j[name("fid")]["diagnostics"] = json::parse(m.fid_diagnostics_json);
  j[name("fid_population")] = frechet("fid_population", m.fid_population);
  for (const char* floor : {"fid_real_floor", "fid_real_floor_population"}) {
    j[name(floor)] = frechet(floor, std::string(floor) == "fid_real_floor" ? m.fid_real_floor : m.fid_real_floor_population);
    j[name(floor)]["n_a"] = m.floor_n_a;
    j[name(floor)]["n_b"] = m.floor_n_b;
  }
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
  j["vendi"] = metric_estimate_to_json(m.vendi);
  j["vendi_real"] = metric_estimate_to_json(m.vendi_real);
  j["cmmd"] = metric_estimate_to_json(m.cmmd);
  j["cmmd_real_floor"] = metric_estimate_to_json(m.cmmd_real_floor);
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
  for (const auto& m : r.modalities) mods[m.modality] = modality_fidelity_to_json(m, o, r.extractor_id);
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
