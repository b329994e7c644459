// Study design: candidates from a run or dataset folders, seeded sampling, opaque ids, re-encoded
// images, the page, key.json and study.json (study.h); loading and verifying a study.
#include "medsyn/core/text_encoding.h"
#include "medsyn/readerstudy/study.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/image.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/core/provenance.h"
#include "medsyn/stats/random.h"

namespace medsyn::readerstudy {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

namespace {

Candidate from_record(const Dataset& ds, const Record& r, const std::string& source, const std::string& model) {
  Candidate c;
  c.file = fs::absolute(ds.image_path(r)).lexically_normal();
  c.source = source;
  c.modality = r.modality;
  c.prompt = r.prompt;
  c.model = model;
  c.label = r.label;
  c.label_name = r.label_name;
  return c;
}

// The model of a synthetic record: the manifest's "model" field, else the folder's name.
std::string model_of(const Record& r, const std::string& fallback) {
  const auto extra = nlohmann::json::parse(r.extra_json, nullptr, false);
  if (extra.is_object() && extra.contains("model") && extra["model"].is_string()) return extra["model"];
  return fallback;
}

// 8 hex digits from the generator.
std::string random_id(stats::Rng& rng) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "i%08llx", static_cast<unsigned long long>(rng() & 0xffffffffULL));
  return buf;
}

// Draws `k` of `pool` (seeded). With `balance`, round robin over the labels (each label's
// records shuffled first), so every label gets floor/ceil(k / labels) when it has enough.
std::vector<Candidate> draw(std::vector<Candidate> pool, int k, bool balance, stats::Rng& rng,
                            const std::string& what) {
  if (static_cast<int>(pool.size()) < k)
    throw InputError(what + ": " + std::to_string(pool.size()) + " image(s) available, " + std::to_string(k) +
                     " needed (lower --per-modality or --real-fraction)");
  stats::shuffle(rng, pool);
  if (!balance) {
    pool.resize(static_cast<std::size_t>(k));
    return pool;
  }
  std::map<std::string, std::vector<Candidate>> by_label;
  for (auto& c : pool) by_label[c.label ? std::to_string(*c.label) : std::string("none")].push_back(std::move(c));
  std::vector<Candidate> out;
  for (std::size_t round = 0; static_cast<int>(out.size()) < k; ++round)
    for (auto& [label, v] : by_label)
      if (round < v.size() && static_cast<int>(out.size()) < k) out.push_back(v[round]);
  return out;
}

// Synthetic images spread over the models: round robin over each model's shuffled list.
std::vector<Candidate> draw_synthetic(const std::vector<Candidate>& pool, int k, bool balance, stats::Rng& rng,
                                      const std::string& what) {
  std::map<std::string, std::vector<Candidate>> by_model;
  for (const auto& c : pool) by_model[c.model].push_back(c);
  if (static_cast<int>(pool.size()) < k)
    throw InputError(what + ": " + std::to_string(pool.size()) + " synthetic image(s) available, " + std::to_string(k) +
                     " needed (lower --per-modality or raise --real-fraction)");
  // Quota per model: equal shares, the remainder to the models in name order, capped by availability.
  std::map<std::string, int> quota;
  int left = k;
  while (left > 0) {
    bool progressed = false;
    for (auto& [m, v] : by_model)
      if (left > 0 && quota[m] < static_cast<int>(v.size())) {
        ++quota[m];
        --left;
        progressed = true;
      }
    if (!progressed) break;
  }
  std::vector<Candidate> out;
  for (auto& [m, v] : by_model) {
    auto part = draw(v, quota[m], balance, rng, what + " model " + m);
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

// The image as the reader sees it: 8-bit PNG, longer side `side` (aspect kept), no metadata.
std::vector<std::uint8_t> page_png(const fs::path& file, int side, int channels) {
  Image img = read_image(file);
  if (img.channels != channels) img = to_channels(img, channels);
  const int longer = std::max(img.width, img.height);
  if (longer != side) {
    const int w = std::max(1, static_cast<int>(std::lround(static_cast<double>(img.width) * side / longer)));
    const int h = std::max(1, static_cast<int>(std::lround(static_cast<double>(img.height) * side / longer)));
    img = resize(img, h, w, ResizeFilter::bicubic, true);
  }
  return encode_png(img, 8);
}

// The sorted-keys (canonical) form of an ordered JSON value, for hashing.
nlohmann::json canonical(const nlohmann::ordered_json& j) { return nlohmann::json::parse(j.dump()); }

std::string json_for_script(const nlohmann::ordered_json& j) {
  // Inside <script>, "</" would end the element: escape it.
  std::string s = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '<') {
      out += "\\u003c";
      continue;
    }
    out += s[i];
  }
  return out;
}

