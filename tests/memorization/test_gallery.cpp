// Gallery views (gallery.h): zoom lists, the centred zoom (checked against PyTorch's grid_sample),
// the zoomed-view extractor, and collapsing gallery rows to distinct training images.
#include <catch2/catch.hpp>

#include <limits>

#include "medsyn/core/error.h"
#include "medsyn/memorization/gallery.h"
#include "medsyn/metrics/extractor.h"

using namespace medsyn;
using namespace medsyn::memorization;

namespace {

// 5 x 6 test image, value ((3y + 7x) mod 11) / 10.
Image test_image() {
  Image im(1, 5, 6);
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 6; ++x) im.at(0, y, x) = static_cast<float>(((3 * y + 7 * x) % 11) / 10.0);
  return im;
}

void check_equal(const Image& got, const std::vector<double>& want) {
  REQUIRE(got.data.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    INFO("pixel " << i);
    CHECK(got.data[i] == Approx(want[i]).margin(1e-6));
  }
}

}  // namespace

TEST_CASE("zoom lists parse isotropic and per-axis zooms and reject bad items", "[memorization][gallery]") {
  const auto z = parse_zoom_list("1.1,1.2x1,0.9", "--train-zooms");
  REQUIRE(z.size() == 3);
  CHECK(z[0].x == 1.1);
  CHECK(z[0].y == 1.1);
  CHECK(z[1].x == 1.2);
  CHECK(z[1].y == 1.0);
  CHECK(z[2].x == 0.9);
  CHECK(parse_zoom_list("", "--train-zooms").empty());
  CHECK(parse_zoom_list("none", "--train-zooms").empty());
  CHECK(zoom_label(z[0]) == "1.1");
  CHECK(zoom_label(z[1]) == "1.2x1");
  CHECK(zoom_label(Zoom{}) == "1");
  for (const char* bad : {"1.1,9", "0.1", "big", "1.1,", "1.1,,1.2", "1.2x", "x1.2", "nan", "1.1;1.2"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_zoom_list(bad, "--train-zooms"), InputError);
    CHECK_THROWS_WITH(parse_zoom_list(bad, "--train-zooms"), Catch::Contains("--train-zooms"));
  }
}

TEST_CASE("centred zoom matches torch grid_sample (bilinear, border padding, align_corners false)",
          "[memorization][gallery]") {
  // Reference: torch.nn.functional.affine_grid with theta diag(1/fx, 1/fy), grid_sample bilinear,
  // padding_mode "border", align_corners False, in float64 (PyTorch 2.x); tolerance 1e-6.
  check_equal(zoom_centred(test_image(), Zoom{1.3, 0.8}),
              {0.403846154, 0.561538462, 0.380769231, 0.919230769, 0.738461538, 0.430769231,
               0.628846154, 0.786538462, 0.510576923, 0.414423077, 0.677884615, 0.655769231,
               0.369230769, 0.442307692, 0.853846154, 0.546153846, 0.238461538, 0.396153846,
               0.627884615, 0.436538462, 0.224038462, 0.550961538, 0.518269231, 0.305769231,
               0.503846154, 0.661538462, 0.353846154, 0.046153846, 0.457692308, 0.530769231});
  check_equal(zoom_centred(test_image(), Zoom{1.2, 1.2}),
              {0.391666667, 0.700000000, 0.427777778, 0.705555556, 0.708333333, 0.466666667,
               0.565277778, 0.812500000, 0.616666667, 0.283333333, 0.637500000, 0.640277778,
               0.433333333, 0.375000000, 0.866666667, 0.533333333, 0.200000000, 0.508333333,
               0.683333333, 0.395833333, 0.276388889, 0.706944444, 0.450000000, 0.223611111,
               0.505555556, 0.600000000, 0.297222222, 0.269444444, 0.516666667, 0.366666667});
  // Zoom 1 is the identity; every channel is zoomed the same way.
  const Image id = zoom_centred(test_image(), Zoom{});
  CHECK(id.data == test_image().data);
  Image rgb(3, 5, 6);
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 30; ++i) rgb.data[static_cast<std::size_t>(c) * 30 + i] = test_image().data[i];
  const Image zr = zoom_centred(rgb, Zoom{1.2, 1.2});
  const Image zg = zoom_centred(test_image(), Zoom{1.2, 1.2});
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 30; ++i) CHECK(zr.data[static_cast<std::size_t>(c) * 30 + i] == zg.data[i]);
}

TEST_CASE("a zoomed-view extractor zooms the preprocessed image before the inner extractor",
          "[memorization][gallery]") {
  auto inner = make_extractor("builtin:pixels:6");
  auto view = zoomed_extractor(*inner, Zoom{1.2, 1.2});
  CHECK(view->id() == "zoom(1.2)>" + inner->id());
  CHECK(view->dim() == inner->dim());
  CHECK(view->weights_hash() == inner->weights_hash());
  CHECK(view->input_spec().describe() == inner->input_spec().describe());
  Image sq(1, 6, 6);
  for (int i = 0; i < 36; ++i) sq.data[i] = static_cast<float>((i * 7) % 13) / 12.f;
  const Image pre = preprocess(sq, inner->input_spec());
  CHECK(view->extract({pre}) == inner->extract({zoom_centred(pre, Zoom{1.2, 1.2})}));
  CHECK(view->extract({pre}) != inner->extract({pre}));
}

TEST_CASE("gallery rows collapse to the k best distinct training images", "[memorization][gallery]") {
  // 3 images x 3 views (row = view * 3 + image); one query, 6 rows returned.
  KnnResult rows;
  rows.nq = 1;
  rows.k = 6;
  rows.sims = {0.99f, 0.98f, 0.95f, 0.90f, 0.80f, 0.70f};
  rows.ids = {4, 1, 7, 2, 0, 3};  // image 1 (view 1), image 1 (view 0), image 1 (view 2), image 2, image 0, image 0
  std::vector<int> view;
  const KnnResult img = collapse_gallery(rows, 3, 3, &view);
  REQUIRE(img.k == 3);
  CHECK(img.ids == std::vector<std::int64_t>{1, 2, 0});
  CHECK(img.sims == std::vector<float>{0.99f, 0.90f, 0.80f});
  CHECK(view == std::vector<int>{1, 0, 0});
  // Fewer distinct images than k: padded with (-inf, -1).
  rows.ids = {4, 1, 7, 1, 4, 7};
  const KnnResult one = collapse_gallery(rows, 3, 2, nullptr);
  CHECK(one.ids == std::vector<std::int64_t>{1, -1});
  CHECK(one.sims[1] == -std::numeric_limits<float>::infinity());
}
