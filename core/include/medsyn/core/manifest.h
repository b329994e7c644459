#pragma once
// Dataset = a folder with manifest.jsonl, one JSON object per line per image:
//   {"path": "img/000123.png", "modality": "chest_xray", "specialty": "radiology",
//    "prompt": "chest x-ray, pneumonia", "label": 1, "label_name": "pneumonia",
//    "split": "train", "group": "patient-17", "sha256": "..."}
// Required: path (relative, inside the folder), modality. Everything else is optional and
// preserved verbatim in `extra` when unknown, so tools can add fields without breaking readers.
// `label` may be an integer or a string in files; it is kept as JSON.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "medsyn/core/error.h"

namespace medsyn {

struct Record {
  std::string path;      // relative to the dataset folder
  std::string modality;  // e.g. "chest_xray"
  std::string specialty; // e.g. "radiology" (may be empty)
  std::string prompt;    // text prompt (may be empty)
  std::string split;     // train / val / test / "" (unspecified)
  std::string group;     // patient or study id (may be empty)
  std::string label_name;        // human-readable label (may be empty)
  std::optional<long> label;     // integer class label, when there is one
  std::string sha256;            // of the image file, when recorded
  std::string extra_json = "{}"; // other fields, as a JSON object text
};

nlohmann::json record_to_json(const Record& r);
// `where` is "FILE:LINE" for messages. Throws InputError for missing/ill-typed fields or unsafe paths.
Record record_from_json(const nlohmann::json& j, const std::string& where);

struct Dataset {
  std::filesystem::path root;  // folder holding manifest.jsonl
  std::vector<Record> records;

  // root / r.path. Refuses (InputError naming the manifest entry) a path that reaches outside the
  // dataset folder through a symbolic link (a dataset must not make the tool read /etc/passwd);
  // links that stay inside the folder are fine. A missing file is left to the reader to report.
  std::filesystem::path image_path(const Record& r) const;
  // Distinct modalities in first-seen order.
  std::vector<std::string> modalities() const;
  // Records matching the filters (empty filter = any).
  std::vector<Record> select(const std::string& modality, const std::string& split = "") const;
};

// Reads DIR/manifest.jsonl (or a path to a .jsonl file). Validates every line: JSON, required
// fields, safe relative paths, duplicate paths. Throws InputError "DIR/manifest.jsonl:LINE: ...".
Dataset load_dataset(const std::filesystem::path& dir_or_manifest);

// Before an import writes a dataset into `out`: InputError (DatasetExistsError when an earlier
// dataset is the reason) if `out` is a file, holds a dataset (manifest.jsonl, images/,
// skipped.jsonl) and `overwrite` is false, or holds other files (never deleted, with or without
// `overwrite`). An empty or missing folder is fine.
class DatasetExistsError : public InputError {
 public:
  using InputError::InputError;
};
void check_dataset_output(const std::filesystem::path& out, bool overwrite);

// Writes manifest.jsonl atomically.
void write_manifest(const std::filesystem::path& dir, const std::vector<Record>& records);

// Streaming writer for long imports: appends lines to "manifest.jsonl.partial" and renames to
// manifest.jsonl on commit(), so an interrupted import never looks complete.
class ManifestWriter {
 public:
  explicit ManifestWriter(const std::filesystem::path& dir);
  ~ManifestWriter();
  void add(const Record& r);
  void commit();

 private:
  struct Impl;
  Impl* impl_;
};

// SHA-256 of the manifest text (identifies a dataset's content listing).
std::string manifest_hash(const std::filesystem::path& dir);

}  // namespace medsyn
