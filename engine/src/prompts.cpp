// Prompt table, run config loading, checkpoint selection and seed mixing (no LibTorch).
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <system_error>
#include <utility>
#include <vector>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/json.h"
#include "medsyn/core/progress.h"
#include "medsyn/core/text_encoding.h"
#include "medsyn/engine/engine.h"

namespace medsyn::engine {

std::string normalise_prompt(const std::string& s) {
  return normalise_prompt_text(s);  // core/text_encoding.h: one normal form
}
namespace {
std::string head(const std::string& s) { return s.substr(0, s.find(',')); }
}  // namespace

void PromptTable::add(const PromptInfo& p) { rows_.push_back(p); }

std::optional<PromptInfo> PromptTable::lookup(const std::string& prompt) const {
  const auto n = normalise_prompt(prompt);
  for (const auto& r : rows_)
    if (normalise_prompt(r.prompt) == n) return r;
  // Modality-level prompt: the text before the first comma of one modality's prompts.
  std::optional<PromptInfo> hit;
  for (const auto& r : rows_) {
    if (normalise_prompt(head(r.prompt)) != normalise_prompt(head(n))) continue;
    if (hit && hit->modality != r.modality) return std::nullopt;  // ambiguous
    if (!hit) {
      hit = r;
      hit->prompt = prompt;
      hit->label.reset();
      hit->label_name.clear();
      hit->count = 0;
    }
    hit->count += r.count;
  }
  return hit;
}

json PromptTable::to_json() const {
  json arr = json::array();
  for (const auto& r : rows_) {
    json j{{"prompt", r.prompt}, {"modality", r.modality}, {"specialty", r.specialty}, {"label_name", r.label_name},
           {"source_channels", r.source_channels}, {"count", r.count}};
    j["label"] = r.label ? json(*r.label) : json(nullptr);
    arr.push_back(j);
  }
  return json{{"prompts", arr}};
}

PromptTable PromptTable::from_json(const json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("prompts") || !j["prompts"].is_array())
    throw InputError(where + ": field 'prompts': expected an array");
  PromptTable t;
  std::size_t i = 0;
  for (const auto& e : j["prompts"]) {
    const std::string f = "prompts[" + std::to_string(i++) + "]";
    if (!e.is_object() || !e.contains("prompt") || !e["prompt"].is_string() || !e.contains("modality") ||
        !e["modality"].is_string())
      throw InputError(where + ": field '" + f + "': needs string 'prompt' and 'modality'");
    PromptInfo p;
    p.prompt = e["prompt"];
    p.modality = e["modality"];
    p.specialty = e.value("specialty", "");
    p.label_name = e.value("label_name", "");
    if (e.contains("label") && e["label"].is_number_integer()) p.label = e["label"].get<long>();
    p.source_channels = e.value("source_channels", 1);
    p.count = e.value("count", 0L);
    t.add(p);
  }
  return t;
}

PromptTable load_prompt_table(const std::filesystem::path& run_dir) {
  const auto p = run_dir / "prompts.json";
  return PromptTable::from_json(read_json_file(p), p.string());
}

EngineConfig load_run_config(const std::filesystem::path& run_dir) { return load_config(run_dir / "config.json"); }

namespace {

namespace fs = std::filesystem;

// The step of a checkpoint folder named "step-" + at least 8 digits (train.cpp's step_name), or -1.
long long checkpoint_step(const std::string& name) {
  if (name.rfind("step-", 0) != 0 || name.size() < 13 || name.size() > 23) return -1;
  long long v = 0;
  for (std::size_t i = 5; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return -1;
    v = v * 10 + (name[i] - '0');
  }
  return v;
}

// What the loaders need from a checkpoint written before state.json recorded its files.
constexpr const char* kCheckpointFiles[] = {"model.pt", "ema.pt", "optim.pt", "train_log.jsonl"};

std::string file_problem(const fs::path& p, const std::string& name) {
  std::error_code ec;
  const auto st = fs::status(p, ec);
  if (!fs::exists(st)) return name + " is missing";
  if (!fs::is_regular_file(st)) return name + " is not a regular file";
  return "";
}

}  // namespace

