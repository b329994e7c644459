// Training mixes of the downstream experiments (downstream/include/medsyn/downstream/mix.h):
// stratification, nesting across fractions, the paired design shared by all arms, 2xreal
// feasibility, class-balanced synthetic subsets, determinism per seed.
#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include <catch2/catch.hpp>

#include "medsyn/core/error.h"
#include "medsyn/downstream/experiment.h"
#include "medsyn/downstream/mix.h"
#include "medsyn/stats/random.h"

namespace ds = medsyn::downstream;

namespace {

// An imbalanced binary pool like BreastMNIST's training split (147 / 399).
std::vector<int> pool(std::size_t n0, std::size_t n1, std::size_t n2 = 0) {
  std::vector<int> l;  // exact counts, interleaved
  std::size_t a = n0, b = n1, c = n2;
  while (a + b + c > 0) {
    if (a) { l.push_back(0); --a; }
    if (b) { l.push_back(1); --b; }
    if (b) { l.push_back(1); --b; }
    if (c) { l.push_back(2); --c; }
  }
  return l;
}

bool subset_of(const std::vector<std::size_t>& a, const std::vector<std::size_t>& b) {
  std::set<std::size_t> sb(b.begin(), b.end());
  return std::all_of(a.begin(), a.end(), [&](std::size_t x) { return sb.count(x) > 0; });
}

bool distinct(const std::vector<std::size_t>& a) { return std::set<std::size_t>(a.begin(), a.end()).size() == a.size(); }

}  // namespace

TEST_CASE("stratified counts round per class and keep every class", "[downstream][mix]") {
  const auto labels = pool(147, 399);
  const auto order = ds::make_stratified_order(labels, 2, 7);
  REQUIRE(order.class_size(0) == 147);
  REQUIRE(order.class_size(1) == 399);
  CHECK(ds::stratified_counts(order, 0.01) == std::vector<std::size_t>{1, 4});   // 1.47 -> 1, 3.99 -> 4
  CHECK(ds::stratified_counts(order, 0.001) == std::vector<std::size_t>{1, 1});  // at least one per class
  CHECK(ds::stratified_counts(order, 0.1) == std::vector<std::size_t>{15, 40});
  CHECK(ds::stratified_counts(order, 1.0) == std::vector<std::size_t>{147, 399});
  CHECK_THROWS_AS(ds::stratified_counts(order, 0.0), medsyn::InputError);
  CHECK_THROWS_AS(ds::stratified_counts(order, 1.5), medsyn::InputError);
  CHECK_THROWS_AS(ds::make_stratified_order(std::vector<int>{0, 2}, 2, 1), medsyn::InputError);
}

TEST_CASE("balanced counts deal round-robin and redistribute a short class", "[downstream][mix]") {
  const auto labels = pool(10, 100, 100);
  const auto order = ds::make_stratified_order(labels, 3, 1);
  std::size_t shortfall = 99;
  CHECK(ds::balanced_counts(order, 7, &shortfall) == std::vector<std::size_t>{3, 2, 2});
  CHECK(shortfall == 0);
  CHECK(ds::balanced_counts(order, 30) == std::vector<std::size_t>{10, 10, 10});
  // Class 0 has only 10: the others take its share, still balanced among themselves.
  CHECK(ds::balanced_counts(order, 61) == std::vector<std::size_t>{10, 26, 25});
  CHECK(ds::balanced_counts(order, 1000, &shortfall) == std::vector<std::size_t>{10, 100, 100});
  CHECK(shortfall == 790);
  // Monotone in the total (so synthetic subsets nest).
  std::vector<std::size_t> prev(3, 0);
  for (std::size_t t = 0; t <= 210; ++t) {
    const auto c = ds::balanced_counts(order, t);
    CHECK(c[0] + c[1] + c[2] == t);
    for (int k = 0; k < 3; ++k) CHECK(c[static_cast<std::size_t>(k)] >= prev[static_cast<std::size_t>(k)]);
    prev = c;
  }
}

