// Data-limited downstream experiments (see experiment.h): data loading, the run schedule, metrics,
// summaries and comparisons. Output files are written by report.cpp.
#include "medsyn/downstream/experiment.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "medsyn/core/error.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/core/progress.h"
#include "medsyn/core/provenance.h"
#include "medsyn/downstream/mix.h"
#include "medsyn/stats/adjust.h"
#include "medsyn/stats/classification.h"
#include "medsyn/stats/intervals.h"
#include "medsyn/stats/random.h"
#include "experiment_internal.h"

namespace fs = std::filesystem;

namespace medsyn::downstream {

std::vector<std::string> all_arms() { return {kArmReal, kArmRealSyn, kArmSyn, kArmTwiceReal}; }

Control parse_control(const std::string& name) {
  if (name == "none" || name.empty()) return Control::none;
  if (name == "positive") return Control::positive;
  if (name == "negative") return Control::negative;
  throw InputError("--control '" + name + "': expected none, positive or negative");
}

std::string to_string(Control c) {
  switch (c) {
    case Control::positive: return "positive";
    case Control::negative: return "negative";
    default: return "none";
  }
}

std::vector<double> parse_fraction_list(const std::string& text, const std::string& option) {
  std::vector<double> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const auto b = item.find_first_not_of(" \t");
    const auto e = item.find_last_not_of(" \t");
    item = b == std::string::npos ? "" : item.substr(b, e - b + 1);
    char* end = nullptr;
    const double v = std::strtod(item.c_str(), &end);
    if (item.empty() || end != item.c_str() + item.size() || !std::isfinite(v))
      throw InputError(option + ": '" + item + "' is not a number");
    out.push_back(v);
  }
  if (out.empty()) throw InputError(option + ": no values");
  return out;
}

std::vector<std::string> parse_arm_list(const std::string& text, const std::string& option) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const auto b = item.find_first_not_of(" \t");
    const auto e = item.find_last_not_of(" \t");
    out.push_back(b == std::string::npos ? "" : item.substr(b, e - b + 1));
  }
  if (out.empty()) throw InputError(option + ": no arms");
  return out;
}

void validate(const DownstreamOptions& o) {
  if (o.fractions.empty()) throw InputError("--fractions: no values");
  std::set<double> seen_f;
  for (const double f : o.fractions) {
    if (!(f > 0.0 && f <= 1.0)) {
      std::ostringstream os;
      os << "--fractions: " << f << " is outside (0, 1]";
      throw InputError(os.str());
    }
    if (!seen_f.insert(f).second) {
      std::ostringstream os;
      os << "--fractions: " << f << " is given twice";
      throw InputError(os.str());
    }
  }
  if (o.arms.empty()) throw InputError("--arms: no arms");
  const auto known = all_arms();
  std::set<std::string> seen_a;
  for (const auto& a : o.arms) {
    if (std::find(known.begin(), known.end(), a) == known.end())
      throw InputError("--arms: unknown arm '" + a + "' (known: real, real+syn, syn, 2xreal)");
    if (!seen_a.insert(a).second) throw InputError("--arms: '" + a + "' is given twice");
  }
  if (!(o.synthetic_ratio > 0.0) || !std::isfinite(o.synthetic_ratio))
    throw InputError("--synthetic-ratio must be a positive number");
  if (o.seeds < 1 || o.seeds > 100000) throw InputError("--seeds must be in [1, 100000]");
  (void)stats::parse_adjust_method(o.adjust);
  if (o.test != "t" && o.test != "wilcoxon") throw InputError("--test '" + o.test + "': expected t or wilcoxon");
  if (!(o.alpha > 0.0 && o.alpha < 1.0)) throw InputError("--alpha must be in (0, 1)");
  if (o.jobs < 0) throw InputError("--jobs must be >= 0");
  if (o.real_dir.empty()) throw InputError("--real: a dataset folder is required");
  const bool needs_syn = seen_a.count(kArmRealSyn) || seen_a.count(kArmSyn);
  if (o.control != Control::none && !o.synthetic_dir.empty())
    throw InputError("--control " + to_string(o.control) + " builds its own synthetic pool; do not also give --synthetic");
  if (needs_syn && o.control == Control::none && o.synthetic_dir.empty())
    throw InputError("--synthetic: a dataset folder is required for the arms real+syn and syn (or use --arms real,2xreal)");
  validate(o.classifier);
}

