// metrics::compare_intensity against numpy/scipy (scripts/fixtures/intensity_fixtures.py).
#include <catch2/catch.hpp>

#include "medsyn/core/error.h"
#include "medsyn/core/json.h"
#include "medsyn/metrics/intensity.h"
#include "test_support.h"

using namespace medsyn;

namespace {
std::vector<Image> images_of(const json& values, int c, int h, int w) {
  std::vector<Image> out;
  const std::size_t per = static_cast<std::size_t>(c) * h * w;
  for (std::size_t s = 0; s < values.size(); s += per) {
    Image img(c, h, w);
    for (std::size_t i = 0; i < per; ++i) img.data[i] = values[s + i].get<float>();
    out.push_back(img);
  }
  return out;
}
}  // namespace

TEST_CASE("intensity comparison: means, stds, Wasserstein, histograms, corners match numpy/scipy", "[metrics][intensity]") {
  // Tolerances: 1e-6 absolute (float32 pixels vs float64 references); histograms exact.
  const json ref = read_json_file(test::fixtures_dir() / "metrics" / "intensity_reference.json");
  const auto real = images_of(ref["real"], 3, 9, 9), gen = images_of(ref["generated"], 3, 9, 9);
  metrics::IntensityOptions o;
  o.bootstrap.replicates = 200;
  const auto c = metrics::compare_intensity("fundus", real, gen, o);
  REQUIRE(c.rows.size() == 4);
  CHECK(c.n_real == 7);
  CHECK(c.n_generated == 5);
  for (const auto& r : c.rows) {
    INFO(r.channel);
    const json& e = ref["rows"][r.channel];
    CHECK(r.real_mean.value == Approx(e["real_mean"].get<double>()).margin(1e-6));
    CHECK(r.generated_mean.value == Approx(e["generated_mean"].get<double>()).margin(1e-6));
    CHECK(r.real_std.value == Approx(e["real_std"].get<double>()).margin(1e-6));
    CHECK(r.generated_std.value == Approx(e["generated_std"].get<double>()).margin(1e-6));
    CHECK(r.wasserstein == Approx(e["wasserstein"].get<double>()).margin(1e-6));
    CHECK(r.mean_diff.value == Approx(e["generated_mean"].get<double>() - e["real_mean"].get<double>()).margin(1e-6));
    for (int b = 0; b < 32; ++b) {
      CHECK(r.real_hist[b] == Approx(e["real_hist"][b].get<double>()).margin(1e-12));
      CHECK(r.generated_hist[b] == Approx(e["generated_hist"][b].get<double>()).margin(1e-12));
    }
    // intervals: bootstrap over images, containing the point value
    REQUIRE(r.real_mean.has_ci());
    CHECK(r.real_mean.ci_low <= r.real_mean.value);
    CHECK(r.real_mean.ci_high >= r.real_mean.value);
    CHECK(r.mean_diff.ci_low > 0);  // the generated set is clearly brighter in every channel
  }
  CHECK(c.rows[0].channel == "red");
  CHECK(c.rows[3].channel == "all");
  CHECK(c.corner == 1);
  CHECK(c.real_background.value == Approx(ref["background"]["real"].get<double>()).margin(1e-6));
  CHECK(c.generated_background.value == Approx(ref["background"]["generated"].get<double>()).margin(1e-6));
  CHECK(c.has_background);
  // the same seed gives the same intervals
  const auto c2 = metrics::compare_intensity("fundus", real, gen, o);
  CHECK(c2.rows[3].mean_diff.ci_low == c.rows[3].mean_diff.ci_low);
  const auto j = metrics::intensity_to_json(c);
  CHECK(j["rows"][3]["channel"] == "all");
  CHECK(j["background"]["has_background"] == true);
}

TEST_CASE("intensity comparison: gray sets, too few images, conversions, errors", "[metrics][intensity]") {
  std::vector<Image> real{Image(1, 4, 4, 0.2f), Image(1, 4, 4, 0.4f)}, one{Image(3, 4, 4, 0.5f)};
  const auto c = metrics::compare_intensity("chest_xray", real, one);
  REQUIRE(c.rows.size() == 1);
  CHECK(c.rows[0].channel == "all");
  CHECK(c.rows[0].real_mean.value == Approx(0.3));
  CHECK(c.rows[0].real_std.value == Approx(0.1));
  CHECK_FALSE(c.rows[0].generated_mean.has_value());  // one image < min_images
  CHECK_THAT(c.rows[0].generated_mean.note, Catch::Contains("fewer than 2"));
  CHECK(c.rows[0].wasserstein == Approx(0.2));  // RGB converted to gray (luma of 0.5 = 0.5)
  CHECK_FALSE(c.has_background);
  CHECK_THROWS_AS(metrics::compare_intensity("x", {}, one), InputError);
  CHECK_THROWS_AS(metrics::compare_intensity("x", real, {}), InputError);
  std::vector<float> a{0.f, 1.f}, b{0.5f};
  CHECK(metrics::wasserstein_1d(a, b) == Approx(0.5));
}