TEST_CASE("mixes are stratified, nested across fractions and shared by all arms of a seed", "[downstream][mix]") {
  const auto real = pool(147, 399);
  const auto syn = pool(300, 300);
  ds::MixPlanOptions mp;
  mp.fractions = {0.01, 0.05, 0.1, 0.25, 0.5, 1.0};
  mp.synthetic_ratio = 1.0;
  const auto mixes = ds::plan_mixes(real, syn, 2, mp, 42);
  REQUIRE(mixes.size() == mp.fractions.size());
  for (std::size_t i = 0; i < mixes.size(); ++i) {
    const auto& m = mixes[i];
    INFO("fraction " << m.fraction);
    CHECK(distinct(m.real));
    // Stratified: per-class counts as stratified_counts.
    const auto cc = ds::class_counts(real, m.real, 2);
    CHECK(cc[0] == std::clamp<std::size_t>(static_cast<std::size_t>(std::floor(m.fraction * 147 + 0.5 + 1e-9)), 1, 147));
    CHECK(cc[1] == std::clamp<std::size_t>(static_cast<std::size_t>(std::floor(m.fraction * 399 + 0.5 + 1e-9)), 1, 399));
    // Nested: each fraction's subset contains the previous one's (real, synthetic, 2xreal).
    if (i > 0) {
      CHECK(subset_of(mixes[i - 1].real, m.real));
      CHECK(subset_of(mixes[i - 1].syn_added, m.syn_added));
      CHECK(subset_of(mixes[i - 1].syn_only, m.syn_only));
      if (m.twice_real_feasible && mixes[i - 1].twice_real_feasible) CHECK(subset_of(mixes[i - 1].twice_real, m.twice_real));
    }
    // Synthetic: ratio x |real|, balanced by class, syn_only (|real|) inside syn_added (ratio 1).
    CHECK(m.syn_added.size() == m.real.size());
    CHECK(m.syn_only.size() == m.real.size());
    CHECK(subset_of(m.syn_only, m.syn_added));
    const auto sc = ds::class_counts(syn, m.syn_added, 2);
    CHECK(std::max(sc[0], sc[1]) - std::min(sc[0], sc[1]) <= 1);
    // 2xreal: exactly twice each class of `real`, containing `real`.
    if (m.twice_real_feasible) {
      const auto tc = ds::class_counts(real, m.twice_real, 2);
      CHECK(tc[0] == 2 * cc[0]);
      CHECK(tc[1] == 2 * cc[1]);
      CHECK(subset_of(m.real, m.twice_real));
    }
  }
  // 2xreal: feasible up to 0.25, infeasible at 0.5 (2 * round(73.5) = 148 > 147) and 1.0, with a note.
  CHECK(mixes[3].twice_real_feasible);
  CHECK_FALSE(mixes[4].twice_real_feasible);
  CHECK_FALSE(mixes[5].twice_real_feasible);
  CHECK(mixes[5].twice_real.empty());
  REQUIRE_FALSE(mixes[5].notes.empty());
  CHECK(mixes[5].notes.front().find("2xreal infeasible at fraction 1") != std::string::npos);
  // The whole real split at fraction 1.
  CHECK(mixes[5].real.size() == real.size());
}

