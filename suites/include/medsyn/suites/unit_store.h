#pragma once
// Work units and the content-addressed unit store of a run folder.
//
// A unit is described by a UnitDescription: its stage, name, `spec` (the options that configure
// it: a typed spec's JSON, specs.h), `inputs` (content hashes, upstream unit keys, seeds, device)
// and `locations` (where those inputs lie: upstream unit folders relative to the run folder,
// external folders absolute; not part of the key, the content hashes in `inputs` are).
// key = sha256 of the canonical JSON (sorted keys) of {format, tool_version, stage, name, spec,
// inputs}: an option in the spec cannot be forgotten in the key.
//
// Layout: RUN_DIR/units/<stage>/<name>-<key16>/ holding unit.json (the description, written
// before the work: a unit can be computed from it alone), the unit's outputs and done.json (key,
// stage, name, inputs, summary, finish time). The work runs in "<dir>.partial/"; done.json is
// written last and the folder renamed into place, so a folder without ".partial" is complete.
// A leftover .partial is discarded, except for a resumable unit (training) when resuming.
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

namespace medsyn::suites {

// Bump when the layout or meaning of any unit's output or key changes: every key changes with it.
inline constexpr const char* kUnitFormat = "medsynbench-suite-unit/2";

struct UnitDescription {
  std::string stage, name;
  nlohmann::ordered_json spec = nlohmann::ordered_json::object();
  nlohmann::ordered_json inputs = nlohmann::ordered_json::object();
  nlohmann::ordered_json locations = nlohmann::ordered_json::object();
  bool resumable = false;  // a leftover .partial continues when resuming (training checkpoints)
  std::string key;         // unit_key(*this), set by make_unit

  // "<safe name>-<key16>": the unit's folder below units/<stage>/.
  std::string folder_name() const;
  // "<stage>/<folder_name>": the id a single-unit executor is given.
  std::string id() const { return stage + "/" + folder_name(); }
};

// The key of a description (its `key` field is ignored).
std::string unit_key(const UnitDescription& d);
// A description with its key set.
UnitDescription make_unit(std::string stage, std::string name, nlohmann::ordered_json spec, nlohmann::ordered_json inputs,
                          nlohmann::ordered_json locations = nlohmann::ordered_json::object(), bool resumable = false);

// unit.json: {format, stage, name, key, spec, inputs, locations, resumable}.
nlohmann::ordered_json to_json(const UnitDescription& d);
// Reads unit.json back; InputError naming `where` when a field is missing or the key does not
// match the content (a hand-edited or foreign description).
UnitDescription unit_description_from_json(const nlohmann::json& j, const std::string& where);

struct Unit {
  std::filesystem::path dir;
  std::string key;
  nlohmann::ordered_json meta;  // the summary its work returned (done.json "summary")
};

struct StageStats {
  int units = 0, cached = 0, computed = 0;
  double seconds = 0;
};

class UnitStore {
 public:
  // Computes a unit into `work_dir` (the .partial folder) and returns its summary.
  using Work = std::function<nlohmann::ordered_json(const UnitDescription&, const std::filesystem::path& work_dir)>;
  // Called after a unit's work and before its done.json (tests inject a kill here).
  using AfterWork = std::function<void(const UnitDescription&, const std::filesystem::path& work_dir)>;

  // `only` empty = every stage may compute; otherwise a missing unit of another stage is an error.
  UnitStore(std::filesystem::path run_dir, bool resume, std::set<std::string> only, Work work);

  void set_after_work(AfterWork hook) { after_work_ = std::move(hook); }
  bool allowed(const std::string& stage) const { return only_.empty() || only_.count(stage) > 0; }
  std::filesystem::path dir_of(const UnitDescription& d) const { return root_ / d.stage / d.folder_name(); }

  // The complete unit, computed when missing.
  Unit run(const UnitDescription& d);

  std::map<std::string, StageStats>& stats() { return stats_; }

 private:
  std::filesystem::path root_;
  bool resume_;
  std::set<std::string> only_;
  Work work_;
  AfterWork after_work_;
  std::map<std::string, StageStats> stats_;
};

}  // namespace medsyn::suites