std::string checkpoint_problem(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return "the folder is missing (or not a folder)";
  const fs::path sp = dir / "state.json";
  if (auto why = file_problem(sp, "state.json"); !why.empty()) return why;
  json state;
  try {
    state = read_json_file(sp);
  } catch (const InputError& e) {
    return std::string("state.json is unreadable (") + e.what() + ")";
  }
  if (!state.is_object() || !state.contains("step") || !state["step"].is_number_integer())
    return "state.json has no integer 'step'";
  if (!state.contains("files")) {  // older checkpoints: the files must at least be there and non-empty
    for (const char* f : kCheckpointFiles) {
      if (auto why = file_problem(dir / f, f); !why.empty()) return why;
      if (fs::file_size(dir / f, ec) == 0) return std::string(f) + " is empty";
    }
    return "";
  }
  const json& files = state["files"];
  if (!files.is_object()) return "state.json field 'files' is not an object";
  for (const char* f : kCheckpointFiles)
    if (!files.contains(f)) return std::string("state.json field 'files' does not list ") + f;
  // Sizes first (cheap: a truncated file is found without reading anything), then the hashes.
  for (auto it = files.begin(); it != files.end(); ++it) {
    const std::string& name = it.key();
    const json& rec = it.value();
    if (!is_safe_relative_path(name) || name.find('/') != std::string::npos)
      return "state.json field 'files' names '" + name + "', not a file of the checkpoint folder";
    if (!rec.is_object() || !rec.contains("bytes") || !rec["bytes"].is_number_integer() ||
        (!rec["bytes"].is_number_unsigned() && rec["bytes"].get<long long>() < 0) || !rec.contains("sha256") ||
        !rec["sha256"].is_string())
      return "state.json field 'files." + name + "' needs 'bytes' and 'sha256'";
    if (auto why = file_problem(dir / name, name); !why.empty()) return why;
    const std::uint64_t want = rec["bytes"].get<std::uint64_t>(), have = fs::file_size(dir / name, ec);
    if (ec) return name + " cannot be read: " + ec.message();
    if (have < want)
      return name + " is truncated (" + std::to_string(have) + " of " + std::to_string(want) + " bytes)";
    if (have != want) return name + " has " + std::to_string(have) + " bytes, " + std::to_string(want) + " recorded";
  }
  for (auto it = files.begin(); it != files.end(); ++it) {
    std::string h;
    try {
      h = sha256_file(dir / it.key());
    } catch (const InputError& e) {
      return it.key() + " cannot be read (" + e.what() + ")";
    }
    if (h != it.value()["sha256"].get<std::string>()) return it.key() + " does not match its recorded sha256 (corrupt)";
  }
  return "";
}

std::filesystem::path latest_checkpoint(const std::filesystem::path& run_dir) {
  const auto file = run_dir / "latest.json";
  const auto lj = read_json_file(file);
  if (!lj.is_object() || !lj.contains("checkpoint") || !lj["checkpoint"].is_string())
    throw InputError(at_file(file.string(), "field 'checkpoint' is missing"));
  const std::string rel = lj["checkpoint"].get<std::string>();
  if (!is_safe_relative_path(rel))
    throw InputError(at_file(file.string(), "checkpoint '" + rel + "' is outside the run folder; refused"));
  const fs::path newest = run_dir / rel;
  const std::string why = checkpoint_problem(newest);
  if (why.empty()) return newest;

  // Fall back to the newest intact earlier checkpoint: real folders (not links) named step-N in
  // run_dir/checkpoints with N below the damaged one's step, newest first.
  long long below = checkpoint_step(newest.filename().string());
  if (below < 0 && lj.contains("step") && lj["step"].is_number_integer()) below = lj["step"].get<long long>();
  std::vector<std::pair<long long, fs::path>> older;
  std::error_code ec;
  for (fs::directory_iterator it(run_dir / "checkpoints", ec), end; !ec && it != end; it.increment(ec)) {
    const long long step = checkpoint_step(it->path().filename().string());
    std::error_code e2;
    if (step < 0 || !fs::is_directory(it->symlink_status(e2))) continue;
    if ((below >= 0 && step >= below) || it->path().filename() == newest.filename()) continue;
    older.emplace_back(step, it->path());
  }
  std::sort(older.begin(), older.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::string also;  // earlier checkpoints found damaged too, "checkpoints/step-N (why); ..."
  for (const auto& [step, dir] : older) {
    const std::string w = checkpoint_problem(dir);
    if (!w.empty()) {
      also += "; checkpoints/" + dir.filename().string() + " (" + w + ")";
      continue;
    }
    log_warn("the newest checkpoint " + newest.string() + " is damaged: " + why + "; using the previous intact checkpoint " +
             dir.string() + " (step " + std::to_string(step) + ")" + (also.empty() ? "" : "; also damaged: " + also.substr(2)));
    return dir;
  }
  throw InputError(at_file(run_dir.string(), "no intact checkpoint in this training run: " + rel + " (" + why + ")" + also));
}

}  // namespace medsyn::engine