namespace detail {

std::string manifest_file_name(const fs::path& dir) {
  return fs::is_directory(dir) ? (dir / "manifest.jsonl").string() : dir.string();
}

std::optional<LabelKey> label_key(const Record& r, const std::string& field) {
  if (field == "label") {
    if (r.label) return LabelKey{true, *r.label, r.label_name};
    // A string label is kept in label_name by the manifest reader (when there was no label_name,
    // a string label cannot be told apart from label_name; both name the class).
    if (!r.label_name.empty()) return LabelKey{false, 0, r.label_name};
    return std::nullopt;
  }
  const json extra = json::parse(r.extra_json);
  const auto it = extra.find(field);
  if (it == extra.end() || it->is_null()) return std::nullopt;
  if (it->is_number_integer()) return LabelKey{true, it->get<long>(), ""};
  if (it->is_string()) {
    const std::string s = it->get<std::string>();
    char* end = nullptr;
    const long v = std::strtol(s.c_str(), &end, 10);
    if (!s.empty() && end == s.c_str() + s.size()) return LabelKey{true, v, ""};
    return LabelKey{false, 0, s};
  }
  throw InputError("field '" + field + "' must be an integer or a string");
}

std::string record_where(const std::string& manifest, std::size_t index, const Record& r) {
  return manifest + ": record " + std::to_string(index + 1) + " (path '" + r.path + "')";
}

LoadedData load_data(const DownstreamOptions& o, bool need_synthetic) {
  LoadedData d;
  const std::string real_manifest = manifest_file_name(o.real_dir);
  const Dataset real = load_dataset(o.real_dir);
  d.real_root = real.root;
  // Modality.
  std::string modality = o.modality;
  const auto mods = real.modalities();
  if (modality.empty()) {
    if (mods.size() != 1) {
      std::string list;
      for (const auto& m : mods) list += (list.empty() ? "" : ", ") + m;
      throw InputError(at_file(real_manifest, "has " + std::to_string(mods.size()) +
                                                  " modalities (" + list + "); choose one with --modality"));
    }
    modality = mods.front();
  } else if (std::find(mods.begin(), mods.end(), modality) == mods.end()) {
    throw InputError(at_file(real_manifest, "no records with modality '" + modality + "'"));
  }
  d.summary.modality = modality;

  // Labels of the real records (train/val/test).
  struct Pending {
    const Record* r;
    std::size_t index;
    LabelKey key;
  };
  std::map<std::string, std::vector<Pending>> by_split;
  for (std::size_t i = 0; i < real.records.size(); ++i) {
    const Record& r = real.records[i];
    if (r.modality != modality) continue;
    if (r.split != "train" && r.split != "val" && r.split != "test") continue;
    std::optional<LabelKey> key;
    try {
      key = label_key(r, o.label_field);
    } catch (const InputError& e) {
      throw InputError(record_where(real_manifest, i, r) + ": " + e.what());
    }
    if (!key)
      throw InputError(record_where(real_manifest, i, r) + ": field '" + o.label_field +
                       "' is missing; every real image needs a class label (--label-field)");
    by_split[r.split].push_back({&r, i, *key});
  }
  for (const char* s : {"train", "val", "test"})
    if (by_split[s].empty())
      throw InputError(at_file(real_manifest, std::string("no records with split '") + s + "' for modality '" +
                                                  modality + "' (the experiment needs train, val and test splits)"));

  // Classes: all-integer keys -> sorted integers; otherwise sorted names.
  bool all_int = true;
  for (const auto& [s, v] : by_split)
    for (const auto& p : v) all_int = all_int && p.key.is_int;
  std::map<long, std::string> int_classes;
  std::map<std::string, int> name_to_class;
  std::set<std::string> str_classes;
  for (const auto& [s, v] : by_split)
    for (const auto& p : v) {
      if (all_int) {
        auto& nm = int_classes[p.key.value];
        if (nm.empty()) nm = p.key.name;
      } else {
        str_classes.insert(p.key.is_int ? std::to_string(p.key.value) : p.key.name);
      }
    }
  if (all_int) {
    for (const auto& [v, nm] : int_classes) {
      d.summary.classes.push_back(v);
      d.summary.class_names.push_back(nm.empty() ? std::to_string(v) : nm);
    }
  } else {
    long i = 0;
    for (const auto& s : str_classes) {
      d.summary.classes.push_back(i++);
      d.summary.class_names.push_back(s);
    }
  }
  const int k = static_cast<int>(d.summary.classes.size());
  if (k < 2) throw InputError(at_file(real_manifest, "only one class in field '" + o.label_field + "'; a classifier needs two or more"));
  for (int c = 0; c < k; ++c) name_to_class.emplace(d.summary.class_names[static_cast<std::size_t>(c)], c);
  d.num_classes = k;
  d.int_labels = all_int;
  auto class_of = [&](const LabelKey& key, const std::string& where) -> int {
    if (all_int && key.is_int) {
      for (int c = 0; c < k; ++c)
        if (d.summary.classes[static_cast<std::size_t>(c)] == key.value) return c;
    }
    const std::string name = key.is_int ? std::to_string(key.value) : key.name;
    if (const auto it = name_to_class.find(name); it != name_to_class.end()) return it->second;
    std::string list;
    for (int c = 0; c < k; ++c) {
      list += (c ? ", " : "");
      list += all_int ? std::to_string(d.summary.classes[static_cast<std::size_t>(c)]) + " (" +
                            d.summary.class_names[static_cast<std::size_t>(c)] + ")"
                      : d.summary.class_names[static_cast<std::size_t>(c)];
    }
    throw InputError(where + ": field '" + o.label_field + "' value '" + name +
                     "' is not a class of the real data (classes: " + list + ")");
  };

  // Real images.
  std::size_t total_real = 0;
  for (const auto& [s, v] : by_split) total_real += v.size();
  Progress progress("downstream: reading real images", static_cast<std::int64_t>(total_real), "images");
  auto load_split = [&](const std::string& split, ImageSet& set, std::vector<std::string>& paths) {
    for (const auto& p : by_split[split]) {
      const fs::path file = real.image_path(*p.r);
      const Image img = read_image(file);
      if (set.channels == 0) {
        set.channels = img.channels;
        set.height = img.height;
        set.width = img.width;
      }
      if (img.channels != set.channels || img.height != set.height || img.width != set.width)
        throw InputError(at_file(file.string(), "is " + std::to_string(img.channels) + "x" + std::to_string(img.height) +
                                                    "x" + std::to_string(img.width) + " (CxHxW); the real images must all be " +
                                                    std::to_string(set.channels) + "x" + std::to_string(set.height) + "x" +
                                                    std::to_string(set.width)));
      set.pixels.insert(set.pixels.end(), img.data.begin(), img.data.end());
      set.labels.push_back(class_of(p.key, record_where(real_manifest, p.index, *p.r)));
      paths.push_back(p.r->path);
      progress.advance();
    }
  };
  load_split("train", d.train, d.train_paths);
  d.val.channels = d.test.channels = d.train.channels;
  d.val.height = d.test.height = d.train.height;
  d.val.width = d.test.width = d.train.width;
  load_split("val", d.val, d.val_paths);
  load_split("test", d.test, d.test_paths);
  progress.finish();
  d.summary.channels = d.train.channels;
  d.summary.height = d.train.height;
  d.summary.width = d.train.width;
  d.summary.real_manifest_sha256 = manifest_hash(o.real_dir);
  {
    std::set<int> val_classes(d.val.labels.begin(), d.val.labels.end());
    if (val_classes.size() < 2)
      throw InputError(at_file(real_manifest, "the val split has a single class; model selection needs two or more"));
    std::set<int> test_classes(d.test.labels.begin(), d.test.labels.end());
    if (static_cast<int>(test_classes.size()) < k)
      throw InputError(at_file(real_manifest, "the test split lacks " + std::to_string(k - static_cast<int>(test_classes.size())) +
                                                  " of the " + std::to_string(k) + " classes; test AUROC needs every class"));
  }

  // Synthetic pool.
  d.syn.channels = d.train.channels;
  d.syn.height = d.train.height;
  d.syn.width = d.train.width;
  if (o.control != Control::none) {
    // Hold out a stratified half of the real training split as the "synthetic" pool.
    const StratifiedOrder order = make_stratified_order(d.train.labels, k, stats::derive_seed(o.seed_base, 0xC0DE));
    const auto held = take_prefix(order, stratified_counts(order, 0.5));
    std::vector<char> is_held(d.train.size(), 0);
    for (const auto i : held) is_held[i] = 1;
    ImageSet keep;
    keep.channels = d.train.channels;
    keep.height = d.train.height;
    keep.width = d.train.width;
    std::vector<std::string> keep_paths;
    std::vector<std::size_t> held_sorted(held.begin(), held.end());
    std::sort(held_sorted.begin(), held_sorted.end());
    for (std::size_t i = 0; i < d.train.size(); ++i) {
      auto& dst = is_held[i] ? d.syn : keep;
      const float* src = d.train.image(i);
      dst.pixels.insert(dst.pixels.end(), src, src + d.train.image_floats());
      dst.labels.push_back(d.train.labels[i]);
      (is_held[i] ? d.syn_paths : keep_paths).push_back(d.train_paths[i]);
    }
    d.train = std::move(keep);
    d.train_paths = std::move(keep_paths);
    if (o.control == Control::negative) {
      stats::Rng rng(stats::derive_seed(o.seed_base, 0xBAD));
      stats::shuffle(rng, d.syn.labels);
    }
    d.summary.synthetic_manifest_sha256 = "control:" + to_string(o.control);
  } else if (need_synthetic) {
    const std::string syn_manifest = manifest_file_name(o.synthetic_dir);
    const Dataset syn = load_dataset(o.synthetic_dir);
    d.syn_root = syn.root;
    std::vector<std::size_t> use;
    std::set<std::string> syn_modalities;
    for (std::size_t i = 0; i < syn.records.size(); ++i) {
      const Record& r = syn.records[i];
      syn_modalities.insert(r.modality);
      if (r.modality != modality) continue;
      if (r.split == "val" || r.split == "test") {
        ++d.summary.n_synthetic_excluded;
        continue;
      }
      use.push_back(i);
    }
    if (use.empty()) {
      std::string list;
      for (const auto& m : syn_modalities) list += (list.empty() ? "" : ", ") + m;
      throw InputError(at_file(syn_manifest, "no usable records with modality '" + modality +
                                                 "' (split '', 'train' or none; modalities present: " + list + ")"));
    }
    Progress sp("downstream: reading synthetic images", static_cast<std::int64_t>(use.size()), "images");
    for (const std::size_t i : use) {
      const Record& r = syn.records[i];
      const std::string where = record_where(syn_manifest, i, r);
      std::optional<LabelKey> key;
      try {
        key = label_key(r, o.label_field);
      } catch (const InputError& e) {
        throw InputError(where + ": " + e.what());
      }
      if (!key)
        throw InputError(where + ": field '" + o.label_field +
                         "' is missing; every synthetic image needs a class label for real+syn and syn");
      const int cls = class_of(*key, where);
      Image img = read_image(syn.image_path(r));
      bool converted = false;
      if (img.channels != d.syn.channels) {
        img = to_channels(img, d.syn.channels);
        converted = true;
      }
      if (img.height != d.syn.height || img.width != d.syn.width) {
        img = resize(img, d.syn.height, d.syn.width, ResizeFilter::area, true);
        converted = true;
      }
      d.summary.synthetic_resized += converted ? 1 : 0;
      d.syn.pixels.insert(d.syn.pixels.end(), img.data.begin(), img.data.end());
      d.syn.labels.push_back(cls);
      d.syn_paths.push_back(r.path);
      sp.advance();
    }
    sp.finish();
    d.summary.synthetic_manifest_sha256 = manifest_hash(o.synthetic_dir);
    if (d.summary.n_synthetic_excluded > 0)
      d.notes.push_back(std::to_string(d.summary.n_synthetic_excluded) +
                        " synthetic records of split val/test were not used");
    if (d.summary.synthetic_resized > 0)
      d.notes.push_back(std::to_string(d.summary.synthetic_resized) +
                        " synthetic images were converted to the real images' shape (channels: ITU-R 601 luma / "
                        "replication; size: area filter with antialiasing)");
  }
  d.summary.n_train = d.train.size();
  d.summary.n_val = d.val.size();
  d.summary.n_test = d.test.size();
  d.summary.n_synthetic = d.syn.size();
  return d;
}

std::pair<Estimate, double> seed_metric(const std::vector<double>& x) {
  Estimate e = stats::t_interval_mean(x);
  // Every seed metric (AUROC, accuracy, balanced accuracy, F1) lies in [0, 1]; with few seeds the t
  // interval can reach past it, so it is clipped to the range (which never lowers its coverage).
  if (e.has_ci()) {
    e.ci_low = std::clamp(e.ci_low, 0.0, 1.0);
    e.ci_high = std::clamp(e.ci_high, 0.0, 1.0);
  }
  // The seeds vary the classifier's initialisation, batch order and the synthetic subset drawn;
  // the test set is fixed, so the interval is over training randomness at this test set.
  e.estimand = "mean over training seeds of the test-set metric (fixed test set)";
  return {e, stats::sample_sd(x)};
}

}  // namespace detail

