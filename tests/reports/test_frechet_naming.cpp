// FID or FD (core/feature_space.h): the naming rule, old results files read under it, report
// figures and compute comparison on fd, and compare's hint for a gate naming the other spelling.
#include <catch2/catch.hpp>

#include "medsyn/core/error.h"
#include "medsyn/core/feature_space.h"
#include "medsyn/reports/compare.h"
#include "medsyn/reports/report.h"
#include "medsyn/reports/results.h"
#include "reports_test_util.h"
#include "test_support.h"

using namespace medsyn;
using namespace medsyn::reports;
using nlohmann::ordered_json;

TEST_CASE("the FID/FD rule: fid only in Inception feature spaces", "[reports][fd]") {
  CHECK(is_inception_feature_space("clean-fid-inception@sha256:abc"));
  CHECK(is_inception_feature_space("torchscript-preset:clean-fid-inception:/m/inception-2015-12-05.pt"));
  CHECK(is_inception_feature_space("builtin:inception"));
  CHECK(is_inception_feature_space(""));  // unknown space (old files): names kept
  CHECK_FALSE(is_inception_feature_space("builtin:pixels(1x16x16)"));
  CHECK_FALSE(is_inception_feature_space("dgm-dinov2@sha256:abc"));
  CHECK_FALSE(is_inception_feature_space("cmmd-clip@sha256:abc"));
  CHECK_FALSE(is_inception_feature_space("torchscript@sha256:abc"));  // a user's own network: not known to be Inception
  CHECK(frechet_metric_name("fid", "clean-fid-inception@sha256:abc") == "fid");
  CHECK(frechet_metric_name("fid", "dgm-dinov2@sha256:abc") == "fd");
  CHECK(frechet_metric_name("fid_population", "builtin:pixels(1x2x2)") == "fd_population");
  CHECK(frechet_metric_name("fid_real_floor_population", "builtin:pixels(1x2x2)") == "fd_real_floor_population");
  CHECK(frechet_metric_name("kid", "builtin:pixels(1x2x2)") == "kid");
  CHECK(other_frechet_spelling("fid_population") == "fd_population");
  CHECK(other_frechet_spelling("fd_real_floor") == "fid_real_floor");
  CHECK(other_frechet_spelling("fdx") == "");
  CHECK(other_frechet_spelling("kid") == "");
}

namespace {

// The fixture with an extractor recorded in its provenance.
ordered_json with_extractor(const std::string& id) {
  ordered_json j = test::base_results_json();
  j["provenance"]["extractor"] = {{"id", id}, {"preprocessing", "1x16x16 bicubic(antialias) clamp range[0,1]"}};
  j["reference"]["chest_xray"]["fid_real_floor"] = {{"value", 3.5}, {"ci_low", nullptr}, {"ci_high", nullptr}, {"n", 100}};
  return j;
}

}  // namespace

TEST_CASE("old results files: fid in a non-Inception space is read as fd; Inception and unknown spaces keep fid",
          "[reports][fd]") {
  const auto old_pixels = results_from_json(with_extractor("builtin:pixels(1x16x16)"), "old.json");
  CHECK(old_pixels.find("spec_chest", "chest_xray", "fid") == nullptr);
  REQUIRE(old_pixels.find("spec_chest", "chest_xray", "fd"));
  CHECK(old_pixels.find("spec_chest", "chest_xray", "fd")->value == Approx(21.05));
  CHECK(old_pixels.reference.at("chest_xray").count("fd_real_floor") == 1);
  CHECK(old_pixels.metric_names().front() == "fd");
  CHECK(old_pixels.metric_info("fd").label == "FD");
  CHECK(old_pixels.metric_info("fd").better == Better::lower);
  CHECK(old_pixels.notes.back().find("read as fd") != std::string::npos);
  CHECK(compute_comparison(old_pixels).quality_metric == "fd");

  const auto inception = results_from_json(with_extractor("clean-fid-inception@sha256:0123"), "inc.json");
  CHECK(inception.find("spec_chest", "chest_xray", "fid"));
  CHECK(inception.find("spec_chest", "chest_xray", "fd") == nullptr);
  const auto unknown = results_from_json(test::base_results_json(), "base.json");
  CHECK(unknown.find("spec_chest", "chest_xray", "fid"));

  // A file already written with fd keeps it, and a negative fd is out of range like a negative fid.
  ordered_json nj = with_extractor("dgm-dinov2@sha256:0123");
  nj["results"]["spec_chest"]["chest_xray"]["fd"] = nj["results"]["spec_chest"]["chest_xray"]["fid"];
  nj["results"]["spec_chest"]["chest_xray"]["fd"]["value"] = -1.0;
  try {
    results_from_json(nj, "new.json");
    FAIL("a negative fd loaded");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find("$.results.spec_chest.chest_xray.fd.value") != std::string::npos);
  }
}

TEST_CASE("compare: a gate naming fid on fd results fails with the reason; fd gates work", "[reports][fd]") {
  const auto base = results_from_json(with_extractor("builtin:pixels(1x16x16)"), "base.json");
  const auto cand = results_from_json(with_extractor("builtin:pixels(1x16x16)"), "cand.json");
  const auto gates = parse_gates(ordered_json::parse(R"([
      {"metric": "fid", "model": "spec_chest", "modality": "chest_xray", "op": "<=", "value": 100},
      {"metric": "fd", "model": "spec_chest", "modality": "chest_xray", "op": "<=", "value": 100}])"),
                                 "gates.json");
  const auto rep = compare_results(base, cand, &gates);
  REQUIRE(rep.checks.size() == 2);
  CHECK_FALSE(rep.checks[0].passed);
  CHECK(rep.checks[0].detail.find("report 'fd' instead") != std::string::npos);
  CHECK(rep.checks[0].detail.find("not Inception") != std::string::npos);
  CHECK(rep.checks[1].passed);
  CHECK_FALSE(rep.passed);

  // Inception runs: gates naming fid keep working.
  const auto ib = results_from_json(with_extractor("clean-fid-inception@sha256:0123"), "b.json");
  const auto ig = parse_gates(ordered_json::parse(
                                  R"([{"metric": "fid", "model": "spec_chest", "modality": "chest_xray", "op": "<=", "value": 100}])"),
                              "gates.json");
  const auto irep = compare_results(ib, ib, &ig);
  REQUIRE(irep.checks.size() == 1);
  CHECK(irep.checks[0].passed);
}
