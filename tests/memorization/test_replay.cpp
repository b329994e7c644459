// Prompt-replay memorization (memorization/replay.h) on real embeddings: pixel features of
// BreastMNIST. A "generator" that returns its training images is caught (every image flagged, the
// copied training images counted once each); unseen real images are flagged about as often as the
// calibration allows; the per-query maxima equal a direct double-precision computation.
#include <catch2/catch.hpp>

#include <cmath>
#include <set>

#include "medsyn/core/error.h"
#include "medsyn/memorization/replay.h"
#include "../metrics/metrics_fixture_data.h"

using namespace medsyn;
namespace md = medsyn::test::metrics_data;

namespace {

std::vector<std::string> prompts_of(const std::string& key, int start, int stop) {
  const auto& y = md::images("breastmnist", key);
  std::vector<std::string> p;
  for (int i = start; i < stop; ++i) p.push_back(y.bytes[static_cast<std::size_t>(i)] ? "breast ultrasound, benign or normal" : "breast ultrasound, malignant");
  return p;
}

Matrix32 rows_of(const Matrix32& m, const std::vector<int>& rows) {
  Matrix32 o;
  o.rows = static_cast<std::int64_t>(rows.size());
  o.cols = m.cols;
  for (int r : rows) o.data.insert(o.data.end(), FeatureView(m).row(r), FeatureView(m).row(r) + m.cols);
  return o;
}

double cosine(const float* a, const float* b, std::int64_t d) {
  double ab = 0, aa = 0, bb = 0;
  for (std::int64_t j = 0; j < d; ++j) ab += double(a[j]) * b[j], aa += double(a[j]) * a[j], bb += double(b[j]) * b[j];
  return ab / std::sqrt(aa * bb);
}

}  // namespace

TEST_CASE("prompt replay: copies of training images are flagged and counted as copied patients", "[memorization][replay]") {
  const Matrix32 train = md::pixel_features("breastmnist", "train_images", 0, 300, 64);
  const Matrix32 holdout = md::pixel_features("breastmnist", "val_images", 0, 78, 64);
  const auto prompts = prompts_of("train_labels", 0, 300);
  const std::vector<int> sources = {3, 10, 50, 120, 299};
  std::vector<memorization::ReplayQuery> queries;
  for (int s : sources) queries.push_back({prompts[static_cast<std::size_t>(s)], s});

  SECTION("a generator that returns training images") {
    // Per query: its own source image, and the next training image with the same prompt (twice):
    // 3 images per query, 10 distinct training images copied in all.
    std::vector<int> rows;
    std::vector<std::size_t> which;
    std::set<int> distinct;
    for (std::size_t q = 0; q < sources.size(); ++q) {
      int other = (sources[q] + 1) % 300;
      while (prompts[static_cast<std::size_t>(other)] != queries[q].prompt) other = (other + 1) % 300;
      for (int r : {sources[q], other, other}) {
        rows.push_back(r);
        which.push_back(q);
        distinct.insert(r);
      }
    }
    const Matrix32 gen = rows_of(train, rows);
    const auto r = memorization::replay_audit(train, prompts, holdout, gen, which, queries, 0.99);
    REQUIRE(r.calibration.tau < 1.0 - 1e-6);  // real holdout images are not copies of training ones
    CHECK(r.n_generated == 15);
    CHECK(r.n_flagged == 15);
    CHECK(r.n_train == 300);
    // Exact duplicates inside the training set would make the nearest row ambiguous: count by pixels.
    CHECK(r.n_train_copied <= distinct.size());
    CHECK(r.n_train_copied >= distinct.size() - 1);
    for (std::size_t q = 0; q < sources.size(); ++q) {
      const auto& it = r.items[q];
      CHECK(it.n_images == 3);
      CHECK(it.flagged == 3);
      CHECK(it.max_similarity_source == Approx(1.0).margin(1e-6));
      CHECK(it.max_similarity_same_prompt == Approx(1.0).margin(1e-6));
      CHECK(it.max_similarity_gallery == Approx(1.0).margin(1e-6));
      std::size_t same = 0;
      for (const auto& p : prompts) same += p == it.prompt;
      CHECK(it.n_same_prompt_train == same);
    }
  }

  SECTION("unseen real images: about as many flagged as the calibration allows; maxima checked directly") {
    const Matrix32 gen = md::pixel_features("breastmnist", "test_images", 0, 40, 64);
    std::vector<std::size_t> which;
    for (int i = 0; i < 40; ++i) which.push_back(static_cast<std::size_t>(i % 5));
    const auto r = memorization::replay_audit(train, prompts, holdout, gen, which, queries, 0.99);
    CHECK(r.n_flagged <= 8);  // 1% expected under exchangeability; 8 of 40 would be a failure
    for (std::size_t q = 0; q < queries.size(); ++q) {
      double same = -2, gallery = -2, source = -2;
      for (std::int64_t i = 0; i < gen.rows; ++i) {
        if (which[static_cast<std::size_t>(i)] != q) continue;
        for (std::int64_t t = 0; t < train.rows; ++t) {
          const double s = cosine(FeatureView(gen).row(i), FeatureView(train).row(t), 64);
          gallery = std::max(gallery, s);
          if (prompts[static_cast<std::size_t>(t)] == queries[q].prompt) same = std::max(same, s);
          if (t == queries[q].source_row) source = std::max(source, s);
        }
      }
      CHECK(r.items[q].n_images == 8);
      CHECK(r.items[q].max_similarity_same_prompt == Approx(same).margin(1e-5));
      CHECK(r.items[q].max_similarity_gallery == Approx(gallery).margin(1e-5));
      CHECK(r.items[q].max_similarity_source == Approx(source).margin(1e-5));
      CHECK(r.items[q].max_similarity_same_prompt <= r.items[q].max_similarity_gallery + 1e-6);
    }
    std::size_t above = 0;
    for (double s : r.nearest_similarity) above += s > r.calibration.tau;
    CHECK(above == r.n_flagged);
  }

  SECTION("bad input names the argument") {
    const Matrix32 gen = md::pixel_features("breastmnist", "test_images", 0, 4, 64);
    auto msg = [&](auto&& f) {
      try {
        f();
      } catch (const InputError& e) {
        return std::string(e.what());
      }
      return std::string("no error");
    };
    CHECK(msg([&] { memorization::replay_audit(train, {"a"}, holdout, gen, {0, 0, 0, 0}, queries); }).find("train_prompts") != std::string::npos);
    CHECK(msg([&] { memorization::replay_audit(train, prompts, holdout, gen, {0, 0}, queries); }).find("generated_query") != std::string::npos);
    CHECK(msg([&] { memorization::replay_audit(train, prompts, holdout, gen, {0, 0, 0, 9}, queries); }).find("generated_query[3] = 9") != std::string::npos);
    CHECK(msg([&] { memorization::replay_audit(train, prompts, holdout, gen, {0, 0, 0, 0}, {{"x", 300}}); }).find("source_row = 300") != std::string::npos);
    CHECK(msg([&] { memorization::replay_audit(train, prompts, holdout, gen, {0, 0, 0, 0}, {}); }).find("queries") != std::string::npos);
  }
}
