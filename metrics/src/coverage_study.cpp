#include "medsyn/metrics/coverage_study.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "medsyn/core/error.h"
#include "medsyn/core/npy.h"
#include "medsyn/core/progress.h"
#include "medsyn/core/provenance.h"
#include "medsyn/metrics/calibrated.h"
#include "medsyn/stats/quantile.h"
#include "medsyn/stats/random.h"

namespace medsyn::metrics {

namespace {

struct Setting {
  int d = 0, n = 0;
  std::string scenario;
  std::vector<double> mu_a, var_a, mu_b, var_b;
};

Setting make_setting(int d, int n, const std::string& scenario) {
  Setting s{d, n, scenario, std::vector<double>(d, 0.0), std::vector<double>(d), std::vector<double>(d, 0.0), {}};
  for (int i = 0; i < d; ++i) s.var_a[i] = 0.2 + 1.8 * (d == 1 ? 0.0 : static_cast<double>(i) / (d - 1));
  s.var_b = s.var_a;
  if (scenario == "mean shift") {
    for (auto& m : s.mu_b) m = 1.0 / std::sqrt(static_cast<double>(d));
  } else if (scenario == "covariance differs") {
    std::reverse(s.var_b.begin(), s.var_b.end());
  } else if (scenario != "identical") {
    throw InputError("coverage study: unknown scenario '" + scenario +
                     "' (expected 'identical', 'mean shift' or 'covariance differs')");
  }
  return s;
}

Matrix32 draw_gaussian(stats::Rng& rng, int n, const std::vector<double>& mu, const std::vector<double>& var) {
  Matrix32 m;
  m.rows = n;
  m.cols = static_cast<std::int64_t>(mu.size());
  m.data.resize(static_cast<std::size_t>(n) * mu.size());
  std::size_t k = 0;
  for (int r = 0; r < n; ++r)
    for (std::size_t c = 0; c < mu.size(); ++c)
      m.data[k++] = static_cast<float>(mu[c] + std::sqrt(var[c]) * stats::standard_normal(rng));
  return m;
}

// Metrics studied, in table order.
const std::vector<std::string>& metric_names() {
  static const std::vector<std::string> names = {"fid", "fid_population", "kid", "precision", "recall", "density",
                                                 "coverage"};
  return names;
}

struct DrawResult {
  std::vector<Estimate> estimates;  // one per metric_names()
};

DrawResult one_draw(const Setting& s, const CoverageStudyOptions& opt, std::uint64_t seed) {
  stats::Rng rng(seed);
  const Matrix32 a = draw_gaussian(rng, s.n, s.mu_a, s.var_a);
  const Matrix32 b = draw_gaussian(rng, s.n, s.mu_b, s.var_b);
  IntervalOptions io;
  io.bootstrap = opt.bootstrap;
  io.ci_level = opt.ci_level;
  io.seed = stats::derive_seed(seed, 1);
  DrawResult r;
  const FidEstimates f = fid_estimates(a, b, io, "A", "B");
  KidOptions ko;
  ko.subsets = 1;
  ko.subset_size = s.n;  // full sets, as the shipped defaults give for n <= 1000
  const Estimate k = kid_estimate(a, b, ko, io, "A", "B");
  const PrdcEstimates p = prdc_estimates(a, b, opt.k, io, "A", "B");
  r.estimates = {f.plug_in, f.population, k, p.precision, p.recall, p.density, p.coverage};
  return r;
}

double median(std::vector<double> v) {
  return v.empty() ? std::numeric_limits<double>::quiet_NaN() : stats::quantile_linear(std::move(v), 0.5);
}

}  // namespace

double gaussian_frechet_distance_diagonal(const std::vector<double>& mu_a, const std::vector<double>& var_a,
                                          const std::vector<double>& mu_b, const std::vector<double>& var_b) {
  double t = 0;
  for (std::size_t i = 0; i < mu_a.size(); ++i) {
    const double dm = mu_a[i] - mu_b[i], ds = std::sqrt(var_a[i]) - std::sqrt(var_b[i]);
    t += dm * dm + ds * ds;
  }
  return t;
}

namespace {
// E[(x.y / d + 1)^3] for independent x ~ N(ma, diag(va)), y ~ N(mb, diag(vb)): x.y = sum z_i with
// independent z_i = x_i y_i, whose first three moments are products of the Gaussian moments.
double expected_cubic_kernel(const std::vector<double>& ma, const std::vector<double>& va,
                             const std::vector<double>& mb, const std::vector<double>& vb) {
  double m = 0, k2 = 0, k3 = 0;
  for (std::size_t i = 0; i < ma.size(); ++i) {
    const double e1 = ma[i] * mb[i];
    const double e2 = (ma[i] * ma[i] + va[i]) * (mb[i] * mb[i] + vb[i]);
    const double e3 = (ma[i] * ma[i] * ma[i] + 3 * ma[i] * va[i]) * (mb[i] * mb[i] * mb[i] + 3 * mb[i] * vb[i]);
    m += e1;
    k2 += e2 - e1 * e1;
    k3 += e3 - 3 * e1 * e2 + 2 * e1 * e1 * e1;
  }
  const double d = static_cast<double>(ma.size());
  const double eu = m / d, eu2 = (k2 + m * m) / (d * d), eu3 = (k3 + 3 * m * k2 + m * m * m) / (d * d * d);
  return 1 + 3 * eu + 3 * eu2 + eu3;
}
}  // namespace

double gaussian_cubic_mmd2_diagonal(const std::vector<double>& mu_a, const std::vector<double>& var_a,
                                    const std::vector<double>& mu_b, const std::vector<double>& var_b) {
  return expected_cubic_kernel(mu_a, var_a, mu_a, var_a) + expected_cubic_kernel(mu_b, var_b, mu_b, var_b) -
         2 * expected_cubic_kernel(mu_a, var_a, mu_b, var_b);
}

std::vector<CoverageRow> run_coverage_study(const CoverageStudyOptions& opt) {
  if (opt.draws < 2) throw InputError("coverage study: draws must be >= 2, got " + std::to_string(opt.draws));
  if (opt.bootstrap < 1)
    throw InputError("coverage study: bootstrap replicates must be >= 1, got " + std::to_string(opt.bootstrap));
  for (int d : opt.dims)
    if (d < 1) throw InputError("coverage study: dimensions must be >= 1, got " + std::to_string(d));
  for (int n : opt.sizes)
    if (n < 2) throw InputError("coverage study: sizes must be >= 2, got " + std::to_string(n));
  std::vector<Setting> settings;
  for (int d : opt.dims)
    for (int n : opt.sizes)
      for (const auto& sc : opt.scenarios) settings.push_back(make_setting(d, n, sc));

  std::vector<CoverageRow> rows;
  Progress progress("coverage study", static_cast<std::int64_t>(settings.size()) * opt.draws, "draws");
  for (std::size_t si = 0; si < settings.size(); ++si) {
    const Setting& s = settings[si];
    const std::uint64_t setting_seed = stats::derive_seed(opt.seed, si);
    std::vector<DrawResult> results(static_cast<std::size_t>(opt.draws));
    // Draws are independent (own seed each), so the numbers do not depend on the thread count.
#pragma omp parallel for schedule(dynamic)
    for (int i = 0; i < opt.draws; ++i) {
      results[static_cast<std::size_t>(i)] = one_draw(s, opt, stats::derive_seed(setting_seed, static_cast<std::uint64_t>(i)));
#pragma omp critical
      progress.advance();
    }
    for (std::size_t mi = 0; mi < metric_names().size(); ++mi) {
      CoverageRow row;
      row.d = s.d;
      row.n = s.n;
      row.scenario = s.scenario;
      row.metric = metric_names()[mi];
      if (row.metric == "fid_population") {
        row.truth = gaussian_frechet_distance_diagonal(s.mu_a, s.var_a, s.mu_b, s.var_b);
        row.truth_source = "closed form";
      } else if (row.metric == "kid") {
        row.truth = gaussian_cubic_mmd2_diagonal(s.mu_a, s.var_a, s.mu_b, s.var_b);
        row.truth_source = "closed form";
      } else {
        double sum = 0;
        int count = 0;
        for (const auto& r : results)
          if (r.estimates[mi].has_value()) {
            sum += r.estimates[mi].value;
            ++count;
          }
        row.truth = count ? sum / count : std::numeric_limits<double>::quiet_NaN();
        row.truth_source = "mean over draws";
      }
      std::vector<double> widths;
      for (const auto& r : results) {
        const Estimate& e = r.estimates[mi];
        if (row.estimand.empty()) row.estimand = e.estimand;
        if (!e.has_ci()) continue;
        ++row.draws;
        widths.push_back(e.ci_high - e.ci_low);
        // Closed-form truths are exact; a tolerance of 1e-12 relative absorbs float rounding.
        const double tol = 1e-12 * std::max(1.0, std::abs(row.truth));
        if (e.ci_low - tol <= row.truth && row.truth <= e.ci_high + tol) ++row.covered;
        if (e.ci_low <= e.value && e.value <= e.ci_high) ++row.contains_estimate;
      }
      row.coverage = row.draws ? static_cast<double>(row.covered) / row.draws : std::numeric_limits<double>::quiet_NaN();
      row.median_width = median(widths);
      row.target_applies = (row.metric == "fid_population" || row.metric == "kid") && s.n >= 300 && s.n > s.d &&
                           s.d <= 64;
      row.meets_target = row.coverage >= 0.92 && row.coverage <= 0.99;
      rows.push_back(row);
    }
  }
  progress.finish();
  return rows;
}

nlohmann::ordered_json coverage_study_to_json(const CoverageStudyOptions& opt, const std::vector<CoverageRow>& rows) {
  using ojson = nlohmann::ordered_json;
  ojson j;
  j["schema"] = "medsynbench.coverage-study/1";
  j["options"] = {{"draws", opt.draws},   {"bootstrap", opt.bootstrap}, {"ci_level", opt.ci_level},
                  {"k", opt.k},           {"seed", opt.seed},           {"dims", opt.dims},
                  {"sizes", opt.sizes},   {"scenarios", opt.scenarios}};
  j["target"] = {{"coverage", {0.92, 0.99}},
                 {"applies_to", "fid_population and kid at n >= 300 per set, n > d, d <= 64"}};
  ojson list = ojson::array();
  for (const auto& r : rows) {
    ojson o = {{"d", r.d},
               {"n", r.n},
               {"scenario", r.scenario},
               {"metric", r.metric},
               {"estimand", r.estimand},
               {"truth", std::isfinite(r.truth) ? ojson(r.truth) : ojson(nullptr)},
               {"truth_source", r.truth_source},
               {"draws", r.draws},
               {"covered", r.covered},
               {"coverage", std::isfinite(r.coverage) ? ojson(r.coverage) : ojson(nullptr)},
               {"contains_estimate", r.contains_estimate},
               {"median_width", std::isfinite(r.median_width) ? ojson(r.median_width) : ojson(nullptr)}};
    o["meets_target"] = r.target_applies ? ojson(r.meets_target) : ojson(nullptr);
    list.push_back(o);
  }
  j["rows"] = list;
  j["provenance"] = ojson::parse(provenance_json({{"seeds", {{"coverage_study", opt.seed}}}}).dump());
  return j;
}

std::string coverage_study_markdown(const std::vector<CoverageRow>& rows) {
  std::ostringstream s;
  s << "| d | n | scenario | metric | coverage | contains estimate | median width | truth | truth from | target |\n"
    << "|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : rows) {
    s << "| " << r.d << " | " << r.n << " | " << r.scenario << " | " << r.metric << " | ";
    if (r.draws) s << std::fixed << std::setprecision(2) << r.coverage << " (" << r.covered << "/" << r.draws << ")";
    else s << "no interval";
    s << " | " << r.contains_estimate << "/" << r.draws << " | " << std::defaultfloat << std::setprecision(3)
      << r.median_width << " | " << std::setprecision(4) << r.truth << " | " << r.truth_source << " | "
      << (r.target_applies ? (r.meets_target ? "met" : "**not met**") : "") << " |\n";
  }
  return s.str();
}

}  // namespace medsyn::metrics
