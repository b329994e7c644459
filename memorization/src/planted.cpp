#include "medsyn/memorization/planted.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/image.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/stats/random.h"

namespace fs = std::filesystem;

namespace medsyn::memorization {

namespace {

std::vector<std::size_t> pick(std::size_t n, std::size_t m, stats::Rng& rng) {
  std::vector<std::size_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  stats::shuffle(rng, idx);
  if (m > 0 && m < n) idx.resize(m);
  return idx;
}

int uniform_int(stats::Rng& rng, int lo, int hi) {  // inclusive
  return lo + static_cast<int>(stats::random_below(rng, static_cast<std::uint64_t>(hi - lo + 1)));
}

Image hflip(const Image& in) {
  Image out = in;
  for (int c = 0; c < in.channels; ++c)
    for (int y = 0; y < in.height; ++y)
      for (int x = 0; x < in.width; ++x) out.at(c, y, x) = in.at(c, y, in.width - 1 - x);
  return out;
}

Image shift(const Image& in, int dy, int dx) {
  Image out = in;
  for (int c = 0; c < in.channels; ++c)
    for (int y = 0; y < in.height; ++y)
      for (int x = 0; x < in.width; ++x)
        out.at(c, y, x) = in.at(c, std::clamp(y - dy, 0, in.height - 1), std::clamp(x - dx, 0, in.width - 1));
  return out;
}

Image crop_resize(const Image& in, int top, int bottom, int left, int right) {
  const int h = in.height - top - bottom, w = in.width - left - right;
  if (h < 2 || w < 2) return in;
  Image c(in.channels, h, w);
  for (int ch = 0; ch < in.channels; ++ch)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) c.at(ch, y, x) = in.at(ch, y + top, x + left);
  Image out = resize(c, in.height, in.width, ResizeFilter::bicubic, true);
  for (float& v : out.data) v = std::clamp(v, 0.f, 1.f);
  return out;
}

// Gaussian pixel noise from stats::standard_normal (the same with every standard library).
Image add_noise(const Image& in, double sigma, stats::Rng& rng) {
  Image out = in;
  for (auto& v : out.data) v = std::clamp(static_cast<float>(v + sigma * stats::standard_normal(rng)), 0.f, 1.f);
  return out;
}

Image scale(const Image& in, float f) {
  Image out = in;
  for (float& v : out.data) v = std::clamp(v * f, 0.f, 1.f);
  return out;
}

Record with_extra(Record r, const json& fields) {
  json extra = json::parse(r.extra_json.empty() ? std::string("{}") : r.extra_json);
  for (auto it = fields.begin(); it != fields.end(); ++it) extra[it.key()] = it.value();
  r.extra_json = extra.dump();
  return r;
}

void write_jsonl(const fs::path& p, const std::vector<Record>& recs) {
  std::string text;
  for (const auto& r : recs) text += record_to_json(r).dump() + "\n";
  atomic_write_text(p, text);
}

void copy_image(const Dataset& ds, const Record& r, const fs::path& out_dir) {
  const fs::path dst = out_dir / r.path;
  if (fs::exists(dst)) return;
  ensure_dir(dst.parent_path());
  atomic_write_bytes(dst, read_file_bytes(ds.image_path(r)));
}

}  // namespace

