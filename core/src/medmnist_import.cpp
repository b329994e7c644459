#include "medsyn/core/medmnist_import.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <regex>
#include <sstream>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/core/medmnist.h"
#include "medsyn/core/npy.h"
#include "medsyn/core/progress.h"

namespace fs = std::filesystem;

namespace medsyn {

namespace {

std::string infer_name(const fs::path& npz) {
  // "pneumoniamnist.npz", "pneumoniamnist_64.npz" -> "pneumoniamnist"
  std::string stem = npz.stem().string();
  std::smatch m;
  if (std::regex_match(stem, m, std::regex(R"(([A-Za-z]+mnist)(_\d+)?)"))) return m[1];
  return stem;
}

char to_lower_c(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

// The catalog name, or InputError listing the known ones.
MedMnistInfo resolve_info(const fs::path& npz, const std::string& name_override) {
  std::string name = name_override.empty() ? infer_name(npz) : name_override;
  std::transform(name.begin(), name.end(), name.begin(), to_lower_c);
  const auto info = find_medmnist(name);
  if (!info) {
    std::string known;
    for (const auto& i : medmnist_catalog()) known += (known.empty() ? "" : ", ") + i.name;
    throw InputError(at_file(npz.string(), "unknown MedMNIST set '" + name + "' (name the set explicitly when the file name does not say it; known: " + known + ")"));
  }
  return *info;
}

const char* const kSplits[] = {"train", "val", "test"};

struct SplitShape {
  std::int64_t n = 0, h = 0, w = 0;
  int ch = 1;
  std::int64_t lab_cols = 1;
};

// Checks members, dtypes and shapes from the headers alone (nothing loaded yet).
SplitShape check_split(const std::map<std::string, NpyInfo>& members, const std::string& split, const MedMnistInfo& info,
                       const fs::path& npz) {
  const std::string file = npz.string();
  const auto ii = members.find(split + "_images");
  const auto li = members.find(split + "_labels");
  if (ii == members.end() || li == members.end())
    throw InputError(at_file(file, "missing array '" + split + (ii == members.end() ? "_images" : "_labels") +
                                       "' (not a MedMNIST v2 file?)"));
  const NpyInfo& imgs = ii->second;
  const NpyInfo& labs = li->second;
  if (imgs.dtype != DType::u8) throw InputError(at_file(file, split + "_images: expected uint8 pixels"));
  if (imgs.shape.size() != 3 && !(imgs.shape.size() == 4 && imgs.shape[3] == 3))
    throw InputError(at_file(file, split + "_images: expected shape (N,H,W) or (N,H,W,3)"));
  SplitShape s;
  s.n = imgs.shape[0];
  s.h = imgs.shape[1];
  s.w = imgs.shape[2];
  s.ch = imgs.shape.size() == 4 ? 3 : 1;
  if (s.h < 1 || s.w < 1 || s.h > 65535 || s.w > 65535)
    throw InputError(at_file(file, split + "_images: image size " + std::to_string(s.h) + "x" + std::to_string(s.w) +
                                       " is outside 1..65535"));
  if (labs.shape.empty() || labs.shape.size() > 2 || labs.shape[0] != s.n)
    throw InputError(at_file(file, split + "_labels: expected " + std::to_string(s.n) + " rows"));
  if (labs.dtype == DType::b1 && !info.multi_label)
    throw InputError(at_file(file, split + "_labels: boolean labels, expected class indices"));
  s.lab_cols = labs.shape.size() > 1 ? labs.shape[1] : 1;
  if (!info.multi_label && s.lab_cols != 1)
    throw InputError(at_file(file, split + "_labels: expected one label per image"));
  if (info.multi_label && s.lab_cols != static_cast<std::int64_t>(info.label_names.size()))
    throw InputError(at_file(file, split + "_labels: expected " + std::to_string(info.label_names.size()) + " flags per image (" +
                                       info.name + " has " + std::to_string(info.label_names.size()) + " labels), got " +
                                       std::to_string(s.lab_cols)));
  return s;
}

// Labels as integers, refusing values that would be silently truncated (1.5 -> 1) and flags
// other than 0/1 in multi-label sets.
std::vector<std::int64_t> checked_labels(const NpyArray& labs, const std::string& split, const MedMnistInfo& info,
                                         std::int64_t cols, const fs::path& npz) {
  const std::string where = npz.string() + ": member '" + split + "_labels'";
  const std::vector<double> v = labs.as_f64();
  std::vector<std::int64_t> out(v.size());
  const double hi = info.multi_label ? 1.0 : static_cast<double>(info.label_names.size()) - 1.0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const double x = v[i];
    const std::string row = ", row " + std::to_string(cols ? i / static_cast<std::size_t>(cols) : i);
    if (!std::isfinite(x) || x != std::floor(x)) {
      std::ostringstream t;
      t << x;
      throw InputError(where + row + ": label " + t.str() + " is not a whole number (labels are " +
                       (info.multi_label ? "0/1 flags" : "class indices") + ")");
    }
    if (x < 0 || x > hi)
      throw InputError(where + row + ": label " + std::to_string(static_cast<long long>(x)) + " out of range for " +
                       info.name + (info.multi_label ? " (flags are 0 or 1)" : " (0.." + std::to_string(static_cast<long long>(hi)) + ")"));
    out[i] = static_cast<std::int64_t>(x);
  }
  return out;
}

}  // namespace

MedMnistImportResult import_medmnist(const fs::path& npz, const fs::path& out_dir, const MedMnistImportOptions& opts) {
  const MedMnistInfo info = resolve_info(npz, opts.name);
  check_dataset_output(out_dir, opts.overwrite);
  // Created first, so that any failure below also removes a partial folder left by a killed run.
  StagedDir stage(out_dir);

  // Sizes first, from the member headers: the cap and the disk space are checked before any
  // pixel is loaded or written.
  const auto members = read_npz_info(npz);
  std::map<std::string, SplitShape> shapes;
  std::uint64_t total = 0, need = 0;
  for (const std::string split : kSplits) {
    const SplitShape s = check_split(members, split, info, npz);
    shapes[split] = s;
    total += static_cast<std::uint64_t>(s.n);
    // One PNG (at most the raw pixels plus ~200 bytes of chunks, rounded up to a 4 KiB block)
    // and one manifest line (~400 bytes) per image.
    const std::uint64_t raw = static_cast<std::uint64_t>(s.h) * static_cast<std::uint64_t>(s.w) * s.ch;
    need += static_cast<std::uint64_t>(s.n) * (((raw + 200 + 4095) / 4096) * 4096 + 400);
  }
  if (total > opts.max_images)
    throw ImageLimitError(at_file(npz.string(), "declares " + std::to_string(total) + " images (train " +
                                                    std::to_string(shapes["train"].n) + ", val " + std::to_string(shapes["val"].n) +
                                                    ", test " + std::to_string(shapes["test"].n) + "), more than the limit of " +
                                                    std::to_string(opts.max_images) + " images per import"));
  const fs::path parent = out_dir.has_parent_path() ? out_dir.parent_path() : fs::path(".");
  require_free_space(parent, need, "importing " + std::to_string(total) + " images");

  auto arrays = read_npz(npz);
  MedMnistImportResult result;
  result.name = info.name;
  std::map<std::string, std::vector<std::int64_t>> labels;
  for (const std::string split : kSplits)  // all labels checked before anything is written
    labels[split] = checked_labels(arrays.at(split + "_labels"), split, info, shapes[split].lab_cols, npz);

  ManifestWriter writer(stage.path());
  for (const std::string split : kSplits) {
    const NpyArray& imgs = arrays.at(split + "_images");
    const SplitShape& sh = shapes[split];
    const std::int64_t n = sh.n, lab_cols = sh.lab_cols;
    const auto& lab = labels[split];
    const fs::path split_dir = stage.path() / "images" / split;
    ensure_dir(split_dir);
    Progress progress("import " + info.name + " " + split, n, "images");
    const std::size_t per = static_cast<std::size_t>(sh.h * sh.w * sh.ch);
    for (std::int64_t i = 0; i < n; ++i) {
      Image img = from_u8_hwc(imgs.bytes.data() + i * per, static_cast<int>(sh.h), static_cast<int>(sh.w), sh.ch);
      char fname[32];
      std::snprintf(fname, sizeof fname, "%05lld.png", static_cast<long long>(i));
      const auto png = encode_png(img, 8);
      atomic_write_bytes(split_dir / fname, png);
      Record r;
      r.path = "images/" + split + "/" + fname;
      r.modality = info.modality;
      r.specialty = info.specialty;
      r.split = split;
      r.sha256 = sha256_hex(png.data(), png.size());
      json extra = {{"index", i}, {"source", info.name}};
      if (info.multi_label) {
        std::vector<int> flags;
        std::string names;
        for (std::int64_t c = 0; c < lab_cols; ++c) {
          const int v = static_cast<int>(lab[i * lab_cols + c]);
          flags.push_back(v);
          if (v) names += (names.empty() ? "" : ", ") + info.label_names[c];
        }
        extra["labels"] = flags;
        r.label_name = names.empty() ? "no finding" : names;
      } else {
        const long l = static_cast<long>(lab[i]);
        r.label = l;
        r.label_name = info.label_names[l];
      }
      r.prompt = info.prompt_modality + ", " + r.label_name;
      r.extra_json = extra.dump();
      writer.add(r);
      progress.advance();
    }
    result.per_split[split] = static_cast<std::size_t>(n);
    result.images += static_cast<std::size_t>(n);
  }
  writer.commit();
  stage.commit();
  return result;
}

}  // namespace medsyn
