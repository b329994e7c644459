// `medsynbench data import folder`, `data fetch medmnist`, `data demo`.
// (data import medmnist / info / verify live in cmd_data.cpp.)
#include <iostream>
#include <memory>

#include "commands.h"
#include "medsyn/core/demo_corpus.h"
#include "medsyn/core/download.h"
#include "medsyn/core/folder_import.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/core/medical_io.h"

namespace fs = std::filesystem;

namespace medsyn::cli {

namespace {

struct FolderArgs {
  std::string src, out, modality, specialty, prompt, window, axis = "z";
  int slice_step = 1, png_bits = 0;
  bool labels = false, skip_bad = false, overwrite = false, follow_symlinks = false, json = false;
};

struct FetchArgs {
  std::string name, out, url, cache;
  bool json = false, overwrite = false;
};

// Library messages name no flags; the hint is added here.
template <class F>
auto with_overwrite_hint(F f) {
  try {
    return f();
  } catch (const DatasetExistsError& e) {
    throw InputError(std::string(e.what()) + " (--overwrite replaces it)");
  }
}

struct DemoArgs {
  std::string out, medmnist_dir, cache;
  bool no_medmnist = false, json = false;
};

void print_counts(const std::map<std::string, std::size_t>& m, const char* what) {
  if (m.empty()) return;
  std::cout << "  " << what << ":";
  for (const auto& [k, n] : m) std::cout << " " << k << "=" << n;
  std::cout << "\n";
}

}  // namespace

void register_data_import_commands(CLI::App& root) {
  CLI::App* data = group(root, "data", "Datasets: import, inspect and verify (a dataset is a folder with manifest.jsonl)");
  CLI::App* import = group(*data, "import", "Import images into the dataset layout");

  // data import folder
  auto fa = std::make_shared<FolderArgs>();
  CLI::App* folder = import->add_subcommand(
      "folder",
      "Import a folder of PNG/JPEG/TIFF/BMP, DICOM and NIfTI files (recursively, in sorted order). DICOM frames and "
      "NIfTI slices become separate images; see docs/data.md for normalisation and windowing");
  folder->add_option("src", fa->src, "Source folder")->required();
  folder->add_option("--out", fa->out, "Output dataset folder (must not be inside SRC)")->required();
  folder->add_option("--modality", fa->modality, "Modality of every image, e.g. head_ct, chest_xray")->required();
  folder->add_option("--specialty", fa->specialty, "Specialty, e.g. radiology");
  folder->add_flag("--labels-from-subfolders", fa->labels,
                   "The first folder under SRC is the label name (integer labels: sorted order of the names)");
  folder->add_option("--prompt", fa->prompt,
                     "Prompt template with {modality}, {label}, {specialty} (default \"{modality}\", or "
                     "\"{modality}, {label}\" with labels)");
  folder->add_option("--window", fa->window,
                     "CENTER,WIDTH in the file's units (HU for CT) mapped to [0,1], or a preset: brain, subdural, "
                     "stroke, soft_tissue, mediastinum, liver, lung, bone. Applies to DICOM and NIfTI");
  folder->add_option("--axis", fa->axis, "NIfTI slice axis: x|y|z (sagittal|coronal|axial)")->capture_default_str();
  folder->add_option("--slice-step", fa->slice_step, "NIfTI: keep every N-th slice")->capture_default_str();
  folder->add_option("--png-bits", fa->png_bits,
                     "PNG bit depth 8 or 16 (default: 8 when 8 bits hold the pixels exactly, else 16)");
  folder->add_flag("--skip-bad", fa->skip_bad, "Import the rest when a file is bad; list skipped files in OUT/skipped.jsonl");
  folder->add_flag("--overwrite", fa->overwrite, "Replace an earlier import in OUT (the old folder is replaced whole)");
  folder->add_flag("--follow-symlinks", fa->follow_symlinks,
                   "Import files reached through symbolic links that point outside SRC (refused by default; links "
                   "to folders are never followed)");
  folder->add_flag("--json", fa->json, "Print the summary as JSON");
  folder->callback([fa] {
    FolderImportOptions o;
    o.modality = fa->modality;
    o.specialty = fa->specialty;
    o.prompt_template = fa->prompt;
    o.labels_from_subfolders = fa->labels;
    o.skip_bad = fa->skip_bad;
    o.overwrite = fa->overwrite;
    o.follow_symlinks = fa->follow_symlinks;
    if (!fa->window.empty()) o.window = parse_window(fa->window);
    o.axis = parse_slice_axis(fa->axis);
    o.slice_step = fa->slice_step;
    o.png_bits = fa->png_bits;
    const FolderImportResult r = with_overwrite_hint([&] { return import_folder(fa->src, fa->out, o); });
    if (fa->json) {
      json j = {{"out", fa->out},        {"files", r.files},         {"images", r.images},
                {"skipped", r.skipped},  {"per_label", r.per_label}, {"per_format", r.per_format}};
      if (o.window) j["window"] = {{"center", o.window->center}, {"width", o.window->width}};
      print_json(j);
    } else {
      std::cout << "imported " << r.images << " images from " << r.files << " files into " << fa->out;
      if (r.skipped) std::cout << " (" << r.skipped << " skipped, see " << (fs::path(fa->out) / "skipped.jsonl").string() << ")";
      std::cout << "\n";
      print_counts(r.per_format, "files per format");
      print_counts(r.per_label, "images per label");
    }
  });

  // data fetch medmnist
  CLI::App* fetch = group(*data, "fetch", "Download official datasets (checksums verified), then import them");
  auto ga = std::make_shared<FetchArgs>();
  CLI::App* mm = fetch->add_subcommand("medmnist", "Download an official MedMNIST v2 file (28x28), verify its md5, import it");
  mm->add_option("name", ga->name, "Set name, e.g. breastmnist, pneumoniamnist")->required();
  mm->add_option("--out", ga->out, "Output dataset folder")->required();
  mm->add_option("--url", ga->url, "Download from this URL instead of the official one (https://, file://)");
  mm->add_option("--cache", ga->cache, "Download cache folder (default: <cache dir>/downloads)");
  mm->add_flag("--overwrite", ga->overwrite, "Replace an existing dataset in --out");
  mm->add_flag("--json", ga->json, "Print the summary as JSON");
  mm->callback([ga] {
    const auto r = with_overwrite_hint([&] { return fetch_medmnist(ga->name, ga->out, ga->url, ga->cache, ga->overwrite); });
    if (ga->json) {
      print_json({{"name", r.import.name}, {"file", r.npz.string()}, {"url", r.url}, {"cached", r.cached},
                  {"images", r.import.images}, {"splits", r.import.per_split}, {"out", ga->out}});
    } else {
      std::cout << (r.cached ? "used cached " : "downloaded ") << r.npz.string() << " (md5 verified)\n"
                << "imported " << r.import.images << " images of " << r.import.name << " into " << ga->out << "\n";
    }
  });

  // data demo
  auto da = std::make_shared<DemoArgs>();
  CLI::App* demo = data->add_subcommand(
      "demo",
      "Build the multi-modality demo corpus from real images in Debian packages (apt-get download + dpkg-deb -x into "
      "a cache, nothing installed) plus the MedMNIST files found in --medmnist-dir");
  demo->add_option("--out", da->out, "Output dataset folder")->required();
  demo->add_option("--medmnist-dir", da->medmnist_dir,
                   "Folder with MedMNIST .npz files (default: $MEDSYN_SHARED_DATA_DIR/medmnist or ../shared/data/medmnist "
                   "when present)");
  demo->add_flag("--no-medmnist", da->no_medmnist, "Leave the MedMNIST sets out");
  demo->add_option("--cache", da->cache, "Package cache folder (default: the MedSynBench cache dir)");
  demo->add_flag("--json", da->json, "Print the summary as JSON");
  demo->callback([da] {
    DemoOptions o;
    o.out = da->out;
    o.cache_dir = da->cache;
    if (!da->medmnist_dir.empty()) o.medmnist_dir = fs::path(da->medmnist_dir);
    o.with_medmnist = !da->no_medmnist;
    const DemoResult r = build_demo_corpus(o);
    if (da->json) {
      print_json({{"out", da->out}, {"images", r.images}, {"modalities", r.per_modality}, {"packages", r.packages},
                  {"medmnist", r.medmnist}, {"medmnist_dir", r.medmnist_dir.string()}});
    } else {
      std::cout << "demo corpus: " << r.images << " images, " << r.per_modality.size() << " modalities in " << da->out
                << "\n";
      for (const auto& [m, n] : r.per_modality) std::cout << "  " << m << ": " << n << "\n";
      std::cout << "sources and licences: " << (fs::path(da->out) / "SOURCES.md").string() << "\n";
    }
  });
}

}  // namespace medsyn::cli