// Replaces every occurrence (at least one) of `what`.
void replace_all(std::string& s, const std::string& what, const std::string& with) {
  std::size_t pos = s.find(what);
  if (pos == std::string::npos) throw std::logic_error("page template lacks " + what);
  for (; pos != std::string::npos; pos = s.find(what, pos + with.size())) s.replace(pos, what.size(), with);
}

}  // namespace

std::vector<Candidate> collect_candidates(const Sources& src) {
  std::vector<Candidate> out;
  if (!src.run_dir.empty()) {
    const fs::path units = src.run_dir / "units";
    if (!fs::is_directory(units / "data") || !fs::is_directory(units / "generate"))
      throw InputError(at_file(src.run_dir.string(), "not a suite run folder (no units/data and units/generate; run `medsynbench run` first)"));
    std::vector<fs::path> dirs;
    for (const auto& e : fs::directory_iterator(units / "data")) dirs.push_back(e.path());
    std::sort(dirs.begin(), dirs.end());
    for (const auto& d : dirs) {
      const std::string name = d.filename().string();
      if (name.rfind("real-", 0) != 0 || name.find(".partial") != std::string::npos || !fs::exists(d / "done.json")) continue;
      const Dataset ds = load_dataset(d / "real");
      // The real test split: never used to train a generator.
      for (const auto& r : ds.records)
        if (r.split == "test") out.push_back(from_record(ds, r, "real", ""));
    }
    dirs.clear();
    for (const auto& e : fs::directory_iterator(units / "generate")) dirs.push_back(e.path());
    std::sort(dirs.begin(), dirs.end());
    for (const auto& d : dirs) {
      if (d.filename().string().find(".partial") != std::string::npos || !fs::exists(d / "done.json")) continue;
      const auto done = read_json_file(d / "done.json");
      const auto& in = done.value("inputs", nlohmann::json::object());
      const std::string modality = in.value("modality", "");
      std::string model = in.value("model_name", "");
      if (model.empty()) {  // older runs: the unit is named "<model>-<modality>"
        const std::string n = done.value("name", "");
        model = (!modality.empty() && n.size() > modality.size() + 1 && n.ends_with("-" + modality))
                    ? n.substr(0, n.size() - modality.size() - 1) : n;
      }
      const Dataset ds = load_dataset(d);
      for (const auto& r : ds.records) out.push_back(from_record(ds, r, "synthetic", model));
    }
    if (out.empty()) throw InputError(at_file(src.run_dir.string(), "the run has no complete data or generate units"));
    return out;
  }
  if (src.real_dir.empty() || src.synthetic_dirs.empty())
    throw InputError("reader study: give --run RUN_DIR, or --real DIR and --synthetic DIR");
  const Dataset real = load_dataset(src.real_dir);
  for (const auto& r : real.records) out.push_back(from_record(real, r, "real", ""));
  for (const auto& sd : src.synthetic_dirs) {
    const Dataset syn = load_dataset(sd);
    const std::string fallback = fs::absolute(sd).lexically_normal().filename().string();
    for (const auto& r : syn.records) out.push_back(from_record(syn, r, "synthetic", model_of(r, fallback)));
  }
  return out;
}

std::string key_digest(const nlohmann::json& key_images) { return sha256_hex(nlohmann::json(key_images).dump()); }

