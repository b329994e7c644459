#pragma once
// A blinded reader study: real and synthetic images mixed, one seeded order per reader, in a
// self-contained web page (study.html), with the unblinding key kept apart (key.json).
//
// STUDY_DIR after make_study:
//   study.html  the page for the readers: every image embedded as a data:image/png URI (re-encoded
//               as 8-bit PNG, no metadata, the same size within a modality), ids, modalities,
//               prompts and each reader's order. No file names, no sources, no models, no
//               network access. It holds real patient images: only people allowed to see them
//               may receive it.
//   key.json    the unblinding key, for the organiser only:
//               {"study": HASH, "images": [{"id", "source": "real"|"synthetic", "modality",
//                "label", "prompt", "model", "file"}, ...]}  (label/model null when absent)
//   study.json  design (options), seed, hashes (study hash, key hash, each embedded image's
//               SHA-256), the readers with their orders, and provenance.
// HASH = "sha256:" + SHA-256 of the canonical (sorted-keys) JSON of {format, design, images:
// [{id, sha256}], key_sha256}, where key_sha256 is the SHA-256 of the canonical JSON of key.json's
// "images". A ratings file carries HASH; analyze recomputes both hashes, so a ratings file of
// another study, an edited study.json or an edited key.json is refused.
//
// Ids are random ("i" + 8 hex digits from the seed) and the page lists images sorted by id, so
// neither ids nor order reveal the source.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace medsyn::readerstudy {

inline constexpr const char* kStudyFormat = "medsynbench-reader-study/1";
inline constexpr const char* kRatingsFormat = "medsynbench-reader-ratings/1";
// The questions a study may ask, in the order the page shows them.
inline const std::vector<std::string>& all_questions() {
  static const std::vector<std::string> q = {"realism", "real_or_synthetic", "prompt_match"};
  return q;
}

// One candidate image (before sampling) or one image of the study.
struct Candidate {
  std::filesystem::path file;  // absolute path of the source image
  std::string source;          // "real" | "synthetic"
  std::string modality, prompt, model;  // model "" for real images
  std::optional<long> label;
  std::string label_name;
};

// Where the candidates come from: a suite run folder, or dataset folders.
struct Sources {
  std::filesystem::path run_dir;                    // --run: units/data/real-*/real (split test) + units/generate/*
  std::filesystem::path real_dir;                   // --real: a dataset folder (manifest.jsonl)
  std::vector<std::filesystem::path> synthetic_dirs;  // --synthetic: dataset folder(s)
};

struct MakeOptions {
  int per_modality = 40;         // rated images per modality (real + synthetic)
  double real_fraction = 0.5;    // share of real images among them
  std::vector<std::string> readers;    // empty: reader-1 .. reader-4
  std::vector<std::string> questions = all_questions();
  std::uint64_t seed = 0;
  bool balance_classes = false;  // within (modality, source): equal numbers per label
  int calibration = 0;           // labelled examples per modality shown before the rated set (half real)
  std::vector<std::string> modalities;  // empty: every modality with real and synthetic images
  std::string title = "Reader study";
};

// Reads the candidates of `src` (InputError naming the folder/file when something is missing).
std::vector<Candidate> collect_candidates(const Sources& src);

struct MakeResult {
  std::string study_hash;
  std::vector<std::filesystem::path> files;  // study.html, key.json, study.json
  int n_images = 0, n_calibration = 0;
  std::vector<std::string> notes;
};
// Samples, re-encodes, writes STUDY_DIR/{study.html,key.json,study.json} (atomically). Refuses
// (InputError) an `out` that already holds a study, a modality without enough images, bad options.
MakeResult make_study(const std::vector<Candidate>& candidates, const MakeOptions& options,
                      const std::filesystem::path& out, const nlohmann::json& sources_description);

// The page template (readerstudy/page/study.html, embedded at build time).
const std::string& page_template();

// ---- loading a study for analysis

struct KeyImage {
  std::string id, source, modality, prompt, model, file;
  nlohmann::json label;  // null when absent
};
struct Study {
  std::filesystem::path dir;
  std::string hash;
  nlohmann::json study_json;          // study.json as read
  std::vector<KeyImage> images;       // key.json order
  std::vector<std::string> readers;   // the readers the page offers
  std::vector<std::string> questions;
  const KeyImage* find(const std::string& id) const;
};
// Reads STUDY_DIR/study.json and key.json and verifies both hashes (InputError naming the file:
// "key.json: the key does not match study.json (edited?)").
Study load_study(const std::filesystem::path& dir);

// Hash helpers (exposed for tests).
std::string key_digest(const nlohmann::json& key_images);
std::string study_hash(const nlohmann::json& design, const nlohmann::json& image_hashes, const std::string& key_sha256);

}  // namespace medsyn::readerstudy
