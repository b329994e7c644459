#include "medsyn/metrics/calibrated.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include "medsyn/core/error.h"
#include "medsyn/metrics/sample_size.h"
#include "medsyn/metrics/stats.h"
#include "medsyn/stats/intervals.h"
#include "medsyn/stats/random.h"

namespace medsyn::metrics {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// One random stream per metric (see the header): adding one never moves another's numbers.
enum Stream : std::uint64_t { kFidStream = 0x46494431, kKidStream = 0x4B494431, kPrdcStream = 0x50524443,
                              kDiffStream = 0x44494646 };

const char* kPaired =
    "paired bootstrap (real set resampled once for both); second-order bias correction; basic interval";
const char* kBiasCorrected =
    "second-order iterated-bootstrap bias correction; basic bootstrap interval about the corrected value";

std::vector<std::int64_t> resample_of(stats::Rng& rng, const std::vector<std::int64_t>& idx) {
  std::vector<std::int64_t> out(idx.size());
  for (auto& v : out) v = idx[stats::random_below(rng, idx.size())];
  return out;
}

// Counts bootstrap FIDs whose covariances had to be regularised (a resample holds only about 63%
// distinct rows, a resample of a resample about 47%: near n = d they become singular). They are
// kept (pytorch-fid's eps fallback) and counted in the estimate's note instead of a warning each.
struct ReplicateLog {
  int regularized = 0;
};

// FID of two statistics; with a log, the regularisation warning is counted instead of printed.
double fid_stats(const GaussianStats& a, const GaussianStats& b, const FidOptions& base, ReplicateLog* log) {
  FidOptions fo = base;
  fo.compute_unregularized = false;
  fo.warn = log == nullptr;
  const FidResult r = frechet_distance(a, b, fo);
  if (log && r.diagnostics.regularized) ++log->regularized;
  return r.fid;
}

// Statistics of rows idx of m; nullopt when a resample degenerates (e.g. all rows equal).
std::optional<GaussianStats> stats_rows(FeatureView m, const std::vector<std::int64_t>& idx, const std::string& name) {
  try {
    return compute_stats(gather_rows(m, idx), name);
  } catch (const InputError&) {
    return std::nullopt;
  }
}

// FID between two resampled statistics; NaN when either is missing or the FID fails.
double fid_or_nan(const std::optional<GaussianStats>& a, const std::optional<GaussianStats>& b, const FidOptions& fo,
                  ReplicateLog& log) {
  if (!a || !b) return kNaN;
  try {
    return fid_stats(*a, *b, fo, &log);
  } catch (const InputError&) {
    return kNaN;
  }
}

void note_regularized(Estimate& e, const ReplicateLog& log, int fids) {
  if (log.regularized == 0) return;
  const std::string n = std::to_string(log.regularized) + " of " + std::to_string(fids) +
                        " bootstrap FIDs had a singular covariance (too few distinct rows for the dimension) and "
                        "were regularised with eps";
  e.note = e.note.empty() ? n : e.note + "; " + n;
}

// Second-order bias-corrected value 3 t - 3 mean(t*) + mean(t**).
double bias_corrected(double t, const std::vector<double>& outer, const std::vector<double>& inner) {
  return 3 * t - 3 * stats::mean_finite(outer) + stats::mean_finite(inner);
}

Estimate with_n(Estimate e, long long n, const std::string& estimand) {
  e.n = n;
  e.estimand = estimand;
  return e;
}

}  // namespace

Matrix32 gather_rows(FeatureView m, const std::vector<std::int64_t>& idx) {
  Matrix32 out;
  out.rows = static_cast<std::int64_t>(idx.size());
  out.cols = m.cols;
  const std::size_t d = static_cast<std::size_t>(m.cols);
  out.data.resize(idx.size() * d);
  for (std::size_t i = 0; i < idx.size(); ++i)
    std::copy_n(m.row(idx[i]), d, out.data.begin() + static_cast<std::ptrdiff_t>(i * d));
  return out;
}

void validate(const IntervalOptions& o) {
  if (o.bootstrap < 0) throw InputError("bootstrap replicates must be >= 0, got " + std::to_string(o.bootstrap));
  if (!(o.ci_level > 0 && o.ci_level < 1))
    throw InputError("confidence level must be in (0, 1), got " + std::to_string(o.ci_level));
}

