#include <catch2/catch.hpp>

#include "medsyn/core/error.h"
#include "medsyn/metrics/kid.h"
#include "medsyn/metrics/prdc.h"
#include "metrics_fixture_data.h"

using namespace medsyn;
using namespace medsyn::metrics;
namespace md = medsyn::test::metrics_data;

TEST_CASE("KID on full sets agrees with the numpy reference to 1e-9 relative", "[kid]") {
  struct C {
    const char* name;
    const char* ds_b;
    int a1, b0, b1, dim;
  };
  for (const C& c : {C{"d16_breast_vs_pneumonia", "pneumoniamnist", 200, 0, 300, 16},
                     C{"d64_breast_vs_pneumonia", "pneumoniamnist", 300, 0, 400, 64},
                     C{"d64_breast_vs_breast", "breastmnist", 300, 300, 546, 64}}) {
    INFO(c.name);
    auto a = md::pixel_features("breastmnist", "train_images", 0, c.a1, c.dim);
    auto b = md::pixel_features(c.ds_b, "train_images", c.b0, c.b1, c.dim);
    const double want = md::golden()["kid"][c.name].get<double>();
    CHECK(md::rel_err(kid_mmd2(a, b), want) < 1e-9);
    KidOptions o;  // default subset size 1000 >= both sets: one subset = the full sets
    const auto r = kid(a, b, o);
    CHECK(r.full_sets);
    CHECK(r.subsets == 1);
    CHECK(r.kid_std == 0.0);
    CHECK(md::rel_err(r.kid_mean, want) < 1e-9);
  }
}

TEST_CASE("KID subsets are seeded, both strategies agree, and a too-large subset is clamped", "[kid]") {
  auto a = md::pixel_features("breastmnist", "train_images", 0, 300, 64);
  auto b = md::pixel_features("pneumoniamnist", "train_images", 0, 400, 64);
  KidOptions o;
  o.subsets = 10;
  o.subset_size = 100;  // 10 subsets * 2 * 100^2 < 300^2/2 + 400^2/2 + 300*400: per-subset products
  o.seed = 7;
  const auto r1 = kid(a, b, o), r2 = kid(a, b, o);
  CHECK(r1.values == r2.values);
  CHECK(r1.subsets == 10);
  CHECK(r1.kid_std > 0);
  o.seed = 8;
  CHECK(kid(a, b, o).values != r1.values);
  // Statistically close to the full-set value.
  const double full = kid_mmd2(a, b);
  CHECK(std::abs(r1.kid_mean - full) < 5 * r1.kid_std);
  // Precomputed-kernel strategy (many subsets) gives the same per-subset values for the same draws.
  o.seed = 7;
  o.subsets = 200;  // now cheaper to precompute the Gram matrices
  const auto r3 = kid(a, b, o);
  for (int s = 0; s < 10; ++s) CHECK(md::rel_err(r3.values[s], r1.values[s]) < 1e-9);
  // subset size above the smaller set only: clamped to it, with a warning.
  o.subsets = 3;
  o.subset_size = 350;
  const auto r4 = kid(a, b, o);
  CHECK(r4.subset_size == 300);
  CHECK(!r4.warnings.empty());
  CHECK_FALSE(r4.full_sets);
}

TEST_CASE("KID input errors", "[kid][errors]") {
  auto a = md::pixel_features("breastmnist", "train_images", 0, 50, 16);
  auto b = md::pixel_features("breastmnist", "train_images", 0, 50, 64);
  CHECK_THROWS_WITH(kid(a, b, {}, "a.npy", "b.npy"), Catch::Contains("a.npy") && Catch::Contains("dimension"));
  Matrix32 one{1, 16, std::vector<float>(16, 0.5f)};
  CHECK_THROWS_WITH(kid(one, a, {}, "one.npy", "a.npy"), Catch::Contains("one.npy") && Catch::Contains("at least 2"));
  KidOptions o;
  o.subsets = 0;
  CHECK_THROWS_AS(kid(a, a, o), InputError);
}

TEST_CASE("PRDC agrees with the numpy reference of the published formulas", "[prdc]") {
  auto real = md::pixel_features("breastmnist", "train_images", 0, 200, 16);
  const auto& g = md::golden()["prdc"];
  auto check = [](const PrdcResult& r, const json& want) {
    CHECK(r.precision == Approx(want["precision"].get<double>()).epsilon(1e-12));
    CHECK(r.recall == Approx(want["recall"].get<double>()).epsilon(1e-12));
    CHECK(r.density == Approx(want["density"].get<double>()).epsilon(1e-12));
    CHECK(r.coverage == Approx(want["coverage"].get<double>()).epsilon(1e-12));
  };
  check(prdc(real, md::pixel_features("pneumoniamnist", "train_images", 0, 300, 16), 5),
        g["d16_breast_vs_pneumonia_k5"]);
  auto fake = md::pixel_features("breastmnist", "train_images", 200, 400, 16);
  check(prdc(real, fake, 5), g["d16_breast_vs_breast_k5"]);
  check(prdc(real, fake, 3), g["d16_breast_vs_breast_k3"]);
}

TEST_CASE("PRDC tie rule: generated copies of real samples sit on ball boundaries and count as inside", "[prdc]") {
  auto real = md::pixel_features("breastmnist", "train_images", 0, 100, 16);
  auto other = md::pixel_features("pneumoniamnist", "train_images", 0, 70, 16);
  Matrix32 fake;
  fake.rows = 100;
  fake.cols = 16;
  fake.data.assign(real.data.begin(), real.data.begin() + 30 * 16);
  fake.data.insert(fake.data.end(), other.data.begin(), other.data.end());
  const auto r = prdc(real, fake, 5);
  const auto& want = md::golden()["prdc"]["d16_ties_k5"];
  CHECK(r.precision == Approx(want["precision"].get<double>()).epsilon(1e-12));
  CHECK(r.recall == Approx(want["recall"].get<double>()).epsilon(1e-12));
  CHECK(r.density == Approx(want["density"].get<double>()).epsilon(1e-12));  // 0.474 with strict '<'
  CHECK(r.coverage == Approx(want["coverage"].get<double>()).epsilon(1e-12));
  // Real vs itself: every sample is covered and inside.
  const auto same = prdc(real, real, 5);
  CHECK(same.precision == 1.0);
  CHECK(same.recall == 1.0);
  CHECK(same.coverage == 1.0);
}

TEST_CASE("PRDC input errors", "[prdc][errors]") {
  auto a = md::pixel_features("breastmnist", "train_images", 0, 5, 16);
  auto b = md::pixel_features("breastmnist", "train_images", 0, 50, 16);
  CHECK_THROWS_WITH(prdc(a, b, 5, "a.npy", "b.npy"), Catch::Contains("a.npy") && Catch::Contains("--k 5"));
  CHECK_THROWS_AS(prdc(b, b, 0), InputError);
  auto c = md::pixel_features("breastmnist", "train_images", 0, 50, 64);
  CHECK_THROWS_WITH(prdc(b, c, 5, "b.npy", "c.npy"), Catch::Contains("dimension"));
}
