#pragma once
// Ratings of a reader study and their analysis.
//
// Ratings files (analyze --ratings FILES...):
//  - the page's export, ratings-<reader>.json:
//      {"format": "medsynbench-reader-ratings/1", "study": HASH, "reader": "alice",
//       "exported": "2026-...Z", "answers": [{"image_id", "real_or_synthetic": "R"|"S"|null,
//       "realism": 1-5|null, "prompt_match": "Y"|"N"|null, "time_ms": N}, ...]}
//  - CSV with the header `reader,image_id,real_or_synthetic,realism,prompt_match` (values R/S,
//    1-5, Y/N; empty = not answered), one row per (reader, image); for studies run on paper or in
//    another tool. CSV carries no study hash: its ids are checked instead.
// Every file is checked against the study, and nothing is silently merged: a JSON export of
// another study (hash), a reader that appears in two files (or twice in one), an image id the
// study does not have, an image rated twice by one reader, or a bad value is an InputError naming
// the file (and line). Partial ratings (not every image answered) are allowed and reported.
//
// The analysis (analyze_study) per modality and overall ("all"), the positive class being
// "synthetic" (a reader says S):
//  - accuracy at telling synthetic from real: Wilson interval and the exact two-sided binomial
//    test against chance (0.5); sensitivity (synthetic judged S), specificity (real judged R), the
//    fraction of synthetic images judged real, each with a Wilson interval. Every answer counts
//    as one trial (readers x images; the intervals ignore the clustering by reader and image:
//    docs/reader-study.md "Limitations").
//  - realism (Likert 1-5): medians and means for real and synthetic images, Mann-Whitney U
//    (x = real ratings, y = synthetic ratings; scipy's method), the probability of superiority
//    U / (n_real n_syn) and the rank-biserial correlation 2 U / (n_real n_syn) - 1, and the
//    difference of means (synthetic - real) with a percentile bootstrap interval that resamples
//    images within each source (all ratings of a drawn image go with it).
//  - prompt match: the rate of Y for synthetic (and for real, the baseline) with Wilson intervals.
//  - agreement between readers: two readers: Cohen's kappa on the images both answered, with its
//    asymptotic interval; more: Fleiss' kappa on the images every reader answered, with a
//    percentile bootstrap interval over images; for realism Krippendorff's alpha (ordinal,
//    missing answers allowed) with a bootstrap interval over images.
//  - per reader: answered, accuracy, sensitivity, specificity, mean realism (real, synthetic),
//    prompt-match rate, median seconds per image.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "medsyn/readerstudy/study.h"

namespace medsyn::readerstudy {

struct Answer {
  std::string image_id;
  std::string real_or_synthetic;  // "R" | "S" | "" (not answered)
  int realism = 0;                // 1-5, 0 = not answered
  std::string prompt_match;       // "Y" | "N" | ""
  double time_ms = -1;            // -1 = unknown (CSV)
};
struct ReaderRatings {
  std::string reader;
  std::filesystem::path file;
  std::vector<Answer> answers;
};

// Reads every file (.json: the page's export; .csv: the CSV format) and checks it against the
// study (see the header comment). Returns one entry per reader, in file order.
std::vector<ReaderRatings> read_ratings(const Study& study, const std::vector<std::filesystem::path>& files);

struct AnalysisOptions {
  double level = 0.95;
  int bootstrap = 2000;
  std::uint64_t seed = 0;
};

// The analysis as JSON (the content of reader_study.json, without provenance).
nlohmann::ordered_json analyze_study(const Study& study, const std::vector<ReaderRatings>& ratings,
                                     const AnalysisOptions& options);

// A short human summary of the analysis (what `analyze` prints without --json).
std::string summary_text(const nlohmann::ordered_json& analysis);

}  // namespace medsyn::readerstudy
