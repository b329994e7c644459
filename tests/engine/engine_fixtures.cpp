#include "engine_fixtures.h"

#include "medsyn/core/fs.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/manifest.h"
#include "medsyn/stats/random.h"

namespace medsyn::test {

void write_toy_dataset(const std::filesystem::path& dir, int per_modality) {
  ensure_dir(dir / "images");
  stats::Rng rng(7);
  std::vector<Record> recs;
  int k = 0;
  for (const std::string mod : {"alpha", "beta"}) {
    for (int i = 0; i < per_modality; ++i, ++k) {
      Image img(1, 8, 8);
      for (int y = 0; y < 8; ++y)
        for (int x = 0; x < 8; ++x) {
          const bool top = y < 4;
          img.at(0, y, x) = ((mod == "alpha") == top ? 0.8f : 0.1f) + static_cast<float>(0.2 * stats::uniform01(rng));
        }
      Record r;
      r.path = "images/" + std::to_string(k) + ".png";
      write_png(dir / r.path, img);
      r.modality = mod;
      r.label = i % 2;
      r.label_name = i % 2 ? "small" : "big";
      r.prompt = mod + " scan, " + r.label_name;
      r.split = "train";
      recs.push_back(r);
    }
  }
  write_manifest(dir, recs);
}

std::string tiny_config_json(int steps, int checkpoint_every, const std::string& extra_train) {
  return R"({
  "name": "tiny", "image_size": 8, "channels": 1,
  "autoencoder": {"factor": 1},
  "unet": {"channels": [8, 16], "res_blocks": 1, "self_attention_resolutions": [4],
           "cross_attention_resolutions": [4, 8], "heads": 2, "groups": 4},
  "text": {"dim": 16, "layers": 1, "heads": 2, "max_tokens": 6},
  "diffusion": {"schedule": "cosine", "timesteps": 100},
  "train": {"steps": )" + std::to_string(steps) + R"(, "batch": 4, "lr": 0.001, "warmup": 2,
            "checkpoint_every": )" + std::to_string(checkpoint_every) + extra_train + R"(},
  "sample": {"steps": 5, "batch": 8}
})";
}

}  // namespace medsyn::test
