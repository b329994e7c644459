#include "medsyn/core/manifest.h"

#include <fstream>
#include <set>
#include <sstream>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/json.h"

namespace fs = std::filesystem;

namespace medsyn {

namespace {
const std::set<std::string>& known_fields() {
  static const std::set<std::string> k{"path", "modality", "specialty", "prompt", "split", "group",
                                       "label", "label_name", "sha256"};
  return k;
}

std::string get_string(const json& j, const char* key, const std::string& where, bool required) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) throw InputError(where + ": field '" + key + "' is missing");
    return "";
  }
  if (!it->is_string()) throw InputError(where + ": field '" + key + "' must be a string");
  return it->get<std::string>();
}
}  // namespace

json record_to_json(const Record& r) {
  json j = json::object();
  j["path"] = r.path;
  j["modality"] = r.modality;
  if (!r.specialty.empty()) j["specialty"] = r.specialty;
  if (!r.prompt.empty()) j["prompt"] = r.prompt;
  if (r.label) j["label"] = *r.label;
  if (!r.label_name.empty()) j["label_name"] = r.label_name;
  if (!r.split.empty()) j["split"] = r.split;
  if (!r.group.empty()) j["group"] = r.group;
  if (!r.sha256.empty()) j["sha256"] = r.sha256;
  if (!r.extra_json.empty() && r.extra_json != "{}") {
    json extra = json::parse(r.extra_json);
    for (auto it = extra.begin(); it != extra.end(); ++it)
      if (!j.contains(it.key())) j[it.key()] = it.value();
  }
  return j;
}

Record record_from_json(const json& j, const std::string& where) {
  if (!j.is_object()) throw InputError(where + ": expected a JSON object");
  Record r;
  r.path = get_string(j, "path", where, true);
  if (r.path.find('\0') != std::string::npos)
    throw InputError(where + ": path contains a NUL byte (\\u0000), which no file name can hold; the part before it, '" +
                     r.path.substr(0, r.path.find('\0')) + "', would name a different file");
  if (!is_safe_relative_path(r.path))
    throw InputError(where + ": path '" + r.path + "' must be relative and stay inside the dataset folder");
  r.modality = get_string(j, "modality", where, true);
  if (r.modality.empty()) throw InputError(where + ": field 'modality' is empty");
  r.specialty = get_string(j, "specialty", where, false);
  r.prompt = get_string(j, "prompt", where, false);
  r.split = get_string(j, "split", where, false);
  r.group = get_string(j, "group", where, false);
  r.label_name = get_string(j, "label_name", where, false);
  r.sha256 = get_string(j, "sha256", where, false);
  if (auto it = j.find("label"); it != j.end() && !it->is_null()) {
    if (it->is_number_integer()) {
      r.label = it->get<long>();
    } else if (it->is_string()) {
      // A string label: keep it as the name; integer ids are assigned by the consumer.
      if (r.label_name.empty()) r.label_name = it->get<std::string>();
    } else {
      throw InputError(where + ": field 'label' must be an integer or a string");
    }
  }
  json extra = json::object();
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!known_fields().count(it.key())) extra[it.key()] = it.value();
  r.extra_json = extra.dump();
  return r;
}

fs::path Dataset::image_path(const Record& r) const {
  const fs::path p = root / r.path;
  // Only paths that pass through a symbolic link can leave the folder (record_from_json already
  // refused "..", absolute paths and NUL bytes); check those, cheaply skip the rest.
  std::error_code ec;
  bool linked = false;
  fs::path walk = root;
  for (const auto& part : fs::path(r.path)) {
    walk /= part;
    if (fs::is_symlink(fs::symlink_status(walk, ec))) {
      linked = true;
      break;
    }
  }
  if (!linked) return p;
  const fs::path real = fs::canonical(p, ec);
  if (ec) return p;  // dangling or a loop: the reader reports it
  const fs::path base = fs::canonical(root, ec);
  if (ec) return p;
  const auto rel = real.lexically_relative(base);
  if (rel.empty() || *rel.begin() == "..")
    throw InputError(at_file((root / "manifest.jsonl").string(), "path '" + r.path + "' is a symbolic link to " +
                                                                   real.string() + ", outside the dataset folder; refused"));
  return p;
}

std::vector<std::string> Dataset::modalities() const {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& r : records)
    if (seen.insert(r.modality).second) out.push_back(r.modality);
  return out;
}