TEST_CASE("mixes are deterministic per seed and differ between seeds", "[downstream][mix]") {
  const auto real = pool(50, 120, 30);
  const auto syn = pool(40, 40, 40);
  ds::MixPlanOptions mp;
  mp.fractions = {0.1, 0.3};
  mp.synthetic_ratio = 2.0;
  const auto a = ds::plan_mixes(real, syn, 3, mp, 5);
  const auto b = ds::plan_mixes(real, syn, 3, mp, 5);
  const auto c = ds::plan_mixes(real, syn, 3, mp, 6);
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].real == b[i].real);
    CHECK(a[i].syn_added == b[i].syn_added);
    CHECK(a[i].syn_only == b[i].syn_only);
    CHECK(a[i].twice_real == b[i].twice_real);
    CHECK(a[i].real != c[i].real);
    CHECK(a[i].syn_added.size() == 2 * a[i].real.size());
  }
  // The mixes use stats::derive_seed, whose values are pinned in tests/stats/test_random.cpp.
  CHECK(medsyn::stats::derive_seed(0, 0) != medsyn::stats::derive_seed(0, 1));
  CHECK(medsyn::stats::derive_seed(1, 0) != medsyn::stats::derive_seed(0, 1));
}

TEST_CASE("synthetic shortfall is reported, not hidden", "[downstream][mix]") {
  const auto real = pool(100, 100);
  const auto syn = pool(5, 50);
  ds::MixPlanOptions mp;
  mp.fractions = {0.5};
  mp.synthetic_ratio = 1.0;
  const auto m = ds::plan_mixes(real, syn, 2, mp, 1).front();
  CHECK(m.syn_added.size() == 55);  // wanted 100, only 55 exist
  const auto sc = ds::class_counts(syn, m.syn_added, 2);
  CHECK(sc[0] == 5);
  bool short_note = false, class_note = false;
  for (const auto& n : m.notes) {
    short_note = short_note || n.find("wanted 100 synthetic images") != std::string::npos;
    class_note = class_note || n.find("synthetic class 0 has only 5") != std::string::npos;
  }
  CHECK(short_note);
  CHECK(class_note);
}

TEST_CASE("experiment options are validated with the option named", "[downstream][mix]") {
  ds::DownstreamOptions o;
  o.real_dir = "/nonexistent";
  o.synthetic_dir = "/nonexistent-syn";
  CHECK_NOTHROW(ds::validate(o));
  auto bad = [&](auto edit, const std::string& needle) {
    ds::DownstreamOptions x = o;
    edit(x);
    try {
      ds::validate(x);
      FAIL("no error for " << needle);
    } catch (const medsyn::InputError& e) {
      CHECK(std::string(e.what()).find(needle) != std::string::npos);
    }
  };
  bad([](ds::DownstreamOptions& x) { x.fractions = {0.1, 1.5}; }, "--fractions");
  bad([](ds::DownstreamOptions& x) { x.fractions = {0.1, 0.1}; }, "given twice");
  bad([](ds::DownstreamOptions& x) { x.arms = {"real", "fake"}; }, "unknown arm 'fake'");
  bad([](ds::DownstreamOptions& x) { x.synthetic_ratio = 0; }, "--synthetic-ratio");
  bad([](ds::DownstreamOptions& x) { x.seeds = 0; }, "--seeds");
  bad([](ds::DownstreamOptions& x) { x.adjust = "bonferroni"; }, "bonferroni");
  bad([](ds::DownstreamOptions& x) { x.synthetic_dir.clear(); }, "--synthetic");
  bad([](ds::DownstreamOptions& x) { x.control = ds::Control::positive; }, "--control");
  bad([](ds::DownstreamOptions& x) { x.classifier.arch = "vit"; }, "--arch 'vit'");
  bad([](ds::DownstreamOptions& x) { x.classifier.epochs = 0; }, "--epochs");
  // Without synthetic arms no synthetic set is needed.
  ds::DownstreamOptions y = o;
  y.synthetic_dir.clear();
  y.arms = {"real", "2xreal"};
  CHECK_NOTHROW(ds::validate(y));
  CHECK(ds::parse_fraction_list("0.01, 0.5,1") == std::vector<double>{0.01, 0.5, 1.0});
  CHECK_THROWS_AS(ds::parse_fraction_list("0.1,abc"), medsyn::InputError);
  CHECK(ds::parse_arm_list("real,real+syn") == std::vector<std::string>{"real", "real+syn"});
}