std::string study_hash(const nlohmann::json& design, const nlohmann::json& image_hashes, const std::string& key_sha256) {
  const nlohmann::json j = {{"format", kStudyFormat}, {"design", design}, {"images", image_hashes}, {"key_sha256", key_sha256}};
  return "sha256:" + sha256_hex(j.dump());
}

MakeResult make_study(const std::vector<Candidate>& candidates, const MakeOptions& o, const fs::path& out,
                      const nlohmann::json& sources_description) {
  if (o.per_modality < 2) throw InputError("per_modality must be >= 2, got " + std::to_string(o.per_modality));
  if (!(o.real_fraction > 0 && o.real_fraction < 1)) throw InputError("real_fraction must be between 0 and 1 (exclusive)");
  if (o.calibration < 0) throw InputError("calibration must be >= 0");
  if (o.questions.empty()) throw InputError("questions: at least one question is needed");
  for (const auto& q : o.questions)
    if (std::find(all_questions().begin(), all_questions().end(), q) == all_questions().end())
      throw InputError("questions: unknown question '" + q + "' (realism, real_or_synthetic, prompt_match)");
  std::vector<std::string> readers = o.readers;
  if (readers.empty()) readers = {"reader-1", "reader-2", "reader-3", "reader-4"};
  std::set<std::string> seen;
  for (const auto& r : readers) {
    if (r.empty() || r.size() > 64) throw InputError("readers: names must have 1 to 64 characters");
    if (!seen.insert(r).second) throw InputError("readers: '" + r + "' is listed twice");
  }
  for (const char* f : {"study.html", "key.json", "study.json"})
    if (fs::exists(out / f)) throw InputError(at_file((out / f).string(), "exists already: a study folder is never overwritten (choose a new --out)"));

  // Modalities with both sources, in name order.
  std::map<std::string, std::vector<Candidate>> real, syn;
  for (const auto& c : candidates) (c.source == "real" ? real : syn)[c.modality].push_back(c);
  std::vector<std::string> modalities;
  if (o.modalities.empty()) {
    for (const auto& [m, v] : real)
      if (syn.count(m)) modalities.push_back(m);
  } else {
    for (const auto& m : o.modalities) {
      if (!real.count(m) || !syn.count(m)) throw InputError("modality '" + m + "': needs real and synthetic images (real " + std::to_string(real[m].size()) + ", synthetic " + std::to_string(syn[m].size()) + ")");
      modalities.push_back(m);
    }
  }
  if (modalities.empty()) throw InputError("no modality has both real and synthetic images");

  const int n_real = static_cast<int>(std::lround(o.per_modality * o.real_fraction));
  const int n_syn = o.per_modality - n_real;
  if (n_real < 1 || n_syn < 1) throw InputError("per_modality and real_fraction leave no real or no synthetic image");
  const int cal_real = o.calibration / 2 + o.calibration % 2, cal_syn = o.calibration / 2;

  struct Item {
    Candidate c;
    std::string id;
    bool calibration = false;
  };
  std::vector<Item> items;
  std::set<std::string> ids;
  stats::Rng id_rng(stats::derive_seed(o.seed, 1));
  auto new_id = [&] {
    for (;;) {
      std::string id = random_id(id_rng);
      if (ids.insert(id).second) return id;
    }
  };
  for (std::size_t mi = 0; mi < modalities.size(); ++mi) {
    const std::string& m = modalities[mi];
    stats::Rng rng(stats::derive_seed(o.seed, 100 + mi));
    auto r = draw(real[m], n_real + cal_real, o.balance_classes, rng, "modality '" + m + "' (real)");
    auto s = draw_synthetic(syn[m], n_syn + cal_syn, o.balance_classes, rng, "modality '" + m + "'");
    // The first cal_* drawn are the calibration examples (the draw order is already random).
    for (int i = 0; i < static_cast<int>(r.size()); ++i) items.push_back({r[i], "", i < cal_real});
    for (int i = 0; i < static_cast<int>(s.size()); ++i) items.push_back({s[i], "", i < cal_syn});
  }
  for (auto& it : items) it.id = new_id();
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.id < b.id; });

  // Same size and channels within a modality, so neither reveals the source.
  std::map<std::string, int> side, channels;
  for (const auto& it : items) {
    const Image probe = read_image(it.c.file);
    side[it.c.modality] = std::max(side[it.c.modality], std::max(probe.width, probe.height));
    channels[it.c.modality] = std::max(channels[it.c.modality], probe.channels >= 3 ? 3 : 1);
  }

  nlohmann::ordered_json page_images = nlohmann::ordered_json::object(), page_cal = nlohmann::ordered_json::array();
  nlohmann::ordered_json key_images = nlohmann::ordered_json::array();
  nlohmann::ordered_json image_hashes = nlohmann::ordered_json::array();
  std::vector<std::string> rated_ids;
  const bool ask_prompt = std::find(o.questions.begin(), o.questions.end(), "prompt_match") != o.questions.end();
  for (const auto& it : items) {
    const auto png = page_png(it.c.file, side[it.c.modality], channels[it.c.modality]);
    const std::string uri = "data:image/png;base64," + base64(png);
    if (it.calibration) {
      page_cal.push_back(nlohmann::ordered_json{{"src", uri}, {"modality", it.c.modality}, {"source", it.c.source},
                          {"prompt", ask_prompt ? it.c.prompt : ""}});
      continue;
    }
    rated_ids.push_back(it.id);
    page_images[it.id] = {{"src", uri}, {"modality", it.c.modality}, {"prompt", ask_prompt ? it.c.prompt : ""}};
    // The label: the integer class when there is one, else the label's name, else null.
    const nlohmann::ordered_json label = it.c.label ? nlohmann::ordered_json(*it.c.label)
                                         : it.c.label_name.empty() ? nlohmann::ordered_json(nullptr)
                                                                   : nlohmann::ordered_json(it.c.label_name);
    key_images.push_back(nlohmann::ordered_json{{"id", it.id}, {"source", it.c.source}, {"modality", it.c.modality},
                                                {"label", label}, {"prompt", it.c.prompt},
                                                {"model", it.c.model.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(it.c.model)},
                                                {"file", it.c.file.string()}});
    image_hashes.push_back(nlohmann::ordered_json{{"id", it.id}, {"sha256", sha256_hex(png.data(), png.size())}});
  }
  // Each reader's order: a seeded permutation of the rated ids (stream from the reader's name).
  nlohmann::ordered_json readers_json = nlohmann::ordered_json::array();
  for (const auto& name : readers) {
    const std::string h = sha256_hex(name);
    const std::uint64_t stream = std::stoull(h.substr(0, 15), nullptr, 16);
    stats::Rng rng(stats::derive_seed(o.seed, stream));
    std::vector<std::string> order = rated_ids;
    stats::shuffle(rng, order);
    readers_json.push_back(nlohmann::ordered_json{{"name", name}, {"order", order}});
  }
  nlohmann::ordered_json design = {{"per_modality", o.per_modality}, {"real_fraction", o.real_fraction},
                                   {"n_real_per_modality", n_real}, {"n_synthetic_per_modality", n_syn},
                                   {"modalities", modalities}, {"questions", o.questions}, {"seed", o.seed},
                                   {"balance_classes", o.balance_classes}, {"calibration", o.calibration},
                                   {"readers", readers_json}, {"title", o.title}};
  nlohmann::ordered_json image_sizes = nlohmann::ordered_json::object();
  for (const auto& m : modalities) image_sizes[m] = {{"longer_side", side[m]}, {"channels", channels[m]}};
  design["image_size"] = image_sizes;
  const std::string key_sha = key_digest(canonical(key_images));
  const std::string hash = study_hash(canonical(design), canonical(image_hashes), key_sha);

  const nlohmann::ordered_json page_data = {{"format", kStudyFormat}, {"study", hash}, {"title", o.title},
                                    {"questions", o.questions}, {"readers", readers_json},
                                    {"images", page_images}, {"calibration", page_cal}};
  std::string html = page_template();
  replace_all(html, "__STUDY_TITLE__", html_escape(o.title));
  replace_all(html, "\"__STUDY_DATA__\"", json_for_script(page_data));

  ensure_dir(out);
  nlohmann::ordered_json key = {{"study", hash}, {"images", key_images}};
  nlohmann::ordered_json study = {{"format", kStudyFormat}, {"study", hash}, {"design", design},
                                  {"key_sha256", key_sha}, {"images", image_hashes}, {"sources", sources_description},
                                  {"n_images", rated_ids.size()}, {"n_calibration", page_cal.size()}};
  study["provenance"] = provenance_json({{"seeds", {{"study", o.seed}}}, {"command", "reader-study make"}});
  atomic_write_text(out / "study.html", html);
  write_json_file(out / "key.json", key);
  write_json_file(out / "study.json", study);
  MakeResult res;
  res.study_hash = hash;
  res.files = {out / "study.html", out / "key.json", out / "study.json"};
  res.n_images = static_cast<int>(rated_ids.size());
  res.n_calibration = static_cast<int>(page_cal.size());
  return res;
}

