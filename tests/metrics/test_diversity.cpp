#include <catch2/catch.hpp>

#include <set>

#include "medsyn/core/error.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/manifest.h"
#include "medsyn/metrics/diversity.h"
#include "metrics_fixture_data.h"

using namespace medsyn;
using namespace medsyn::metrics;
namespace md = medsyn::test::metrics_data;

TEST_CASE("pair selection: all pairs or N distinct pairs, seeded", "[diversity]") {
  const auto all = select_pairs(5, 0, 0);
  REQUIRE(all.size() == 10);
  CHECK(all.front() == std::make_pair<std::int64_t, std::int64_t>(0, 1));
  CHECK(all.back() == std::make_pair<std::int64_t, std::int64_t>(3, 4));
  CHECK(select_pairs(5, 100, 0).size() == 10);
  const auto some = select_pairs(100, 300, 9);
  CHECK(some.size() == 300);
  std::set<std::pair<std::int64_t, std::int64_t>> uniq(some.begin(), some.end());
  CHECK(uniq.size() == 300);
  for (const auto& [i, j] : some) {
    CHECK(i < j);
    CHECK(j < 100);
  }
  CHECK(select_pairs(100, 300, 9) == some);
  CHECK(select_pairs(100, 300, 10) != some);
}

TEST_CASE("diversity equals the mean of pairwise MS-SSIM of the float64 reference", "[diversity]") {
  std::vector<Image> imgs;
  for (int k = 0; k < 5; ++k) imgs.push_back(md::mosaic("breastmnist", "train_images", 49 * k));
  std::vector<std::string> names{"m0", "m1", "m2", "m3", "m4"};
  DiversityOptions o;
  o.bootstrap.replicates = 200;
  const auto r = diversity_of_images(5, [&](std::int64_t i) { return imgs[i]; }, names, o);
  const auto& g = md::golden()["diversity"]["breast_train_mosaics5"];
  CHECK(r.n_pairs == 10);
  CHECK(r.all_pairs);
  CHECK(std::abs(r.mean - g["mean"].get<double>()) < 1e-6);
  CHECK(std::abs(r.std - g["std"].get<double>()) < 1e-6);
  for (int p = 0; p < 10; ++p) {
    CHECK(std::abs(r.values[p] - g["values"][p].get<double>()) < 1e-6);
    // Shared per-image terms give exactly the directly computed pair value.
    CHECK(r.values[p] == ms_ssim(imgs[r.pair_index[p].first], imgs[r.pair_index[p].second]));
  }
  // 5 images are below the minimum of 10 (sample_size.h): the estimate is null with the reason,
  // the raw mean above stays available to the library.
  CHECK_FALSE(r.ci.has_value());
  CHECK(r.ci.note.rfind("n too small", 0) == 0);
  // From 10 images on: a value and an interval that contains it.
  std::vector<Image> ten;
  std::vector<std::string> ten_names;
  for (int k = 0; k < 10; ++k) {
    ten.push_back(md::mosaic("breastmnist", "train_images", 49 * k));
    ten_names.push_back("m" + std::to_string(k));
  }
  const auto r10 = diversity_of_images(10, [&](std::int64_t i) { return ten[i]; }, ten_names, o);
  CHECK(r10.ci.value == r10.mean);
  CHECK(r10.ci.ci_low <= r10.mean);
  CHECK(r10.mean <= r10.ci.ci_high);
  CHECK(r10.ci.estimand == "expected MS-SSIM of two independent images of the distribution");
  // Only images in sampled pairs are loaded.
  int loads = 0;
  o.pairs = 1;
  const auto one = diversity_of_images(
      5, [&](std::int64_t i) { ++loads; return imgs[i]; }, names, o);
  CHECK(one.n_pairs == 1);
  CHECK(loads == 2);
  CHECK(one.std == 0.0);
}

TEST_CASE("diversity errors name the file", "[diversity][errors]") {
  std::vector<Image> imgs{md::mosaic("breastmnist", "train_images", 0), md::mosaic("retinamnist", "test_images", 0)};
  DiversityOptions o;
  CHECK_THROWS_WITH(diversity_of_images(2, [&](std::int64_t i) { return imgs[i]; }, {"a.png", "b.png"}, o),
                    Catch::Contains("b.png") && Catch::Contains("a.png"));
  CHECK_THROWS_AS(diversity_of_images(1, [&](std::int64_t i) { return imgs[i]; }, {"a.png"}, o), InputError);
  const Image small = md::image("breastmnist", "test_images", 0);
  CHECK_THROWS_WITH(diversity_of_images(2, [&](std::int64_t) { return small; }, {"s.png", "t.png"}, o),
                    Catch::Contains("s.png") && Catch::Contains("--scales"));
}
