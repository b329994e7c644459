// Calibration mathematics on hand-made distributions (values checked by hand / numpy / scipy).
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "medsyn/core/error.h"
#include "medsyn/memorization/calibration.h"

using namespace medsyn::memorization;


TEST_CASE("quantile uses linear interpolation (numpy default)", "[memorization][calibration]") {
  const std::vector<double> v = {4, 1, 3, 2, 5};  // sorted 1..5
  CHECK(quantile(v, 0.0) == Approx(1.0));
  CHECK(quantile(v, 1.0) == Approx(5.0));
  CHECK(quantile(v, 0.5) == Approx(3.0));
  CHECK(quantile(v, 0.9) == Approx(4.6));   // np.quantile([1,2,3,4,5], 0.9)
  CHECK(quantile(v, 0.99) == Approx(4.96));
  const std::vector<double> w = {0.1, 0.2, 0.3, 0.4};
  CHECK(quantile(w, 0.5) == Approx(0.25));
  CHECK(quantile(w, 0.75) == Approx(0.325));  // h = 2.25
  CHECK(quantile(std::vector<double>{7.0}, 0.3) == Approx(7.0));
  CHECK_THROWS_AS(quantile(std::vector<double>{}, 0.5), medsyn::InputError);
  CHECK_THROWS_AS(quantile(v, 1.5), medsyn::InputError);
  CHECK_THROWS_AS(quantile(std::vector<double>{1.0, NAN}, 0.5), medsyn::InputError);
}

TEST_CASE("summary, fraction above and distances", "[memorization][calibration]") {
  std::vector<double> s(101);
  for (int i = 0; i <= 100; ++i) s[i] = i / 100.0;  // 0.00 .. 1.00
  const auto r = summarize(s);
  CHECK(r.count == 101);
  CHECK(r.mean == Approx(0.5));
  CHECK(r.p50 == Approx(0.5));
  CHECK(r.p75 == Approx(0.75));
  CHECK(r.p90 == Approx(0.90));
  CHECK(r.p95 == Approx(0.95));
  CHECK(r.p99 == Approx(0.99));
  CHECK(r.min == 0.0);
  CHECK(r.max == 1.0);
  CHECK(fraction_above(s, 0.9) == Approx(10.0 / 101.0));  // strictly above: 0.91..1.00
  CHECK(fraction_above(s, 1.0) == 0.0);
  const auto d = to_distances(std::vector<double>{1.0, 0.25, -1.0});
  CHECK(d == std::vector<double>{0.0, 0.75, 2.0});
}

TEST_CASE("calibrate: tau, flag fractions, DCR ratio and one-sided Mann-Whitney", "[memorization][calibration]") {
  // Holdout nearest similarities 0.50, 0.51, ..., 0.99 (50 values); synthetic: 45 like the holdout's
  // lower part plus 5 near-copies at 0.999.
  std::vector<double> hold, syn;
  for (int i = 0; i < 50; ++i) hold.push_back(0.50 + 0.01 * i);
  for (int i = 0; i < 45; ++i) syn.push_back(0.50 + 0.01 * i);
  for (int i = 0; i < 5; ++i) syn.push_back(0.999);
  const auto c = calibrate(syn, hold, 0.9, {0.5, 0.955});
  // tau = quantile(hold, 0.9): h = 49 * 0.9 = 44.1 -> 0.94 + 0.1 * 0.01 = 0.941
  CHECK(c.tau == Approx(0.941));
  CHECK(c.holdout_above_tau == Approx(5.0 / 50));           // 0.95..0.99
  CHECK(c.synthetic_above_tau == Approx(5.0 / 50));         // the five copies (0.94 is not above)
  REQUIRE(c.synthetic_above_fixed.size() == 2);
  CHECK(c.synthetic_above_fixed[0] == Approx(49.0 / 50));   // 0.50 is not strictly above 0.5
  CHECK(c.holdout_above_fixed[1] == Approx(4.0 / 50));      // 0.96..0.99 above 0.955
  // Medians: hold 0.745 -> DCR 0.255; syn sorted: 45 values 0.50..0.94 then 0.999 x5 -> median of
  // 50 = mean of 25th/26th = (0.74 + 0.75)/2 = 0.745 -> DCR 0.255: ratio 1.
  CHECK(c.median_dcr_holdout == Approx(0.255));
  CHECK(c.median_dcr_synthetic == Approx(0.255));
  CHECK(c.dcr_ratio == Approx(1.0));
  CHECK(c.mw_method == "approx");
  CHECK(c.mw_p > 0.05);  // no shift in the bulk

  // A clearly memorizing generator: every synthetic image is closer than every holdout image.
  const std::vector<double> close = {0.99, 0.995, 0.999};
  const std::vector<double> far = {0.6, 0.7, 0.8, 0.9};
  const auto m = calibrate(close, far, 0.5, {});
  CHECK(m.mw_u == 0.0);
  CHECK(m.mw_method == "exact");
  CHECK(m.mw_p == Approx(1.0 / 35.0));  // scipy.stats.mannwhitneyu(.., alternative="less"): 1 / C(7,3)
  CHECK(m.tau == Approx(0.75));
  CHECK(m.synthetic_above_tau == 1.0);
  // DCR medians: synthetic 0.005, holdout 0.25 -> ratio 0.02
  CHECK(m.dcr_ratio == Approx(0.005 / 0.25));

  CHECK_THROWS_AS(calibrate(syn, hold, 1.0, {}), medsyn::InputError);
  CHECK_THROWS_AS(calibrate(syn, hold, 0.9, {1.5}), medsyn::InputError);
  CHECK_THROWS_AS(calibrate(std::vector<double>{}, hold, 0.9, {}), medsyn::InputError);
  // Identical holdout similarities of 1 (all copies): DCR median 0 -> ratio NaN, not infinity.
  const auto z = calibrate(std::vector<double>{0.9}, std::vector<double>{1.0, 1.0}, 0.5, {});
  CHECK(std::isnan(z.dcr_ratio));
}
