#include "medsyn/memorization/gallery.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "medsyn/core/error.h"
#include "medsyn/core/parse.h"
#include "medsyn/metrics/extractor.h"

namespace medsyn::memorization {

std::vector<Zoom> parse_zoom_list(const std::string& text, const std::string& what) {
  std::vector<Zoom> out;
  if (text.empty() || text == "none") return out;
  auto num = [&](const std::string& v) {
    const auto d = parse_full_double(v);
    if (!d || !(*d > 0.25 && *d < 4))
      throw InputError(what + " '" + text + "': '" + v + "' is not a zoom in (0.25, 4) (expected e.g. 1.1,1.2x1)");
    return *d;
  };
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const auto x = item.find('x');
    if (x == std::string::npos) {
      const double f = num(item);
      out.push_back({f, f});
    } else {
      out.push_back({num(item.substr(0, x)), num(item.substr(x + 1))});
    }
  }
  if (!text.empty() && text.back() == ',') throw InputError(what + " '" + text + "': empty item after the last ','");
  return out;
}

std::string zoom_label(const Zoom& z) {
  std::ostringstream os;
  os << z.x;
  if (z.y != z.x) os << "x" << z.y;
  return os.str();
}

Image zoom_centred(const Image& img, const Zoom& z) {
  Image out(img.channels, img.height, img.width);
  // Per axis: source coordinate (pixel centres) and the two taps with their weights.
  struct Tap {
    int i0, i1;
    float w1;
  };
  auto taps = [](int n, double f) {
    std::vector<Tap> t(static_cast<std::size_t>(n));
    const double c = (n - 1) / 2.0;
    for (int p = 0; p < n; ++p) {
      const double s = std::clamp(c + (p - c) / f, 0.0, static_cast<double>(n - 1));
      const int i0 = static_cast<int>(std::floor(s));
      const int i1 = std::min(i0 + 1, n - 1);
      t[static_cast<std::size_t>(p)] = {i0, i1, static_cast<float>(s - i0)};
    }
    return t;
  };
  const auto tx = taps(img.width, z.x), ty = taps(img.height, z.y);
  for (int c = 0; c < img.channels; ++c)
    for (int y = 0; y < img.height; ++y) {
      const Tap& a = ty[static_cast<std::size_t>(y)];
      for (int x = 0; x < img.width; ++x) {
        const Tap& b = tx[static_cast<std::size_t>(x)];
        const float top = img.at(c, a.i0, b.i0) + b.w1 * (img.at(c, a.i0, b.i1) - img.at(c, a.i0, b.i0));
        const float bot = img.at(c, a.i1, b.i0) + b.w1 * (img.at(c, a.i1, b.i1) - img.at(c, a.i1, b.i0));
        out.at(c, y, x) = top + a.w1 * (bot - top);
      }
    }
  return out;
}

namespace {

class ZoomedExtractor final : public FeatureExtractor {
 public:
  ZoomedExtractor(FeatureExtractor& inner, Zoom z) : inner_(inner), z_(z) {}
  std::string id() const override { return "zoom(" + zoom_label(z_) + ")>" + inner_.id(); }
  std::string weights_hash() const override { return inner_.weights_hash(); }
  int dim() const override { return inner_.dim(); }
  InputSpec input_spec() const override { return inner_.input_spec(); }
  std::vector<float> extract(const std::vector<Image>& batch) override {
    std::vector<Image> zoomed;
    zoomed.reserve(batch.size());
    for (const auto& im : batch) zoomed.push_back(zoom_centred(im, z_));
    return inner_.extract(zoomed);
  }

 private:
  FeatureExtractor& inner_;
  Zoom z_;
};

}  // namespace

std::unique_ptr<FeatureExtractor> zoomed_extractor(FeatureExtractor& inner, const Zoom& z) {
  return std::make_unique<ZoomedExtractor>(inner, z);
}

KnnResult collapse_gallery(const KnnResult& rows, std::int64_t n_images, int k, std::vector<int>* best_view) {
  if (n_images < 1) throw Error("collapse_gallery: empty gallery");
  KnnResult out;
  out.nq = rows.nq;
  out.k = k;
  out.sims.assign(static_cast<std::size_t>(rows.nq) * k, -std::numeric_limits<float>::infinity());
  out.ids.assign(static_cast<std::size_t>(rows.nq) * k, -1);
  if (best_view) best_view->assign(static_cast<std::size_t>(rows.nq) * k, 0);
  std::vector<std::int64_t> seen;
  for (std::int64_t q = 0; q < rows.nq; ++q) {
    seen.clear();
    int filled = 0;
    for (int r = 0; r < rows.k && filled < k; ++r) {
      const std::int64_t row = rows.id(q, r);
      if (row < 0) break;
      const std::int64_t image = row % n_images;
      if (std::find(seen.begin(), seen.end(), image) != seen.end()) continue;  // a worse view of a listed image
      seen.push_back(image);
      const std::size_t o = static_cast<std::size_t>(q) * k + filled;
      out.sims[o] = rows.sim(q, r);
      out.ids[o] = image;
      if (best_view) (*best_view)[o] = static_cast<int>(row / n_images);
      ++filled;
    }
  }
  return out;
}

}  // namespace medsyn::memorization
