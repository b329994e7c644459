#include "medsyn/metrics/diversity.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "medsyn/core/error.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/core/progress.h"
#include "medsyn/metrics/sample_size.h"
#include "medsyn/stats/random.h"

namespace medsyn::metrics {

std::vector<std::pair<std::int64_t, std::int64_t>> select_pairs(std::int64_t n, std::int64_t pairs, std::uint64_t seed) {
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  if (n < 2) return out;
  const std::int64_t total = n * (n - 1) / 2;
  std::vector<std::int64_t> chosen;
  if (pairs <= 0 || pairs >= total) {
    chosen.resize(static_cast<std::size_t>(total));
    for (std::int64_t p = 0; p < total; ++p) chosen[p] = p;
  } else {
    // Floyd's algorithm: `pairs` distinct values from [0, total) with exactly `pairs` draws.
    stats::Rng rng(seed);
    std::unordered_set<std::int64_t> set;
    set.reserve(static_cast<std::size_t>(pairs) * 2);
    for (std::int64_t j = total - pairs; j < total; ++j) {
      const auto t = static_cast<std::int64_t>(stats::random_below(rng, static_cast<std::uint64_t>(j + 1)));
      if (!set.insert(t).second) set.insert(j);
    }
    chosen.assign(set.begin(), set.end());
    std::sort(chosen.begin(), chosen.end());
  }
  // Linear index p enumerates (0,1), (0,2), ..., (0,n-1), (1,2), ...
  out.reserve(chosen.size());
  std::int64_t i = 0, row_start = 0;
  for (auto p : chosen) {
    while (p >= row_start + (n - 1 - i)) {
      row_start += n - 1 - i;
      ++i;
    }
    out.emplace_back(i, i + 1 + (p - row_start));
  }
  return out;
}

DiversityResult diversity_of_images(std::int64_t n, const std::function<Image(std::int64_t)>& load,
                                    const std::vector<std::string>& names, const DiversityOptions& opt) {
  if (n < 2) throw InputError("diversity needs at least 2 images, got " + std::to_string(n));
  if (opt.pairs < 0) throw InputError("--pairs must be 'all' or a positive number");
  validate_ms_ssim_options(opt.ms_ssim);
  DiversityResult r;
  r.n_images = n;
  r.pair_index = select_pairs(n, opt.pairs, opt.seed);
  r.n_pairs = static_cast<std::int64_t>(r.pair_index.size());
  r.all_pairs = r.n_pairs == n * (n - 1) / 2;

  std::vector<char> needed(static_cast<std::size_t>(n), 0);
  for (const auto& [i, j] : r.pair_index) needed[i] = needed[j] = 1;
  std::vector<PreparedImage> prepared(static_cast<std::size_t>(n));
  {
    Progress prog("diversity: per-image terms", n, "images");
    const PreparedImage* first = nullptr;
    for (std::int64_t i = 0; i < n; ++i) {
      if (needed[i]) {
        const std::string& nm = i < static_cast<std::int64_t>(names.size()) ? names[i] : std::to_string(i);
        prepared[i] = prepare_ms_ssim(load(i), opt.ms_ssim, nm);
        if (!first) {
          first = &prepared[i];
        } else if (prepared[i].channels != first->channels || prepared[i].height != first->height ||
                   prepared[i].width != first->width) {
          throw InputError(nm + " is " + std::to_string(prepared[i].channels) + "x" +
                           std::to_string(prepared[i].height) + "x" + std::to_string(prepared[i].width) + " but " +
                           first->name + " is " + std::to_string(first->channels) + "x" +
                           std::to_string(first->height) + "x" + std::to_string(first->width) +
                           " (CxHxW): diversity needs images of one size and channel count per modality");
        }
      }
      prog.advance();
    }
  }

  r.values.assign(static_cast<std::size_t>(r.n_pairs), 0.0);
  {
    Progress prog("diversity: pairs", r.n_pairs, "pairs");
    const auto np = r.n_pairs;
#pragma omp parallel
    {
      SsimWorkspace ws;
#pragma omp for schedule(dynamic, 8)
      for (std::int64_t p = 0; p < np; ++p) {
        const auto [i, j] = r.pair_index[static_cast<std::size_t>(p)];
        r.values[static_cast<std::size_t>(p)] = ms_ssim_prepared(prepared[i], prepared[j], opt.ms_ssim, ws);
        if ((p & 15) == 15) {
#pragma omp critical(medsyn_diversity_progress)
          prog.advance(16);
        }
      }
    }
    prog.set(np);
  }

  double mean = 0;
  for (double v : r.values) mean += v;
  mean /= static_cast<double>(r.values.size());
  double ss = 0;
  for (double v : r.values) ss += (v - mean) * (v - mean);
  r.mean = mean;
  r.std = r.values.size() > 1 ? std::sqrt(ss / static_cast<double>(r.values.size() - 1)) : 0.0;

  // Image-level bootstrap: weights count_i * count_j on each evaluated pair.
  Estimate ci;
  ci.value = mean;
  ci.n = n;
  ci.ci_level = opt.bootstrap.level;
  ci.replicates = opt.bootstrap.replicates;
  if (opt.bootstrap.replicates > 0) {
    stats::Rng rng(opt.bootstrap.seed);
    std::vector<double> reps;
    reps.reserve(static_cast<std::size_t>(opt.bootstrap.replicates));
    std::vector<double> count(static_cast<std::size_t>(n));
    for (int b = 0; b < opt.bootstrap.replicates; ++b) {
      std::fill(count.begin(), count.end(), 0.0);
      for (std::int64_t t = 0; t < n; ++t) count[stats::random_below(rng, static_cast<std::uint64_t>(n))] += 1.0;
      double num = 0, den = 0;
      for (std::size_t p = 0; p < r.values.size(); ++p) {
        const double wgt = count[r.pair_index[p].first] * count[r.pair_index[p].second];
        num += wgt * r.values[p];
        den += wgt;
      }
      reps.push_back(den > 0 ? num / den : std::nan(""));
    }
    // Reflected about the mean (stats/intervals.h), so the interval always contains it.
    stats::finish_reflected_interval(mean, std::move(reps), opt.bootstrap.level,
                                     "basic bootstrap over images about the estimate", ci, -1.0, 1.0);
  }
  if (const std::string why = diversity_size_problem(n); !why.empty()) ci = Estimate::null_because(why, n);
  ci.estimand = "expected MS-SSIM of two independent images of the distribution";
  r.ci = ci;
  return r;
}

std::vector<DiversityResult> dataset_diversity(const std::filesystem::path& dataset_dir, const DiversityOptions& opt) {
  const Dataset ds = load_dataset(dataset_dir);
  std::vector<DiversityResult> out;
  const auto mods = ds.modalities();
  if (mods.empty()) throw InputError(at_file((dataset_dir / "manifest.jsonl").string(), "no images"));
  for (const auto& mod : mods) {
    const auto recs = ds.select(mod);
    if (recs.size() < 2)
      throw InputError(at_file(dataset_dir.string(), "modality '" + mod + "' has " + std::to_string(recs.size()) +
                                                         " image; diversity needs at least 2"));
    std::vector<std::string> names;
    for (const auto& rec : recs) names.push_back(ds.image_path(rec).string());
    log_info("diversity: " + mod + " (" + std::to_string(recs.size()) + " images)");
    auto r = diversity_of_images(
        static_cast<std::int64_t>(recs.size()),
        [&](std::int64_t i) { return read_image(ds.image_path(recs[static_cast<std::size_t>(i)])); }, names, opt);
    r.modality = mod;
    out.push_back(std::move(r));
  }
  return out;
}

nlohmann::json diversity_to_json(const DiversityResult& r) {
  // Below the minimum size the mean is null with the reason (sample_size.h), like every estimate.
  const bool ok = r.ci.has_value();
  json j{{"modality", r.modality},
              {"msssim_mean", ok ? finite_or_null(r.mean) : json(nullptr)},
              {"msssim_std", ok ? finite_or_null(r.std) : json(nullptr)},
              {"ci_low", finite_or_null(r.ci.ci_low)},
              {"ci_high", finite_or_null(r.ci.ci_high)},
              {"ci_level", r.ci.ci_level},
              {"bootstrap_replicates", r.ci.replicates},
              {"bootstrap_failed", r.ci.failed},
              {"n_images", r.n_images},
              {"n_pairs", r.n_pairs},
              {"all_pairs", r.all_pairs},
              {"estimand", r.ci.estimand}};
  if (!r.ci.note.empty()) j["note"] = r.ci.note;
  if (r.ci.has_ci()) j["ci_method"] = r.ci.ci_method;
  return j;
}

}  // namespace medsyn::metrics