FidEstimates fid_estimates(FeatureView a, FeatureView b, const IntervalOptions& opt, const std::string& name_a,
                           const std::string& name_b, const FidOptions& fid_opt, const GaussianStats* stats_a,
                           const GaussianStats* stats_b) {
  validate(opt);
  if (a.cols != b.cols)
    throw InputError(name_a + " has dimension " + std::to_string(a.cols) + " but " + name_b + " has " +
                     std::to_string(b.cols));
  const long long n = a.rows + b.rows;
  const std::string plug_estimand = "expected plug-in Frechet distance at n_a=" + std::to_string(a.rows) +
                                    ", n_b=" + std::to_string(b.rows);
  const std::string pop_estimand = "population Frechet distance";
  FidEstimates out;
  out.point.fid = kNaN;
  if (const std::string why = fid_size_problem(a.rows, b.rows, a.cols, name_a, name_b); !why.empty()) {
    out.plug_in = with_n(Estimate::null_because(why), n, plug_estimand);
    out.population = with_n(Estimate::null_because(why), n, pop_estimand);
    return out;
  }
  auto given = [](const GaussianStats* s, FeatureView m, const std::string& name) {
    if (s && (s->n != m.rows || s->dim != m.cols))
      throw InputError(name + ": the statistics given describe " + std::to_string(s->n) + " x " + std::to_string(s->dim) +
                       " features, the rows are " + std::to_string(m.rows) + " x " + std::to_string(m.cols));
    return s ? *s : compute_stats(m, name);
  };
  out.point = frechet_distance(given(stats_a, a, name_a), given(stats_b, b, name_b), fid_opt);
  out.plug_in = with_n(Estimate::point(out.point.fid), n, plug_estimand);
  out.population = with_n(Estimate::null_because("no bootstrap replicates: no bias correction"), n, pop_estimand);
  if (opt.bootstrap == 0) return out;

  stats::Rng rng(stats::derive_seed(opt.seed, kFidStream));
  std::vector<double> outer, inner;
  outer.reserve(static_cast<std::size_t>(opt.bootstrap));
  inner.reserve(static_cast<std::size_t>(opt.bootstrap));
  ReplicateLog log_outer, log_inner;
  for (int r = 0; r < opt.bootstrap; ++r) {
    const auto ia = stats::resample_indices(rng, a.rows), ib = stats::resample_indices(rng, b.rows);
    outer.push_back(fid_or_nan(stats_rows(a, ia, name_a), stats_rows(b, ib, name_b), fid_opt, log_outer));
    const auto ja = resample_of(rng, ia), jb = resample_of(rng, ib);
    inner.push_back(fid_or_nan(stats_rows(a, ja, name_a), stats_rows(b, jb, name_b), fid_opt, log_inner));
  }
  stats::finish_reflected_interval(out.point.fid, outer, opt.ci_level, kReflectedIntervalMethod, out.plug_in, 0.0);
  const double corrected = bias_corrected(out.point.fid, outer, inner);
  out.population.note.clear();
  stats::finish_reflected_interval(corrected, outer, opt.ci_level, kBiasCorrected, out.population, 0.0);
  if (!out.population.has_ci())
    out.population.note = "fewer than half the bootstrap replicates were finite";
  if (corrected < 0)
    out.population.note = "bias-corrected value " + std::to_string(corrected) + " clamped to 0";
  note_regularized(out.plug_in, log_outer, opt.bootstrap);
  ReplicateLog both{log_outer.regularized + log_inner.regularized};
  note_regularized(out.population, both, 2 * opt.bootstrap);
  return out;
}

Estimate kid_estimate(FeatureView a, FeatureView b, const KidOptions& kid_opt, const IntervalOptions& opt,
                      const std::string& name_a, const std::string& name_b, KidResult* result) {
  validate(opt);
  const std::string estimand = "population MMD^2 (cubic polynomial kernel)";
  const long long n = a.rows + b.rows;
  if (const std::string why = kid_size_problem(a.rows, b.rows, name_a, name_b); !why.empty())
    return with_n(Estimate::null_because(why), n, estimand);
  const KidResult kr = kid(a, b, kid_opt, name_a, name_b);
  if (result) *result = kr;
  Estimate e = with_n(Estimate::point(kr.kid_mean), n, estimand);
  if (opt.bootstrap == 0) return e;
  KidOptions ko = kid_opt;
  if (!kr.full_sets) ko.subset_size = kr.subset_size;  // the size already reduced (and warned about) once
  stats::Rng rng(stats::derive_seed(opt.seed, kKidStream));
  std::vector<double> reps;
  reps.reserve(static_cast<std::size_t>(opt.bootstrap));
  for (int r = 0; r < opt.bootstrap; ++r) {
    const auto ia = stats::resample_indices(rng, a.rows), ib = stats::resample_indices(rng, b.rows);
    ko.seed = stats::derive_seed(kid_opt.seed, static_cast<std::uint64_t>(r) + 1);
    try {
      reps.push_back(kid(gather_rows(a, ia), gather_rows(b, ib), ko, name_a, name_b).kid_mean);
    } catch (const InputError&) {
      reps.push_back(kNaN);
    }
  }
  stats::finish_reflected_interval(kr.kid_mean, std::move(reps), opt.ci_level, kReflectedIntervalMethod, e);
  return e;
}

