#include "medsyn/metrics/feature_reports.h"

#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "medsyn/core/error.h"

namespace medsyn::metrics {

namespace {

using nlohmann::json;

void check_dims(std::int64_t da, std::int64_t db, const std::string& na, const std::string& nb) {
  if (da != db) throw InputError(na + " has dimension " + std::to_string(da) + " but " + nb + " has " + std::to_string(db));
}

// Estimate objects keep their documented key order inside the (sorted) command JSON.
json estimate_json(const Estimate& e) { return json::parse(medsyn::to_json(e).dump()); }

void check_eps(const FidOptions& fid) {
  if (!(fid.eps >= 0) || !std::isfinite(fid.eps)) throw InputError("eps must be finite and >= 0, got " + std::to_string(fid.eps));
}

}  // namespace

FidReport fid_report(FeatureView a, FeatureView b, const IntervalOptions& interval, const FidOptions& fid,
                     const std::string& name_a, const std::string& name_b) {
  check_eps(fid);
  check_dims(a.cols, b.cols, name_a, name_b);
  FidReport r;
  r.interval = interval;
  r.has_estimates = true;
  r.estimates = fid_estimates(a, b, interval, name_a, name_b, fid);
  // Below the minimum size the estimates are null and the point was not computed: compute it here.
  r.point = r.estimates.plug_in.has_value() ? r.estimates.point
                                            : frechet_distance(compute_stats(a, name_a), compute_stats(b, name_b), fid);
  return r;
}

FidReport fid_report(const GaussianStats& a, const GaussianStats& b, const FidOptions& fid, const std::string& name_a,
                     const std::string& name_b) {
  check_eps(fid);
  check_dims(a.dim, b.dim, name_a, name_b);
  FidReport r;
  r.point = frechet_distance(a, b, fid);
  return r;
}

json to_json(const FidReport& r) {
  json j = fid_to_json(r.point);
  if (r.has_estimates)
    j["estimates"] = {{"fid", estimate_json(r.estimates.plug_in)}, {"fid_population", estimate_json(r.estimates.population)}};
  else
    j["estimates"] = nullptr;  // statistics: no rows, no interval, no bias correction
  j["bootstrap"] = r.interval.bootstrap;
  j["seed"] = r.interval.seed;
  return j;
}

KidReport kid_report(FeatureView a, FeatureView b, const KidOptions& kid_opt, const IntervalOptions& interval,
                     const std::string& name_a, const std::string& name_b) {
  KidReport r;
  r.interval = interval;
  r.estimate = kid_estimate(a, b, kid_opt, interval, name_a, name_b, &r.result);
  if (!r.estimate.has_value()) r.result = kid(a, b, kid_opt, name_a, name_b);  // below the minimum: the raw value
  return r;
}

json to_json(const KidReport& r) {
  json j = kid_to_json(r.result);
  j["seed"] = r.interval.seed;
  j["bootstrap"] = r.interval.bootstrap;
  j["estimates"] = {{"kid", estimate_json(r.estimate)}};
  return j;
}

PrdcReport prdc_report(FeatureView real, FeatureView fake, int k, const IntervalOptions& interval,
                       const std::string& name_real, const std::string& name_fake) {
  PrdcReport r;
  r.interval = interval;
  r.estimates = prdc_estimates(real, fake, k, interval, name_real, name_fake, &r.result);
  if (!r.estimates.precision.has_value()) r.result = prdc(real, fake, k, name_real, name_fake);  // below the minimum
  return r;
}

json to_json(const PrdcReport& r) {
  json j = prdc_to_json(r.result);
  j["bootstrap"] = r.interval.bootstrap;
  j["seed"] = r.interval.seed;
  j["estimates"] = json::object();
  for (const auto& [name, e] : {std::pair<const char*, const Estimate*>{"precision", &r.estimates.precision},
                                {"recall", &r.estimates.recall}, {"density", &r.estimates.density},
                                {"coverage", &r.estimates.coverage}})
    j["estimates"][name] = estimate_json(*e);
  return j;
}

}  // namespace medsyn::metrics
