#include <catch2/catch.hpp>

#include "medsyn/core/error.h"
#include "medsyn/metrics/ssim.h"
#include "metrics_fixture_data.h"

using namespace medsyn;
using namespace medsyn::metrics;
namespace md = medsyn::test::metrics_data;

TEST_CASE("SSIM agrees with skimage structural_similarity to 1e-6 on real images", "[ssim]") {
  const auto& g = md::golden()["ssim"];
  const Image b0 = md::image("breastmnist", "test_images", 0), b1 = md::image("breastmnist", "test_images", 1);
  const Image r0 = md::image("retinamnist", "test_images", 0), r1 = md::image("retinamnist", "test_images", 1);
  CHECK(std::abs(ssim(b0, b1) - g["breast_t0_t1"].get<double>()) < 1e-6);
  CHECK(std::abs(ssim(b0, md::blend(b0, b1)) - g["breast_t0_blend"].get<double>()) < 1e-6);
  CHECK(std::abs(ssim(r0, r1) - g["retina_t0_t1"].get<double>()) < 1e-6);
  SsimOptions o;
  o.data_range = 2.0;
  CHECK(std::abs(ssim(b0, b1, o) - g["breast_t0_t1_range2"].get<double>()) < 1e-6);
  const Image mx = md::mosaic("breastmnist", "test_images", 0), my = md::mosaic("breastmnist", "test_images", 49);
  CHECK(std::abs(ssim(mx, my) - g["mosaic_breast"].get<double>()) < 1e-6);
  // In fact to ~1e-15: the valid region equals skimage's cropped reflect-padded map.
  CHECK(std::abs(ssim(b0, b1) - g["breast_t0_t1"].get<double>()) < 1e-12);
  CHECK(ssim(b0, b0) == Approx(1.0).epsilon(1e-12));
}

TEST_CASE("MS-SSIM agrees with a float64 reference of the pytorch_msssim convention to 1e-6", "[msssim]") {
  const auto& g = md::golden()["msssim"];
  const Image mx = md::mosaic("breastmnist", "test_images", 0), my = md::mosaic("breastmnist", "test_images", 49);
  const Image rx = md::mosaic("retinamnist", "test_images", 0), ry = md::mosaic("retinamnist", "test_images", 49);
  CHECK(std::abs(ms_ssim(mx, my) - g["mosaic_breast"].get<double>()) < 1e-6);
  CHECK(std::abs(ms_ssim(mx, md::blend(mx, my)) - g["mosaic_breast_blend"].get<double>()) < 1e-6);
  CHECK(std::abs(ms_ssim(rx, ry) - g["mosaic_retina"].get<double>()) < 1e-6);
  MsSsimOptions o;
  o.ssim.data_range = 2.0;
  CHECK(std::abs(ms_ssim(mx, my, o) - g["mosaic_breast_range2"].get<double>()) < 1e-6);
  // Odd sides at every scale (45x37 -> 23x19 -> 12x10), 3 scales, 7-tap window, explicit weights.
  MsSsimOptions s3;
  s3.scales = 3;
  s3.ssim.win_size = 7;
  s3.ssim.sigma = 1.0;
  s3.weights = {0.2, 0.3, 0.5};
  CHECK(std::abs(ms_ssim(md::crop(mx, 3, 48, 5, 42), md::crop(my, 3, 48, 5, 42), s3) -
                 g["crop45x37_s3_w7"].get<double>()) < 1e-6);
  CHECK(ms_ssim(mx, mx) == Approx(1.0).epsilon(1e-12));
}

TEST_CASE("MS-SSIM weights and minimum sizes", "[msssim]") {
  CHECK(default_ms_ssim_weights(5) == std::vector<double>{0.0448, 0.2856, 0.3001, 0.2363, 0.1333});
  const auto w3 = default_ms_ssim_weights(3);
  CHECK(w3[0] + w3[1] + w3[2] == Approx(1.0));
  CHECK(w3[1] / w3[0] == Approx(0.2856 / 0.0448));
  CHECK(ms_ssim_min_side(11, 5) == 161);  // pytorch_msssim asserts side > (11 - 1) * 2^4
  CHECK(ms_ssim_min_side(7, 3) == 25);
  CHECK_THROWS_AS(default_ms_ssim_weights(6), InputError);
}

TEST_CASE("SSIM/MS-SSIM errors are clear", "[ssim][errors]") {
  const Image b0 = md::image("breastmnist", "test_images", 0);
  const Image r0 = md::image("retinamnist", "test_images", 0);
  CHECK_THROWS_WITH(ssim(b0, r0, {}, "x.png", "y.png"),
                    Catch::Contains("x.png") && Catch::Contains("y.png") && Catch::Contains("channel"));
  const Image c = md::crop(b0, 0, 20, 0, 28);
  CHECK_THROWS_WITH(ms_ssim(b0, c, {}, "x.png", "c.png"), Catch::Contains("1x20x28"));
  CHECK_THROWS_WITH(ms_ssim(b0, b0, {}, "x.png", "x.png"),
                    Catch::Contains("x.png") && Catch::Contains("161") && Catch::Contains("--scales") &&
                        Catch::Contains("--win-size"));
  const Image tiny = md::crop(b0, 0, 10, 0, 28);
  CHECK_THROWS_WITH(ssim(tiny, tiny, {}, "t.png", "t.png"), Catch::Contains("t.png") && Catch::Contains("11"));
  MsSsimOptions o;
  o.ssim.win_size = 10;
  CHECK_THROWS_WITH(ms_ssim(b0, b0, o), Catch::Contains("odd"));
  o = {};
  o.scales = 3;
  o.weights = {0.5, 0.5};
  CHECK_THROWS_WITH(ms_ssim(b0, b0, o), Catch::Contains("--weights"));
  o = {};
  o.ssim.data_range = 0;
  CHECK_THROWS_WITH(ms_ssim(b0, b0, o), Catch::Contains("--data-range"));
}
