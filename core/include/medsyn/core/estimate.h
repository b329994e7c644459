#pragma once
// medsyn::Estimate: the one "value with an interval" type of the project. Every producer
// (metrics, memorization, downstream, the suite runner) returns it and every consumer (report,
// compare, figures, gates) reads it.
//
// Its JSON form *is* the metric object of reports/schema/results.schema.json:
//   {"value": x|null, "ci_low": x|null, "ci_high": x|null, "n": N,
//    "ci_level": 0.95, "ci_method": "...", "estimand": "...", "se": x, "replicates": R,
//    "failed": F, "note": "..."}
// The first four keys are always written; the others only when they carry information
// (ci_level/ci_method only with an interval, se when finite, replicates/failed when > 0,
// estimand/note when non-empty). Fields a producer adds (e.g. "k", "n_real", "diagnostics") are
// appended to the object by that producer and kept by readers that know them.
//
// Conventions:
//  - NaN means "not computed" and is written as null. An interval is both ends or neither: a
//    half-finite interval is dropped (both null).
//  - `note` says why `value` is null (too few samples, failed computation) or anything else a
//    reader of a table must know.
//  - `ci_level` is the interval's central coverage (0.95 = 95%); readers print it from here,
//    never assume 95%.
#include <cmath>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

namespace medsyn {

struct Estimate {
  static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

  double value = kNaN;
  double ci_low = kNaN, ci_high = kNaN;
  double ci_level = 0.95;
  std::string ci_method;   // e.g. "percentile bootstrap", "t over seeds", "wilson", "delong"
  std::string estimand;    // what the interval is an interval for ("" = not stated yet)
  long long n = 0;         // sample size the value was computed from
  double se = kNaN;        // standard error (bootstrap: std of the finite replicates)
  int replicates = 0;      // bootstrap replicates requested (0 = not a bootstrap)
  int failed = 0;          // replicates whose statistic was not finite (dropped)
  std::string note;        // why value is null, or a caveat

  bool has_value() const { return std::isfinite(value); }
  bool has_ci() const { return std::isfinite(ci_low) && std::isfinite(ci_high); }
  // Point estimate only (no interval).
  static Estimate point(double value, long long n = 0);
  // A null value with the reason in `note`.
  static Estimate null_because(std::string reason, long long n = 0);
};

// The metric object (see the header comment). ordered_json keeps the documented key order.
nlohmann::ordered_json to_json(const Estimate& e);
// Reads a metric object. Lenient: absent keys keep their defaults, null -> NaN. Throws InputError
// naming `where` (a file and/or JSON path) when a present key has the wrong type.
Estimate estimate_from_json(const nlohmann::json& j, const std::string& where = "");

}  // namespace medsyn
