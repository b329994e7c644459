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
//
// Executors (docs/cluster.md): the local executor computes a missing unit in this process
// (UnitStore::run); a remote one (Slurm) plans with a collecting store: a missing unit's
// description is written beside its folder as "<dir>.unit.json" and the unit is returned pending;
// a Slurm task then runs `medsynbench run-unit RUN_DIR <stage>/<folder>`, which computes it with
// compute_unit_atomically, the same code path as the local executor.
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

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
  bool pending = false;         // collecting store only: described, not computed yet (no outputs)
};

// Thrown by require_complete when planning needs the outputs of a pending unit (a collecting
// store): the planner stops there; the next planning pass, after the pending units ran, continues.
struct PendingInputs {
  std::string unit_id;
};
// The unit itself when complete; PendingInputs when it is pending. Planning code calls it before
// reading a unit's outputs (its files or its summary).
const Unit& require_complete(const Unit& u, const std::string& unit_id);

struct StageStats {
  int units = 0, cached = 0, computed = 0;
  double seconds = 0;
};

// Computes a unit into `work_dir` (the .partial folder) and returns its summary.
using UnitWork = std::function<nlohmann::ordered_json(const UnitDescription&, const std::filesystem::path& work_dir)>;
// Called after a unit's work and before its done.json (tests inject a kill here).
using UnitAfterWork = std::function<void(const UnitDescription&, const std::filesystem::path& work_dir)>;

// The one way a unit is computed, by every executor: discards a leftover "<dir>.partial" (keeps
// it when `resume` and the unit is resumable), writes unit.json there, runs `work`, writes
// done.json last and renames the folder into place; removes a pending "<dir>.unit.json".
// `dir` = units_root/<stage>/<folder_name>.
Unit compute_unit_atomically(const std::filesystem::path& dir, const UnitDescription& d, bool resume, const UnitWork& work,
                             const UnitAfterWork& after_work);

// "<dir>.unit.json": where a collecting store leaves a pending unit's description.
std::filesystem::path pending_description_path(const std::filesystem::path& unit_dir);

class UnitStore {
 public:
  using Work = UnitWork;
  using AfterWork = UnitAfterWork;

  // `only` empty = every stage may compute; otherwise a missing unit of another stage is an error.
  UnitStore(std::filesystem::path run_dir, bool resume, std::set<std::string> only, Work work);

  void set_after_work(AfterWork hook) { after_work_ = std::move(hook); }
  bool allowed(const std::string& stage) const { return only_.empty() || only_.count(stage) > 0; }
  std::filesystem::path dir_of(const UnitDescription& d) const { return root_ / d.stage / d.folder_name(); }

  // The complete unit, computed when missing (collecting: described and returned pending).
  Unit run(const UnitDescription& d);

  // Collecting mode (remote executors): a missing unit is not computed but described
  // ("<dir>.unit.json") and recorded in pending(), unless it reads (through its `locations`) a
  // unit pending in this pass: then it is deferred to a later pass (counted, not described).
  void set_collecting(bool on) { collecting_ = on; }
  const std::vector<UnitDescription>& pending() const { return pending_; }
  int deferred() const { return deferred_; }

  std::map<std::string, StageStats>& stats() { return stats_; }
  // The thread counts the run's units were computed with (done.json "threads"; older units
  // without it are not counted).
  const std::set<int>& unit_threads() const { return threads_; }

 private:
  std::filesystem::path root_;
  bool resume_;
  std::set<std::string> only_;
  Work work_;
  AfterWork after_work_;
  std::map<std::string, StageStats> stats_;
  std::set<int> threads_;
  bool collecting_ = false;
  std::vector<UnitDescription> pending_;
  std::vector<std::filesystem::path> pending_dirs_;
  int deferred_ = 0;
  bool reads_pending(const UnitDescription& d) const;
};

}  // namespace medsyn::suites
