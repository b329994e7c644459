// `medsynbench data ...`: import medmnist, info, verify. (import folder / fetch / demo live in
// cmd_data_import.cpp.)
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "commands.h"
#include "medsyn/core/error.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/core/medmnist_import.h"
#include "medsyn/core/progress.h"

namespace fs = std::filesystem;

namespace medsyn::cli {

namespace {

struct ImportMedmnistArgs {
  std::string file, out, name;
  std::size_t max_images = kDefaultMaxMedMnistImages;
  bool json = false, overwrite = false;
};

struct InfoArgs {
  std::string dir;
  bool json = false;
  bool sizes = true;
};

// Dataset summary: counts per modality/split/label, image sizes and channels (read from files).
json dataset_info(const Dataset& ds, bool read_sizes) {
  std::map<std::string, std::map<std::string, long>> per_split, per_label;
  std::map<std::string, long> per_modality;
  std::map<std::string, std::map<std::string, long>> sizes;  // modality -> "CxHxW" -> count
  Progress progress("data info", read_sizes ? static_cast<long>(ds.records.size()) : 0, "images");
  for (const auto& r : ds.records) {
    per_modality[r.modality]++;
    per_split[r.modality][r.split.empty() ? "(none)" : r.split]++;
    std::string lab = r.label_name;
    if (lab.empty() && r.label) lab = std::to_string(*r.label);
    if (!lab.empty()) per_label[r.modality][lab]++;
    if (read_sizes) {
      const Image img = read_image(ds.image_path(r));
      sizes[r.modality][std::to_string(img.channels) + "x" + std::to_string(img.height) + "x" +
                        std::to_string(img.width)]++;
      progress.advance();
    }
  }
  progress.finish();
  json mods = json::object();
  for (const auto& [m, n] : per_modality) {
    json entry = {{"images", n}, {"splits", per_split[m]}, {"labels", per_label[m]}};
    if (read_sizes) entry["shapes_cxhxw"] = sizes[m];
    mods[m] = entry;
  }
  return json{{"dataset", ds.root.string()}, {"images", ds.records.size()}, {"modalities", mods}};
}

void print_info_table(const json& info) {
  std::cout << "dataset: " << info["dataset"].get<std::string>() << "\n";
  std::cout << "images:  " << info["images"].get<long>() << "\n\n";
  std::cout << std::left << std::setw(22) << "modality" << std::setw(8) << "images" << std::setw(34) << "splits"
            << "shapes (CxHxW)\n";
  for (auto it = info["modalities"].begin(); it != info["modalities"].end(); ++it) {
    std::ostringstream splits, shapes;
    for (auto s = it.value()["splits"].begin(); s != it.value()["splits"].end(); ++s)
      splits << s.key() << "=" << s.value().get<long>() << " ";
    if (it.value().contains("shapes_cxhxw"))
      for (auto s = it.value()["shapes_cxhxw"].begin(); s != it.value()["shapes_cxhxw"].end(); ++s)
        shapes << s.key() << "(" << s.value().get<long>() << ") ";
    std::cout << std::setw(22) << it.key() << std::setw(8) << it.value()["images"].get<long>() << std::setw(34)
              << splits.str() << shapes.str() << "\n";
  }
  std::cout << "\nlabels per modality:\n";
  for (auto it = info["modalities"].begin(); it != info["modalities"].end(); ++it) {
    std::cout << "  " << it.key() << ":";
    for (auto l = it.value()["labels"].begin(); l != it.value()["labels"].end(); ++l)
      std::cout << " [" << l.key() << "]=" << l.value().get<long>();
    std::cout << "\n";
  }
}

}  // namespace

void register_data_commands(CLI::App& root) {
  CLI::App* data = group(root, "data", "Datasets: import, inspect and verify (a dataset is a folder with manifest.jsonl)");
  CLI::App* import = group(*data, "import", "Import images into the dataset layout");

  auto a = std::make_shared<ImportMedmnistArgs>();
  CLI::App* mm = import->add_subcommand("medmnist", "Import an official MedMNIST v2 .npz (every split, image and label)");
  mm->add_option("file", a->file, "MedMNIST .npz file")->required();
  mm->add_option("--out", a->out, "Output dataset folder")->required();
  mm->add_option("--name", a->name, "Catalog name when the file name does not say it (e.g. pneumoniamnist)");
  mm->add_option("--max-images", a->max_images,
                 "Refuse files that declare more images than this, before anything is written (the largest official "
                 "2D set has 236,386)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  mm->add_flag("--overwrite", a->overwrite, "Replace an existing dataset in --out (the old folder is replaced whole)");
  mm->add_flag("--json", a->json, "Print the summary as JSON");
  mm->callback([a] {
    MedMnistImportOptions o;
    o.name = a->name;
    o.max_images = a->max_images;
    o.overwrite = a->overwrite;
    MedMnistImportResult res;
    try {
      res = import_medmnist(a->file, a->out, o);
    } catch (const ImageLimitError& e) {
      throw InputError(std::string(e.what()) + "; raise the limit with --max-images N if the file is genuine");
    } catch (const DatasetExistsError& e) {
      throw InputError(std::string(e.what()) + " (--overwrite replaces it)");
    }
    json j = {{"name", res.name}, {"images", res.images}, {"splits", res.per_split}, {"out", a->out}};
    if (a->json) {
      print_json(j);
    } else {
      std::cout << "imported " << res.images << " images of " << res.name << " into " << a->out << " (";
      bool first = true;
      for (const auto& [s, n] : res.per_split) {
        std::cout << (first ? "" : ", ") << s << " " << n;
        first = false;
      }
      std::cout << ")\n";
    }
  });

  auto ia = std::make_shared<InfoArgs>();
  CLI::App* info = data->add_subcommand("info", "Counts per modality, split and label; image sizes and channels");
  info->add_option("dir", ia->dir, "Dataset folder")->required();
  info->add_flag("--json", ia->json, "Print JSON");
  info->callback([ia] {
    const Dataset ds = load_dataset(ia->dir);
    const json j = dataset_info(ds, ia->sizes);
    if (ia->json) print_json(j);
    else print_info_table(j);
  });

  auto va = std::make_shared<InfoArgs>();
  CLI::App* verify = data->add_subcommand("verify", "Check every file is readable and matches its recorded sha256");
  verify->add_option("dir", va->dir, "Dataset folder")->required();
  verify->add_flag("--json", va->json, "Print JSON");
  verify->callback([va] {
    const Dataset ds = load_dataset(va->dir);
    json problems = json::array();
    long checked_hash = 0;
    Progress progress("data verify", static_cast<long>(ds.records.size()), "images");
    for (const auto& r : ds.records) {
      const fs::path p = ds.image_path(r);
      try {
        if (!r.sha256.empty()) {
          const std::string h = sha256_file(p);
          ++checked_hash;
          if (h != r.sha256) {
            problems.push_back({{"path", r.path}, {"problem", "sha256 mismatch: recorded " + r.sha256 + ", file " + h}});
            progress.advance();
            continue;
          }
        }
        (void)read_image(p);
      } catch (const InputError& e) {
        problems.push_back({{"path", r.path}, {"problem", e.what()}});
      }
      progress.advance();
    }
    progress.finish();
    const json j = {{"dataset", va->dir}, {"images", ds.records.size()}, {"hashes_checked", checked_hash},
                    {"problems", problems}, {"ok", problems.empty()}};
    if (va->json) {
      print_json(j);
    } else {
      for (const auto& p : problems)
        std::cout << "BAD  " << p["path"].get<std::string>() << ": " << p["problem"].get<std::string>() << "\n";
      std::cout << (problems.empty() ? "OK   " : "FAIL ") << ds.records.size() << " images, " << checked_hash
                << " hashes checked, " << problems.size() << " problem(s)\n";
    }
    if (!problems.empty()) set_exit_code(1);
  });
}

}  // namespace medsyn::cli
