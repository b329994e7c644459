#include "medsyn/core/estimate.h"

#include "medsyn/core/error.h"

namespace medsyn {

Estimate Estimate::point(double value, long long n) {
  Estimate e;
  e.value = value;
  e.n = n;
  return e;
}

Estimate Estimate::null_because(std::string reason, long long n) {
  Estimate e;
  e.n = n;
  e.note = std::move(reason);
  return e;
}

namespace {
nlohmann::ordered_json num(double v) { return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr); }

double read_number(const nlohmann::json& j, const char* key, double fallback, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_number()) throw InputError(where + (where.empty() ? "" : ": ") + "\"" + key + "\" must be a number or null");
  return j[key].get<double>();
}

std::string read_string(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return {};
  if (!j[key].is_string()) throw InputError(where + (where.empty() ? "" : ": ") + "\"" + key + "\" must be a string");
  return j[key].get<std::string>();
}
}  // namespace

nlohmann::ordered_json to_json(const Estimate& e) {
  const bool ci = e.has_ci();
  nlohmann::ordered_json j;
  j["value"] = num(e.value);
  j["ci_low"] = ci ? num(e.ci_low) : nullptr;
  j["ci_high"] = ci ? num(e.ci_high) : nullptr;
  j["n"] = e.n;
  if (ci) {
    j["ci_level"] = e.ci_level;
    if (!e.ci_method.empty()) j["ci_method"] = e.ci_method;
  }
  if (!e.estimand.empty()) j["estimand"] = e.estimand;
  if (std::isfinite(e.se)) j["se"] = e.se;
  if (e.replicates > 0) j["replicates"] = e.replicates;
  if (e.failed > 0) j["failed"] = e.failed;
  if (!e.note.empty()) j["note"] = e.note;
  return j;
}

Estimate estimate_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw InputError(where + (where.empty() ? "" : ": ") + "a metric object must be a JSON object");
  Estimate e;
  e.value = read_number(j, "value", Estimate::kNaN, where);
  e.ci_low = read_number(j, "ci_low", Estimate::kNaN, where);
  e.ci_high = read_number(j, "ci_high", Estimate::kNaN, where);
  if (std::isfinite(e.ci_low) != std::isfinite(e.ci_high)) e.ci_low = e.ci_high = Estimate::kNaN;
  e.ci_level = read_number(j, "ci_level", 0.95, where);
  e.ci_method = read_string(j, "ci_method", where);
  e.estimand = read_string(j, "estimand", where);
  const double n = read_number(j, "n", 0, where);
  e.n = static_cast<long long>(n);
  e.se = read_number(j, "se", Estimate::kNaN, where);
  e.replicates = static_cast<int>(read_number(j, "replicates", 0, where));
  e.failed = static_cast<int>(read_number(j, "failed", 0, where));
  e.note = read_string(j, "note", where);
  return e;
}

}  // namespace medsyn
