#include "medsyn/core/medmnist_import.h"

#include <regex>

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

}  // namespace

MedMnistImportResult import_medmnist(const fs::path& npz, const fs::path& out_dir, const std::string& name_override) {
  std::string name = name_override.empty() ? infer_name(npz) : name_override;
  std::transform(name.begin(), name.end(), name.begin(), to_lower_c);
  const auto info = find_medmnist(name);
  if (!info) {
    std::string known;
    for (const auto& i : medmnist_catalog()) known += (known.empty() ? "" : ", ") + i.name;
    throw InputError(at_file(npz.string(), "unknown MedMNIST set '" + name + "' (name the set explicitly when the file name does not say it; known: " + known + ")"));
  }
  auto arrays = read_npz(npz);
  MedMnistImportResult result;
  result.name = info->name;
  ManifestWriter writer(out_dir);
  for (const std::string split : {"train", "val", "test"}) {
    const auto ii = arrays.find(split + "_images");
    const auto li = arrays.find(split + "_labels");
    if (ii == arrays.end() || li == arrays.end())
      throw InputError(at_file(npz.string(), "missing array '" + split + (ii == arrays.end() ? "_images" : "_labels") +
                                                 "' (not a MedMNIST v2 file?)"));
    const NpyArray& imgs = ii->second;
    const NpyArray& labs = li->second;
    if (imgs.dtype != DType::u8)
      throw InputError(at_file(npz.string(), split + "_images: expected uint8 pixels"));
    if (imgs.shape.size() != 3 && !(imgs.shape.size() == 4 && imgs.shape[3] == 3))
      throw InputError(at_file(npz.string(), split + "_images: expected shape (N,H,W) or (N,H,W,3)"));
    const std::int64_t n = imgs.shape[0], h = imgs.shape[1], w = imgs.shape[2];
    const int ch = imgs.shape.size() == 4 ? 3 : 1;
    if (labs.shape.empty() || labs.shape[0] != n)
      throw InputError(at_file(npz.string(), split + "_labels: expected " + std::to_string(n) + " rows"));
    const std::int64_t lab_cols = labs.shape.size() > 1 ? labs.shape[1] : 1;
    if (!info->multi_label && lab_cols != 1)
      throw InputError(at_file(npz.string(), split + "_labels: expected one label per image"));
    const auto labels = labs.as_i64();
    const fs::path split_dir = out_dir / "images" / split;
    ensure_dir(split_dir);
    Progress progress("import " + info->name + " " + split, n, "images");
    const std::size_t per = static_cast<std::size_t>(h * w * ch);
    for (std::int64_t i = 0; i < n; ++i) {
      Image img = from_u8_hwc(imgs.bytes.data() + i * per, static_cast<int>(h), static_cast<int>(w), ch);
      char fname[32];
      std::snprintf(fname, sizeof fname, "%05lld.png", static_cast<long long>(i));
      const auto png = encode_png(img, 8);
      atomic_write_bytes(split_dir / fname, png);
      Record r;
      r.path = "images/" + split + "/" + fname;
      r.modality = info->modality;
      r.specialty = info->specialty;
      r.split = split;
      r.sha256 = sha256_hex(png.data(), png.size());
      json extra = {{"index", i}, {"source", info->name}};
      if (info->multi_label) {
        std::vector<int> flags;
        std::string names;
        for (std::int64_t c = 0; c < lab_cols; ++c) {
          const int v = static_cast<int>(labels[i * lab_cols + c]);
          flags.push_back(v);
          if (v && c < static_cast<std::int64_t>(info->label_names.size()))
            names += (names.empty() ? "" : ", ") + info->label_names[c];
        }
        extra["labels"] = flags;
        r.label_name = names.empty() ? "no finding" : names;
      } else {
        const long lab = static_cast<long>(labels[i]);
        if (lab < 0 || lab >= static_cast<long>(info->label_names.size()))
          throw InputError(at_file(npz.string(), split + "_labels row " + std::to_string(i) + ": label " +
                                                     std::to_string(lab) + " out of range for " + info->name));
        r.label = lab;
        r.label_name = info->label_names[lab];
      }
      r.prompt = info->prompt_modality + ", " + r.label_name;
      r.extra_json = extra.dump();
      writer.add(r);
      progress.advance();
    }
    result.per_split[split] = static_cast<std::size_t>(n);
    result.images += static_cast<std::size_t>(n);
  }
  writer.commit();
  return result;
}

}  // namespace medsyn