const KeyImage* Study::find(const std::string& id) const {
  for (const auto& k : images)
    if (k.id == id) return &k;
  return nullptr;
}

Study load_study(const fs::path& dir) {
  Study s;
  s.dir = dir;
  const fs::path sj = dir / "study.json", kj = dir / "key.json";
  if (!fs::exists(sj)) throw InputError(at_file(sj.string(), "missing: not a reader study folder (made by `medsynbench reader-study make`)"));
  if (!fs::exists(kj)) throw InputError(at_file(kj.string(), "missing: the unblinding key must be in the study folder to analyze"));
  s.study_json = read_json_file(sj);
  const auto key = read_json_file(kj);
  auto need = [](const nlohmann::json& j, const char* field, const fs::path& f) -> const nlohmann::json& {
    if (!j.is_object() || !j.contains(field)) throw InputError(at_file(f.string(), std::string("field '") + field + "' is missing"));
    return j.at(field);
  };
  if (need(s.study_json, "format", sj) != kStudyFormat) throw InputError(at_file(sj.string(), std::string("format is not ") + kStudyFormat));
  s.hash = need(s.study_json, "study", sj).get<std::string>();
  const auto& design = need(s.study_json, "design", sj);
  const auto& hashes = need(s.study_json, "images", sj);
  const std::string key_sha = need(s.study_json, "key_sha256", sj).get<std::string>();
  if (study_hash(design, hashes, key_sha) != s.hash)
    throw InputError(at_file(sj.string(), "its content does not match its study hash (the file was edited)"));
  if (need(key, "study", kj) != s.hash)
    throw InputError(at_file(kj.string(), "the key belongs to another study (" + key["study"].dump() + ", study.json has " + s.hash + ")"));
  const auto& ki = need(key, "images", kj);
  if (key_digest(ki) != key_sha)
    throw InputError(at_file(kj.string(), "the key does not match study.json's key_sha256 (the key was edited or damaged)"));
  for (const auto& e : ki) {
    KeyImage k;
    k.id = e.value("id", "");
    k.source = e.value("source", "");
    k.modality = e.value("modality", "");
    k.prompt = e.value("prompt", "");
    k.model = e.contains("model") && e["model"].is_string() ? e["model"].get<std::string>() : "";
    k.file = e.value("file", "");
    k.label = e.contains("label") ? e["label"] : nlohmann::json(nullptr);
    if (k.source != "real" && k.source != "synthetic") throw InputError(at_file(kj.string(), "image " + k.id + ": source must be real or synthetic"));
    s.images.push_back(std::move(k));
  }
  for (const auto& r : design.at("readers")) s.readers.push_back(r.at("name").get<std::string>());
  for (const auto& q : design.at("questions")) s.questions.push_back(q.get<std::string>());
  return s;
}

}  // namespace medsyn::readerstudy