std::vector<Record> Dataset::select(const std::string& modality, const std::string& split) const {
  std::vector<Record> out;
  for (const auto& r : records)
    if ((modality.empty() || r.modality == modality) && (split.empty() || r.split == split)) out.push_back(r);
  return out;
}

Dataset load_dataset(const fs::path& dir_or_manifest) {
  fs::path manifest = dir_or_manifest;
  if (fs::is_directory(dir_or_manifest)) manifest = dir_or_manifest / "manifest.jsonl";
  else if (!fs::exists(dir_or_manifest))
    throw InputError(at_file(dir_or_manifest.string(), "dataset folder does not exist"));
  if (!fs::exists(manifest))
    throw InputError(at_file(manifest.string(), "no manifest.jsonl (a dataset is a folder with manifest.jsonl; "
                                                "create one with 'medsynbench data import')"));
  Dataset ds;
  ds.root = manifest.parent_path();
  std::ifstream in(manifest);
  if (!in) throw InputError(at_file(manifest.string(), "cannot open"));
  std::string line;
  long lineno = 0;
  std::set<std::string> paths;
  const std::string mname = manifest.string();
  while (std::getline(in, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const json j = parse_json_strict(line, mname + ":" + std::to_string(lineno));
    Record r = record_from_json(j, mname + ":" + std::to_string(lineno));
    if (!paths.insert(r.path).second)
      throw InputError(at_line(mname, lineno, "duplicate path '" + r.path + "'"));
    ds.records.push_back(std::move(r));
  }
  if (ds.records.empty()) throw InputError(at_file(mname, "manifest has no records (empty dataset)"));
  return ds;
}

void check_dataset_output(const fs::path& out, bool overwrite) {
  std::error_code ec;
  const auto st = fs::symlink_status(out, ec);
  if (!fs::exists(st)) return;
  if (!fs::is_directory(fs::status(out, ec)))
    throw InputError(at_file(out.string(), "exists and is not a folder"));
  bool dataset = false, other = false;
  std::string other_name;
  for (const auto& e : fs::directory_iterator(out, ec)) {
    const std::string n = e.path().filename().string();
    if (n == "manifest.jsonl" || n == "manifest.jsonl.partial" || n == "images" || n == "skipped.jsonl" ||
        n == ".images.partial") {
      dataset = true;
    } else {
      other = true;
      if (other_name.empty()) other_name = n;
    }
  }
  if (ec) throw InputError(at_file(out.string(), "cannot list folder: " + ec.message()));
  if (other)
    throw InputError(at_file(out.string(), "is not empty and holds files that are not part of a dataset (e.g. '" +
                                               other_name + "'); choose a new or empty output folder (nothing was deleted)"));
  if (dataset && !overwrite)
    throw DatasetExistsError(at_file(out.string(), "already holds a dataset (manifest.jsonl or images/); choose "
                                                   "another output folder or ask for it to be overwritten"));
}

void write_manifest(const fs::path& dir, const std::vector<Record>& records) {
  std::string text;
  for (const auto& r : records) text += record_to_json(r).dump() + "\n";
  atomic_write_text(dir / "manifest.jsonl", text);
}

struct ManifestWriter::Impl {
  fs::path dir, partial;
  std::ofstream out;
  bool committed = false;
};

ManifestWriter::ManifestWriter(const fs::path& dir) : impl_(new Impl) {
  ensure_dir(dir);
  impl_->dir = dir;
  impl_->partial = dir / "manifest.jsonl.partial";
  impl_->out.open(impl_->partial, std::ios::trunc);
  if (!impl_->out) throw InputError(at_file(impl_->partial.string(), "cannot write"));
}
ManifestWriter::~ManifestWriter() {
  if (!impl_->committed) {
    impl_->out.close();
    std::error_code ec;
    fs::remove(impl_->partial, ec);
  }
  delete impl_;
}
void ManifestWriter::add(const Record& r) { impl_->out << record_to_json(r).dump() << "\n"; }
void ManifestWriter::commit() {
  impl_->out.close();
  if (!impl_->out) throw InputError(at_file(impl_->partial.string(), "write failed"));
  fs::rename(impl_->partial, impl_->dir / "manifest.jsonl");
  impl_->committed = true;
}

std::string manifest_hash(const fs::path& dir) {
  fs::path m = fs::is_directory(dir) ? dir / "manifest.jsonl" : dir;
  return sha256_file(m);
}

}  // namespace medsyn
