// The analysis of a reader study (analysis.h): accuracy, sensitivity/specificity, realism,
// prompt match, agreement and per-reader tables, per modality and overall.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "medsyn/core/error.h"
#include "medsyn/core/estimate.h"
#include "medsyn/readerstudy/analysis.h"
#include "medsyn/stats/agreement.h"
#include "medsyn/stats/intervals.h"
#include "medsyn/stats/quantile.h"
#include "medsyn/stats/random.h"
#include "medsyn/stats/tests.h"

namespace medsyn::readerstudy {

using ojson = nlohmann::ordered_json;
namespace st = medsyn::stats;

namespace {

constexpr double kNaN = Estimate::kNaN;

struct Rating {
  std::size_t reader = 0;
  const KeyImage* image = nullptr;
  const Answer* answer = nullptr;
};

ojson num(double v) { return std::isfinite(v) ? ojson(v) : ojson(nullptr); }

Estimate proportion(long long k, long long n, double level, const std::string& estimand) {
  if (n <= 0) return Estimate::null_because("no answers", 0);
  Estimate e = st::wilson_interval(static_cast<double>(k), static_cast<double>(n), level);
  e.estimand = estimand;
  return e;
}

double mean_of(const std::vector<double>& v) {
  if (v.empty()) return kNaN;
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

// Images of one group with all their ratings, for the bootstraps over images.
struct GroupData {
  std::vector<const KeyImage*> images;        // key order
  std::vector<Rating> ratings;
};

ojson real_or_synthetic_json(const std::vector<Rating>& rs, double level) {
  long long n = 0, correct = 0, n_syn = 0, syn_s = 0, n_real = 0, real_r = 0;
  for (const auto& r : rs) {
    const std::string& a = r.answer->real_or_synthetic;
    if (a.empty()) continue;
    ++n;
    const bool syn = r.image->source == "synthetic";
    if (syn) {
      ++n_syn;
      syn_s += a == "S";
    } else {
      ++n_real;
      real_r += a == "R";
    }
    correct += (a == "S") == syn;
  }
  ojson j;
  j["n_answers"] = n;
  j["accuracy"] = to_json(proportion(correct, n, level, "fraction of answers that tell synthetic from real correctly"));
  j["binomial_p"] = n > 0 ? num(st::binomial_test(correct, n, 0.5)) : ojson(nullptr);
  j["binomial_test"] = "exact, two-sided, against chance (0.5)";
  j["sensitivity"] = to_json(proportion(syn_s, n_syn, level, "synthetic images judged synthetic"));
  j["specificity"] = to_json(proportion(real_r, n_real, level, "real images judged real"));
  j["synthetic_judged_real"] = to_json(proportion(n_syn - syn_s, n_syn, level, "synthetic images judged real"));
  return j;
}

// Difference of mean realism (synthetic - real); the interval resamples images within each source.
Estimate realism_difference(const GroupData& g, const AnalysisOptions& o) {
  std::vector<std::vector<double>> real, syn;
  for (const auto* img : g.images) {
    std::vector<double> v;
    for (const auto& r : g.ratings)
      if (r.image == img && r.answer->realism > 0) v.push_back(r.answer->realism);
    if (v.empty()) continue;
    (img->source == "real" ? real : syn).push_back(std::move(v));
  }
  if (real.empty() || syn.empty()) return Estimate::null_because("no realism answers for real or for synthetic images");
  auto mean_over = [](const std::vector<std::vector<double>>& imgs, const std::vector<std::int64_t>* idx) {
    double s = 0, n = 0;
    const std::size_t m = idx ? idx->size() : imgs.size();
    for (std::size_t i = 0; i < m; ++i) {
      const auto& v = imgs[idx ? static_cast<std::size_t>((*idx)[i]) : i];
      for (double x : v) s += x;
      n += static_cast<double>(v.size());
    }
    return s / n;
  };
  Estimate e;
  e.value = mean_over(syn, nullptr) - mean_over(real, nullptr);
  long long n = 0;
  for (const auto& v : real) n += static_cast<long long>(v.size());
  for (const auto& v : syn) n += static_cast<long long>(v.size());
  e.n = n;
  e.estimand = "mean realism of synthetic minus real images (1-5 scale)";
  if (real.size() < 2 || syn.size() < 2) {
    e.note = "too few images for a bootstrap interval";
    return e;
  }
  st::Rng rng(st::derive_seed(o.seed, 17));
  std::vector<double> reps;
  reps.reserve(static_cast<std::size_t>(o.bootstrap));
  for (int b = 0; b < o.bootstrap; ++b) {
    const auto ir = st::resample_indices(rng, static_cast<std::int64_t>(real.size()));
    const auto is = st::resample_indices(rng, static_cast<std::int64_t>(syn.size()));
    reps.push_back(mean_over(syn, &is) - mean_over(real, &ir));
  }
  st::finish_percentile_interval(reps, o.level, e);
  e.ci_method = "percentile bootstrap over images (stratified by source)";
  return e;
}

ojson realism_json(const GroupData& g, const AnalysisOptions& o) {
  std::vector<double> x, y;  // real, synthetic
  for (const auto& r : g.ratings)
    if (r.answer->realism > 0) (r.image->source == "real" ? x : y).push_back(r.answer->realism);
  ojson j;
  j["n_real"] = x.size();
  j["n_synthetic"] = y.size();
  j["median_real"] = x.empty() ? ojson(nullptr) : num(st::quantile_linear(x, 0.5));
  j["median_synthetic"] = y.empty() ? ojson(nullptr) : num(st::quantile_linear(y, 0.5));
  j["mean_real"] = num(mean_of(x));
  j["mean_synthetic"] = num(mean_of(y));
  if (!x.empty() && !y.empty()) {
    const auto mw = st::mann_whitney_u(x, y);
    const double ps = mw.u / (static_cast<double>(x.size()) * static_cast<double>(y.size()));
    j["mann_whitney"] = {{"u", mw.u}, {"p", num(mw.p)}, {"z", num(mw.z)}, {"method", mw.method},
                         {"x", "real"}, {"y", "synthetic"}};
    j["probability_of_superiority"] = ps;  // P(real rated higher) + P(tie) / 2
    j["rank_biserial"] = 2 * ps - 1;
  } else {
    j["mann_whitney"] = nullptr;
  }
  j["difference"] = to_json(realism_difference(g, o));
  return j;
}

ojson prompt_match_json(const std::vector<Rating>& rs, double level) {
  long long ny = 0, n = 0, ry = 0, rn = 0;
  for (const auto& r : rs) {
    const std::string& a = r.answer->prompt_match;
    if (a.empty()) continue;
    if (r.image->source == "synthetic") {
      ++n;
      ny += a == "Y";
    } else {
      ++rn;
      ry += a == "Y";
    }
  }
  return ojson{{"synthetic", to_json(proportion(ny, n, level, "synthetic images judged to match their prompt"))},
               {"real", to_json(proportion(ry, rn, level, "real images judged to match their prompt (baseline)"))}};
}

// Categorical agreement on one question (0/1 codes), Cohen (two readers) or Fleiss (more).
ojson kappa_json(const GroupData& g, std::size_t n_readers, const std::string& question, const AnalysisOptions& o,
                 const std::vector<std::string>& reader_names) {
  auto code = [&](const Answer& a) -> int {
    const std::string& v = question == "real_or_synthetic" ? a.real_or_synthetic : a.prompt_match;
    if (v.empty()) return -1;
    return (v == "S" || v == "Y") ? 1 : 0;
  };
  // codes[image][reader]
  std::vector<std::vector<int>> codes;
  for (const auto* img : g.images) {
    std::vector<int> c(n_readers, -1);
    for (const auto& r : g.ratings)
      if (r.image == img) c[r.reader] = code(*r.answer);
    codes.push_back(std::move(c));
  }
  // Readers who answered this question at all in the group.
  std::vector<std::size_t> active;
  for (std::size_t k = 0; k < n_readers; ++k) {
    bool any = false;
    for (const auto& c : codes) any = any || c[k] >= 0;
    if (any) active.push_back(k);
  }
  ojson j;
  std::vector<std::string> names;
  for (auto k : active) names.push_back(reader_names[k]);
  j["readers"] = names;
  if (active.size() < 2) {
    j["method"] = nullptr;
    j["kappa"] = to_json(Estimate::null_because("fewer than two readers answered"));
    return j;
  }
  std::vector<std::vector<int>> full;  // items every active reader answered
  for (const auto& c : codes) {
    bool all = true;
    for (auto k : active) all = all && c[k] >= 0;
    if (all) {
      std::vector<int> row;
      for (auto k : active) row.push_back(c[k]);
      full.push_back(row);
    }
  }
  j["n_items"] = full.size();
  if (active.size() == 2) {
    j["method"] = "cohen";
    std::vector<std::vector<double>> t(2, std::vector<double>(2, 0));
    for (const auto& row : full) t[row[0]][row[1]] += 1;
    const auto k = st::cohen_kappa(t, o.level);
    Estimate e;
    e.value = k.kappa;
    e.n = static_cast<long long>(full.size());
    e.estimand = "Cohen's kappa between the two readers";
    e.note = k.note;
    if (std::isfinite(k.kappa)) {
      e.ci_low = k.ci_low;
      e.ci_high = k.ci_high;
      e.ci_level = o.level;
      e.se = k.se;
      e.ci_method = "asymptotic (Fleiss, Cohen, Everitt 1969)";
    }
    if (full.empty()) e = Estimate::null_because("no image was answered by both readers");
    j["kappa"] = to_json(e);
    j["p_observed"] = num(k.p_observed);
    j["p_expected"] = num(k.p_expected);
    j["table"] = t;
    return j;
  }
  j["method"] = "fleiss";
  if (full.size() < 2) {
    j["kappa"] = to_json(Estimate::null_because("fewer than two images were answered by every reader", static_cast<long long>(full.size())));
    return j;
  }
  auto counts_of = [&](const std::vector<std::int64_t>* idx) {
    std::vector<std::vector<double>> c;
    const std::size_t m = idx ? idx->size() : full.size();
    for (std::size_t i = 0; i < m; ++i) {
      const auto& row = full[idx ? static_cast<std::size_t>((*idx)[i]) : i];
      std::vector<double> cc(2, 0);
      for (int v : row) cc[static_cast<std::size_t>(v)] += 1;
      c.push_back(cc);
    }
    return c;
  };
  const auto fk = st::fleiss_kappa(counts_of(nullptr));
  Estimate e;
  e.value = fk.kappa;
  e.n = static_cast<long long>(full.size());
  e.estimand = "Fleiss' kappa among " + std::to_string(active.size()) + " readers";
  e.note = fk.note;
  if (std::isfinite(fk.kappa)) {
    st::Rng rng(st::derive_seed(o.seed, question == "real_or_synthetic" ? 31 : 37));
    std::vector<double> reps;
    for (int b = 0; b < o.bootstrap; ++b) {
      const auto idx = st::resample_indices(rng, static_cast<std::int64_t>(full.size()));
      reps.push_back(st::fleiss_kappa(counts_of(&idx)).kappa);
    }
    st::finish_percentile_interval(reps, o.level, e);
    e.ci_method = "percentile bootstrap over images";
  }
  j["kappa"] = to_json(e);
  j["p_observed"] = num(fk.p_observed);
  j["p_expected"] = num(fk.p_expected);
  return j;
}

ojson alpha_json(const GroupData& g, std::size_t n_readers, const AnalysisOptions& o) {
  std::vector<std::vector<double>> values;  // units x readers
  for (const auto* img : g.images) {
    std::vector<double> v(n_readers, kNaN);
    for (const auto& r : g.ratings)
      if (r.image == img && r.answer->realism > 0) v[r.reader] = r.answer->realism;
    values.push_back(std::move(v));
  }
  const auto a = st::krippendorff_alpha(values, st::AlphaMetric::ordinal);
  Estimate e;
  e.value = a.alpha;
  e.n = a.n_units;
  e.estimand = "Krippendorff's alpha (ordinal) of the realism ratings";
  e.note = a.note;
  if (std::isfinite(a.alpha) && a.n_units >= 2) {
    st::Rng rng(st::derive_seed(o.seed, 41));
    std::vector<double> reps;
    for (int b = 0; b < o.bootstrap; ++b) {
      const auto idx = st::resample_indices(rng, static_cast<std::int64_t>(values.size()));
      std::vector<std::vector<double>> vv;
      vv.reserve(idx.size());
      for (auto i : idx) vv.push_back(values[static_cast<std::size_t>(i)]);
      reps.push_back(st::krippendorff_alpha(vv, st::AlphaMetric::ordinal).alpha);
    }
    st::finish_percentile_interval(reps, o.level, e);
    e.ci_method = "percentile bootstrap over images";
  }
  return ojson{{"method", "krippendorff_alpha_ordinal"}, {"alpha", to_json(e)}, {"n_pairable_values", a.n_pairable},
               {"d_observed", num(a.d_observed)}, {"d_expected", num(a.d_expected)}};
}

ojson group_json(const GroupData& g, const Study& study, const std::vector<ReaderRatings>& ratings,
                 const AnalysisOptions& o) {
  ojson j;
  long long nr = 0, ns = 0;
  for (const auto* i : g.images) (i->source == "real" ? nr : ns)++;
  j["n_images"] = g.images.size();
  j["n_real"] = nr;
  j["n_synthetic"] = ns;
  auto asks = [&](const char* q) { return std::find(study.questions.begin(), study.questions.end(), q) != study.questions.end(); };
  std::vector<std::string> names;
  for (const auto& r : ratings) names.push_back(r.reader);
  if (asks("real_or_synthetic")) j["real_or_synthetic"] = real_or_synthetic_json(g.ratings, o.level);
  if (asks("realism")) j["realism"] = realism_json(g, o);
  if (asks("prompt_match")) j["prompt_match"] = prompt_match_json(g.ratings, o.level);
  ojson agr = ojson::object();
  if (asks("real_or_synthetic")) agr["real_or_synthetic"] = kappa_json(g, ratings.size(), "real_or_synthetic", o, names);
  if (asks("prompt_match")) agr["prompt_match"] = kappa_json(g, ratings.size(), "prompt_match", o, names);
  if (asks("realism")) agr["realism"] = alpha_json(g, ratings.size(), o);
  j["agreement"] = agr;
  // Per reader.
  ojson per = ojson::array();
  for (std::size_t k = 0; k < ratings.size(); ++k) {
    std::vector<Rating> mine;
    for (const auto& r : g.ratings)
      if (r.reader == k) mine.push_back(r);
    ojson pr;
    pr["reader"] = ratings[k].reader;
    pr["answered"] = mine.size();
    if (asks("real_or_synthetic")) {
      const auto rs = real_or_synthetic_json(mine, o.level);
      pr["accuracy"] = rs["accuracy"];
      pr["binomial_p"] = rs["binomial_p"];
      pr["sensitivity"] = rs["sensitivity"];
      pr["specificity"] = rs["specificity"];
    }
    if (asks("realism")) {
      std::vector<double> x, y;
      for (const auto& r : mine)
        if (r.answer->realism > 0) (r.image->source == "real" ? x : y).push_back(r.answer->realism);
      pr["mean_realism_real"] = num(mean_of(x));
      pr["mean_realism_synthetic"] = num(mean_of(y));
    }
    if (asks("prompt_match")) pr["prompt_match_synthetic"] = prompt_match_json(mine, o.level)["synthetic"];
    std::vector<double> secs;
    for (const auto& r : mine)
      if (r.answer->time_ms >= 0) secs.push_back(r.answer->time_ms / 1000.0);
    pr["median_seconds"] = secs.empty() ? ojson(nullptr) : num(st::quantile_linear(secs, 0.5));
    per.push_back(pr);
  }
  j["per_reader"] = per;
  return j;
}

bool complete_answer(const Study& s, const KeyImage& img, const Answer& a) {
  for (const auto& q : s.questions) {
    if (q == "realism" && a.realism == 0) return false;
    if (q == "real_or_synthetic" && a.real_or_synthetic.empty()) return false;
    if (q == "prompt_match" && a.prompt_match.empty() && !img.prompt.empty()) return false;
  }
  return true;
}

}  // namespace

ojson analyze_study(const Study& study, const std::vector<ReaderRatings>& ratings, const AnalysisOptions& o) {
  if (!(o.level > 0 && o.level < 1)) throw InputError("level must be between 0 and 1 (exclusive)");
  if (o.bootstrap < 1) throw InputError("bootstrap must be >= 1");
  if (ratings.empty()) throw InputError("no ratings");
  std::vector<std::string> modalities;
  for (const auto& img : study.images)
    if (std::find(modalities.begin(), modalities.end(), img.modality) == modalities.end()) modalities.push_back(img.modality);
  std::sort(modalities.begin(), modalities.end());

  GroupData all;
  std::map<std::string, GroupData> by_mod;
  for (const auto& img : study.images) {
    all.images.push_back(&img);
    by_mod[img.modality].images.push_back(&img);
  }
  ojson readers = ojson::array();
  for (std::size_t k = 0; k < ratings.size(); ++k) {
    long long complete = 0;
    for (const auto& a : ratings[k].answers) {
      const KeyImage* img = study.find(a.image_id);
      all.ratings.push_back({k, img, &a});
      by_mod[img->modality].ratings.push_back({k, img, &a});
      complete += complete_answer(study, *img, a);
    }
    readers.push_back({{"name", ratings[k].reader}, {"file", ratings[k].file.filename().string()},
                       {"answered", ratings[k].answers.size()}, {"complete", complete},
                       {"n_images", study.images.size()},
                       {"partial", complete < static_cast<long long>(study.images.size())}});
  }
  ojson j;
  j["format"] = "medsynbench-reader-study-results/1";
  j["study"] = study.hash;
  j["title"] = study.study_json["design"].value("title", "Reader study");
  j["questions"] = study.questions;
  j["level"] = o.level;
  j["bootstrap"] = o.bootstrap;
  j["seed"] = o.seed;
  j["readers"] = readers;
  j["modalities"] = modalities;
  j["overall"] = group_json(all, study, ratings, o);
  ojson per_mod = ojson::object();
  for (const auto& m : modalities) per_mod[m] = group_json(by_mod[m], study, ratings, o);
  j["by_modality"] = per_mod;
  return j;
}

namespace {
std::string fmt(const ojson& v, int digits = 3) {
  if (!v.is_number()) return "-";
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(digits);
  os << v.get<double>();
  return os.str();
}
std::string fmt_est(const ojson& e, int digits = 3) {
  if (!e.is_object() || !e["value"].is_number()) return e.is_object() && e.contains("note") ? "null (" + e["note"].get<std::string>() + ")" : "-";
  std::string s = fmt(e["value"], digits);
  if (e["ci_low"].is_number()) s += " [" + fmt(e["ci_low"], digits) + ", " + fmt(e["ci_high"], digits) + "]";
  return s;
}
}  // namespace

std::string summary_text(const ojson& a) {
  std::ostringstream os;
  const int pct = static_cast<int>(std::lround(a.value("level", 0.95) * 100));
  os << a.value("title", "Reader study") << " (" << a["study"].get<std::string>() << "), intervals " << pct << "%\n";
  for (const auto& r : a["readers"])
    os << "  reader " << r["name"].get<std::string>() << ": " << r["complete"] << " / " << r["n_images"] << " images complete"
       << (r["partial"].get<bool>() ? " (partial)" : "") << "\n";
  auto group = [&](const std::string& name, const ojson& g) {
    os << name << " (" << g["n_images"] << " images: " << g["n_real"] << " real, " << g["n_synthetic"] << " synthetic)\n";
    if (g.contains("real_or_synthetic")) {
      const auto& rs = g["real_or_synthetic"];
      os << "  accuracy " << fmt_est(rs["accuracy"]) << ", binomial p vs 0.5 = " << fmt(rs["binomial_p"], 4)
         << "; sensitivity " << fmt_est(rs["sensitivity"]) << ", specificity " << fmt_est(rs["specificity"])
         << "; synthetic judged real " << fmt_est(rs["synthetic_judged_real"]) << "\n";
    }
    if (g.contains("realism")) {
      const auto& re = g["realism"];
      os << "  realism median real " << fmt(re["median_real"], 1) << ", synthetic " << fmt(re["median_synthetic"], 1)
         << "; mean difference (syn - real) " << fmt_est(re["difference"]);
      if (re["mann_whitney"].is_object()) os << "; Mann-Whitney p = " << fmt(re["mann_whitney"]["p"], 4);
      os << "\n";
    }
    if (g.contains("prompt_match")) os << "  prompt match (synthetic) " << fmt_est(g["prompt_match"]["synthetic"]) << "\n";
    for (const auto& [q, ag] : g["agreement"].items()) {
      if (ag.contains("kappa")) os << "  agreement " << q << ": " << (ag["method"].is_string() ? ag["method"].get<std::string>() + " kappa " : "kappa ") << fmt_est(ag["kappa"]) << "\n";
      if (ag.contains("alpha")) os << "  agreement " << q << ": Krippendorff's alpha (ordinal) " << fmt_est(ag["alpha"]) << "\n";
    }
  };
  group("overall", a["overall"]);
  for (const auto& [m, g] : a["by_modality"].items()) group(m, g);
  return os.str();
}

}  // namespace medsyn::readerstudy
