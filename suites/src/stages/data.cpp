// Stage data: import each dataset source once; per modality the real/ dataset (roles train, val,
// test) and holdout/ (memorization calibration), limited and windowed.
#include <algorithm>
#include <iomanip>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>
#include <vector>

#include "medsyn/core/demo_corpus.h"
#include "medsyn/core/error.h"
#include "medsyn/core/folder_import.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/manifest.h"
#include "medsyn/core/medical_io.h"
#include "medsyn/core/medmnist_import.h"
#include "medsyn/suites/data_split.h"
#include "../run_context.h"

namespace fs = std::filesystem;

namespace medsyn::suites {

namespace {

bool hidden_below(const fs::path& rel) {
  for (const auto& part : rel)
    if (!part.empty() && part.native()[0] == '.' && part != "." && part != "..") return true;
  return false;
}

// sha256 of every regular file below `dir` (sorted relative paths): the content of an import
// source. The walk never follows a link (so a link loop cannot throw from std::filesystem); a
// link is hashed as its target when that is a regular file inside `dir`. Entries the folder
// importer would refuse (link loops, dangling links, links to folders or out of `dir`, FIFOs,
// devices, sockets) are an InputError naming the entry, as the import itself would be; hidden
// entries the importer ignores are not an error (hidden regular files are still hashed).
std::string folder_content_hash(const fs::path& dir) {
  std::error_code ec;
  const fs::path dir_real = fs::canonical(dir, ec);
  if (ec) throw InputError(at_file(dir.string(), "cannot resolve the import folder: " + ec.message()));
  std::vector<std::pair<std::string, fs::path>> files;  // relative path, file whose bytes are hashed
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::path& p = it->path();
    const fs::path rel = p.lexically_relative(dir);  // not fs::relative: it would resolve links
    std::error_code e2;
    const fs::file_status lst = it->symlink_status(e2);  // never follows
    if (fs::is_directory(lst)) continue;                  // recursed into
    if (fs::is_regular_file(lst)) {
      files.emplace_back(rel.generic_string(), p);
      continue;
    }
    const bool hidden = hidden_below(rel);
    std::string bad;
    if (fs::is_symlink(lst)) {
      const fs::path target = fs::canonical(p, e2);
      if (e2 == std::errc::too_many_symbolic_link_levels) {
        bad = "is a symbolic link loop (the link leads back to itself)";
      } else if (e2 == std::errc::no_such_file_or_directory) {
        std::error_code e3;
        bad = "is a dangling symbolic link (its target " + fs::read_symlink(p, e3).string() + " does not exist)";
      } else if (e2) {
        bad = "is a symbolic link that cannot be resolved: " + e2.message();
      } else {
        const fs::file_status st = fs::status(target, e2);
        const fs::path inside = target.lexically_relative(dir_real);
        if (fs::is_directory(st)) bad = "is a symbolic link to a folder (links to folders are not followed)";
        else if (!fs::is_regular_file(st)) bad = "is a symbolic link to " + target.string() + ", not a regular file";
        else if (inside.empty() || *inside.begin() == "..")
          bad = "is a symbolic link to " + target.string() + ", outside the import folder (refused, see docs/reliability.md)";
        else files.emplace_back(rel.generic_string(), target);
      }
    } else {
      bad = "is not a regular file (a FIFO, device or socket)";
    }
    if (!bad.empty() && !hidden) throw InputError(at_file(p.string(), bad));
  }
  if (ec) throw InputError(at_file(dir.string(), "cannot list the import folder: " + ec.message()));
  std::sort(files.begin(), files.end());
  Sha256 h;
  for (const auto& [rel, file] : files) h.update(rel).update(sha256_file(file));
  return h.hex_digest();
}

// The real/ and holdout/ datasets of one modality (unit "real-<modality>").
ojson compute_real(const UnitDescription& d, RunContext& c, const fs::path& w) {
  const ojson& in = d.inputs;
  const ojson& sp = d.spec;
  const std::string name = in["as"], wanted = in["modality"], specialty = in["specialty"], dataset = in["dataset"];
  const fs::path root = c.resolve(d.locations.at("source"));
  const SplitNames splits{sp["splits"][0], sp["splits"][1], sp["splits"][2], sp["splits"][3]};
  const double lo = sp["data_range"][0], hi = sp["data_range"][1];
  const bool transform = !sp["window"].is_null();
  const Window win{transform ? sp["window"][0].get<double>() : 0.5, transform ? sp["window"][1].get<double>() : 1.0, "", "user"};

  const Dataset ds = load_dataset(root);
  const std::vector<Record> recs = ds.select(wanted);
  if (recs.empty())
    throw InputError(at_file(c.suite.file.string(), "$.modalities." + name + ": dataset '" + dataset + "' (" + root.string() +
                                                        ") has no images of modality '" + wanted + "'"));
  RoleAssignment ra = assign_roles(recs, splits, sp["limit"].get<long>(), in["seed"].get<std::uint64_t>(), "modality '" + name + "'");
  auto& roles = ra.roles;
  for (const char* role : {"train", "holdout", "test"})
    if (!roles.count(role))
      throw InputError(at_file(c.suite.file.string(), "$.datasets." + dataset + ".splits: no images of modality '" + wanted +
                                                          "' in the " + role + " split"));
  ojson counts = ojson::object();
  for (const auto& [role, list] : roles) counts[role] = list.size();
  auto write_set = [&](const fs::path& out, const std::vector<std::string>& which) {
    std::vector<Record> outs;
    for (const auto& role : which) {
      std::size_t k = 0;
      for (const auto& r : roles[role]) {
        Record o = r;
        const fs::path src = ds.image_path(r);
        std::ostringstream file;
        file << "images/" << role << "/" << std::setw(6) << std::setfill('0') << k++ << "_" << src.stem().string()
             << (transform ? ".png" : src.extension().string());
        o.path = file.str();
        if (transform) {
          Image img = read_image(src);
          for (auto& v : img.data) v = apply_window(lo + v * (hi - lo), win);
          write_png(out / o.path, img, 16);
          o.sha256 = sha256_file(out / o.path);
        } else {
          link_or_copy(src, out / o.path);
        }
        o.modality = name;
        o.specialty = specialty;
        o.split = role;
        outs.push_back(o);
      }
    }
    write_manifest(out, outs);
  };
  write_set(w / "real", {"train", "val", "test"});
  write_set(w / "holdout", {"holdout"});
  return ojson{{"modality", wanted}, {"counts", counts}, {"splits_assigned", ra.splits_assigned}, {"windowed", transform}};
}

// What the later stages need to know about a modality's real data (prompts, labels, counts).
RealData read_real(const Unit& u, const std::string& modality) {
  RealData rd;
  rd.real_dir = u.dir / "real";
  rd.holdout_dir = u.dir / "holdout";
  rd.real_hash = manifest_hash(rd.real_dir);
  rd.holdout_hash = manifest_hash(rd.holdout_dir);
  for (auto it = u.meta["counts"].begin(); it != u.meta["counts"].end(); ++it) rd.counts[it.key()] = it.value().get<long>();
  const Dataset ds = load_dataset(rd.real_dir);
  std::set<long> classes;
  bool all_labelled = true;
  for (const auto& r : ds.records) {
    if (!r.label) all_labelled = false;
    else classes.insert(*r.label);
    if (r.split == "train") {
      const std::string p = r.prompt.empty() ? modality : r.prompt;
      ++rd.prompt_counts[p];
      if (!rd.prompt_labels.count(p)) rd.prompt_labels[p] = {r.label, r.label_name};
    }
  }
  rd.labelled = all_labelled && classes.size() >= 2;
  return rd;
}

// Imports are all-or-nothing into a folder that holds no other files, while the unit's work
// folder already holds unit.json: import into a fresh subfolder, then move its entries up.
template <class Import>
auto import_into(const fs::path& w, Import&& import) {
  const fs::path staged = w / ".import";
  auto result = import(staged);
  for (const auto& e : fs::directory_iterator(staged)) fs::rename(e.path(), w / e.path().filename());
  fs::remove(staged);
  return result;
}

}  // namespace