PlantedSet build_planted_set(const fs::path& real_dataset, const fs::path& out_dir, const PlantedOptions& opt) {
  const Dataset ds = load_dataset(real_dataset);
  const std::string manifest = (ds.root / "manifest.jsonl").string();
  const auto train_all = ds.select(opt.modality, opt.train_split);
  const auto test_all = ds.select(opt.modality, opt.test_split);
  if (train_all.empty()) throw InputError(at_file(manifest, "no images of split '" + opt.train_split + "'"));
  if (test_all.size() < 2) throw InputError(at_file(manifest, "need at least 2 images of split '" + opt.test_split + "'"));
  stats::Rng rng(opt.seed);

  auto train_idx = pick(train_all.size(), opt.max_train, rng);
  std::sort(train_idx.begin(), train_idx.end());
  auto test_idx = pick(test_all.size(), opt.max_test, rng);
  stats::shuffle(rng, test_idx);
  const std::size_t half = test_idx.size() / 2;
  std::vector<std::size_t> hold_idx(test_idx.begin(), test_idx.begin() + static_cast<std::ptrdiff_t>(half)),
      new_idx(test_idx.begin() + static_cast<std::ptrdiff_t>(half), test_idx.end());
  std::sort(hold_idx.begin(), hold_idx.end());
  std::sort(new_idx.begin(), new_idx.end());
  if (opt.n_sources > train_idx.size())
    throw InputError("planted set: " + std::to_string(opt.n_sources) + " source images requested but the training selection has only " +
                     std::to_string(train_idx.size()));
  std::vector<std::size_t> src_pos = pick(train_idx.size(), opt.n_sources, rng);
  std::sort(src_pos.begin(), src_pos.end());

  ensure_dir(out_dir);
  PlantedSet ps;
  std::vector<Record> train, hold, syn;
  for (auto i : train_idx) {
    copy_image(ds, train_all[i], out_dir);
    train.push_back(train_all[i]);
  }
  for (auto i : hold_idx) {
    copy_image(ds, test_all[i], out_dir);
    hold.push_back(test_all[i]);
  }
  for (auto i : new_idx) {
    copy_image(ds, test_all[i], out_dir);
    Record r = with_extra(test_all[i], {{"planted_kind", "none"}});
    r.split = "synthetic";
    syn.push_back(std::move(r));
  }
  ensure_dir(out_dir / "images" / "planted");
  for (std::size_t s = 0; s < src_pos.size(); ++s) {
    const Record& src = train[src_pos[s]];
    const Image img = read_image(ds.image_path(src));
    for (const std::string& kind : planted_kinds()) {
      char name[64];
      std::snprintf(name, sizeof name, "images/planted/%s_%03zu.png", kind.c_str(), s);
      Record r = src;
      r.path = name;
      r.split = "synthetic";
      r.sha256.clear();
      r.group.clear();
      json extra = {{"planted_kind", kind}, {"planted_source", src.path}};
      if (kind == "exact") {
        atomic_write_bytes(out_dir / r.path, read_file_bytes(ds.image_path(src)));
      } else {
        Image out;
        if (kind == "hflip") {
          out = hflip(img);
        } else if (kind == "shift") {
          int dy = uniform_int(rng, 1, 2) * (rng() % 2 ? 1 : -1), dx = uniform_int(rng, 1, 2) * (rng() % 2 ? 1 : -1);
          out = shift(img, dy, dx);
          extra["planted_shift"] = {dy, dx};
        } else if (kind == "crop") {
          const int t = uniform_int(rng, 1, 3), b = uniform_int(rng, 1, 3), l = uniform_int(rng, 1, 3),
                    rr = uniform_int(rng, 1, 3);
          out = crop_resize(img, t, b, l, rr);
          extra["planted_crop"] = {t, b, l, rr};
        } else if (kind == "noise") {
          out = add_noise(img, 2.0 / 255.0, rng);
        } else {
          const float f = rng() % 2 ? 1.05f : 0.95f;
          out = scale(img, f);
          extra["planted_brightness"] = f;
        }
        write_png(out_dir / r.path, out);
      }
      syn.push_back(with_extra(std::move(r), extra));
      ++ps.copies[kind];
    }
  }
  ps.train = out_dir / "train.jsonl";
  ps.holdout = out_dir / "holdout.jsonl";
  ps.synthetic = out_dir / "synthetic.jsonl";
  write_jsonl(ps.train, train);
  write_jsonl(ps.holdout, hold);
  write_jsonl(ps.synthetic, syn);
  ps.n_train = train.size();
  ps.n_holdout = hold.size();
  ps.n_new = new_idx.size();
  return ps;
}

}  // namespace medsyn::memorization
