// `medsynbench features stats` and `medsynbench metrics fid|kid|cmmd|prdc|authpct|ct|ssim|msssim|diversity|vendi`:
// thin commands over the metrics library (metrics/include/medsyn/metrics/*.h, docs/metrics.md).
// `features extract` and `metrics fidelity` live in cmd_features.cpp.
#include <cctype>
#include <cmath>
#include <cstdio>
#include <memory>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <limits>
#include <sstream>

#include "commands.h"
#include "medsyn/core/estimate.h"
#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/core/npy.h"
#include "medsyn/core/progress.h"
#include "medsyn/core/provenance.h"
#include "medsyn/metrics/authpct.h"
#include "medsyn/metrics/ct.h"
#include "medsyn/metrics/calibrated.h"
#include "medsyn/metrics/cmmd.h"
#include "medsyn/metrics/coverage_study.h"
#include "medsyn/metrics/diversity.h"
#include "medsyn/metrics/feature_reports.h"
#include "medsyn/metrics/fid.h"
#include "medsyn/metrics/kid.h"
#include "medsyn/metrics/prdc.h"
#include "medsyn/metrics/ssim.h"
#include "medsyn/metrics/stats.h"
#include "medsyn/metrics/vendi.h"

namespace fs = std::filesystem;

namespace medsyn::cli {
namespace {

std::string fmt(double v, int digits = 10) {
  if (!std::isfinite(v)) return "nan";
  std::ostringstream s;
  s << std::setprecision(digits) << v;
  return s.str();
}

std::string lower_ext(const fs::path& p) {
  std::string e = p.extension().string();
  for (auto& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return e;
}

// A features .npy (N x D) or a statistics .npz (mu, sigma).
metrics::GaussianStats load_fid_input(const std::string& path) {
  if (!fs::exists(path)) throw InputError(at_file(path, "no such file"));
  const std::string ext = lower_ext(path);
  if (ext == ".npz") return metrics::read_stats_npz(path);
  if (ext == ".npy") return metrics::compute_stats(read_feature_matrix(path), path);
  throw InputError(at_file(path, "expected a features .npy (N x D) or a statistics .npz (mu, sigma)"));
}

Matrix32 load_features(const std::string& path) {
  if (!fs::exists(path)) throw InputError(at_file(path, "no such file"));
  return read_feature_matrix(path);
}

Image load_image_file(const std::string& path) {
  if (!fs::exists(path)) throw InputError(at_file(path, "no such file"));
  return read_image(path);
}

struct StatsArgs {
  std::vector<std::string> inputs;
  std::string out;
  bool json = false;
};

// Bootstrap flags shared by fid, kid and prdc (calibrated.h).
struct IntervalArgs {
  int bootstrap = 0;
  double ci_level = 0.95;
  std::uint64_t seed = 0;
  metrics::IntervalOptions options() const {
    if (bootstrap < 0) throw InputError("--bootstrap must be >= 0, got " + std::to_string(bootstrap));
    if (!(ci_level > 0 && ci_level < 1)) throw InputError("--ci must be in (0, 1), got " + std::to_string(ci_level));
    return {bootstrap, ci_level, seed};
  }
};

void add_interval_options(CLI::App* c, IntervalArgs& a) {
  c->add_option("--bootstrap", a.bootstrap, "Bootstrap replicates for the intervals (0 = point estimates only)")
      ->capture_default_str();
  c->add_option("--ci", a.ci_level, "Interval level")->capture_default_str();
}

struct FidArgs {
  std::string a, b;
  double eps = 1e-6;
  IntervalArgs interval;
  bool json = false;
};

struct CoverageStudyArgs {
  metrics::CoverageStudyOptions opt;
  std::string out;
  bool json = false;
};

struct KidArgs {
  std::string a, b;
  int subsets = 100;
  std::int64_t subset_size = 1000;
  IntervalArgs interval;  // interval.seed seeds the subsets too
  bool json = false;
};

struct CmmdArgs {
  std::string a, b;
  metrics::CmmdOptions opt;
  IntervalArgs interval;
  bool json = false;
};

struct VendiArgs {
  std::string features;
  std::string q = "1";
  bool json = false;
};

struct AuthPctArgs {
  std::string train, generated;
  bool json = false;
};

struct CtArgs {
  std::string train, test, generated;
  std::uint64_t seed = 0;
  bool json = false;
};

struct PrdcArgs {
  std::string a, b;
  int k = 5;
  IntervalArgs interval;
  bool json = false;
};

struct SsimArgs {
  std::string x, y;
  double data_range = 1.0;
  int win_size = 11;
  double sigma = 1.5;
  int scales = 5;
  std::vector<double> weights;
  bool json = false;
};

struct DiversityArgs {
  std::string dir, reference;
  std::string pairs = "all";
  std::uint64_t seed = 0;
  int bootstrap = 1000;
  double data_range = 1.0;
  int win_size = 11;
  double sigma = 1.5;
  int scales = 5;
  std::vector<double> weights;
  bool json = false;
};

void run_stats(const StatsArgs& a) {
  if (a.inputs.empty()) throw InputError("features stats: give at least one features .npy");
  std::unique_ptr<metrics::StatsAccumulator> acc;
  std::string first;
  for (const auto& in : a.inputs) {
    const Matrix32 m = load_features(in);
    if (!acc) {
      acc = std::make_unique<metrics::StatsAccumulator>(static_cast<int>(m.cols));
      first = in;
    } else if (m.cols != acc->dim()) {
      throw InputError(at_file(in, "has dimension " + std::to_string(m.cols) + " but " + first + " has " +
                                       std::to_string(acc->dim())));
    }
    for (std::int64_t r = 0; r < m.rows; r += 1024)
      acc->add(m.data.data() + r * m.cols, std::min<std::int64_t>(1024, m.rows - r));
  }
  const auto s = acc->finish(a.inputs.size() == 1 ? a.inputs[0] : "features");
  if (s.n <= s.dim)
    log_warn("features stats: " + std::to_string(s.n) + " samples for dimension " + std::to_string(s.dim) +
             ": the covariance is rank-deficient (FID will regularise it)");
  metrics::write_stats_npz(a.out, s);
  if (a.json) {
    print_json(json{{"out", a.out}, {"n", s.n}, {"dim", s.dim}, {"inputs", a.inputs}});
  } else {
    std::cout << "wrote " << a.out << ": n=" << s.n << " dim=" << s.dim << " (mu, sigma float64; pytorch-fid layout)\n";
  }
}

void run_fid(const FidArgs& a) {
  if (!(a.eps >= 0) || !std::isfinite(a.eps)) throw InputError("--eps must be finite and >= 0, got " + fmt(a.eps));
  const metrics::IntervalOptions io = a.interval.options();
  const bool features = lower_ext(a.a) == ".npy" && lower_ext(a.b) == ".npy";
  if (io.bootstrap > 0 && !features)
    throw InputError("--bootstrap needs two features .npy files: a statistics .npz (mu, sigma) has no rows to resample");
  metrics::FidOptions opt;
  opt.eps = a.eps;
  metrics::FidReport rep;
  if (features) {  // each file read once; the plug-in FID computed once
    const Matrix32 fa = load_features(a.a), fb = load_features(a.b);
    rep = metrics::fid_report(fa, fb, io, opt, a.a, a.b);
  } else {
    rep = metrics::fid_report(load_fid_input(a.a), load_fid_input(a.b), opt, a.a, a.b);
    rep.interval = io;
  }
  const metrics::FidResult& r = rep.point;
  if (a.json) {
    json j = metrics::to_json(rep);
    j["a"] = a.a;
    j["b"] = a.b;
    j["provenance"] = provenance_json(json{{"seeds", {{"bootstrap", io.seed}}}});
    print_json(j);
    return;
  }
  auto n_text = [](std::int64_t n) { return n > 0 ? std::to_string(n) : std::string("unknown"); };
  std::cout << "FID " << fmt(r.fid, 12) << "  (n_a=" << n_text(r.n_a) << ", n_b=" << n_text(r.n_b)
            << ", dim=" << r.dim << ")\n";
  if (r.diagnostics.regularized)
    std::cout << "  regularized: " << r.diagnostics.reason << "; eps=" << r.diagnostics.eps
              << " on both diagonals; unregularized value " << fmt(r.diagnostics.fid_unregularized, 12) << "\n";
  if (rep.has_estimates) {
    const auto& est = rep.estimates;
    std::cout << "  plug-in FID            " << format_estimate(est.plug_in, 4) << "  estimand: " << est.plug_in.estimand
              << "\n";
    std::cout << "  population FID (bias-corrected) " << format_estimate(est.population, 4)
              << "  estimand: " << est.population.estimand << "\n";
  }
}

void run_kid(const KidArgs& a) {
  const Matrix32 fa = load_features(a.a), fb = load_features(a.b);
  metrics::KidOptions opt;
  opt.subsets = a.subsets;
  opt.subset_size = a.subset_size;
  opt.seed = a.interval.seed;
  const metrics::IntervalOptions io = a.interval.options();
  const metrics::KidReport rep = metrics::kid_report(fa, fb, opt, io, a.a, a.b);
  const metrics::KidResult& r = rep.result;
  if (a.json) {
    json j = metrics::to_json(rep);
    j["a"] = a.a;
    j["b"] = a.b;
    j["provenance"] = provenance_json(json{{"seed", a.interval.seed}});
    print_json(j);
    return;
  }
  std::cout << "KID " << fmt(r.kid_mean, 12) << " +- " << fmt(r.kid_std, 6) << "  ("
            << (r.full_sets ? std::string("full sets") : std::to_string(r.subsets) + " subsets of " +
                                                              std::to_string(r.subset_size))
            << ", n_a=" << r.n_a << ", n_b=" << r.n_b << ", dim=" << r.dim << ", seed=" << a.interval.seed << ")\n";
  std::cout << "  KID " << format_estimate(rep.estimate, 6) << "  estimand: " << rep.estimate.estimand << "\n";
}

void run_cmmd(const CmmdArgs& a) {
  const Matrix32 fa = load_features(a.a), fb = load_features(a.b);
  const metrics::CmmdReport rep = metrics::cmmd_report(fa, fb, a.opt, a.interval.options(), a.a, a.b);
  if (a.json) {
    json j = metrics::to_json(rep);
    j["a"] = a.a;
    j["b"] = a.b;
    j["provenance"] = provenance_json(json{{"seed", a.interval.seed}});
    print_json(j);
    return;
  }
  std::cout << "CMMD " << fmt(rep.value, 12) << "  (n_a=" << rep.n_a << ", n_b=" << rep.n_b << ", dim=" << rep.dim
            << ", sigma=" << fmt(a.opt.sigma) << ", scale=" << fmt(a.opt.scale) << ")\n";
  if (a.interval.bootstrap > 0)
    std::cout << "  CMMD " << format_estimate(rep.estimate, 6) << "  estimand: " << rep.estimate.estimand << "\n";
}

double parse_q(const std::string& s) {
  if (s == "inf" || s == "infinity") return std::numeric_limits<double>::infinity();
  char* end = nullptr;
  const double q = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !(q >= 0) || std::isinf(q))
    throw InputError("--q must be a number >= 0 or 'inf', got '" + s + "'");
  return q;
}

void run_vendi(const VendiArgs& a) {
  metrics::VendiOptions o;
  o.q = parse_q(a.q);
  const Matrix32 f = load_features(a.features);
  const metrics::VendiResult r = metrics::vendi_score(f, o, a.features);
  if (a.json) {
    json j = metrics::to_json(r);
    j["features"] = a.features;
    j["provenance"] = provenance_json(json::object());
    print_json(j);
    return;
  }
  std::cout << "Vendi score " << fmt(r.score, 10) << "  (q=" << a.q << ", n=" << r.n << ", dim=" << r.dim
            << ", cosine kernel, " << r.method << ")\n";
}

void run_authpct(const AuthPctArgs& a) {
  const Matrix32 t = load_features(a.train), g = load_features(a.generated);
  const metrics::AuthPctResult r = metrics::authpct(t, g, a.train, a.generated);
  if (a.json) {
    json j = metrics::to_json(r);
    j["train"] = a.train;
    j["generated"] = a.generated;
    j["provenance"] = provenance_json(json::object());
    print_json(j);
    return;
  }
  std::cout << "AuthPct " << fmt(r.authpct, 8) << "%  (" << r.authentic << " of " << r.n_generated
            << " generated samples authentic; " << r.n_train << " training samples, dim=" << r.dim << ")\n";
}

void run_ct(const CtArgs& a) {
  const Matrix32 t = load_features(a.train), p = load_features(a.test), g = load_features(a.generated);
  metrics::CtOptions o;
  o.seed = a.seed;
  const metrics::CtResult r = metrics::c_t_score(t, p, g, o);
  if (a.json) {
    json j = metrics::to_json(r);
    j["train"] = a.train;
    j["test"] = a.test;
    j["generated"] = a.generated;
    j["seed"] = a.seed;
    j["provenance"] = provenance_json(json::object());
    print_json(j);
    return;
  }
  std::cout << "C_T " << (std::isfinite(r.c_t) ? fmt(r.c_t, 6) : std::string("null (") + r.note + ")") << "  ("
            << r.n_train << " train, " << r.n_test << " held-out, " << r.n_generated << " generated, dim=" << r.dim
            << (r.pca_components ? ", PCA to " + std::to_string(r.pca_components) : std::string()) << ")\n";
  for (std::size_t i = 0; i < r.cells.size(); ++i)
    std::cout << "  cell " << i << ": " << r.cells[i].n_train << " train, " << r.cells[i].n_test << " held-out, "
              << r.cells[i].n_generated << " generated, Z_U " << fmt(r.cells[i].z_u, 4)
              << (r.cells[i].included ? "" : "  (excluded: generated share <= tau)") << "\n";
  std::cout << "C_T << 0: generated samples closer to the training set than held-out ones (data copying)\n";
}

void run_prdc(const PrdcArgs& a) {
  const Matrix32 fa = load_features(a.a), fb = load_features(a.b);
  const metrics::PrdcReport rep = metrics::prdc_report(fa, fb, a.k, a.interval.options(), a.a, a.b);
  const metrics::PrdcResult& r = rep.result;
  const auto& est = rep.estimates;
  if (a.json) {
    json j = metrics::to_json(rep);
    j["a"] = a.a;
    j["b"] = a.b;
    j["provenance"] = provenance_json(json::object());
    print_json(j);
    return;
  }
  std::cout << "precision " << fmt(r.precision) << "\nrecall    " << fmt(r.recall) << "\ndensity   "
            << fmt(r.density) << "\ncoverage  " << fmt(r.coverage) << "\n(k=" << r.k << ", real A n=" << r.n_real
            << ", generated B n=" << r.n_fake << ", dim=" << r.dim << ")\n";
  if (a.interval.bootstrap > 0)
    for (const auto& [name, e] : {std::pair<const char*, const Estimate*>{"precision", &est.precision},
                                  {"recall", &est.recall}, {"density", &est.density}, {"coverage", &est.coverage}})
      std::cout << "  " << name << " " << format_estimate(*e, 4) << "\n";
  std::cout << "  estimand: " << est.precision.estimand << "\n";
}

void run_coverage_study(const CoverageStudyArgs& a) {
  const auto rows = metrics::run_coverage_study(a.opt);
  const auto j = metrics::coverage_study_to_json(a.opt, rows);
  if (!a.out.empty()) atomic_write_text(a.out, j.dump(2) + "\n");
  if (a.json) {
    std::cout << j.dump(2) << std::endl;
    return;
  }
  std::cout << "Coverage of the shipped intervals (" << a.opt.draws << " draws per setting, " << a.opt.bootstrap
            << " bootstrap replicates, nominal " << 100 * a.opt.ci_level << "%; docs/uncertainty.md)\n\n"
            << metrics::coverage_study_markdown(rows);
}

void run_ssim(const SsimArgs& a, bool multiscale) {
  const Image x = load_image_file(a.x), y = load_image_file(a.y);
  double v;
  json settings;
  if (multiscale) {
    metrics::MsSsimOptions o;
    o.ssim.data_range = a.data_range;
    o.ssim.win_size = a.win_size;
    o.ssim.sigma = a.sigma;
    o.scales = a.scales;
    o.weights = a.weights;
    v = metrics::ms_ssim(x, y, o, a.x, a.y);
    settings = {{"data_range", a.data_range},
                {"win_size", a.win_size},
                {"sigma", a.sigma},
                {"scales", a.scales},
                {"weights", a.weights.empty() ? metrics::default_ms_ssim_weights(a.scales) : a.weights}};
  } else {
    metrics::SsimOptions o;
    o.data_range = a.data_range;
    v = metrics::ssim(x, y, o, a.x, a.y);
    settings = {{"data_range", a.data_range}, {"win_size", 11}, {"sigma", 1.5}};
  }
  const char* key = multiscale ? "msssim" : "ssim";
  if (a.json) {
    print_json(json{{key, finite_or_null(v)},
                    {"x", a.x},
                    {"y", a.y},
                    {"channels", x.channels},
                    {"height", x.height},
                    {"width", x.width},
                    {"settings", settings}});
    return;
  }
  std::cout << (multiscale ? "MS-SSIM " : "SSIM ") << fmt(v, 12) << "  (" << x.channels << "x" << x.height << "x"
            << x.width << ", data range " << a.data_range << ")\n";
}

std::int64_t parse_pairs(const std::string& s) {
  if (s == "all") return 0;
  try {
    std::size_t pos = 0;
    const long long v = std::stoll(s, &pos);
    if (pos == s.size() && v > 0) return v;
  } catch (const std::exception&) {
  }
  throw InputError("--pairs must be 'all' or a positive number, got '" + s + "'");
}

void run_diversity(const DiversityArgs& a) {
  metrics::DiversityOptions opt;
  opt.ms_ssim.ssim.data_range = a.data_range;
  opt.ms_ssim.ssim.win_size = a.win_size;
  opt.ms_ssim.ssim.sigma = a.sigma;
  opt.ms_ssim.scales = a.scales;
  opt.ms_ssim.weights = a.weights;
  opt.pairs = parse_pairs(a.pairs);
  opt.seed = a.seed;
  if (a.bootstrap < 0) throw InputError("--bootstrap must be >= 0");
  opt.bootstrap.replicates = a.bootstrap;
  opt.bootstrap.seed = a.seed;
  metrics::validate_ms_ssim_options(opt.ms_ssim);
  auto per_dataset = [&](const std::string& dir) {
    if (!fs::exists(dir)) throw InputError(at_file(dir, "no such dataset folder"));
    return metrics::dataset_diversity(dir, opt);
  };
  const auto res = per_dataset(a.dir);
  std::vector<metrics::DiversityResult> ref;
  if (!a.reference.empty()) ref = per_dataset(a.reference);

  if (a.json) {
    auto block = [](const std::string& dir, const std::vector<metrics::DiversityResult>& rs) {
      json mods = json::object();
      for (const auto& r : rs) mods[r.modality] = metrics::diversity_to_json(r);
      return json{{"dataset", dir}, {"manifest_sha256", manifest_hash(dir)}, {"modalities", mods}};
    };
    json j = block(a.dir, res);
    j["metric"] = "mean pairwise MS-SSIM (lower = more diverse)";
    j["settings"] = {{"pairs", a.pairs},
                     {"seed", a.seed},
                     {"bootstrap", a.bootstrap},
                     {"data_range", a.data_range},
                     {"win_size", a.win_size},
                     {"sigma", a.sigma},
                     {"scales", a.scales},
                     {"weights", a.weights.empty() ? metrics::default_ms_ssim_weights(a.scales) : a.weights}};
    j["reference"] = a.reference.empty() ? json(nullptr) : block(a.reference, ref);
    j["provenance"] = provenance_json(json{{"seed", a.seed}});
    print_json(j);
    return;
  }
  std::cout << "mean pairwise MS-SSIM (lower = more diverse); CI: " << 100 * opt.bootstrap.level
            << "% basic bootstrap over images about the mean, " << a.bootstrap << " replicates\n";
  std::cout << std::left << std::setw(12) << "set" << std::setw(20) << "modality" << std::right << std::setw(8)
            << "images" << std::setw(10) << "pairs" << std::setw(12) << "mean" << std::setw(12) << "std"
            << std::setw(26) << "CI" << "\n";
  auto rows = [](const std::string& label, const std::vector<metrics::DiversityResult>& rs) {
    for (const auto& r : rs)
      std::cout << std::left << std::setw(12) << label << std::setw(20) << r.modality << std::right << std::setw(8)
                << r.n_images << std::setw(10) << r.n_pairs << std::setw(12)
                << (r.ci.has_value() ? fmt(r.mean, 6) : std::string("null")) << std::setw(12)
                << (r.ci.has_value() ? fmt(r.std, 6) : std::string("")) << std::setw(26)
                << (r.ci.has_ci() ? "[" + fmt(r.ci.ci_low, 6) + ", " + fmt(r.ci.ci_high, 6) + "]" : std::string(""))
                << (r.ci.has_value() ? "" : "  " + r.ci.note) << "\n";
  };
  rows("dataset", res);
  rows("reference", ref);
}

}  // namespace

void register_metrics_commands(CLI::App& root) {
  CLI::App* features = group(root, "features", "Feature extraction and feature files");
  {
    auto args = std::make_shared<StatsArgs>();
    auto* c = features->add_subcommand(
        "stats", "FID statistics (float64 mu, sigma; pytorch-fid .npz layout) from features .npy (several merge)");
    c->add_option("features", args->inputs, "Features .npy (N x D float32); several files are merged")
        ->required()
        ->check(CLI::ExistingFile);
    c->add_option("--out", args->out, "Output statistics .npz")->required();
    c->add_flag("--json", args->json, "Print JSON");
    c->callback([args] { run_stats(*args); });
  }

  CLI::App* metrics = group(root, "metrics", "Fidelity and diversity metrics");
  {
    auto args = std::make_shared<FidArgs>();
    auto* c = metrics->add_subcommand("fid", "Frechet distance between two feature sets or statistics files");
    c->add_option("A", args->a, "Features .npy or statistics .npz (mu, sigma)")->required();
    c->add_option("B", args->b, "Features .npy or statistics .npz (mu, sigma)")->required();
    c->add_option("--eps", args->eps, "Diagonal regularisation for rank-deficient covariances")->capture_default_str();
    add_interval_options(c, args->interval);
    c->add_option("--seed", args->interval.seed, "Seed for the bootstrap")->capture_default_str();
    c->add_flag("--json", args->json, "Print JSON {fid, n_a, n_b, dim, diagnostics, estimates}");
    c->callback([args] { run_fid(*args); });
  }
  {
    auto args = std::make_shared<CmmdArgs>();
    auto* c = metrics->add_subcommand(
        "cmmd", "CMMD: MMD^2 with a Gaussian RBF kernel (sigma 10) x 1000 on CLIP-style embeddings (Jayasumana et al. 2024)");
    c->add_option("A", args->a, "Features .npy (reference set, e.g. real)")->required();
    c->add_option("B", args->b, "Features .npy (evaluated set)")->required();
    c->add_option("--sigma", args->opt.sigma, "Kernel bandwidth")->capture_default_str();
    c->add_option("--scale", args->opt.scale, "Multiplier of MMD^2")->capture_default_str();
    c->add_option("--seed", args->interval.seed, "Seed for the bootstrap")->capture_default_str();
    add_interval_options(c, args->interval);
    c->add_flag("--json", args->json, "Print JSON {cmmd, n_a, n_b, dim, sigma, scale, estimates}");
    c->callback([args] { run_cmmd(*args); });
  }
  {
    auto args = std::make_shared<VendiArgs>();
    auto* c = metrics->add_subcommand("vendi", "Vendi score of a feature set (cosine kernel; Friedman & Dieng 2023)");
    c->add_option("FEATURES", args->features, "Features .npy (N x D)")->required();
    c->add_option("--q", args->q, "Order of the entropy: a number >= 0 or 'inf'")->capture_default_str();
    c->add_flag("--json", args->json, "Print JSON {vendi, q, n, dim, kernel, method}");
    c->callback([args] { run_vendi(*args); });
  }
  {
    auto args = std::make_shared<AuthPctArgs>();
    auto* c = metrics->add_subcommand(
        "authpct", "AuthPct (Alaa et al. 2022, as dgm-eval): % of generated samples farther from their nearest training "
                   "sample than that sample is from its own nearest neighbour");
    c->add_option("TRAIN", args->train, "Training features .npy")->required();
    c->add_option("GENERATED", args->generated, "Generated features .npy")->required();
    c->add_flag("--json", args->json, "Print JSON {authpct, authentic, n_train, n_generated, dim}");
    c->callback([args] { run_authpct(*args); });
  }
  {
    auto args = std::make_shared<CtArgs>();
    auto* c = metrics->add_subcommand(
        "ct", "C_T data-copying test (Meehan et al. 2020, as dgm-eval): Mann-Whitney z of nearest-training distances, "
              "generated vs held-out real, in 3 k-means cells; << 0 means copying");
    c->add_option("TRAIN", args->train, "Training features .npy")->required();
    c->add_option("TEST", args->test, "Held-out real features .npy (not used for training)")->required();
    c->add_option("GENERATED", args->generated, "Generated features .npy")->required();
    c->add_option("--seed", args->seed, "Seed of the k-means initialisations");
    c->add_flag("--json", args->json, "Print JSON {c_t, tau, cells, pca_components, ...}");
    c->callback([args] { run_ct(*args); });
  }
  {
    auto args = std::make_shared<KidArgs>();
    auto* c = metrics->add_subcommand("kid", "Kernel Inception Distance (unbiased MMD^2, cubic polynomial kernel)");
    c->add_option("A", args->a, "Features .npy")->required();
    c->add_option("B", args->b, "Features .npy")->required();
    c->add_option("--subsets", args->subsets, "Number of random subsets")->capture_default_str();
    c->add_option("--subset-size", args->subset_size, "Rows per subset (>= both set sizes: the full sets)")
        ->capture_default_str();
    c->add_option("--seed", args->interval.seed, "Seed for the subsets and the bootstrap")->capture_default_str();
    add_interval_options(c, args->interval);
    c->add_flag("--json", args->json, "Print JSON {kid_mean, kid_std, ..., estimates}");
    c->callback([args] { run_kid(*args); });
  }
  {
    auto args = std::make_shared<PrdcArgs>();
    auto* c = metrics->add_subcommand(
        "prdc", "Improved precision/recall and density/coverage of generated B against real A");
    c->add_option("A", args->a, "Real features .npy")->required();
    c->add_option("B", args->b, "Generated features .npy")->required();
    c->add_option("--k", args->k, "Nearest-neighbour count for the radii")->capture_default_str();
    add_interval_options(c, args->interval);
    c->add_option("--seed", args->interval.seed, "Seed for the bootstrap")->capture_default_str();
    c->add_flag("--json", args->json, "Print JSON");
    c->callback([args] { run_prdc(*args); });
  }
  {
    auto args = std::make_shared<CoverageStudyArgs>();
    auto* c = metrics->add_subcommand(
        "coverage-study",
        "Empirical coverage of the shipped intervals on Gaussians with known distances (docs/uncertainty.md)");
    c->add_option("--draws", args->opt.draws, "Feature-set pairs drawn per setting")->capture_default_str();
    c->add_option("--bootstrap", args->opt.bootstrap, "Bootstrap replicates per interval")->capture_default_str();
    c->add_option("--ci", args->opt.ci_level, "Interval level")->capture_default_str();
    c->add_option("--k", args->opt.k, "PRDC neighbourhood size")->capture_default_str();
    c->add_option("--seed", args->opt.seed, "Seed")->capture_default_str();
    c->add_option("--dims", args->opt.dims, "Feature dimensions")->delimiter(',')->capture_default_str();
    c->add_option("--sizes", args->opt.sizes, "Images per set")->delimiter(',')->capture_default_str();
    c->add_option("--scenarios", args->opt.scenarios, "identical, mean shift, covariance differs")
        ->delimiter(',')
        ->capture_default_str();
    c->add_option("--out", args->out, "Also write the JSON to this file (atomically)");
    c->add_flag("--json", args->json, "Print JSON instead of the Markdown table");
    c->callback([args] { run_coverage_study(*args); });
  }
  {
    auto args = std::make_shared<SsimArgs>();
    auto* c = metrics->add_subcommand(
        "ssim", "SSIM of two image files (Gaussian 11x11, sigma 1.5; equals skimage structural_similarity)");
    c->add_option("X", args->x, "Image file")->required();
    c->add_option("Y", args->y, "Image file")->required();
    c->add_option("--data-range", args->data_range, "Data range of the pixel values (images are read into [0,1])")
        ->capture_default_str();
    c->add_flag("--json", args->json, "Print JSON");
    c->callback([args] { run_ssim(*args, false); });
  }
  {
    auto args = std::make_shared<SsimArgs>();
    auto* c = metrics->add_subcommand("msssim", "MS-SSIM of two image files (pytorch_msssim convention)");
    c->add_option("X", args->x, "Image file")->required();
    c->add_option("Y", args->y, "Image file")->required();
    c->add_option("--data-range", args->data_range, "Data range of the pixel values (images are read into [0,1])")
        ->capture_default_str();
    c->add_option("--win-size", args->win_size, "Gaussian window size (odd)")->capture_default_str();
    c->add_option("--sigma", args->sigma, "Gaussian window sigma")->capture_default_str();
    c->add_option("--scales", args->scales, "Number of scales")->capture_default_str();
    c->add_option("--weights", args->weights,
                  "Per-scale weights (default Wang 2003; for fewer scales the first ones renormalised)")
        ->delimiter(',');
    c->add_flag("--json", args->json, "Print JSON");
    c->callback([args] { run_ssim(*args, true); });
  }
  {
    auto args = std::make_shared<DiversityArgs>();
    auto* c = metrics->add_subcommand(
        "diversity", "Mean pairwise MS-SSIM per modality (lower = more diverse), with std and bootstrap CI");
    c->add_option("DATASET_DIR", args->dir, "Dataset folder (manifest.jsonl)")->required();
    c->add_option("--pairs", args->pairs, "'all' or the number of random pairs per modality")->capture_default_str();
    c->add_option("--seed", args->seed, "Seed for pair sampling and the bootstrap")->capture_default_str();
    c->add_option("--reference", args->reference, "A real dataset folder: the same figure for it");
    c->add_option("--bootstrap", args->bootstrap, "Bootstrap replicates for the CI (0 = none)")->capture_default_str();
    c->add_option("--data-range", args->data_range, "Data range (images are read into [0,1])")->capture_default_str();
    c->add_option("--win-size", args->win_size, "Gaussian window size (odd)")->capture_default_str();
    c->add_option("--sigma", args->sigma, "Gaussian window sigma")->capture_default_str();
    c->add_option("--scales", args->scales, "Number of MS-SSIM scales")->capture_default_str();
    c->add_option("--weights", args->weights, "Per-scale weights")->delimiter(',');
    c->add_flag("--json", args->json, "Print JSON");
    c->callback([args] { run_diversity(*args); });
  }
}

}  // namespace medsyn::cli
