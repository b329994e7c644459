#include "reports_test_util.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/image_io.h"
#include "medsyn/reports/results.h"
#include "test_support.h"

namespace medsyn::test {

nlohmann::ordered_json base_results_json() {
  return reports::read_ordered_json_file(fixtures_dir() / "reports" / "results_base.json");
}

namespace {
// A small synthetic "scan": a bright disc on a gradient, position and size varying with k.
Image sample_image(int k, int channels) {
  const int s = 28;
  Image img(channels, s, s);
  const double cx = 8 + (k * 5) % 12, cy = 9 + (k * 7) % 10, r = 4 + k % 5;
  for (int c = 0; c < channels; ++c)
    for (int y = 0; y < s; ++y)
      for (int x = 0; x < s; ++x) {
        double v = 0.15 + 0.35 * y / s;
        if ((x - cx) * (x - cx) + (y - cy) * (y - cy) < r * r) v = 0.85 - 0.1 * c;
        img.at(c, y, x) = static_cast<float>(v);
      }
  return img;
}
}  // namespace

std::filesystem::path make_run_dir(const std::filesystem::path& run, const std::function<void(nlohmann::ordered_json&)>& edit,
                                   bool skip_images) {
  auto j = base_results_json();
  if (edit) edit(j);
  ensure_dir(run);
  atomic_write_text(run / "results.json", j.dump(2) + "\n");
  if (skip_images) return run / "results.json";
  int k = 0;
  if (j.contains("samples"))
    for (auto& [model, mods] : j["samples"].items())
      for (auto& [mod, paths] : mods.items())
        for (const auto& p : paths) {
          const auto file = run / p.get<std::string>();
          ensure_dir(file.parent_path());
          write_png(file, sample_image(k++, mod == "retina_fundus" ? 3 : 1));
        }
  if (j.contains("memorization"))
    for (auto& [model, mods] : j["memorization"].items())
      for (auto& [mod, e] : mods.items())
        for (const char* f : {"histogram_png", "pairs_png"})
          if (e.contains(f)) {
            const auto file = run / e[f].get<std::string>();
            ensure_dir(file.parent_path());
            Image img(3, 60, 100, 1.0f);
            for (int x = 10; x < 90; x += 10)
              for (int y = 50 - x / 3; y < 55; ++y) img.at(0, y, x) = img.at(1, y, x) = 0.2f;
            write_png(file, img);
          }
  return run / "results.json";
}

std::string slurp(const std::filesystem::path& p) { return read_file_text(p); }

int count_of(const std::string& h, const std::string& n) {
  int c = 0;
  for (std::size_t pos = h.find(n); pos != std::string::npos; pos = h.find(n, pos + n.size())) ++c;
  return c;
}

std::string load_error(const nlohmann::ordered_json& results) {
  try {
    reports::results_from_json(results, "results.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace medsyn::test
