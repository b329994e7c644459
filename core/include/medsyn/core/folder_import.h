#pragma once
// `data import folder`: a folder of image files -> the dataset layout
//   OUT/images/<NNNNNN>_<source stem>[_f<frame>|_<axis><slice>].png
//   OUT/manifest.jsonl        (one record per written image)
//   OUT/skipped.jsonl         (with skip_bad: {"file", "reason"} per file that was not imported)
// Files are found recursively and processed in sorted (byte-wise) order of their path relative
// to SRC, so the output is deterministic. Hidden files and folders (".*") are ignored.
// Formats: PNG, JPEG, TIFF, BMP (8/16-bit, gray/RGB/RGBA, via read_image), DICOM and NIfTI-1
// (medical_io.h: frames / slices become separate images, normalised to [0,1] as documented there).
// PNG bit depth: `png_bits` 8 or 16, or 0 (auto) = the smallest depth that holds the normalised
// pixels exactly (8-bit sources stay 8-bit, 16-bit and windowed/scaled sources become 16-bit).
// Each record: path, modality, specialty, prompt, label/label_name (labels_from_subfolders: the
// first folder under SRC is the label name; integer labels are the sorted order of those names),
// sha256 of the PNG, and source (path relative to SRC), format, frame or slice/axis/volume,
// normalisation {method, lo, hi, invert}, window {center, width, name, source} when windowed,
// bit_depth, units.
// Bad input (unreadable, truncated or corrupt files, unknown formats, files outside label
// folders) throws InputError naming the file, unless skip_bad, which records it in skipped.jsonl.
// Only regular files are read. FIFOs, devices, sockets, dangling symbolic links, link loops and
// links to folders are bad entries (named, with the reason); a link to a file outside SRC is one
// too unless follow_symlinks (so a source folder cannot make the tool read /etc/passwd).
// All or nothing: everything is written into the sibling "OUT.partial" and renamed to OUT at the
// end; a failure leaves nothing behind (no images, no empty folder). An existing dataset in OUT
// is refused unless overwrite, and then replaced whole (check_dataset_output, manifest.h).
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "medsyn/core/medical_io.h"

namespace medsyn {

struct FolderImportOptions {
  std::string modality;         // required, e.g. "head_ct"
  std::string specialty;        // optional, e.g. "radiology"
  std::string prompt_template;  // "" -> "{modality}" or "{modality}, {label}" with labels
  bool labels_from_subfolders = false;
  bool skip_bad = false;
  bool overwrite = false;       // replace an earlier import in OUT (the folder is replaced whole)
  bool follow_symlinks = false; // read files reached through links that point outside SRC
  std::optional<Window> window; // DICOM/NIfTI values (e.g. HU) -> [0,1]
  int axis = 2;                 // NIfTI slice axis
  int slice_step = 1;           // NIfTI: keep every n-th slice
  int png_bits = 0;             // 0 auto, 8 or 16
};

struct FolderImportResult {
  std::size_t files = 0;    // files found
  std::size_t images = 0;   // images written
  std::size_t skipped = 0;  // files skipped (skip_bad)
  std::map<std::string, std::size_t> per_label;
  std::map<std::string, std::size_t> per_format;
};

// Expands {modality} (underscores shown as spaces), {label}, {specialty}; InputError for an
// unknown placeholder or {label} without labels.
std::string expand_prompt(const std::string& tmpl, const std::string& modality, const std::string& label,
                          const std::string& specialty, bool have_label);

FolderImportResult import_folder(const std::filesystem::path& src, const std::filesystem::path& out,
                                 const FolderImportOptions& opts);

}  // namespace medsyn
