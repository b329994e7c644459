// Prompt adherence: the Classification Accuracy Score and its reverse (see adherence.h). Data
// loading of the real splits is the downstream experiments' (experiment_internal.h); the
// classifier is classifier.h's; AUROC, DeLong and the t interval are stats/'s.
#include "medsyn/downstream/adherence.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <optional>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "experiment_internal.h"
#include "medsyn/core/error.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/image.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/core/progress.h"
#include "medsyn/core/provenance.h"
#include "medsyn/core/text_encoding.h"
#include "medsyn/stats/auc.h"
#include "medsyn/stats/classification.h"
#include "medsyn/stats/intervals.h"
#include "medsyn/stats/random.h"

namespace fs = std::filesystem;

namespace medsyn::downstream {

std::string normalise_adherence_prompt(const std::string& s) {
  return normalise_prompt_text(s);  // core/text_encoding.h: one normal form
}

void validate(const AdherenceOptions& o) {
  if (o.real_dir.empty()) throw InputError("--real: a dataset folder is required");
  if (o.synthetic_dir.empty()) throw InputError("--synthetic: a dataset folder is required");
  if (o.seeds < 1 || o.seeds > 100000) throw InputError("--seeds must be in [1, 100000]");
  if (!(o.ci_level > 0.0 && o.ci_level < 1.0)) throw InputError("--ci-level must be in (0, 1)");
  if (o.jobs < 0) throw InputError("--jobs must be >= 0");
  if (o.label_field.empty()) throw InputError("--label-field must not be empty");
  validate(o.classifier);
}

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The class index of a label key (-1: not a class of the real data), as load_data's class_of.
int class_index(const detail::LoadedData& d, const detail::LabelKey& key) {
  if (d.int_labels && key.is_int) {
    for (int c = 0; c < d.num_classes; ++c)
      if (d.summary.classes[static_cast<std::size_t>(c)] == key.value) return c;
  }
  const std::string name = key.is_int ? std::to_string(key.value) : key.name;
  for (int c = 0; c < d.num_classes; ++c)
    if (d.summary.class_names[static_cast<std::size_t>(c)] == name) return c;
  return -1;
}

std::string class_list(const detail::LoadedData& d) {
  std::string list;
  for (int c = 0; c < d.num_classes; ++c) {
    list += (c ? ", " : "");
    list += d.int_labels ? std::to_string(d.summary.classes[static_cast<std::size_t>(c)]) + " (" +
                               d.summary.class_names[static_cast<std::size_t>(c)] + ")"
                         : d.summary.class_names[static_cast<std::size_t>(c)];
  }
  return list;
}

// Normalised prompt -> class, from the real training records of the modality; a prompt shared by
// records of several classes maps to -2 (ambiguous).
std::map<std::string, int> prompt_classes(const AdherenceOptions& o, const detail::LoadedData& d) {
  const Dataset real = load_dataset(o.real_dir);
  std::map<std::string, int> out;
  for (const Record& r : real.records) {
    if (r.modality != d.summary.modality || r.split != "train" || r.prompt.empty()) continue;
    const auto key = detail::label_key(r, o.label_field);  // load_data checked every train record
    if (!key) continue;
    const int c = class_index(d, *key);
    const std::string p = normalise_adherence_prompt(r.prompt);
    auto [it, fresh] = out.emplace(p, c);
    if (!fresh && it->second != c) it->second = -2;
  }
  return out;
}

// The synthetic images with an intended class, in manifest order, converted to the real shape.
struct SyntheticSet {
  ImageSet images;
  std::vector<std::string> paths, prompts;
  LabelSources sources;
  std::size_t converted = 0;
  std::string manifest_sha256;
};

SyntheticSet load_synthetic(const AdherenceOptions& o, const detail::LoadedData& d) {
  SyntheticSet s;
  s.images.channels = d.train.channels;
  s.images.height = d.train.height;
  s.images.width = d.train.width;
  const std::string manifest = detail::manifest_file_name(o.synthetic_dir);
  const Dataset syn = load_dataset(o.synthetic_dir);
  const auto by_prompt = prompt_classes(o, d);
  std::set<std::string> modalities;
  std::vector<std::pair<std::size_t, int>> use;  // record index, class
  for (std::size_t i = 0; i < syn.records.size(); ++i) {
    const Record& r = syn.records[i];
    modalities.insert(r.modality);
    if (r.modality != d.summary.modality) continue;
    ++s.sources.records;
    if (r.split == "val" || r.split == "test") {
      ++s.sources.split_excluded;
      continue;
    }
    const std::string where = detail::record_where(manifest, i, r);
    int from_prompt = -1;
    if (const auto it = by_prompt.find(normalise_adherence_prompt(r.prompt)); !r.prompt.empty() && it != by_prompt.end()) {
      from_prompt = it->second;
      if (from_prompt == -2) ++s.sources.ambiguous_prompt;
    }
    std::optional<detail::LabelKey> key;
    try {
      key = detail::label_key(r, o.label_field);
    } catch (const InputError& e) {
      throw InputError(where + ": " + e.what());
    }
    int from_label = -1;
    if (key) {
      from_label = class_index(d, *key);
      if (from_label < 0)
        throw InputError(where + ": field '" + o.label_field + "' value '" +
                         (key->is_int ? std::to_string(key->value) : key->name) +
                         "' is not a class of the real data (classes: " + class_list(d) + ")");
    }
    if (from_prompt >= 0) {
      ++s.sources.by_prompt;
      if (from_label >= 0 && from_label != from_prompt) ++s.sources.conflicts;
      use.push_back({i, from_prompt});
    } else if (from_label >= 0) {
      ++s.sources.by_label;
      use.push_back({i, from_label});
    } else {
      ++s.sources.no_label;
    }
  }
  if (s.sources.records == 0) {
    std::string list;
    for (const auto& m : modalities) list += (list.empty() ? "" : ", ") + m;
    throw InputError(at_file(manifest, "no records with modality '" + d.summary.modality + "' (modalities present: " +
                                           (list.empty() ? "none" : list) + ")"));
  }
  Progress progress("adherence: reading synthetic images", static_cast<std::int64_t>(use.size()), "images");
  for (const auto& [i, cls] : use) {
    const Record& r = syn.records[i];
    Image img = read_image(syn.image_path(r));
    bool converted = false;
    if (img.channels != s.images.channels) {
      img = to_channels(img, s.images.channels);
      converted = true;
    }
    if (img.height != s.images.height || img.width != s.images.width) {
      img = resize(img, s.images.height, s.images.width, ResizeFilter::area, true);
      converted = true;
    }
    s.converted += converted ? 1 : 0;
    s.images.pixels.insert(s.images.pixels.end(), img.data.begin(), img.data.end());
    s.images.labels.push_back(cls);
    s.paths.push_back(r.path);
    s.prompts.push_back(r.prompt);
    progress.advance();
  }
  progress.finish();
  s.manifest_sha256 = manifest_hash(o.synthetic_dir);
  return s;
}

// Mean over seeds with its t interval, clipped to [0, 1] (every score here lies in it), with the
// estimand; a reason when there is no interval.
Estimate over_seeds(const std::vector<double>& x, double level, const std::string& estimand) {
  Estimate e = stats::t_interval_mean(x, level);
  if (e.has_ci()) {
    e.ci_low = std::clamp(e.ci_low, 0.0, 1.0);
    e.ci_high = std::clamp(e.ci_high, 0.0, 1.0);
  }
  if (e.has_value() && x.size() < 2) e.note = "one seed: no interval over seeds";
  e.estimand = estimand;
  return e;
}

Estimate delong_estimate(const std::vector<int>& y, const std::vector<double>& scores, double level,
                         const std::string& estimand) {
  const stats::AucCi ci = stats::auc_delong_ci(y, scores, level);
  Estimate e;
  e.value = ci.auc;
  e.n = static_cast<long long>(y.size());
  e.ci_level = level;
  e.estimand = estimand;
  if (std::isfinite(ci.ci_low) && std::isfinite(ci.ci_high) && std::isfinite(ci.se)) {
    e.ci_low = ci.ci_low;
    e.ci_high = ci.ci_high;
    e.se = ci.se;
    e.ci_method = "delong";
  } else {
    std::string why;
    for (const auto& w : ci.warnings) why += (why.empty() ? "" : "; ") + w;
    e.note = "no DeLong interval: " + (why.empty() ? std::string("variance undefined") : why);
  }
  return e;
}

struct Direction {
  std::string train_desc, test_desc;  // for estimands
};

// Scores of one direction from the per-seed probabilities (n x K each) on `labels`.
AdherenceScores score(const std::vector<int>& labels, std::vector<std::vector<double>> seed_probs,
                      const detail::LoadedData& d, double level, const Direction& dir) {
  AdherenceScores s;
  s.computed = true;
  const std::size_t n = labels.size(), k = static_cast<std::size_t>(d.num_classes);
  s.n = n;
  s.labels = labels;
  std::vector<std::size_t> count(k, 0);
  for (const int l : labels) ++count[static_cast<std::size_t>(l)];
  std::size_t present = 0;
  for (const auto c : count) present += c > 0 ? 1 : 0;
  const std::string of = " of " + dir.train_desc + " classifiers on " + dir.test_desc;
  std::string one_class_note;
  if (present < 2) {
    std::string only;
    for (std::size_t c = 0; c < k; ++c)
      if (count[c]) only = d.summary.class_names[c];
    one_class_note = "AUROC needs test images of two or more classes (only '" + only + "')";
  }
  // Per seed.
  std::vector<std::vector<double>> recall(k);
  for (const auto& p : seed_probs) {
    const std::vector<int> pred = stats::argmax_rows(p, k);
    s.seed_accuracy.push_back(stats::accuracy(labels, pred));
    s.seed_auroc.push_back(present < 2 ? kNaN : selection_auroc(labels, p, d.num_classes));
    std::vector<double> hit(k, 0.0);
    for (std::size_t i = 0; i < n; ++i)
      if (pred[i] == labels[i]) hit[static_cast<std::size_t>(labels[i])] += 1;
    for (std::size_t c = 0; c < k; ++c)
      if (count[c]) recall[c].push_back(hit[c] / static_cast<double>(count[c]));
  }
  std::vector<double> bal;
  for (const auto& p : seed_probs) bal.push_back(stats::balanced_accuracy(labels, stats::argmax_rows(p, k)));
  s.accuracy = over_seeds(s.seed_accuracy, level, "mean over classifier seeds of the accuracy" + of + " (fixed image set)");
  s.balanced_accuracy =
      over_seeds(bal, level, "mean over classifier seeds of the balanced accuracy" + of + " (fixed image set)");
  if (present < 2) {
    s.auroc = Estimate::null_because(one_class_note, static_cast<long long>(n));
  } else {
    s.auroc = over_seeds(s.seed_auroc, level,
                         std::string("mean over classifier seeds of the ") + (k == 2 ? "AUROC" : "macro one-vs-rest AUROC") +
                             of + " (fixed image set)");
  }
  for (auto* e : {&s.accuracy, &s.balanced_accuracy, &s.auroc}) e->n = static_cast<long long>(n);
  // The seed ensemble.
  s.ensemble_probs.assign(n * k, 0.0);
  for (const auto& p : seed_probs)
    for (std::size_t i = 0; i < n * k; ++i) s.ensemble_probs[i] += p[i] / static_cast<double>(seed_probs.size());
  const std::string ens = "AUROC of the seed-ensemble " + dir.train_desc + " classifier (probabilities averaged over seeds) on " +
                          dir.test_desc + "; DeLong interval over test images";
  if (k != 2) {
    s.auroc_delong = Estimate::null_because("DeLong interval for binary tasks only (" + std::to_string(k) +
                                                " classes); the per-class one-vs-rest AUROCs carry theirs",
                                            static_cast<long long>(n));
  } else if (present < 2) {
    s.auroc_delong = Estimate::null_because(one_class_note, static_cast<long long>(n));
  } else {
    std::vector<double> p1(n);
    for (std::size_t i = 0; i < n; ++i) p1[i] = s.ensemble_probs[i * 2 + 1];
    s.auroc_delong = delong_estimate(labels, p1, level, ens);
  }
  // Per class.
  double worst = std::numeric_limits<double>::infinity();
  for (std::size_t c = 0; c < k; ++c) {
    ClassAdherence ca;
    ca.label = d.summary.classes[c];
    ca.name = d.summary.class_names[c];
    ca.n = count[c];
    if (count[c] == 0) {
      ca.accuracy = Estimate::null_because("no test images of this class");
      ca.auroc = Estimate::null_because("no test images of this class");
    } else {
      ca.accuracy = over_seeds(recall[c], level,
                               "mean over classifier seeds of the fraction of images of this class" + of +
                                   " assigned to it (recall)");
      ca.accuracy.n = static_cast<long long>(count[c]);
      if (count[c] == n) {
        ca.auroc = Estimate::null_because(one_class_note, static_cast<long long>(n));
      } else {
        std::vector<int> y(n);
        std::vector<double> sc(n);
        for (std::size_t i = 0; i < n; ++i) {
          y[i] = labels[i] == static_cast<int>(c) ? 1 : 0;
          sc[i] = s.ensemble_probs[i * k + c];
        }
        ca.auroc = delong_estimate(y, sc, level, "one-vs-rest " + ens);
      }
      if (ca.accuracy.has_value() && ca.accuracy.value < worst) {
        worst = ca.accuracy.value;
        s.worst_class = static_cast<int>(c);
      }
    }
    s.classes.push_back(std::move(ca));
  }
  s.seed_probs = std::move(seed_probs);
  return s;
}

// Every estimate of a direction null with the reason (nothing to train or test on).
AdherenceScores not_computed(const std::string& reason, const detail::LoadedData& d) {
  AdherenceScores s;
  for (auto* e : {&s.accuracy, &s.balanced_accuracy, &s.auroc, &s.auroc_delong}) *e = Estimate::null_because(reason);
  for (int c = 0; c < d.num_classes; ++c) {
    ClassAdherence ca;
    ca.label = d.summary.classes[static_cast<std::size_t>(c)];
    ca.name = d.summary.class_names[static_cast<std::size_t>(c)];
    ca.accuracy = ca.auroc = Estimate::null_because(reason);
    s.classes.push_back(std::move(ca));
  }
  return s;
}

TrainingMix whole(const ImageSet& set) {
  TrainingMix m;
  for (std::size_t i = 0; i < set.size(); ++i) {
    m.images.push_back(set.image(i));
    m.labels.push_back(set.labels[i]);
  }
  return m;
}

void append(ImageSet& dst, const ImageSet& src) {
  dst.pixels.insert(dst.pixels.end(), src.pixels.begin(), src.pixels.end());
  dst.labels.insert(dst.labels.end(), src.labels.begin(), src.labels.end());
}

}  // namespace