namespace {

std::string subset_hash(const std::vector<std::string>& paths) {
  std::vector<std::string> sorted = paths;
  std::sort(sorted.begin(), sorted.end());
  Sha256 h;
  for (const auto& p : sorted) h.update(p);
  return h.hex_digest();
}

struct Job {
  int seed = 0;
  std::size_t fraction_index = 0;
  std::string arm;
  std::size_t cost = 0;  // training samples processed, for scheduling (longest first)
};

}  // namespace

DownstreamResult run_downstream(const DownstreamOptions& o) {
  validate(o);
  const auto t0 = std::chrono::steady_clock::now();
  DownstreamResult res;
  res.started = utc_now_iso8601();
  const auto has_arm = [&](const char* a) { return std::find(o.arms.begin(), o.arms.end(), a) != o.arms.end(); };
  const bool need_syn = has_arm(kArmRealSyn) || has_arm(kArmSyn);
  detail::LoadedData d = detail::load_data(o, need_syn);
  res.data = d.summary;
  res.notes = d.notes;
  const int k = d.num_classes;
  if (o.control != Control::none)
    res.notes.push_back("control " + to_string(o.control) + ": a stratified half of the real training split (" +
                        std::to_string(d.syn.size()) + " images) is the synthetic pool" +
                        (o.control == Control::negative ? " with permuted labels" : "") +
                        "; the real arms draw from the other half (" + std::to_string(d.train.size()) + " images)");

  // Mixes per seed.
  MixPlanOptions mp;
  mp.fractions = o.fractions;
  mp.synthetic_ratio = o.synthetic_ratio;
  mp.need_synthetic = need_syn;
  std::vector<std::vector<FractionMix>> mixes(static_cast<std::size_t>(o.seeds));
  std::vector<std::uint64_t> train_seeds(static_cast<std::size_t>(o.seeds));
  std::set<std::string> notes_seen(res.notes.begin(), res.notes.end());
  for (int s = 0; s < o.seeds; ++s) {
    const std::uint64_t seed_value = stats::derive_seed(o.seed_base, static_cast<std::uint64_t>(s));
    mixes[static_cast<std::size_t>(s)] = plan_mixes(d.train.labels, d.syn.labels, k, mp, seed_value);
    train_seeds[static_cast<std::size_t>(s)] = stats::derive_seed(seed_value, 3);
    for (const auto& m : mixes[static_cast<std::size_t>(s)])
      for (const auto& n : m.notes) {
        // 2xreal feasibility is the same for every seed (counts do not depend on the order).
        if (n.rfind("2xreal", 0) == 0 && !has_arm(kArmTwiceReal)) continue;
        if (notes_seen.insert(n).second) res.notes.push_back(n);
      }
  }

  // The job list.
  const std::size_t batch = static_cast<std::size_t>(o.classifier.batch_size);
  auto cost_of = [&](std::size_t n) {
    const std::size_t b = std::min(batch, std::max<std::size_t>(n, 1));
    std::size_t steps = std::max<std::size_t>(static_cast<std::size_t>(o.classifier.min_steps),
                                              static_cast<std::size_t>(o.classifier.epochs) * ((n + b - 1) / b));
    if (o.classifier.max_steps > 0) steps = std::min(steps, static_cast<std::size_t>(o.classifier.max_steps));
    return steps * b;
  };
  std::vector<Job> jobs;
  for (int s = 0; s < o.seeds; ++s)
    for (std::size_t fi = 0; fi < o.fractions.size(); ++fi)
      for (const auto& arm : all_arms()) {
        if (!has_arm(arm.c_str())) continue;
        const FractionMix& m = mixes[static_cast<std::size_t>(s)][fi];
        std::size_t n = 0;
        if (arm == kArmReal) n = m.real.size();
        else if (arm == kArmRealSyn) n = m.real.size() + m.syn_added.size();
        else if (arm == kArmSyn) n = m.syn_only.size();
        else {
          if (!m.twice_real_feasible) continue;
          n = m.twice_real.size();
        }
        if (n == 0) {
          res.notes.push_back(arm + " at fraction " + detail::format_number(o.fractions[fi]) + " seed " +
                              std::to_string(s) + ": no training images; skipped");
          continue;
        }
        jobs.push_back({s, fi, arm, cost_of(n)});
      }
  // Longest first, so parallel workers finish together; results are stored by job index.
  std::vector<std::size_t> schedule(jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i) schedule[i] = i;
  std::stable_sort(schedule.begin(), schedule.end(), [&](std::size_t a, std::size_t b) { return jobs[a].cost > jobs[b].cost; });

  const bool on_cpu = o.classifier.device == "cpu";
  int n_workers = o.jobs > 0 ? o.jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (!on_cpu) n_workers = 1;
  n_workers = std::max(1, std::min<int>(n_workers, static_cast<int>(std::max<std::size_t>(jobs.size(), 1))));
  res.jobs = n_workers;
  init_classifier_runtime();
  log_info("downstream: " + std::to_string(jobs.size()) + " models (" + std::to_string(o.seeds) + " seeds), " +
           std::to_string(n_workers) + " in parallel on " + o.classifier.device);

  std::vector<ClassifierRun> outputs(jobs.size());
  std::vector<RunRecord> records(jobs.size());
  std::atomic<std::size_t> next{0};
  std::mutex progress_mutex;
  std::exception_ptr failure;
  std::atomic<bool> failed{false};
  Progress progress("downstream: training", static_cast<std::int64_t>(jobs.size()), "models");
  auto worker = [&] {
    for (;;) {
      if (failed.load()) return;
      const std::size_t slot = next.fetch_add(1);
      if (slot >= schedule.size()) return;
      const std::size_t ji = schedule[slot];
      const Job& job = jobs[ji];
      try {
        const FractionMix& m = mixes[static_cast<std::size_t>(job.seed)][job.fraction_index];
        TrainingMix mix;
        std::vector<std::string> paths;
        RunRecord rec;
        auto add_real = [&](const std::vector<std::size_t>& idx) {
          for (const auto i : idx) {
            mix.images.push_back(d.train.image(i));
            mix.labels.push_back(d.train.labels[i]);
            paths.push_back("real:" + d.train_paths[i]);
          }
          rec.n_real += idx.size();
        };
        auto add_syn = [&](const std::vector<std::size_t>& idx) {
          for (const auto i : idx) {
            mix.images.push_back(d.syn.image(i));
            mix.labels.push_back(d.syn.labels[i]);
            paths.push_back("syn:" + d.syn_paths[i]);
          }
          rec.n_syn += idx.size();
        };
        if (job.arm == kArmReal) add_real(m.real);
        else if (job.arm == kArmRealSyn) {
          add_real(m.real);
          add_syn(m.syn_added);
        } else if (job.arm == kArmSyn) add_syn(m.syn_only);
        else add_real(m.twice_real);
        rec.fraction = m.fraction;
        rec.arm = job.arm;
        rec.seed = job.seed;
        rec.train_seed = train_seeds[static_cast<std::size_t>(job.seed)];
        rec.class_counts.assign(static_cast<std::size_t>(k), 0);
        for (const int l : mix.labels) ++rec.class_counts[static_cast<std::size_t>(l)];
        rec.subset_sha256 = subset_hash(paths);
        ClassifierRun run = train_classifier(mix, d.val, d.test, k, o.classifier, rec.train_seed);
        const auto cm = stats::classification_metrics(d.test.labels, run.test_probs, static_cast<std::size_t>(k));
        rec.test = {cm.auroc, cm.accuracy, cm.balanced_accuracy, cm.f1};
        rec.best_val_auroc = run.best_val_auroc;
        rec.best_checkpoint = run.best_checkpoint;
        rec.steps = run.steps;
        rec.seconds = run.seconds;
        records[ji] = std::move(rec);
        outputs[ji] = std::move(run);
      } catch (...) {
        std::lock_guard<std::mutex> lock(progress_mutex);
        if (!failure) failure = std::current_exception();
        failed = true;
        return;
      }
      std::lock_guard<std::mutex> lock(progress_mutex);
      progress.advance();
    }
  };
  std::vector<std::thread> threads;
  for (int t = 1; t < n_workers; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  progress.finish();
  if (failure) std::rethrow_exception(failure);
  res.runs = records;

  // Summaries and comparisons.
  detail::summarize(o, d, outputs, res);

  res.finished = utc_now_iso8601();
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!o.out_dir.empty()) {
    write_downstream_outputs(o, res);
    detail::write_predictions(o, d, res, outputs);
  }
  return res;
}

}  // namespace medsyn::downstream
