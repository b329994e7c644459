#include "readerstudy_test_util.h"

#include <algorithm>
#include <cmath>

#include "medsyn/core/fs.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/stats/random.h"

namespace medsyn::test {

namespace fs = std::filesystem;

void write_image_set(const fs::path& dir, const std::vector<std::string>& modalities, int n, bool synthetic,
                     const std::string& model, std::uint64_t seed, const std::string& split) {
  ensure_dir(dir / "images");
  stats::Rng rng(seed);
  std::vector<Record> recs;
  for (const auto& m : modalities)
    for (int i = 0; i < n; ++i) {
      Image img(1, 24, 24);
      for (auto& v : img.data) v = static_cast<float>(stats::uniform01(rng));
      const std::string rel = "images/" + m + "_" + std::to_string(i) + ".png";
      write_png(dir / rel, img);
      Record r;
      r.path = rel;
      r.modality = m;
      r.label = i % 2;
      r.label_name = i % 2 ? "disease" : "normal";
      r.prompt = m + ", class " + std::to_string(i % 2);
      r.split = split;
      if (synthetic) r.extra_json = nlohmann::json{{"model", model}}.dump();
      recs.push_back(r);
    }
  write_manifest(dir, recs);
}

nlohmann::ordered_json simulate_ratings(const fs::path& study_dir, const SimulatedReader& r) {
  const auto key = read_json_file(study_dir / "key.json");
  stats::Rng rng(stats::derive_seed(r.seed, 7));
  nlohmann::ordered_json out = {{"format", readerstudy::kRatingsFormat}, {"study", key["study"]}, {"reader", r.name},
                                {"exported", "2026-12-01T00:00:00Z"}, {"answers", nlohmann::ordered_json::array()}};
  for (const auto& img : key["images"]) {
    if (stats::uniform01(rng) >= r.answered) continue;
    const bool syn = img["source"] == "synthetic";
    const bool correct = stats::uniform01(rng) < r.accuracy;
    const std::string rs = (syn == correct) ? "S" : "R";
    const double centre = syn ? r.realism_synthetic : r.realism_real;
    const int likert = std::clamp(static_cast<int>(std::lround(centre)) + static_cast<int>(stats::random_below(rng, 3)) - 1, 1, 5);
    const bool match = stats::uniform01(rng) < (syn ? r.match_synthetic : r.match_real);
    out["answers"].push_back({{"image_id", img["id"]}, {"real_or_synthetic", rs}, {"realism", likert},
                              {"prompt_match", match ? "Y" : "N"}, {"time_ms", 1000 + stats::random_below(rng, 5000)}});
  }
  return out;
}

}  // namespace medsyn::test