PrdcEstimates prdc_estimates(FeatureView real, FeatureView fake, int k, const IntervalOptions& opt,
                             const std::string& name_real, const std::string& name_fake, PrdcResult* result) {
  validate(opt);
  if (k < 1) throw InputError("PRDC: k must be >= 1, got " + std::to_string(k));
  const long long n = real.rows + fake.rows;
  const std::string estimand = "expected value at n_real=" + std::to_string(real.rows) +
                               ", n_synthetic=" + std::to_string(fake.rows) + ", k=" + std::to_string(k);
  PrdcEstimates out;
  if (const std::string why = prdc_size_problem(real.rows, fake.rows, k); !why.empty()) {
    for (Estimate* e : {&out.precision, &out.recall, &out.density, &out.coverage})
      *e = with_n(Estimate::null_because(why), n, estimand);
    return out;
  }
  const PrdcResult p = prdc(real, fake, k, name_real, name_fake);
  if (result) *result = p;
  out.precision = with_n(Estimate::point(p.precision), n, estimand);
  out.recall = with_n(Estimate::point(p.recall), n, estimand);
  out.density = with_n(Estimate::point(p.density), n, estimand);
  out.coverage = with_n(Estimate::point(p.coverage), n, estimand);
  if (opt.bootstrap == 0) return out;
  stats::Rng rng(stats::derive_seed(opt.seed, kPrdcStream));
  std::vector<double> vp, vr, vd, vc;
  for (int r = 0; r < opt.bootstrap; ++r) {
    const auto ia = stats::resample_indices(rng, real.rows), ib = stats::resample_indices(rng, fake.rows);
    try {
      const PrdcResult q = prdc(gather_rows(real, ia), gather_rows(fake, ib), k, name_real, name_fake);
      vp.push_back(q.precision);
      vr.push_back(q.recall);
      vd.push_back(q.density);
      vc.push_back(q.coverage);
    } catch (const InputError&) {
      for (auto* v : {&vp, &vr, &vd, &vc}) v->push_back(kNaN);
    }
  }
  // Precision, recall and coverage are fractions: their intervals stay within [0, 1].
  auto finish = [&](Estimate& e, std::vector<double> v, bool fraction) {
    stats::finish_reflected_interval(e.value, std::move(v), opt.ci_level, kReflectedIntervalMethod, e, 0.0,
                                     fraction ? 1.0 : std::numeric_limits<double>::infinity());
  };
  finish(out.precision, std::move(vp), true);
  finish(out.recall, std::move(vr), true);
  finish(out.density, std::move(vd), false);
  finish(out.coverage, std::move(vc), true);
  return out;
}

Estimate fid_population_difference(FeatureView a, FeatureView b1, FeatureView b2,
                                   const IntervalOptions& opt, const std::string& name_a, const std::string& name_b1,
                                   const std::string& name_b2) {
  validate(opt);
  const std::string estimand = "difference of population Frechet distances (" + name_b2 + " minus " + name_b1 + ")";
  const long long n = a.rows + b1.rows + b2.rows;
  if (b1.cols != a.cols || b2.cols != a.cols)
    throw InputError("paired FID: " + name_a + ", " + name_b1 + " and " + name_b2 + " differ in dimension");
  for (const auto* b : {&b1, &b2})
    if (const std::string why = fid_size_problem(a.rows, b->rows, a.cols, name_a, b == &b1 ? name_b1 : name_b2);
        !why.empty())
      return with_n(Estimate::null_because(why), n, estimand);
  const FidOptions fo;
  const GaussianStats sa = compute_stats(a, name_a);
  const double d = fid_stats(sa, compute_stats(b2, name_b2), fo, nullptr) - fid_stats(sa, compute_stats(b1, name_b1), fo, nullptr);
  if (opt.bootstrap == 0) return with_n(Estimate::null_because("no bootstrap replicates: no paired interval"), n, estimand);
  stats::Rng rng(stats::derive_seed(opt.seed, kDiffStream));
  std::vector<double> outer, inner;
  ReplicateLog log;
  for (int r = 0; r < opt.bootstrap; ++r) {
    // The real set is resampled once for both, and its statistics computed once.
    const auto ia = stats::resample_indices(rng, a.rows);
    const auto i1 = stats::resample_indices(rng, b1.rows), i2 = stats::resample_indices(rng, b2.rows);
    const auto ra = stats_rows(a, ia, name_a);
    outer.push_back(fid_or_nan(ra, stats_rows(b2, i2, name_b2), fo, log) -
                    fid_or_nan(ra, stats_rows(b1, i1, name_b1), fo, log));
    const auto ja = resample_of(rng, ia), j1 = resample_of(rng, i1), j2 = resample_of(rng, i2);
    const auto rja = stats_rows(a, ja, name_a);
    inner.push_back(fid_or_nan(rja, stats_rows(b2, j2, name_b2), fo, log) -
                    fid_or_nan(rja, stats_rows(b1, j1, name_b1), fo, log));
  }
  Estimate e = with_n(Estimate{}, n, estimand);
  const double corrected = bias_corrected(d, outer, inner);  // before `outer` is moved
  stats::finish_reflected_interval(corrected, std::move(outer), opt.ci_level, kPaired, e);
  note_regularized(e, log, 4 * opt.bootstrap);
  return e;
}

}  // namespace medsyn::metrics
