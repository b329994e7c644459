// Prompt table, run config loading and seed mixing (no LibTorch).
#include <algorithm>
#include <cctype>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/json.h"
#include "medsyn/engine/engine.h"

namespace medsyn::engine {

std::string normalise_prompt(const std::string& s) {
  std::string out;
  bool space = false;
  for (unsigned char ch : s) {
    if (std::isspace(ch)) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(static_cast<char>(std::tolower(ch)));
  }
  return out;
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

std::filesystem::path latest_checkpoint(const std::filesystem::path& run_dir) {
  const auto file = run_dir / "latest.json";
  const auto lj = read_json_file(file);
  if (!lj.is_object() || !lj.contains("checkpoint") || !lj["checkpoint"].is_string())
    throw InputError(at_file(file.string(), "field 'checkpoint' is missing"));
  const std::string rel = lj["checkpoint"].get<std::string>();
  if (!is_safe_relative_path(rel))
    throw InputError(at_file(file.string(), "checkpoint '" + rel + "' is outside the run folder; refused"));
  return run_dir / rel;
}

}  // namespace medsyn::engine