ojson compute_data(const UnitDescription& d, RunContext& c, const fs::path& w) {
  const std::string kind = d.inputs.value("kind", "");
  if (kind == "demo") {
    DemoOptions o;
    o.out = w;
    o.with_medmnist = false;
    const auto r = build_demo_corpus(o);
    return ojson{{"images", r.images}, {"packages", r.packages}};
  }
  if (kind == "medmnist") {
    const auto r = import_into(w, [&](const fs::path& out) { return import_medmnist(c.resolve(d.locations.at("file")), out); });
    return ojson{{"name", r.name}, {"images", r.images}};
  }
  if (kind == "import") {
    FolderImportOptions o;
    o.modality = d.inputs["modality"];
    o.specialty = d.inputs["specialty"];
    o.labels_from_subfolders = d.inputs["label_from"] == "folder";
    o.overwrite = true;
    const auto r = import_into(w, [&](const fs::path& out) { return import_folder(c.resolve(d.locations.at("folder")), out, o); });
    return ojson{{"files", r.files}, {"images", r.images}};
  }
  return compute_real(d, c, w);
}

void plan_data(RunContext& c) {
  const auto& suite = c.suite;
  Progress prog("stage data", static_cast<std::int64_t>(suite.datasets.size() + suite.modalities.size()), "units");
  fs::path demo_root;
  std::string demo_hash;
  if (std::any_of(suite.datasets.begin(), suite.datasets.end(), [](const DatasetSpec& d) { return d.kind == "demo"; })) {
    const Unit u = c.run(make_unit("data", "demo-corpus", {{"with_medmnist", false}}, {{"kind", "demo"}}));
    demo_root = u.dir;
    demo_hash = manifest_hash(require_complete(u, "data/demo-corpus").dir);  // the real units' key needs its content
  }
  std::vector<Unit> imported;  // the real units below read these (a remote executor runs them first)
  for (const auto& d : suite.datasets) {
    if (d.kind == "folder") {
      c.source_root[d.name] = d.path;
      c.source_hash[d.name] = manifest_hash(d.path);
    } else if (d.kind == "demo") {
      c.source_root[d.name] = demo_root;
      c.source_hash[d.name] = demo_hash;
    } else if (d.kind == "medmnist") {
      const std::string h = sha256_file(d.path);
      const Unit u = c.run(make_unit("data", "import-" + d.name, ojson::object(),
                                     {{"kind", "medmnist"}, {"file", d.path.filename().string()}, {"sha256", h}},
                                     {{"file", c.location(d.path)}}));
      c.source_root[d.name] = u.dir;
      c.source_hash[d.name] = h;
      imported.push_back(u);
    } else {  // import
      const std::string h = folder_content_hash(d.path);
      const ojson in = {{"kind", "import"}, {"content", h}, {"format", d.format}, {"modality", d.modality.empty() ? d.name : d.modality},
                        {"specialty", d.specialty}, {"label_from", d.label_from}};
      const Unit u = c.run(make_unit("data", "import-" + d.name, ojson::object(), in, {{"folder", c.location(d.path)}}));
      c.source_root[d.name] = u.dir;
      c.source_hash[d.name] = h;
      imported.push_back(u);
    }
    prog.advance();
  }
  for (const Unit& u : imported) require_complete(u, "data/" + u.dir.filename().string());

  for (const auto& m : suite.modalities) {
    const DatasetSpec& d = suite.dataset(m.dataset);
    const fs::path root = c.source_root.at(d.name);
    std::string wanted = m.manifest_modality;
    if (wanted.empty() && d.kind == "demo") wanted = d.demo;
    if (wanted.empty()) {
      const auto mods = load_dataset(root).modalities();
      wanted = mods.size() == 1 ? mods[0] : m.name;
    }
    long limit = d.limit ? *d.limit : -1;
    if (c.opt.limit) limit = limit < 0 ? *c.opt.limit : std::min(limit, *c.opt.limit);
    const ojson spec = {{"splits", {d.split_train, d.split_val, d.split_test, d.split_holdout}}, {"limit", limit},
                        {"data_range", {m.range_lo, m.range_hi}},
                        {"window", m.has_window ? ojson{m.window_center, m.window_width} : ojson(nullptr)}};
    const ojson in = {{"source", c.source_hash.at(d.name)}, {"dataset", d.name}, {"modality", wanted}, {"as", m.name},
                      {"specialty", m.specialty}, {"seed", c.seed_for("data:" + m.name)}};
    const Unit u = c.run(make_unit("data", "real-" + m.name, spec, in, {{"source", c.location(root)}}));
    if (!u.pending) c.real[m.name] = read_real(u, m.name);  // pending: later stages are planned after it ran
    prog.advance();
  }
}

}  // namespace medsyn::suites