AdherenceResult run_adherence(const AdherenceOptions& o) {
  validate(o);
  const auto t0 = std::chrono::steady_clock::now();
  AdherenceResult res;
  res.started = utc_now_iso8601();
  DownstreamOptions dopt;
  dopt.real_dir = o.real_dir;
  dopt.modality = o.modality;
  dopt.label_field = o.label_field;
  const detail::LoadedData d = detail::load_data(dopt, false);
  res.data = d.summary;
  SyntheticSet syn = load_synthetic(o, d);
  res.sources = syn.sources;
  res.data.n_synthetic = syn.images.size();
  res.data.n_synthetic_excluded = syn.sources.split_excluded;
  res.data.synthetic_resized = syn.converted;
  res.data.synthetic_manifest_sha256 = syn.manifest_sha256;
  const int k = d.num_classes;
  const auto& src = syn.sources;
  if (src.split_excluded) res.notes.push_back(std::to_string(src.split_excluded) + " synthetic records of split val/test were not used");
  if (src.no_label)
    res.notes.push_back(std::to_string(src.no_label) + " of " + std::to_string(src.records) +
                        " synthetic images excluded: their prompt names no class of the real training records" +
                        (src.ambiguous_prompt ? " (" + std::to_string(src.ambiguous_prompt) + " with a prompt shared by several classes)" : "") +
                        " and they carry no '" + o.label_field + "'");
  if (src.by_label)
    res.notes.push_back(std::to_string(src.by_label) + " synthetic images took their class from field '" + o.label_field +
                        "' (their prompt names none)");
  if (src.conflicts)
    res.notes.push_back(std::to_string(src.conflicts) + " synthetic images carry a '" + o.label_field +
                        "' other than the class their prompt names (the prompt's class is used)");
  if (syn.converted)
    res.notes.push_back(std::to_string(syn.converted) +
                        " synthetic images were converted to the real images' shape (channels: ITU-R 601 luma / "
                        "replication; size: area filter with antialiasing)");
  std::vector<std::size_t> syn_count(static_cast<std::size_t>(k), 0);
  for (const int l : syn.images.labels) ++syn_count[static_cast<std::size_t>(l)];
  int syn_classes = 0;
  for (const auto c : syn_count) syn_classes += c > 0 ? 1 : 0;
  const bool do_reverse = o.reverse && syn_classes >= 2;
  if (o.reverse && syn_classes >= 2)
    for (int c = 0; c < k; ++c)
      if (!syn_count[static_cast<std::size_t>(c)])
        res.notes.push_back("reverse: no synthetic image of class '" + d.summary.class_names[static_cast<std::size_t>(c)] +
                            "': the synthetic-trained classifier never sees it");

  // Test set of the real-trained models: the synthetic images, then the real test split.
  ImageSet cas_test;
  cas_test.channels = d.train.channels;
  cas_test.height = d.train.height;
  cas_test.width = d.train.width;
  append(cas_test, syn.images);
  append(cas_test, d.test);
  const TrainingMix real_mix = whole(d.train);
  const TrainingMix syn_mix = whole(syn.images);

  struct Job {
    int seed;
    bool reverse;
  };
  std::vector<Job> jobs;
  for (int s = 0; s < o.seeds; ++s) jobs.push_back({s, false});
  if (do_reverse)
    for (int s = 0; s < o.seeds; ++s) jobs.push_back({s, true});
  const bool on_cpu = o.classifier.device == "cpu";
  int n_workers = o.jobs > 0 ? o.jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (!on_cpu) n_workers = 1;
  n_workers = std::max(1, std::min<int>(n_workers, static_cast<int>(jobs.size())));
  res.jobs = n_workers;
  init_classifier_runtime();
  log_info("adherence: " + std::to_string(jobs.size()) + " models (" + std::to_string(o.seeds) + " seeds" +
           (do_reverse ? ", CAS and reverse" : ", CAS") + "), " + std::to_string(n_workers) + " in parallel on " +
           o.classifier.device);
  std::vector<std::vector<double>> probs(jobs.size());
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mutex;
  std::exception_ptr failure;
  Progress progress("adherence: training", static_cast<std::int64_t>(jobs.size()), "models");
  auto worker = [&] {
    for (;;) {
      if (failed.load()) return;
      const std::size_t j = next.fetch_add(1);
      if (j >= jobs.size()) return;
      try {
        // Per seed one training seed per direction (the CAS models are the same for every
        // synthetic set of this real data and seed base: CAS differences between models are paired).
        const std::uint64_t seed = stats::derive_seed(stats::derive_seed(o.seed_base, static_cast<std::uint64_t>(jobs[j].seed)),
                                                      jobs[j].reverse ? 2 : 1);
        ClassifierRun run = jobs[j].reverse ? train_classifier(syn_mix, d.val, d.test, k, o.classifier, seed)
                                            : train_classifier(real_mix, d.val, cas_test, k, o.classifier, seed);
        probs[j] = std::move(run.test_probs);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!failure) failure = std::current_exception();
        failed = true;
        return;
      }
      std::lock_guard<std::mutex> lock(mutex);
      progress.advance();
    }
  };
  std::vector<std::thread> threads;
  for (int t = 1; t < n_workers; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  progress.finish();
  if (failure) std::rethrow_exception(failure);

  const double level = o.ci_level;
  const std::size_t kk = static_cast<std::size_t>(k), ns = syn.images.size(), nt = d.test.size();
  std::vector<std::vector<double>> cas_probs, real_probs, rev_probs;
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    const auto& p = probs[j];
    if (jobs[j].reverse) {
      rev_probs.push_back(p);
    } else {
      cas_probs.emplace_back(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(ns * kk));
      real_probs.emplace_back(p.begin() + static_cast<std::ptrdiff_t>(ns * kk), p.end());
    }
  }
  const Direction real_trained{"real-trained", "the real test split"};
  if (ns == 0) {
    res.cas = not_computed("no synthetic image's prompt names a class of the real data (" + std::to_string(src.records) +
                               " records of the modality, " + std::to_string(src.no_label) + " without a class, " +
                               std::to_string(src.split_excluded) + " of split val/test)",
                           d);
  } else {
    res.cas = score(syn.images.labels, std::move(cas_probs),
                    d, level, {"real-trained", "this model's synthetic images, against the classes their prompts name"});
    res.cas.paths = syn.paths;
  }
  res.cas.n_train = d.train.size();
  res.real = score(d.test.labels, std::move(real_probs), d, level, real_trained);
  res.real.paths = d.test_paths;
  res.real.n_train = d.train.size();
  if (do_reverse) {
    res.reverse = score(d.test.labels, std::move(rev_probs), d, level, {"synthetic-trained", "the real test split"});
    res.reverse.paths = d.test_paths;
    res.reverse.n_train = ns;
  } else {
    res.reverse = not_computed(!o.reverse ? "reverse CAS not requested"
                                          : "reverse CAS needs synthetic images of two or more classes (" +
                                                std::to_string(syn_classes) + " with an intended class)",
                               d);
    res.reverse.n_train = ns;
  }
  (void)nt;
  res.finished = utc_now_iso8601();
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!o.out_dir.empty()) write_adherence_outputs(o, res);
  return res;
}

}  // namespace medsyn::downstream
