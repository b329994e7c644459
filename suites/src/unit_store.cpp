// The unit store: content-addressed unit folders, .partial, unit.json and done.json (unit_store.h).
#include "medsyn/suites/unit_store.h"

#include <chrono>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/json.h"
#include "medsyn/core/progress.h"
#include "medsyn/core/provenance.h"
#include "medsyn/reports/report.h"
#include "medsyn/torch/runtime.h"

namespace fs = std::filesystem;

namespace medsyn::suites {

using ojson = nlohmann::ordered_json;

std::string UnitDescription::folder_name() const { return reports::safe_name(name) + "-" + key.substr(0, 16); }

std::string unit_key(const UnitDescription& d) {
  // nlohmann::json (not ordered_json) sorts object keys: the canonical form of spec and inputs.
  const json keyed = {{"format", kUnitFormat}, {"tool_version", build_info().version}, {"stage", d.stage},
                      {"name", d.name}, {"spec", json::parse(d.spec.dump())}, {"inputs", json::parse(d.inputs.dump())}};
  return sha256_hex(keyed.dump());
}

UnitDescription make_unit(std::string stage, std::string name, ojson spec, ojson inputs, ojson locations, bool resumable) {
  UnitDescription d;
  d.stage = std::move(stage);
  d.name = std::move(name);
  d.spec = std::move(spec);
  d.inputs = std::move(inputs);
  d.locations = std::move(locations);
  d.resumable = resumable;
  d.key = unit_key(d);
  return d;
}

ojson to_json(const UnitDescription& d) {
  return {{"format", kUnitFormat}, {"stage", d.stage}, {"name", d.name}, {"key", d.key}, {"spec", d.spec},
          {"inputs", d.inputs}, {"locations", d.locations}, {"resumable", d.resumable}};
}

UnitDescription unit_description_from_json(const json& j, const std::string& where) {
  auto field = [&](const char* k) -> const json& {
    if (!j.is_object() || !j.contains(k)) throw InputError(where + ": missing \"" + k + "\"");
    return j.at(k);
  };
  if (field("format") != kUnitFormat)
    throw InputError(where + ": unit format " + field("format").dump() + ", this build reads " + kUnitFormat);
  UnitDescription d;
  try {
    d.stage = field("stage").get<std::string>();
    d.name = field("name").get<std::string>();
    d.key = field("key").get<std::string>();
    d.spec = ojson::parse(field("spec").dump());
    d.inputs = ojson::parse(field("inputs").dump());
    d.locations = j.contains("locations") ? ojson::parse(j["locations"].dump()) : ojson::object();
    d.resumable = j.value("resumable", false);
  } catch (const json::exception& e) {
    throw InputError(where + ": " + e.what());
  }
  if (unit_key(d) != d.key) throw InputError(where + ": \"key\" does not match the description (edited by hand?)");
  return d;
}

UnitStore::UnitStore(fs::path run_dir, bool resume, std::set<std::string> only, Work work)
    : root_(run_dir / "units"), resume_(resume), only_(std::move(only)), work_(std::move(work)) {}

const Unit& require_complete(const Unit& u, const std::string& unit_id) {
  if (u.pending) throw PendingInputs{unit_id};
  return u;
}

fs::path pending_description_path(const fs::path& unit_dir) { return fs::path(unit_dir.string() + ".unit.json"); }

Unit compute_unit_atomically(const fs::path& dir, const UnitDescription& d, bool resume, const UnitWork& work,
                             const UnitAfterWork& after_work) {
  const fs::path partial = fs::path(dir.string() + ".partial");
  if (fs::exists(partial) && !(resume && d.resumable)) {
    log_warn("discarding the incomplete unit " + partial.string());
    fs::remove_all(partial);
  } else if (fs::exists(partial)) {
    log_warn("resuming the incomplete unit " + partial.string());
  }
  ensure_dir(partial);
  write_json_file(partial / "unit.json", to_json(d));
  log_info(d.stage + ": " + d.name);
  const ojson meta = work(d, partial);
  if (after_work) after_work(d, partial);
  ojson done = {{"key", d.key}, {"stage", d.stage}, {"name", d.name}, {"inputs", d.inputs}, {"summary", meta},
                {"finished", utc_now_iso8601()}};
  // Not part of the key: the same unit computed with another thread count is the same unit, but
  // its floating-point numbers may differ in the last bits (results.json provenance.unit_threads).
  if (const int t = torch_runtime_threads(); t > 0) done["threads"] = t;
  write_json_file(partial / "done.json", done);
  if (fs::exists(dir)) fs::remove_all(dir);  // a complete unit never lacks done.json; be safe
  fs::rename(partial, dir);
  std::error_code ec;
  fs::remove(pending_description_path(dir), ec);  // described for a remote executor: now done
  return {dir, d.key, meta};
}

bool UnitStore::reads_pending(const UnitDescription& d) const {
  std::vector<fs::path> where;
  for (const auto& [k, v] : d.locations.items()) {
    if (v.is_string()) where.push_back(v.get<std::string>());
    if (v.is_array())
      for (const auto& x : v)
        if (x.is_string()) where.push_back(x.get<std::string>());
  }
  for (fs::path p : where) {
    if (!p.is_absolute()) p = root_.parent_path() / p;  // locations inside the run are relative to it
    p = p.lexically_normal();
    for (const auto& pd : pending_dirs_) {
      const fs::path rel = p.lexically_relative(pd);
      if (!rel.empty() && *rel.begin() != "..") return true;
    }
  }
  return false;
}

Unit UnitStore::run(const UnitDescription& d) {
  using Clock = std::chrono::steady_clock;
  const fs::path dir = dir_of(d);
  auto& st = stats_[d.stage];
  ++st.units;
  if (fs::exists(dir / "done.json")) {
    ++st.cached;
    const json done = read_json_file(dir / "done.json");
    if (done.contains("threads") && done["threads"].is_number_integer()) threads_.insert(done["threads"].get<int>());
    return {dir, d.key, ojson::parse(done.at("summary").dump())};
  }
  if (!allowed(d.stage))
    throw InputError("stage '" + d.stage + "': unit '" + d.name + "' has not run yet in " + root_.parent_path().string() +
                     "; the stages to compute must include '" + d.stage + "'");
  if (collecting_) {
    // A unit that reads a pending unit waits for a later wave (its key may even hold that unit's
    // output hashes, unknown yet): it is neither described nor submitted now.
    if (reads_pending(d)) {
      ++deferred_;
      pending_dirs_.push_back(dir.lexically_normal());  // what reads it waits too
      return {dir, d.key, ojson::object(), /*pending=*/true};
    }
    pending_dirs_.push_back(dir.lexically_normal());
    ensure_dir(dir.parent_path());
    write_json_file(pending_description_path(dir), to_json(d));
    pending_.push_back(d);
    return {dir, d.key, ojson::object(), /*pending=*/true};
  }
  const auto t0 = Clock::now();
  Unit u = compute_unit_atomically(dir, d, resume_, work_, after_work_);
  if (const int t = torch_runtime_threads(); t > 0) threads_.insert(t);
  ++st.computed;
  st.seconds += std::chrono::duration<double>(Clock::now() - t0).count();
  return u;
}

}  // namespace medsyn::suites
